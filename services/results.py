"""Scoring a cycle into the database, reading the results, and later adjustments.

Nothing is published before the 組長 approves (or a configured quorum of the
leadership group: ``services.result_review``); after publishing, scores change only
through appeal decisions (``services.result_adjustments``), each audited; a full
re-score of a published cycle is refused.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import (
    AssignmentStatus,
    CyclePhase,
    Dimension,
    Grade,
    ResponseStatus,
    Source,
)
from domain.template import Template
from domain.text import N_
from infra.models import (
    Answer,
    Assignment,
    Cycle,
    Result,
    SurveyAnswer,
    SurveyResponse,
    TemplateVersion,
)
from scoring import (
    Form,
    ScoringOptions,
    integrity_signals,
    rank,
    rank_within,
)
from services import score_parts
from services.audit import audit
from services.cycles import lock
from services.errors import DomainError
from services.ratings import CHUNK, period_bounds, roster_of, subjects_for

PUBLISHED = (CyclePhase.PUBLISHED, CyclePhase.APPEALS, CyclePhase.CLOSED)
RESULT: Table = Result.__table__  # type: ignore[assignment]  # Core statements: rows, not objects


async def template_of(session: AsyncSession, cycle: Cycle) -> Template:
    version = await session.get(TemplateVersion, cycle.template_id)
    assert version is not None
    return Template.from_dict(version.content)


async def score_cycle(
    session: AsyncSession,
    cycle: Cycle,
    *,
    tz: dt.tzinfo,
    now: dt.datetime,
    options: ScoringOptions | None = None,
    actor_label: str = "",
    actor_telegram_id: int | None = None,
    chunk: int = CHUNK,
    workers: int | None = None,
) -> int:
    """Compute every result of the cycle into the database; the same data gives the same rows.

    Subjects are read and scored ``chunk`` at a time and their rows inserted in bulk, so a
    bureau of 10,000 is scored in bounded memory; the ranks are written last. A large cycle
    is read and scored by ``workers`` processes (default: one per core from
    ``score_parts.PARALLEL_FROM`` subjects; 0: in this process).
    """
    # The row lock first: a change committed before it is read below, one after it marks
    # these results stale (services.cycles.touch).
    await lock(session, cycle)
    if cycle.phase in PUBLISHED:
        raise DomainError(
            N_("The results of {period} are published; they change only through appeal decisions."),
            period=cycle.period,
        )
    if cycle.phase in (CyclePhase.PREPARING,):
        raise DomainError(
            N_("The cycle {period} has not collected any answers yet."), period=cycle.period
        )
    if cycle.phase == CyclePhase.COLLECTING:
        raise DomainError(
            N_("The cycle {period} is still collecting answers; close it first."),
            period=cycle.period,
        )
    options = options or ScoringOptions()
    template = await template_of(session, cycle)
    await session.execute(delete(Result).where(Result.cycle_id == cycle.id))
    scored: dict[str, tuple[int, Decimal]] = {}  # key → (unit, total): all the ranks need
    unscored = 0
    with score_parts.gc_paused():
        async for part in _scored_chunks(session, cycle, template, options, tz, chunk, workers):
            unscored += part.unscored
            for row in part.rows:
                scored[row["subject_key"]] = (row["unit_id"], row["total"])
                row.update(cycle_id=cycle.id, created_at=now, updated_at=now)
            if part.rows:  # one multi-row insert per chunk; ranks follow once every total is known
                await session.execute(insert(RESULT), part.rows)
        await _store_ranks(session, cycle, scored)
    cycle.phase = CyclePhase.SCORING
    cycle.scored_at = now
    cycle.scored_revision = cycle.revision
    await audit(
        session,
        "cycle.score",
        actor_label=actor_label,
        actor_telegram_id=actor_telegram_id,
        object_type="cycle",
        object_id=cycle.period,
        detail={"results": len(scored), "unscored": unscored, "revision": cycle.revision},
        at=now,
    )
    return len(scored)


async def _scored_chunks(
    session: AsyncSession,
    cycle: Cycle,
    template: Template,
    options: ScoringOptions,
    tz: dt.tzinfo,
    size: int,
    workers: int | None,
) -> AsyncIterator[score_parts.Scored]:
    """Every subject scored, a chunk at a time: in worker processes for a large cycle."""
    roster = await roster_of(session, cycle, tz=tz)
    count = score_parts.workers_for(session, len(roster.keys), workers)
    if count:
        async for part in score_parts.in_workers(
            session, cycle, template, roster, options, workers=count, size=size
        ):
            yield part
        return
    for first in range(0, len(roster.keys), size):
        keys = roster.keys[first : first + size]
        subjects = await subjects_for(session, cycle, roster, keys)
        yield score_parts.score_chunk(template, subjects, options)


async def _store_ranks(
    session: AsyncSession, cycle: Cycle, scored: dict[str, tuple[int, Decimal]]
) -> None:
    """Ranks in the bureau and the unit for people, among units for units, in one batch."""
    if not scored:
        return
    people = {k: total for k, (_, total) in scored.items() if k.startswith("p:")}
    overall = rank(people)
    in_unit = rank_within(people, {k: scored[k][0] for k in people})
    units = rank({k: total for k, (_, total) in scored.items() if k.startswith("u:")})
    await session.execute(
        update(RESULT)
        .where(RESULT.c.cycle_id == cycle.id, RESULT.c.subject_key == bindparam("key"))
        .values(rank_in_unit=bindparam("in_unit"), rank_overall=bindparam("overall")),
        [
            {"key": k, "in_unit": in_unit.get(k), "overall": overall.get(k, units.get(k))}
            for k in scored
        ],
    )


async def results_of(session: AsyncSession, cycle: Cycle) -> list[Result]:
    return list(
        await session.scalars(
            select(Result)
            .where(Result.cycle_id == cycle.id)
            .order_by(Result.total.desc(), Result.id)
        )
    )


def distribution(results: list[Result]) -> Counter[Grade]:
    return Counter(r.grade for r in results if r.staff_id is not None)


def is_fresh(cycle: Cycle) -> bool:
    """The stored results were computed after the last change to answers or phase."""
    return cycle.scored_at is not None and cycle.scored_revision == cycle.revision


def require_fresh(cycle: Cycle, *, scored_revision: int | None = None) -> None:
    """Refuse stale results, and results other than those shown (``scored_revision``)."""
    if not is_fresh(cycle) or scored_revision not in (None, cycle.scored_revision):
        raise DomainError(
            N_(
                "The results of {period} were computed before later changes to the answers or the cycle. Please score again (send /score {code} to the bot, or run jixiao cycle score {code}) and send the new results."
            ),
            period=cycle.period,
            code=cycle.period,
        )


def dimension_scores(result: Result) -> dict[Dimension, Decimal]:
    return {
        Dimension(d["dimension"]): Decimal(d["score"])
        for d in result.breakdown.get("dimensions", [])
        if d.get("score") is not None
    }


def unit_averages(results: list[Result]) -> dict[int, dict[Dimension, Decimal]]:
    """Each unit's average dimension scores over its people (the chart's comparison line)."""
    sums: dict[int, dict[Dimension, list[Decimal]]] = {}
    for r in results:
        if r.staff_id is None:
            continue
        for d, v in dimension_scores(r).items():
            sums.setdefault(r.unit_id, {}).setdefault(d, []).append(v)
    return {
        u: {d: (sum(vs, Decimal(0)) / len(vs)).quantize(Decimal("0.01")) for d, vs in dims.items()}
        for u, dims in sums.items()
    }


async def rerank(session: AsyncSession, cycle: Cycle) -> None:
    """Ranks after an adjustment: within each unit and across the bureau."""
    results = await results_of(session, cycle)
    people = {r.subject_key: r.total for r in results if r.staff_id is not None}
    overall = rank(people)
    in_unit = rank_within(
        people, {r.subject_key: r.unit_id for r in results if r.staff_id is not None}
    )
    for r in results:
        if r.staff_id is not None:
            r.rank_overall = overall[r.subject_key]
            r.rank_in_unit = in_unit[r.subject_key]


async def history(session: AsyncSession, staff_id: int) -> list[tuple[Cycle, Result]]:
    rows = await session.execute(
        select(Cycle, Result)
        .join(Result, Result.cycle_id == Cycle.id)
        .where(Result.staff_id == staff_id, Result.published_at.is_not(None))
        .order_by(Cycle.id)
    )
    return [(c, r) for c, r in rows]


async def integrity(session: AsyncSession, cycle: Cycle, *, tz: dt.tzinfo) -> list[Any]:
    """Patterns worth a look for the working group (flagged, never excluded automatically).

    Raters appear as ``p:<staff id>`` and citizens as ``c:<respondent key>``; the caller
    shows names to the working group only, never to the rated person.
    """
    forms: list[Form] = []
    submitted = {
        a.id: a
        for a in await session.scalars(
            select(Assignment).where(
                Assignment.cycle_id == cycle.id,
                Assignment.active.is_(True),
                Assignment.status == AssignmentStatus.SUBMITTED,
            )
        )
    }
    answers: dict[int, dict[str, Decimal]] = defaultdict(dict)
    if submitted:
        for assignment_id, item, points in await session.execute(
            select(Answer.assignment_id, Answer.item, Answer.points)  # a join: no IN (ids)
            .join(Assignment, Assignment.id == Answer.assignment_id)
            .where(
                Assignment.cycle_id == cycle.id,
                Assignment.active.is_(True),
                Assignment.status == AssignmentStatus.SUBMITTED,
                Answer.points.is_not(None),
            )
        ):
            answers[assignment_id][item] = Decimal(str(points))
    for aid, a in submitted.items():
        if answers.get(aid):
            forms.append(
                Form(
                    rater=f"p:{a.rater_staff_id}",
                    ratee=a.ratee_key,
                    source=a.source,
                    answers=answers[aid],
                )
            )
    start, end = period_bounds(cycle, tz)
    citizen: dict[int, tuple[str, str, dict[str, Decimal]]] = {}
    for rid, key, target, question, points in await session.execute(
        select(
            SurveyResponse.id,
            SurveyResponse.respondent_key,
            SurveyResponse.target_key,
            SurveyAnswer.question,
            SurveyAnswer.points,
        )
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .where(
            SurveyResponse.status == ResponseStatus.COMPLETE,
            SurveyResponse.completed_at >= start,
            SurveyResponse.completed_at < end,
        )
    ):
        entry = citizen.setdefault(rid, (f"c:{key[:12]}", target.replace("s:", "p:"), {}))
        entry[2][question] = Decimal(str(points))
    forms += [
        Form(rater=r, ratee=t, source=Source.CITIZEN, answers=a) for r, t, a in citizen.values()
    ]
    return list(integrity_signals(forms))
