"""Everything waiting for one person, in each of their roles: what the home screen lists.

After publishing, a person's forms are gone but their work is not: a result to look at and
perhaps appeal before a deadline, a plan to write, milestones falling due; a leader has
approvals waiting, the working group appeals to decide, a unit head bad reviews to answer.
Each role's service knows its own rules; this module only asks "what is open for whom",
read-only, so the home screen never forgets anyone. It knows nothing of how it is shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import (
    AppealStatus,
    CyclePhase,
    Grade,
    PlanStatus,
    RectificationStatus,
    Role,
)
from infra.models import (
    Appeal,
    Cycle,
    ImprovementPlan,
    OrgUnit,
    PlanMilestone,
    Rectification,
    Result,
    Staff,
)
from services import forms, leadership
from services.access import Actor

SHOWN = 3
"""At most this many items of one kind are listed one by one; beyond, a count."""
MILESTONE_NOTICE = dt.timedelta(days=7)
"""Milestones falling due within this many days are listed besides overdue ones."""
LEADERSHIP_ORDER = (Role.LEADER_CHIEF, Role.LEADER_DEPUTY, Role.LEADER_MEMBER)
T = TypeVar("T")
ALL = func.count().over().label("all")
"""Beside the first few rows of a kind, how many match in all: one query instead of two."""


@dataclass(frozen=True)
class TemplateApproval:
    """An indicator system a cycle waits on (审定), for a leadership member."""

    template_id: int
    name: str
    periods: tuple[str, ...]


@dataclass(frozen=True)
class ResultsApproval:
    """Scored results the member has not decided on in the current review round."""

    cycle_id: int
    period: str
    round: int


@dataclass(frozen=True)
class PublishedResult:
    """The person's result not opened yet in its latest version, or still open to appeal
    (``appeals_until`` then says until when: the appeal deadline, 申诉)."""

    result_id: int
    period: str
    total: Decimal
    grade: Grade
    appeals_until: dt.datetime | None
    viewed: bool


@dataclass(frozen=True)
class OwnAppeal:
    """The person's appeal not decided yet: being examined, or a question to answer."""

    appeal_id: int
    period: str
    status: AppealStatus


@dataclass(frozen=True)
class PlanToDo:
    """An improvement plan to write (draft, sent back) or to approve (submitted)."""

    plan_id: int
    period: str
    status: PlanStatus
    author: str


@dataclass(frozen=True)
class Milestone:
    """A milestone of an approved plan, not done, due soon or overdue."""

    milestone_id: int
    text: str
    due: dt.date
    overdue: bool


@dataclass(frozen=True)
class Many(Generic[T]):
    """The first few items of a kind and how many there are in all."""

    items: tuple[T, ...] = ()
    total: int = 0

    def __bool__(self) -> bool:
        return self.total > 0


@dataclass(frozen=True)
class Rectify:
    """A bad review (差评) the unit head must answer by its deadline."""

    rect_id: int
    unit: str
    deadline: dt.datetime
    overdue: bool


@dataclass(frozen=True)
class AppealQueue:
    """Appeals the working group has not decided: how many, the earliest deadline."""

    total: int
    earliest: dt.datetime | None


@dataclass(frozen=True)
class Upcoming:
    """What comes next when nothing waits for the person: the latest cycle's phase."""

    period: str
    phase: CyclePhase


@dataclass(frozen=True)
class Pending:
    """One person's open things, by kind; each kind is empty when nothing waits."""

    forms: list[forms.TaskSummary] = field(default_factory=list)
    results: list[PublishedResult] = field(default_factory=list)
    appeals: list[OwnAppeal] = field(default_factory=list)
    plans: list[PlanToDo] = field(default_factory=list)
    milestones: Many[Milestone] = Many()
    leadership_role: Role | None = None
    template_approvals: list[TemplateApproval] = field(default_factory=list)
    results_approvals: list[ResultsApproval] = field(default_factory=list)
    plans_to_approve: Many[PlanToDo] = Many()
    rectify: Many[Rectify] = Many()
    appeals_to_decide: AppealQueue | None = None
    reviews_to_decide: int = 0
    upcoming: Upcoming | None = None

    @property
    def empty(self) -> bool:
        """Nothing to act on (the role itself is not a task)."""
        return not (
            any(s.counts for s in self.forms)
            or self.results
            or self.appeals
            or self.plans
            or self.milestones
            or self.template_approvals
            or self.results_approvals
            or self.plans_to_approve
            or self.rectify
            or self.appeals_to_decide
            or self.reviews_to_decide
        )


async def pending_for(
    session: AsyncSession, actor: Actor, *, now: dt.datetime, tz: ZoneInfo
) -> Pending:
    """What waits for ``actor``: their own things as a staff member, then each role's."""
    staff = actor.staff
    role = next((r for r in LEADERSHIP_ORDER if r in actor.roles), None)
    found = Pending(leadership_role=role)
    if staff is not None:
        found = replace(
            found,
            forms=await forms.task_summary(session, staff.id),
            results=await _results(session, staff.id, now),
            appeals=await _own_appeals(session, staff.id),
            plans=await _plans(session, author=staff.id),
            milestones=await _milestones(session, staff.id, now.astimezone(tz).date()),
            plans_to_approve=await _plans_to_approve(session, staff.id),
            rectify=await _rectify(session, actor.headed_unit_ids, now),
        )
        if role is not None:
            templates, results = await _approvals(session, staff.id)
            found = replace(found, template_approvals=templates, results_approvals=results)
    if actor.is_admin:
        found = replace(
            found,
            appeals_to_decide=await _appeal_queue(session),
            reviews_to_decide=await _reviews(session),
        )
    if found.empty:
        found = replace(found, upcoming=await _upcoming(session))
    return found


async def _results(session: AsyncSession, staff_id: int, now: dt.datetime) -> list[PublishedResult]:
    """Published results new to the person, or open to appeal and not appealed, newest first."""
    appealed = select(Appeal.result_id).where(Appeal.staff_id == staff_id)
    window = and_(
        Cycle.phase.in_([CyclePhase.PUBLISHED, CyclePhase.APPEALS]),
        Cycle.appeals_until > now,
        Result.id.not_in(appealed),
    )
    unseen = or_(Result.viewed_version.is_(None), Result.viewed_version < Result.version)
    rows = await session.execute(
        select(
            Result.id,
            Cycle.period,
            Result.total,
            Result.grade,
            Cycle.appeals_until,
            window,
            ~unseen,
        )
        .join(Cycle, Cycle.id == Result.cycle_id)
        .where(Result.staff_id == staff_id, Result.published_at.is_not(None), or_(window, unseen))
        .order_by(Cycle.id.desc())
        .limit(SHOWN)
    )
    return [
        PublishedResult(int(i), p, t, g, until if open_ else None, bool(seen))
        for i, p, t, g, until, open_, seen in rows
    ]


async def _own_appeals(session: AsyncSession, staff_id: int) -> list[OwnAppeal]:
    rows = await session.execute(
        select(Appeal.id, Cycle.period, Appeal.status)
        .join(Cycle, Cycle.id == Appeal.cycle_id)
        .where(Appeal.staff_id == staff_id, Appeal.status != AppealStatus.DECIDED)
        .order_by(Appeal.id)
    )
    return [OwnAppeal(int(i), p, s) for i, p, s in rows]


async def _plans(session: AsyncSession, *, author: int) -> list[PlanToDo]:
    """Plans the person still has to write or rewrite."""
    rows = await session.execute(
        select(ImprovementPlan.id, Cycle.period, ImprovementPlan.status)
        .join(Cycle, Cycle.id == ImprovementPlan.cycle_id)
        .where(
            ImprovementPlan.author_staff_id == author,
            ImprovementPlan.status.in_([PlanStatus.DRAFT, PlanStatus.RETURNED]),
        )
        .order_by(ImprovementPlan.id)
    )
    return [PlanToDo(int(i), p, s, "") for i, p, s in rows]


async def _plans_to_approve(session: AsyncSession, staff_id: int) -> Many[PlanToDo]:
    where = (
        ImprovementPlan.approver_staff_id == staff_id,
        ImprovementPlan.status == PlanStatus.SUBMITTED,
    )
    rows = (
        await session.execute(
            select(ImprovementPlan.id, Cycle.period, ImprovementPlan.status, Staff.name, ALL)
            .join(Cycle, Cycle.id == ImprovementPlan.cycle_id)
            .join(Staff, Staff.id == ImprovementPlan.author_staff_id)
            .where(*where)
            .order_by(ImprovementPlan.submitted_at, ImprovementPlan.id)
            .limit(SHOWN)
        )
    ).all()
    return Many(tuple(PlanToDo(int(i), p, s, n) for i, p, s, n, _ in rows), _total(rows))


async def _milestones(session: AsyncSession, staff_id: int, today: dt.date) -> Many[Milestone]:
    where = (
        ImprovementPlan.author_staff_id == staff_id,
        ImprovementPlan.status == PlanStatus.APPROVED,
        PlanMilestone.done_at.is_(None),
        PlanMilestone.due <= today + MILESTONE_NOTICE,
    )
    rows = (
        await session.execute(
            select(PlanMilestone.id, PlanMilestone.text, PlanMilestone.due, ALL)
            .join(ImprovementPlan, ImprovementPlan.id == PlanMilestone.plan_id)
            .where(*where)
            .order_by(PlanMilestone.due, PlanMilestone.id)
            .limit(SHOWN)
        )
    ).all()
    found = (Milestone(int(i), text, due, due < today) for i, text, due, _ in rows)
    return Many(tuple(found), _total(rows))


def _total(rows: Sequence[Sequence[Any]]) -> int:
    """The ``ALL`` column of a limited query (the same in every row; no rows, none)."""
    return int(rows[0][-1]) if rows else 0


async def _approvals(
    session: AsyncSession, staff_id: int
) -> tuple[list[TemplateApproval], list[ResultsApproval]]:
    """What waits for the member's 审定, as ``leadership.awaiting`` finds it (the same list
    that hands a late-linking leader their copy of each request)."""
    templates: list[TemplateApproval] = []
    results: list[ResultsApproval] = []
    for item in await leadership.awaiting(session, staff_id):
        if item.template is not None:
            templates.append(TemplateApproval(item.template.id, item.template.name, item.periods))
        elif item.cycle is not None:
            results.append(
                ResultsApproval(item.cycle.id, item.cycle.period, item.cycle.review_round)
            )
    return templates, results


async def _rectify(session: AsyncSession, units: frozenset[int], now: dt.datetime) -> Many[Rectify]:
    """Bad reviews of the units the person heads that wait for their answer."""
    if not units:
        return Many()
    where = (Rectification.unit_id.in_(units), Rectification.status == RectificationStatus.OPEN)
    rows = (
        await session.execute(
            select(Rectification.id, OrgUnit.name, Rectification.deadline, ALL)
            .join(OrgUnit, OrgUnit.id == Rectification.unit_id)
            .where(*where)
            .order_by(Rectification.deadline, Rectification.id)
            .limit(SHOWN)
        )
    ).all()
    return Many(tuple(Rectify(int(i), n, d, d < now) for i, n, d, _ in rows), _total(rows))


async def _appeal_queue(session: AsyncSession) -> AppealQueue | None:
    """Appeals waiting for the working group (a question out to the appellant included)."""
    total, earliest = (
        await session.execute(
            select(func.count(Appeal.id), func.min(Appeal.deadline)).where(
                Appeal.status != AppealStatus.DECIDED
            )
        )
    ).one()
    return AppealQueue(int(total), earliest) if total else None


async def _reviews(session: AsyncSession) -> int:
    """Units' requests to re-examine a bad review (申诉复核), for the working group."""
    query = select(func.count(Rectification.id)).where(
        Rectification.status == RectificationStatus.UNDER_REVIEW
    )
    return await session.scalar(query) or 0


async def _upcoming(session: AsyncSession) -> Upcoming | None:
    """The newest cycle not closed, to say what happens next."""
    cycle = await session.scalar(
        select(Cycle).where(Cycle.phase != CyclePhase.CLOSED).order_by(Cycle.id.desc()).limit(1)
    )
    return Upcoming(cycle.period, cycle.phase) if cycle else None
