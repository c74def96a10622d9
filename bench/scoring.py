"""Scoring benchmark: a synthetic bureau scored end to end, beside a plain SQL aggregation.

``python -m bench.scoring [--staff 10000] [--database-url URL]``

Each person has a submitted self-assessment, a superior review, 5 peer reviews and 20
citizen responses. jixiao's time is ``services.results.score_cycle`` (read every
answer, run the Decimal-exact engine, write the results); the floor is one hand-written
SQL aggregation (mean points per person, source and indicator) over the same answers,
in the same run. Printed: both times and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import time

from sqlalchemy import insert, select, text

from bench import common
from bench.common import ROOT
from domain.enums import (
    AssignmentStatus,
    CyclePhase,
    ResponseStatus,
    Satisfaction,
    Source,
    UnitKind,
)
from domain.template import Target, survey_of
from infra.db import make_engine, make_sessions, upgrade
from infra.models import (
    Answer,
    Assignment,
    Cycle,
    OrgUnit,
    Staff,
    SurveyAnswer,
    SurveyLink,
    SurveyResponse,
)
from services import cycles, results
from services.templates import load_template

UNITS = 40


async def _build(sessions, staff: int) -> Cycle:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC)
    template = load_template((ROOT / "examples" / "template.toml").read_bytes(), "template.toml")
    async with sessions.begin() as s:
        root = OrgUnit(name="应急管理局", kind=UnitKind.BUREAU)
        s.add(root)
        await s.flush()
        units = [
            OrgUnit(name=f"第{n}科", kind=UnitKind.SECTION, parent_id=root.id) for n in range(UNITS)
        ]
        s.add_all(units)
        await s.flush()
        version = await cycles.register_template(
            s, template, filename="t", actor=cycles.Actor("bench"), now=now
        )
        version.approved_at = now
        cycle = Cycle(
            period="2026Q4",
            kind="quarter",
            phase=CyclePhase.SCORING,
            template_id=version.id,
            deadline=now,
            peer_count=5,
            reminder_days=[3, 1],
        )
        s.add(cycle)
        await s.flush()
        await s.execute(
            insert(Staff),
            [
                {
                    "employee_no": f"E{n:05d}",
                    "name": f"员工{n}",
                    "unit_id": units[n % UNITS].id,
                    "position": "",
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(staff)
            ],
        )
        people = list((await s.execute(select(Staff.id, Staff.unit_id).order_by(Staff.id))).all())
        link = SurveyLink(token_hash="bench", unit_id=units[0].id, single_use=False)
        s.add(link)
        await s.flush()
        cycle_id, link_id = cycle.id, link.id
    forms: list[dict] = []  # type: ignore[type-arg]
    by_unit: dict[int, list[int]] = {}
    for pid, uid in people:
        by_unit.setdefault(uid, []).append(pid)
    aid = 0
    for pid, uid in people:
        mates = by_unit[uid]
        plan = [(Source.SELF, pid), (Source.SUPERIOR, mates[0] if mates[0] != pid else mates[1])]
        idx = mates.index(pid)
        plan += [(Source.PEER, mates[(idx + k) % len(mates)]) for k in range(1, 6)]
        for source, rater in plan:
            aid += 1
            forms.append(
                {
                    "id": aid,
                    "cycle_id": cycle_id,
                    "source": source.value,
                    "rater_staff_id": rater,
                    "ratee_staff_id": pid,
                    "ratee_key": f"p:{pid}",
                    "status": AssignmentStatus.SUBMITTED.value,
                    "cursor": "done",
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    spec = survey_of(template)
    answers: list[dict] = []  # type: ignore[type-arg]
    for f in forms:
        source = Source(f["source"])
        for ind in template.indicators_for(unit=None, target=Target.PERSON, source=source):
            answers.append(
                {
                    "assignment_id": f["id"],
                    "item": ind.code,
                    "points": str(rng.choice((95, 85, 70, 60))),
                    "updated_at": now,
                }
            )
    async with sessions.begin() as s:
        for chunk in range(0, len(forms), 5000):
            await s.execute(insert(Assignment), forms[chunk : chunk + 5000])
        for chunk in range(0, len(answers), 5000):
            await s.execute(insert(Answer), answers[chunk : chunk + 5000])
    levels = list(Satisfaction)
    rid = 0
    async with sessions.begin() as s:
        responses, survey_answers = [], []
        for pid, uid in people:
            for _k in range(20):
                rid += 1
                responses.append(
                    {
                        "id": rid,
                        "link_id": link_id,
                        "unit_id": uid,
                        "staff_id": pid,
                        "target_key": f"s:{pid}",
                        "respondent_key": f"r{rid}",
                        "dedupe_key": f"d{rid}",
                        "day": now.date(),
                        "locale": "zh_Hans",
                        "status": ResponseStatus.COMPLETE.value,
                        "cursor": "done",
                        "problems": [],
                        "started_at": now,
                        "completed_at": now,
                        "excluded": False,
                    }
                )
                for q in spec.questions:
                    level = levels[rng.randrange(3)]
                    survey_answers.append(
                        {
                            "response_id": rid,
                            "question": q.code,
                            "indicator": q.indicator,
                            "level": level.value,
                            "points": str(spec.points_for(level)),
                            "answered_at": now,
                        }
                    )
            if len(responses) > 20000:
                await s.execute(insert(SurveyResponse), responses)
                await s.execute(insert(SurveyAnswer), survey_answers)
                responses, survey_answers = [], []
        if responses:
            await s.execute(insert(SurveyResponse), responses)
            await s.execute(insert(SurveyAnswer), survey_answers)
    async with sessions() as s:
        found = await s.get(Cycle, cycle_id)
        assert found is not None
        return found


FLOOR_SQL = """
SELECT ratee_key, source, item, AVG(CAST(points AS NUMERIC)) FROM answer
JOIN assignment ON assignment.id = answer.assignment_id WHERE assignment.cycle_id = :cycle
GROUP BY ratee_key, source, item
UNION ALL
SELECT target_key, 'citizen', indicator, AVG(CAST(points AS NUMERIC)) FROM survey_answer
JOIN survey_response ON survey_response.id = survey_answer.response_id
WHERE survey_response.excluded = false GROUP BY target_key, indicator
"""


async def main(staff: int, database_url: str | None) -> None:
    workdir = common.workdir("jixiao-bench-scoring-")
    url = database_url or f"sqlite+aiosqlite:///{workdir}/bench.db"
    engine = make_engine(url)
    await upgrade(engine)
    sessions = make_sessions(engine)
    started = time.perf_counter()
    cycle = await _build(sessions, staff)
    built = time.perf_counter() - started
    async with sessions() as s:
        started = time.perf_counter()
        rows = (await s.execute(text(FLOOR_SQL), {"cycle": cycle.id})).all()
        floor = time.perf_counter() - started
    import zoneinfo

    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle.id)  # type: ignore[assignment]
        started = time.perf_counter()
        count = await results.score_cycle(
            s, cycle, tz=zoneinfo.ZoneInfo("Asia/Shanghai"), now=dt.datetime.now(dt.UTC)
        )
    scored = time.perf_counter() - started
    await engine.dispose()
    print(
        f"{staff} staff, self + superior + 5 peers + 20 citizen responses each (data built in {built:.1f} s)"
    )
    print(f"floor: one SQL aggregation ({len(rows)} groups)      {floor:8.2f} s")
    print(f"jixiao: score_cycle ({count} results, exact, stored)  {scored:8.2f} s")
    print(f"jixiao ÷ floor: {scored / floor:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=10_000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    asyncio.run(main(args.staff, args.database_url))
