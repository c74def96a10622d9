"""Scoring benchmark: a synthetic bureau scored end to end, beside a fair floor.

``python -m bench.scoring [--staff 10000] [--database-url postgresql://…/bench_scoring]``

Each person has a submitted self-assessment, a superior review, 5 peer reviews and 20
citizen responses (one in 20 excluded after 申诉复核, one in 20 from the quarter before).
The data is built first, in this process; then the floor and jixiao each run in a fresh
child process (``--phase``), so neither benefits from caches the other lacks, and each
child reports its own time, CPU and peak memory (VmHWM: the whole process, imports
included; the peak before the work is printed beside it). From 2,000 subjects jixiao reads
and scores in worker processes, one per core (``services.score_parts``): its CPU then
counts theirs too, and their largest peak is printed beside its own.

jixiao is ``services.results.score_cycle``: read every counted answer, run the exact
Decimal engine (trimmed means, peer privacy, weights renormalised over what is present,
a breakdown whose contributions add up), insert the results with their ranks, audit.

The floor is the least any scoring must do with the same data, written by hand:
- the same filters: submitted, active forms of the cycle with points; citizen responses
  complete, not excluded, completed inside the cycle's period, of a person on the roll;
- the same averaging: per person, source and indicator, and a citizen response's
  answers to one indicator averaged first (one respondent, one value), in SQL GROUP BYs;
- the same output: one result row per person (total, grade, ranks in the bureau and the
  unit, and a breakdown of the source means as JSON), inserted in one statement, committed.
It skips what only exactness and fairness need: it averages floats, trims nobody,
drops no peers, notes nothing. A database URL may use the plain ``postgresql://`` or
``sqlite:///`` scheme; the database is migrated, and a PostgreSQL database whose name
starts with ``bench`` is emptied first (create it with ``createdb``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import time
from collections import defaultdict
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Numeric, cast, delete, func, insert, select, text, type_coerce
from sqlalchemy.engine import make_url

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
from domain.period import parse_period
from domain.template import Target, Template, survey_of
from infra.db import SessionFactory, make_engine, make_sessions, upgrade
from infra.models import (
    Answer,
    Assignment,
    Cycle,
    OrgUnit,
    Result,
    Staff,
    SurveyAnswer,
    SurveyLink,
    SurveyResponse,
    TemplateVersion,
)
from services import cycles, results
from services.templates import load_template

TZ = ZoneInfo("Asia/Shanghai")
COMPLETED = dt.datetime(2026, 11, 16, 2, 0, tzinfo=dt.UTC)  # inside 2026Q4
EARLIER = dt.datetime(2026, 8, 20, 2, 0, tzinfo=dt.UTC)  # 2026Q3: not counted

UNITS = 40


async def _build(sessions: SessionFactory, staff: int) -> int:
    rng = random.Random(7)
    now = COMPLETED
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
    forms: list[dict[str, Any]] = []
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
    answers: list[dict[str, Any]] = []
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
                        # one response in 20 excluded after 申诉复核, one in 20 from the
                        # quarter before: rows the scoring must read past
                        "completed_at": now if rid % 20 != 7 else EARLIER,
                        "excluded": rid % 20 == 3,
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
    return cycle_id


def async_url(url: str) -> str:
    """The plain schemes with the drivers jixiao uses (bench.common has no such helper)."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


async def _prepare(url: str) -> None:
    """Empty a PostgreSQL bench database (never any other), then migrate it."""
    parsed = make_url(url)
    engine = make_engine(url)
    if parsed.get_backend_name() == "postgresql":
        if not (parsed.database or "").startswith("bench"):
            raise SystemExit("give a database whose name starts with bench: it is emptied")
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await upgrade(engine)
    await engine.dispose()


def _weighted(parts: dict[Any, float], weights: dict[Any, float]) -> float | None:
    """The mean of ``parts`` by ``weights``, over the parts present (as the engine does)."""
    total = sum(weights.get(k, 0.0) for k in parts)
    if not total:
        return None
    return sum(v * weights.get(k, 0.0) for k, v in parts.items()) / total


def _ranks(totals: dict[str, float]) -> dict[str, int]:
    ordered = sorted(totals, key=lambda k: -totals[k])
    ranks: dict[str, int] = {}
    for position, key in enumerate(ordered, start=1):
        same = position > 1 and totals[key] == totals[ordered[position - 2]]
        ranks[key] = ranks[ordered[position - 2]] if same else position
    return ranks


async def floor(sessions: SessionFactory, cycle_id: int) -> int:
    """The fair floor (see the module docstring): the same rows in, one row per person out."""
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        version = await s.get(TemplateVersion, cycle.template_id)
        assert version is not None
        template = Template.from_dict(version.content)
        dims = {d.value: float(w) for d, w in template.dimension_weights.items()}
        srcs = {x.value: float(w) for x, w in template.source_weights.items()}
        inds = {i.code: (i.dimension.value, float(i.weight)) for i in template.indicators}
        period = parse_period(cycle.period)
        assert period is not None
        start, end = period.utc_bounds(TZ)
        units = dict((await s.execute(select(Staff.id, Staff.unit_id))).all())
        means: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
        mean = type_coerce(func.avg(cast(Answer.points, Numeric)), Float)
        for key, source, item, value in await s.execute(
            select(Assignment.ratee_key, Assignment.source, Answer.item, mean)
            .join(Assignment, Assignment.id == Answer.assignment_id)
            .where(
                Assignment.cycle_id == cycle_id,
                Assignment.active.is_(True),
                Assignment.status == AssignmentStatus.SUBMITTED,
                Answer.points.is_not(None),
            )
            .group_by(Assignment.ratee_key, Assignment.source, Answer.item)
        ):
            means[key][item][source.value] = value
        per_response = (
            select(
                SurveyResponse.target_key.label("target"),
                SurveyAnswer.indicator.label("indicator"),
                func.avg(cast(SurveyAnswer.points, Numeric)).label("value"),
            )
            .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
            .where(
                SurveyResponse.status == ResponseStatus.COMPLETE,
                SurveyResponse.excluded.is_(False),
                SurveyResponse.completed_at >= start,
                SurveyResponse.completed_at < end,
            )
            .group_by(SurveyResponse.id, SurveyResponse.target_key, SurveyAnswer.indicator)
            .subquery()
        )
        for target, indicator, value in await s.execute(
            select(
                per_response.c.target,
                per_response.c.indicator,
                type_coerce(func.avg(per_response.c.value), Float),
            ).group_by(per_response.c.target, per_response.c.indicator)
        ):
            if int(target[2:]) in units:  # a person on the roll
                means[f"p:{target[2:]}"][indicator][Source.CITIZEN.value] = value
        totals: dict[str, float] = {}
        breakdowns: dict[str, dict[str, dict[str, float]]] = {}
        for key, by_indicator in means.items():
            by_dimension: dict[str, dict[str, float]] = defaultdict(dict)
            for code, by_source in by_indicator.items():
                score = _weighted(by_source, srcs)
                if code in inds and score is not None:
                    by_dimension[inds[code][0]][code] = score
            scores = {
                d: _weighted(v, {c: inds[c][1] for c in v}) or 0.0 for d, v in by_dimension.items()
            }
            totals[key] = _weighted(scores, dims) or 0.0
            breakdowns[key] = by_indicator
        overall = _ranks(totals)
        by_unit: dict[int, dict[str, float]] = defaultdict(dict)
        for key, total in totals.items():
            by_unit[units[int(key[2:])]][key] = total
        in_unit = {k: r for group in by_unit.values() for k, r in _ranks(group).items()}
        grades = ((90.0, "excellent"), (80.0, "good"), (60.0, "pass"), (0.0, "fail"))
        rows = [
            {
                "cycle_id": cycle_id,
                "subject_key": key,
                "staff_id": int(key[2:]),
                "unit_id": units[int(key[2:])],
                "total": Decimal(f"{total:.2f}"),
                "grade": next(g for bound, g in grades if total >= bound),
                "rank_in_unit": in_unit[key],
                "rank_overall": overall[key],
                "breakdown": breakdowns[key],
            }
            for key, total in totals.items()
        ]
        await s.execute(insert(Result), rows)
    return len(rows)


async def jixiao(sessions: SessionFactory, cycle_id: int) -> int:
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        return await results.score_cycle(s, cycle, tz=TZ, now=dt.datetime.now(dt.UTC))


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (scoring's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _rss_mb() -> float:
    """Peak resident memory of this process so far. Not ``ru_maxrss``: Linux carries that
    over from the parent through fork and exec, so a child would report the data build's."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB, not Linux


async def phase(name: str, url: str, cycle_id: int) -> None:
    """One timed phase in this (fresh) process; prints its figures as one JSON line."""
    engine = make_engine(url)
    sessions = make_sessions(engine)
    async with sessions() as s:  # connected before the clock starts, on both sides
        await s.execute(text("SELECT 1"))
    before = _rss_mb()
    started, cpu = time.perf_counter(), _cpu()
    rows = await (floor if name == "floor" else jixiao)(sessions, cycle_id)
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    if name == "floor":  # not timed: jixiao starts from no results, as a first scoring does
        async with sessions.begin() as s:
            await s.execute(delete(Result).where(Result.cycle_id == cycle_id))
    await engine.dispose()
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest one's
    figures = {"rows": rows, "seconds": seconds, "cpu": cpu, "before": before, "peak": _rss_mb()}
    print(json.dumps(figures | {"workers": workers}))


def _child(name: str, url: str, cycle_id: int) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.scoring", "--phase", name]
    argv += ["--database-url", url, "--cycle", str(cycle_id)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


async def build(url: str, staff: int) -> tuple[int, float]:
    await _prepare(url)
    engine = make_engine(url)
    started = time.perf_counter()
    cycle_id = await _build(make_sessions(engine), staff)
    built = time.perf_counter() - started
    await engine.dispose()
    return cycle_id, built


def main(staff: int, database_url: str | None) -> None:
    workdir = common.workdir("jixiao-bench-scoring-")
    url = async_url(database_url or f"sqlite:///{workdir}/bench.db")
    cycle_id, built = asyncio.run(build(url, staff))
    low = _child("floor", url, cycle_id)
    job = _child("jixiao", url, cycle_id)
    print(
        f"{staff} staff, self + superior + 5 peers + 20 citizen responses each "
        f"on {make_url(url).get_backend_name()} (data built in {built:.1f} s)"
    )
    for label, f in (("floor (fair, see docstring)", low), ("jixiao score_cycle", job)):
        print(
            f"{label:<28} {f['rows']:>6} rows {f['seconds']:8.2f} s  cpu {f['cpu']:6.2f} s  "
            f"peak {f['peak']:6.0f} MB (before the work {f['before']:.0f} MB)"
            + (f", each worker at most {f['workers']:.0f} MB" if f.get("workers") else "")
        )
    print(f"jixiao ÷ floor: {job['seconds'] / low['seconds']:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=10_000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--phase", choices=("floor", "jixiao"), help=argparse.SUPPRESS)
    parser.add_argument("--cycle", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        asyncio.run(phase(args.phase, async_url(args.database_url), args.cycle))
    else:
        main(args.staff, args.database_url)
