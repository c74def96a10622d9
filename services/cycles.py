"""Evaluation cycles: templates in force, leadership approval, opening, deadlines, progress.

A cycle starts collecting only once its template has been approved by a member of
the leadership group (二(一)); at that moment the assignments are made (四(二)) and
everyone with a task is told, through the outbox, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.assignments import PersonNode, UnitNode, plan_assignments
from domain.enums import AssignmentStatus, CyclePhase, Role, Source
from domain.labels import SOURCE_LABELS
from domain.period import Period, current_quarter
from domain.template import Template
from domain.text import N_
from infra.i18n import Translator
from infra.models import (
    Assignment,
    Cycle,
    OrgUnit,
    RoleGrant,
    Staff,
    TelegramAccount,
    TemplateVersion,
)
from services.approval_copies import (
    TEMPLATE_APPROVED,
    AlreadyDecided,
    Decided,
    retire,
    template_key,
)
from services.audit import audit
from services.errors import DomainError
from services.notices import DEFAULTS, Localization, notify_cycle_opened, template_approval_message
from services.official_calendar import calendar, warn_unofficial
from services.outbox import enqueue
from services.workdays import WorkCalendar, end_of_day


@dataclass(frozen=True)
class Actor:
    """Who acts, for the audit log: a label (``cli``/``telegram``) and optional ids."""

    label: str
    telegram_id: int | None = None
    staff_id: int | None = None


async def register_template(
    session: AsyncSession, template: Template, *, filename: str, actor: Actor, now: dt.datetime
) -> TemplateVersion:
    """Store a validated template once per content (same digest = same version)."""
    digest = template.digest()
    existing = await session.scalar(select(TemplateVersion).where(TemplateVersion.digest == digest))
    if existing is not None:
        return existing
    version = TemplateVersion(
        name=template.name,
        digest=digest,
        content=template.to_dict(),
        source_filename=filename,
        created_at=now,
        created_by=actor.label,
    )
    session.add(version)
    await session.flush()
    await audit(
        session,
        "template.register",
        actor_label=actor.label,
        actor_telegram_id=actor.telegram_id,
        actor_staff_id=actor.staff_id,
        object_type="template",
        object_id=str(version.id),
        detail={"digest": digest},
        at=now,
    )
    return version


# Phases in which results may still be (re)computed; published results change only by appeal.
UNPUBLISHED = (
    CyclePhase.PREPARING,
    CyclePhase.COLLECTING,
    CyclePhase.SCORING,
    CyclePhase.REVIEW,
)


async def touch(session: AsyncSession, cycle_id: int) -> None:
    """Mark the cycle's computed results stale: what scoring reads has changed.

    Written as ``revision = revision + 1`` and flushed at once, in the transaction of the
    change: the ``UPDATE`` takes the cycle's row lock, so a concurrent scoring (which
    locks the row before reading) either sees the change or is followed by this mark.
    """
    cycle = await session.get(Cycle, cycle_id)
    if cycle is None:
        return
    cycle.revision = Cycle.revision + 1  # an SQL expression: atomic on the database
    await session.flush()
    await session.refresh(cycle, ["revision"])


async def touch_periods_of(session: AsyncSession, at: dt.datetime, tz: dt.tzinfo) -> None:
    """A citizen's answer from ``at`` changed: unpublished cycles of its quarter and year go stale."""
    quarter = current_quarter(at.astimezone(tz).date())
    found = await session.scalars(
        select(Cycle.id).where(
            Cycle.period.in_([str(quarter), str(quarter.year)]), Cycle.phase.in_(UNPUBLISHED)
        )
    )
    for cycle_id in list(found):
        await touch(session, cycle_id)


async def lock(session: AsyncSession, cycle: Cycle) -> Cycle:
    """Take the cycle's row lock and re-read it (SQLite's writers are serialised anyway).

    Pending changes are flushed first, so the re-read keeps them.
    """
    await session.flush()
    await session.refresh(cycle, with_for_update=True)
    return cycle


def suggested_deadlines(period: Period, cal: WorkCalendar) -> list[dt.date]:
    """Deadlines to offer for ``period``: 10, 15 and 20 days after it ends, each moved on to a
    working day (a deadline is never suggested on a weekend or holiday), without repeats."""
    days = (cal.next_working_day(period.last_day + dt.timedelta(days=d)) for d in (10, 15, 20))
    return list(dict.fromkeys(days))


def extended_deadline(
    deadline: dt.datetime, days: int, tz: ZoneInfo, cal: WorkCalendar
) -> dt.datetime:
    """``deadline`` moved ``days`` later, to the end of a working day (bureau time, in UTC)."""
    return end_of_day(
        cal.next_working_day((deadline.astimezone(tz) + dt.timedelta(days=days)).date()), tz
    )


async def cycle_by_period(session: AsyncSession, period: str) -> Cycle:
    cycle = await session.scalar(select(Cycle).where(Cycle.period == period))
    if cycle is None:
        raise DomainError(N_("There is no cycle {period}."), period=period)
    return cycle


async def open_cycle(
    session: AsyncSession,
    period: Period,
    version: TemplateVersion,
    *,
    deadline: dt.datetime,
    now: dt.datetime,
    actor: Actor,
    peer_count: int = 5,
    reminder_days: tuple[int, ...] = (3, 1),
    local: Localization = DEFAULTS,
    admin_ids: frozenset[int] | None = frozenset(),
) -> Cycle:
    """Create the cycle; it collects at once if its template is approved, else asks the leaders.

    ``local`` (``Localization.of(settings)``) writes the messages this queues; a deadline in a
    year with no official calendar is said to the admins (``admin_ids`` and the bound ones)."""
    if deadline <= now:
        raise DomainError(N_("The deadline must be in the future."))
    if await session.scalar(select(Cycle).where(Cycle.period == str(period))) is not None:
        raise DomainError(N_("The cycle {period} already exists."), period=str(period))
    cycle = Cycle(
        period=str(period),
        kind=period.kind,
        phase=CyclePhase.PREPARING,
        template_id=version.id,
        deadline=deadline,
        peer_count=peer_count,
        reminder_days=sorted(set(reminder_days), reverse=True),
    )
    session.add(cycle)
    await session.flush()
    await audit(
        session,
        "cycle.open",
        actor_label=actor.label,
        actor_telegram_id=actor.telegram_id,
        actor_staff_id=actor.staff_id,
        object_type="cycle",
        object_id=cycle.period,
        detail={"template": version.id, "deadline": deadline.isoformat()},
        at=now,
    )
    if version.approved_at is not None:
        await start_collecting(session, cycle, now=now, local=local)
    else:
        await request_approval(session, version, now=now, local=local)
    await warn_unofficial(
        session, await calendar(session), [deadline], admin_ids=admin_ids, local=local
    )
    return cycle


async def leadership_accounts(session: AsyncSession) -> list[tuple[int, str | None]]:
    """Bound Telegram accounts of the leadership group (组长, 副组长, 成员)."""
    rows = await session.execute(
        select(TelegramAccount.telegram_id, TelegramAccount.language)
        .join(RoleGrant, RoleGrant.staff_id == TelegramAccount.staff_id)
        .join(Staff, Staff.id == TelegramAccount.staff_id)
        .where(
            RoleGrant.role.in_([Role.LEADER_CHIEF, Role.LEADER_DEPUTY, Role.LEADER_MEMBER]),
            Staff.active.is_(True),
        )
        .distinct()
    )
    return [(int(r[0]), r[1]) for r in rows]


async def request_approval(
    session: AsyncSession,
    version: TemplateVersion,
    *,
    now: dt.datetime,
    local: Localization = DEFAULTS,
) -> int:
    """Ask every leadership member to approve the template (once per template, via the outbox)."""
    count = 0
    for telegram_id, language in await leadership_accounts(session):
        text, choices = template_approval_message(version, language, local)
        if await enqueue(
            session,
            telegram_id,
            text,
            choices=choices,
            dedupe_key=f"{template_key(version.id)}{telegram_id}",
        ):
            count += 1
    return count


async def approve_template(
    session: AsyncSession,
    template_id: int,
    *,
    staff_id: int,
    telegram_id: int,
    now: dt.datetime,
    local: Localization = DEFAULTS,
) -> list[Cycle]:
    """A leadership member approves; waiting cycles start collecting. Returns those cycles."""
    allowed = await session.scalar(
        select(func.count())
        .select_from(RoleGrant)
        .where(
            RoleGrant.staff_id == staff_id,
            RoleGrant.role.in_([Role.LEADER_CHIEF, Role.LEADER_DEPUTY, Role.LEADER_MEMBER]),
        )
    )
    if not allowed:
        await audit(
            session,
            "access.denied",
            actor_staff_id=staff_id,
            actor_telegram_id=telegram_id,
            object_type="template",
            object_id=str(template_id),
            detail={"action": "template.approve"},
            at=now,
        )
        raise DomainError(N_("Only members of the leadership group can approve indicator systems."))
    version = await session.get(TemplateVersion, template_id)
    if version is None:
        raise DomainError(N_("This indicator system no longer exists."))
    await session.refresh(version, with_for_update=True)  # two members tapping at once
    if version.approved_at is not None:  # a stale copy, or another member was quicker
        raise AlreadyDecided(await template_decision(session, version))
    started: list[Cycle] = []
    version.approved_at = now
    version.approved_by_staff_id = staff_id
    await audit(
        session,
        "template.approve",
        actor_staff_id=staff_id,
        actor_telegram_id=telegram_id,
        object_type="template",
        object_id=str(template_id),
        at=now,
    )
    waiting = await session.scalars(
        select(Cycle).where(Cycle.template_id == template_id, Cycle.phase == CyclePhase.PREPARING)
    )
    for cycle in waiting:
        await start_collecting(session, cycle, now=now, local=local)
        started.append(cycle)
    await retire(
        session,
        template_key(template_id),
        await template_decision(session, version),
        keep_chat=telegram_id,
        local=local,
    )
    return started


async def template_decision(session: AsyncSession, version: TemplateVersion) -> Decided:
    """Who approved ``version`` (approved), and when, as its stale copies say it."""
    assert version.approved_at is not None
    name = await session.scalar(select(Staff.name).where(Staff.id == version.approved_by_staff_id))
    return Decided(
        TEMPLATE_APPROVED, name or "", version.approved_at, params=(("name", version.name),)
    )


def new_peer_seed() -> str:
    """256 random bits from the OS (``secrets``): the only input of the peer draw nobody can know."""
    return secrets.token_hex(32)


async def start_collecting(
    session: AsyncSession, cycle: Cycle, *, now: dt.datetime, local: Localization = DEFAULTS
) -> int:
    """Make the assignments and tell everyone; refused while another cycle of the kind collects."""
    busy = await session.scalar(
        select(Cycle.period).where(
            Cycle.kind == cycle.kind, Cycle.phase == CyclePhase.COLLECTING, Cycle.id != cycle.id
        )
    )
    if busy:
        raise DomainError(
            N_("The cycle {other} is still collecting; close it before starting {period}."),
            other=busy,
            period=cycle.period,
        )
    if cycle.peer_seed is None:
        # 四(二) anonymity: the peer graph comes from a secret only the server holds;
        # a seed anyone could know (the period) let staff recompute every circle.
        cycle.peer_seed = new_peer_seed()
    units = list(await session.scalars(select(OrgUnit).where(OrgUnit.active.is_(True))))
    people = list(await session.scalars(select(Staff).where(Staff.active.is_(True))))
    active_ids = {p.id for p in people}
    plan = plan_assignments(
        [
            UnitNode(
                u.id,
                u.name,
                u.parent_id,
                u.head_staff_id if u.head_staff_id in active_ids else None,
                u.leader_staff_id if u.leader_staff_id in active_ids else None,
            )
            for u in units
        ],
        [
            PersonNode(p.id, p.unit_id, p.supervisor_id if p.supervisor_id in active_ids else None)
            for p in people
        ],
        peer_count=cycle.peer_count,
        seed=cycle.peer_seed,
    )
    for planned in plan:
        key = (
            f"p:{planned.ratee_person_id}"
            if planned.ratee_person_id
            else f"u:{planned.ratee_unit_id}"
        )
        session.add(
            Assignment(
                cycle_id=cycle.id,
                source=planned.source,
                rater_staff_id=planned.rater_id,
                ratee_staff_id=planned.ratee_person_id,
                ratee_unit_id=planned.ratee_unit_id,
                ratee_key=key,
            )
        )
    cycle.phase = CyclePhase.COLLECTING
    cycle.collecting_since = now
    await session.flush()
    await notify_cycle_opened(session, cycle, local=local)
    await audit(
        session,
        "cycle.collect",
        object_type="cycle",
        object_id=cycle.period,
        detail={"assignments": len(plan)},
        at=now,
    )
    return len(plan)


async def extend(
    session: AsyncSession,
    period: str,
    deadline: dt.datetime,
    *,
    now: dt.datetime,
    actor: Actor,
    local: Localization = DEFAULTS,
    admin_ids: frozenset[int] | None = frozenset(),
) -> Cycle:
    """A later deadline; also reopens collection that was closed early (the phase goes back)."""
    cycle = await cycle_by_period(session, period)
    if deadline <= now or deadline <= cycle.deadline:
        raise DomainError(
            N_("The new deadline must be later than the current one and in the future.")
        )
    if cycle.phase not in (CyclePhase.COLLECTING, CyclePhase.SCORING, CyclePhase.PREPARING):
        raise DomainError(N_("The cycle {period} can no longer be extended."), period=period)
    old = cycle.deadline
    cycle.deadline = deadline
    if cycle.phase == CyclePhase.SCORING:
        cycle.phase = CyclePhase.COLLECTING
        cycle.closed_at = None
        await touch(session, cycle.id)  # collecting again: earlier results no longer hold
    await audit(
        session,
        "cycle.extend",
        actor_label=actor.label,
        actor_telegram_id=actor.telegram_id,
        actor_staff_id=actor.staff_id,
        object_type="cycle",
        object_id=period,
        detail={"old": old.isoformat(), "new": deadline.isoformat()},
        at=now,
    )
    await warn_unofficial(
        session, await calendar(session), [deadline], admin_ids=admin_ids, local=local
    )
    return cycle


async def close(session: AsyncSession, period: str, *, now: dt.datetime, actor: Actor) -> Cycle:
    """End collection: nothing more is accepted; the cycle moves on to scoring."""
    cycle = await cycle_by_period(session, period)
    if cycle.phase != CyclePhase.COLLECTING:
        raise DomainError(N_("The cycle {period} is not collecting answers."), period=period)
    cycle.phase = CyclePhase.SCORING
    cycle.closed_at = now
    await touch(session, cycle.id)
    await audit(
        session,
        "cycle.close",
        actor_label=actor.label,
        actor_telegram_id=actor.telegram_id,
        actor_staff_id=actor.staff_id,
        object_type="cycle",
        object_id=period,
        at=now,
    )
    return cycle


@dataclass
class UnitProgress:
    """Submitted of total forms in one unit, by source (for the working group's overview)."""

    unit: str
    done: dict[Source, int] = field(default_factory=lambda: defaultdict(int))
    total: dict[Source, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def done_all(self) -> int:
        return sum(self.done.values())

    @property
    def total_all(self) -> int:
        return sum(self.total.values())

    def figures(self, tr: Translator) -> str:
        """``12/20（自评 4/5、…）``: submitted of expected, then by source, as the CLI's
        ``cycle status`` and the chat's /cycle both print it."""
        parts = tr.join(
            f"{tr._(SOURCE_LABELS[s])} {self.done.get(s, 0)}/{n}" for s, n in self.total.items()
        )
        return f"{self.done_all}/{self.total_all}{tr.paren(parts)}"


async def progress(session: AsyncSession, cycle: Cycle) -> list[UnitProgress]:
    """Forms submitted per unit of the rated person or unit."""
    rows = await session.execute(
        select(OrgUnit.name, OrgUnit.sort_order, Assignment.source, Assignment.status, func.count())
        .select_from(Assignment)
        .outerjoin(Staff, Staff.id == Assignment.ratee_staff_id)
        .join(OrgUnit, OrgUnit.id == func.coalesce(Assignment.ratee_unit_id, Staff.unit_id))
        .where(Assignment.cycle_id == cycle.id, Assignment.active.is_(True))
        .group_by(OrgUnit.name, OrgUnit.sort_order, Assignment.source, Assignment.status)
        .order_by(OrgUnit.sort_order, OrgUnit.name)
    )
    by_unit: dict[str, UnitProgress] = {}
    for unit, _order, source, status, count in rows:
        entry = by_unit.setdefault(unit, UnitProgress(unit))
        entry.total[source] += count
        if status == AssignmentStatus.SUBMITTED:
            entry.done[source] += count
    return list(by_unit.values())


async def collecting(session: AsyncSession) -> list[Cycle]:
    return list(await session.scalars(select(Cycle).where(Cycle.phase == CyclePhase.COLLECTING)))
