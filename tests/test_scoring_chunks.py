"""Scoring in chunks gives exactly the rows of scoring person by person (issue 12, item 4).

``services.results.score_cycle`` reads a few subjects at a time with plain rows, shares one
Decimal per distinct value, inserts each chunk in one statement and writes the ranks last;
``tests.reference_scoring`` does it the plain way. On a cycle with every source, sources
missing, peers below the privacy minimum, forms answered but not submitted or handed to
someone else, citizens (one response excluded, one from another quarter), a unit rated,
ties in rank, and an appeal's adjustment, both give the same rows and the same breakdowns,
JSON included, with chunks of 2 so that every boundary is crossed.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from domain.enums import AssignmentStatus, ResponseStatus, Satisfaction, Source
from infra.db import SessionFactory
from infra.models import (
    Answer,
    Assignment,
    AuditEntry,
    Cycle,
    Result,
    SurveyAnswer,
    SurveyLink,
    SurveyResponse,
)
from scoring import Adjustment
from services import cycles, result_adjustments, results
from tests import reference_scoring
from tests.factories import SHANGHAI, Org, fill_all_forms, make_org, open_cycle

NOW = dt.datetime(2026, 12, 20, 2, 0, tzinfo=dt.UTC)  # in 2026Q4
COLUMNS = (
    "staff_id",
    "unit_id",
    "total",
    "grade",
    "rank_in_unit",
    "rank_overall",
    "bonus_coefficient",
    "weakest",
    "breakdown",
)


async def _respond(
    sessions: SessionFactory,
    org: Org,
    target: str,
    points: list[int],
    *,
    at: dt.datetime = NOW,
    excluded: bool = False,
) -> None:
    """One complete citizen response about ``target`` ("s:<staff>" or "u:<unit>")."""
    async with sessions.begin() as s:
        link = SurveyLink(token_hash=secrets.token_hex(32), unit_id=org.unit_id, created_at=at)
        s.add(link)
        await s.flush()
        response = SurveyResponse(
            link_id=link.id,
            unit_id=org.unit_id,
            target_key=target,
            respondent_key=secrets.token_hex(8),
            dedupe_key=f"link:{link.id}",
            day=at.astimezone(SHANGHAI).date(),
            status=ResponseStatus.COMPLETE,
            cursor="done",
            started_at=at - dt.timedelta(minutes=2),
            completed_at=at,
            excluded=excluded,
        )
        s.add(response)
        await s.flush()
        for n, value in enumerate(points):
            s.add(
                SurveyAnswer(
                    response_id=response.id,
                    question=f"Q{n + 1}",
                    indicator="P03" if n % 2 else "T05",  # both rated by citizens
                    level=Satisfaction.SATISFIED,
                    points=Decimal(value),
                    answered_at=at,
                )
            )


async def _cycle(sessions: SessionFactory) -> tuple[Org, int]:
    """Eight colleagues, their head and the unit, rated in every way that changes a score."""
    org = await make_org(sessions, people=8)
    cycle_id = await open_cycle(sessions, peer_count=3, now=NOW - dt.timedelta(days=20))
    await fill_all_forms(sessions, cycle_id, level=lambda _a, _n: 2)
    first, second, third = (f"p:{i}" for i in org.staff_ids[:3])
    async with sessions.begin() as s:
        # One score for every answer: whoever is rated alike ties.
        await s.execute(update(Answer).where(Answer.points.is_not(None)).values(points="80.00"))
        forms = list(await s.scalars(select(Assignment).where(Assignment.cycle_id == cycle_id)))
        peers_of = {
            key: [a for a in forms if a.ratee_key == key and a.source == Source.PEER]
            for key in (first, third)
        }
        # the first: no peer counts (answered, never submitted); the third: one peer
        # handed to someone else, leaving fewer than 3
        for a in peers_of[first]:
            a.status = AssignmentStatus.OPEN
        peers_of[third][0].active = False
        # the second: their superior's review missing
        for a in forms:
            if a.ratee_key == second and a.source == Source.SUPERIOR:
                a.status = AssignmentStatus.OPEN
        # a third of a point apart: exact rationals, not rounded means
        mine = next(a for a in forms if a.ratee_key == second and a.source == Source.SELF)
        await s.execute(
            update(Answer).where(Answer.assignment_id == mine.id).values(points="81.00")
        )
    await _respond(sessions, org, first.replace("p:", "s:"), [100, 80, 60])
    await _respond(sessions, org, first.replace("p:", "s:"), [100, 100, 80])
    await _respond(sessions, org, first.replace("p:", "s:"), [60, 60], excluded=True)
    await _respond(sessions, org, first.replace("p:", "s:"), [0], at=NOW - dt.timedelta(days=120))
    await _respond(sessions, org, f"s:{org.staff_ids[3]}", [80, 60, 100, 40])
    await _respond(sessions, org, f"u:{org.unit_id}", [100, 60])
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await cycles.close(s, cycle.period, now=NOW, actor=cycles.Actor("test"))
    return org, cycle_id


async def _stored(sessions: SessionFactory, cycle_id: int) -> dict[str, dict[str, Any]]:
    async with sessions() as s:
        found = await s.scalars(select(Result).where(Result.cycle_id == cycle_id))
        return {r.subject_key: {c: getattr(r, c) for c in COLUMNS} for r in found}


async def test_chunked_scoring_gives_the_reference_rows(sessions: SessionFactory) -> None:
    org, cycle_id = await _cycle(sessions)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        count = await results.score_cycle(s, cycle, tz=SHANGHAI, now=NOW, chunk=2)
    async with sessions() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        expected = await reference_scoring.rows(s, cycle, tz=SHANGHAI)
        audit = await s.scalar(select(AuditEntry).where(AuditEntry.action == "cycle.score"))
    stored = await _stored(sessions, cycle_id)
    assert stored == expected and count == len(expected)
    assert audit is not None and audit.detail["results"] == count
    # what the cycle was built to hold
    notes = {key: {n["kind"] for n in row["breakdown"]["notes"]} for key, row in expected.items()}
    first, second, third = (f"p:{i}" for i in org.staff_ids[:3])
    assert "peer_dropped" in notes[first] and "peer_dropped" in notes[third]
    assert "source_missing" in notes[second] and f"u:{org.unit_id}" in expected
    assert any(s["source"] == "citizen" for s in _sources(expected[first]))
    ranks = [row["rank_overall"] for key, row in expected.items() if key.startswith("p:")]
    assert len(set(ranks)) < len(ranks), "no tie in rank"
    assert len(expected) > 2 * 2, "fewer subjects than two chunks"


async def test_an_adjusted_result_is_the_reference_with_the_adjustment(
    sessions: SessionFactory,
) -> None:
    org, cycle_id = await _cycle(sessions)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await results.score_cycle(s, cycle, tz=SHANGHAI, now=NOW, chunk=3)
    key = f"p:{org.staff_ids[0]}"
    change = Adjustment("P03", Decimal("95"), Source.CITIZEN)
    async with sessions.begin() as s:
        result = await s.scalar(select(Result).where(Result.subject_key == key))
        assert result is not None
        await result_adjustments.adjust(
            s,
            result,
            change=change,
            reason="核实后调整",
            label={"name": "P03", "name_en": None},
            actor_telegram_id=None,
            now=NOW,
            tz=SHANGHAI,
        )
    async with sessions() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        expected = await reference_scoring.rows(s, cycle, tz=SHANGHAI, adjustments={key: [change]})
    stored = await _stored(sessions, cycle_id)
    adjusted = stored[key]["breakdown"]
    assert [a["points"] for a in adjusted.pop("adjustments")] == ["95"]
    assert stored == expected
    assert expected[key]["total"] != (await reference_total(sessions, cycle_id, key))


async def reference_total(sessions: SessionFactory, cycle_id: int, key: str) -> Decimal:
    """The total without any adjustment: the adjustment did change something."""
    async with sessions() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        total: Decimal = (await reference_scoring.rows(s, cycle, tz=SHANGHAI))[key]["total"]
        return total


def _sources(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s for d in row["breakdown"]["dimensions"] for i in d["indicators"] for s in i["sources"]
    ]


async def test_scoring_in_worker_processes_gives_the_same_rows(sessions: SessionFactory) -> None:
    """A large cycle is read and scored by worker processes: the rows are those of this one."""
    _org, cycle_id = await _cycle(sessions)
    stored = {}
    for workers in (0, 2):
        async with sessions.begin() as s:
            cycle = await s.get(Cycle, cycle_id)
            assert cycle is not None
            count = await results.score_cycle(
                s, cycle, tz=SHANGHAI, now=NOW, chunk=2, workers=workers
            )
        stored[workers] = await _stored(sessions, cycle_id)
        assert count == len(stored[workers]) > 2 * 2
    assert stored[2] == stored[0]
