"""Telling everyone their published result, in transactions short enough to hold up no chat.

Publishing (``services.result_review.publish``) changes the cycle, its results and its plans
in the approving transaction. A cycle of up to ``CHUNK`` results is told there too; a bigger
one sets ``cycle.push_cursor`` and is told by ``push_pending`` right after, ``CHUNK`` results
per transaction: each queues their notices and moves the cursor past them in one commit, so
a crash anywhere resumes after the last chunk committed, and the dedupe keys make a chunk
that is run twice (two pushers, a retry) queue nothing twice. Why: on SQLite a transaction
holds the only writer, and 3,000 results told in one took 18–22 s, during which no chat
could store an answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import Dimension, Grade
from infra.models import Cycle, ImprovementPlan, OutboxMessage, Result, Staff, TelegramAccount
from services.notices import DEFAULTS, Localization, translator
from services.outbox import enqueue_all
from services.plan_view import PlanView
from services.plan_view import load as load_plan
from services.result_notices import push_unit_summary, result_messages

CHUNK = 25  # results per transaction: 50 rows queued; their messages are built in ~40 ms of CPU


@dataclass
class Totals:
    """What telling one result needs of the whole cycle, read once per run."""

    averages: dict[int, dict[Dimension, Decimal]] = field(default_factory=dict)
    unit_sizes: Counter[int] = field(default_factory=Counter)
    unit_grades: dict[int, Counter[Grade]] = field(default_factory=dict)


async def totals(session: AsyncSession, cycle_id: int) -> Totals:
    """Each unit's averages (the chart's markers), head count (the rank's base) and grades."""
    rows = await session.execute(
        select(Result.unit_id, Result.grade, Result.breakdown).where(
            Result.cycle_id == cycle_id, Result.staff_id.is_not(None)
        )
    )
    found = Totals()
    sums: dict[int, dict[Dimension, list[Decimal]]] = {}
    for unit_id, grade, breakdown in rows:
        found.unit_sizes[unit_id] += 1
        found.unit_grades.setdefault(unit_id, Counter())[grade] += 1
        for d in _dimensions(breakdown):
            if d.get("score") is not None:
                sums.setdefault(unit_id, {}).setdefault(Dimension(d["dimension"]), []).append(
                    Decimal(d["score"])
                )
    found.averages = {
        u: {d: (sum(vs, Decimal(0)) / len(vs)).quantize(Decimal("0.01")) for d, vs in dims.items()}
        for u, dims in sums.items()
    }
    return found


def _dimensions(breakdown: Any) -> list[dict[str, Any]]:
    return list(breakdown.get("dimensions", [])) if isinstance(breakdown, dict) else []


@dataclass
class Chunk:
    """The next results to tell and what their messages need, read before writing."""

    after: int  # the cursor it was read at
    results: list[Result]
    accounts: dict[int, tuple[int, str | None]]
    names: dict[int, str]
    plans: dict[str, PlanView]
    last: bool  # nothing after it


async def read_chunk(session: AsyncSession, cycle: Cycle, size: int = CHUNK) -> Chunk | None:
    """The next ``size`` results after ``cycle.push_cursor`` (None: nothing is pending)."""
    if cycle.push_cursor is None:
        return None
    results = list(
        await session.scalars(
            select(Result)
            .where(Result.cycle_id == cycle.id, Result.id > cycle.push_cursor)
            .order_by(Result.id)
            .limit(size)
        )
    )
    people = [r.staff_id for r in results if r.staff_id is not None]
    accounts: dict[int, tuple[int, str | None]] = {
        int(staff_id or 0): (telegram_id, language)
        for staff_id, telegram_id, language in await session.execute(
            select(
                TelegramAccount.staff_id, TelegramAccount.telegram_id, TelegramAccount.language
            ).where(TelegramAccount.staff_id.in_(people))
        )
    }
    names = dict(
        (await session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(people)))).all()
    )
    plans = await _plans(session, cycle, [r.subject_key for r in results])
    return Chunk(cycle.push_cursor, results, accounts, names, plans, len(results) < size)


def messages(
    cycle: Cycle, chunk: Chunk, summary: Totals, local: Localization
) -> list[OutboxMessage]:
    """The people's messages of ``chunk``: built outside the writing transaction (CPU)."""
    rows: list[OutboxMessage] = []
    for result in chunk.results:
        who = chunk.accounts.get(result.staff_id) if result.staff_id is not None else None
        if who is None:
            continue
        rows += result_messages(
            cycle,
            result,
            summary.averages.get(result.unit_id),
            telegram_id=who[0],
            tr=translator(who[1], local),
            name=chunk.names.get(result.staff_id or 0, ""),
            unit_size=summary.unit_sizes[result.unit_id],
            plan=chunk.plans.get(result.subject_key),
        )
    return rows


async def write_chunk(
    session: AsyncSession,
    cycle: Cycle,
    chunk: Chunk,
    rows: list[OutboxMessage],
    summary: Totals,
    *,
    local: Localization = DEFAULTS,
) -> bool:
    """Queue ``rows`` and the unit heads' notices of ``chunk``, and move the cursor past it;
    False (nothing written) when another pusher moved the cursor since ``chunk`` was read."""
    if cycle.push_cursor != chunk.after:
        return False
    for result in chunk.results:
        if result.staff_id is None:  # a unit: its head hears of it (a handful per cycle)
            grades = summary.unit_grades.get(result.unit_id, Counter())
            plan = chunk.plans.get(result.subject_key)
            await push_unit_summary(session, cycle, result, grades, local=local, plan=plan)
    if rows:
        await enqueue_all(session, rows)
    cycle.push_cursor = None if chunk.last else chunk.results[-1].id
    return True


async def push_chunk(
    session: AsyncSession,
    cycle: Cycle,
    summary: Totals,
    *,
    local: Localization = DEFAULTS,
    size: int = CHUNK,
) -> int:
    """Read, build and write one chunk in ``session`` (publishing a small cycle); returns how
    many results it told about."""
    chunk = await read_chunk(session, cycle, size)
    if chunk is None:
        return 0
    await write_chunk(
        session, cycle, chunk, messages(cycle, chunk, summary, local), summary, local=local
    )
    return len(chunk.results)


async def _plans(session: AsyncSession, cycle: Cycle, keys: list[str]) -> dict[str, PlanView]:
    """The plans opened at publishing for these subjects (few: 不合格 and below threshold)."""
    ids = await session.scalars(
        select(ImprovementPlan.id).where(
            ImprovementPlan.cycle_id == cycle.id, ImprovementPlan.subject_key.in_(keys)
        )
    )
    views = [await load_plan(session, plan_id) for plan_id in ids]
    return {view.plan.subject_key: view for view in views}
