"""The working group's console (/admin) without the messenger: the current cycle, how far
each unit's people are with their forms, who is behind, and the one reminder to them.

Progress is counted by the rater's unit, because a reminder goes to raters: "办公室 12/20,
3 behind" names the people a unit head can chase, not the people being rated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import AssignmentStatus, CyclePhase
from domain.text import N_
from infra.models import Assignment, Cycle, OrgUnit, Staff
from services import leadership
from services.audit import audit
from services.cycles import Actor, lock
from services.errors import DomainError
from services.notices import DEFAULTS, Localization, linked_raters_behind, remind_behind


@dataclass(frozen=True)
class UnitProgress:
    """Forms of one unit's people: submitted of expected, and how many people are behind."""

    unit: str
    submitted: int
    expected: int
    behind: int


@dataclass(frozen=True)
class Console:
    """What the console shows: the latest cycle (None before the first), its progress by
    unit, how many of those behind have linked (whom a reminder reaches), and whether a
    审定 of this cycle waits for the person looking (a leadership member)."""

    cycle: Cycle | None
    units: tuple[UnitProgress, ...] = ()
    reachable: int = 0
    awaits_caller: bool = False

    @property
    def behind(self) -> int:
        return sum(u.behind for u in self.units)


async def current_cycle(session: AsyncSession) -> Cycle | None:
    """The cycle the working group is running: the latest opened."""
    return await session.scalar(select(Cycle).order_by(Cycle.id.desc()).limit(1))


async def console(session: AsyncSession, *, staff_id: int | None) -> Console:
    """The console's figures; ``staff_id``: the caller's, to know whether a 审定 waits for them."""
    cycle = await current_cycle(session)
    if cycle is None:
        return Console(None)
    awaits = False
    if staff_id is not None and cycle.phase == CyclePhase.REVIEW:
        awaits = any(
            item.cycle is not None and item.cycle.id == cycle.id
            for item in await leadership.awaiting(session, staff_id)
        )
    return Console(cycle, await progress(session, cycle), await _reachable(session, cycle), awaits)


async def progress(session: AsyncSession, cycle: Cycle) -> tuple[UnitProgress, ...]:
    """Submitted of expected forms, and people with a form still open, per unit of the rater:
    one aggregate query, so 10,000 staff cost one row per unit."""
    submitted = case((Assignment.status == AssignmentStatus.SUBMITTED, 1), else_=0)
    still_open = case((Assignment.status == AssignmentStatus.OPEN, Assignment.rater_staff_id))
    rows = await session.execute(
        select(
            OrgUnit.name,
            func.sum(submitted),
            func.count(),
            func.count(func.distinct(still_open)),
        )
        .select_from(Assignment)
        .join(Staff, Staff.id == Assignment.rater_staff_id)
        .join(OrgUnit, OrgUnit.id == Staff.unit_id)
        .where(Assignment.cycle_id == cycle.id, Assignment.active.is_(True))
        .group_by(OrgUnit.name, OrgUnit.sort_order)
        .order_by(OrgUnit.sort_order, OrgUnit.name)
    )
    return tuple(
        UnitProgress(unit, int(done or 0), int(total), int(late))
        for unit, done, total, late in rows
    )


async def _reachable(session: AsyncSession, cycle: Cycle) -> int:
    """People behind who have linked a Telegram account (and so get a reminder)."""
    count = await session.scalar(
        linked_raters_behind(cycle, func.count(func.distinct(Assignment.rater_staff_id)))
    )
    return count or 0


async def remind(
    session: AsyncSession,
    cycle_id: int,
    *,
    now: dt.datetime,
    actor: Actor,
    local: Localization = DEFAULTS,
) -> int:
    """Queue the working group's reminder to everyone behind (once a day each); audited with
    how many were queued, a repeat (0) too, so the log shows every tap."""
    cycle = await session.get(Cycle, cycle_id)
    if cycle is None:
        raise DomainError(N_("There is no cycle {period}."), period=str(cycle_id))
    await lock(session, cycle)  # two taps at once: the second waits and finds the keys taken
    if cycle.phase != CyclePhase.COLLECTING:
        raise DomainError(N_("The cycle {period} is not collecting answers."), period=cycle.period)
    day = now.astimezone(local.tz).date()
    queued = await remind_behind(session, cycle, day=day, local=local)
    await audit(
        session,
        "cycle.remind",
        actor_label=actor.label,
        actor_telegram_id=actor.telegram_id,
        actor_staff_id=actor.staff_id,
        object_type="cycle",
        object_id=cycle.period,
        detail={"queued": queued},
        at=now,
    )
    return queued
