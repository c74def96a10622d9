"""績效改進計劃 (七(一)): plans for poor results, approved by the supervisor, tracked to the end.

Life of a plan (``PlanStatus``)::

    DRAFT ──submit──▶ SUBMITTED ──approve──▶ APPROVED ──every milestone done──▶ DONE
      ▲                  │
      └──edit, resubmit── RETURNED ◀──send back with a comment──┘

Rules (each checked here, so the chat and any future CLI share them):

- Publishing opens one plan per (cycle, subject) graded 不合格, or below an optional
  threshold (``open_plans_for``, idempotent). The author is the person, or for a unit its
  head; the approver is the supervising leader (``domain.assignments.superior_of`` /
  ``unit_superior_of``). Nobody above? The working group approves.
- **Only the author** writes, edits, submits and reports progress. **Only the approver**,
  or a working-group member, approves or sends back — never the author themself.
- A plan states goals (目標), measures (措施), the responsible person (責任人) and dated
  milestones (時間節點, at least one, in the future and in order).
- Each submission is a round; the approver's buttons name it, so a button of an older
  round can never approve what was changed since.
- Every milestone of an approved plan is reminded on its due date and once more when
  overdue, each once (``PlanMilestone.reminded_at`` plus outbox dedupe keys).
- Every change is audited; every push goes through the outbox.

Functions run in the caller's transaction and raise ``DomainError`` (``Refused`` when the
caller has no right to the plan, which the chat audits as ``access.denied``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from domain.assignments import PersonNode, UnitNode, superior_of, unit_superior_of
from domain.enums import Grade, PlanStatus
from domain.labels import GRADE_LABELS
from domain.text import MESSAGE_LIMIT, N_, Html, clip, clip_html, escape, html_format
from infra.i18n import Translator
from infra.models import (
    AuditEntry,
    Cycle,
    ImprovementPlan,
    OrgUnit,
    PlanMilestone,
    Result,
    Staff,
    TelegramAccount,
)
from services.access import Actor, admin_accounts
from services.audit import audit
from services.errors import DomainError
from services.notices import translator
from services.outbox import enqueue

Status = PlanStatus
MAX_GOALS: Final = 1000
MAX_MEASURES: Final = 2000
MAX_RESPONSIBLE: Final = 64
MAX_MILESTONE_TEXT: Final = 200
MAX_MILESTONES: Final = 12
MAX_COMMENT: Final = 1000
MAX_PROGRESS: Final = 1000
EDITABLE: Final = (Status.DRAFT, Status.RETURNED)

# Fields the author writes, in drafting order; "timeline" is the milestones.
GOALS, MEASURES, RESPONSIBLE, TIMELINE = "goals", "measures", "responsible", "timeline"
FIELDS: Final = (GOALS, MEASURES, RESPONSIBLE, TIMELINE)
LIMITS: Final = {GOALS: MAX_GOALS, MEASURES: MAX_MEASURES, RESPONSIBLE: MAX_RESPONSIBLE}
FIELD_LABELS: Final = {
    GOALS: N_("Improvement goals"),
    MEASURES: N_("Improvement measures"),
    RESPONSIBLE: N_("Responsible person"),
    TIMELINE: N_("Milestones"),
}
STATUS_LABELS: Final = {
    Status.DRAFT: N_("being drafted"),
    Status.SUBMITTED: N_("waiting for approval"),
    Status.RETURNED: N_("returned for changes"),
    Status.APPROVED: N_("approved"),
    Status.DONE: N_("done"),
}
# How a plan is doing, for the working group's overview.
ON_TRACK, OVERDUE, DONE = "on_track", "overdue", "done"
TRACK_LABELS: Final = {
    ON_TRACK: N_("on track"),
    OVERDUE: N_("overdue"),
    DONE: N_("done"),
}
NOT_FOUND: Final = N_("This improvement plan does not exist, or it is not yours.")

_DATE_LINE = re.compile(
    r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?[\s:：,，、.。;；-]*(.*?)\s*$"
)


class Refused(DomainError):
    """The caller has no right to this plan or milestone (audited as ``access.denied``)."""

    def __init__(self, message: str = NOT_FOUND, **params: object) -> None:
        super().__init__(message, **params)


@dataclass
class PlanView:
    """A plan with what its screens show: milestones, the subject, author and approver."""

    plan: ImprovementPlan
    milestones: list[PlanMilestone]
    period: str
    subject_name: str
    unit_id: int
    unit_name: str
    is_unit: bool
    author_name: str
    approver_name: str | None
    grade: Grade | None

    @property
    def id(self) -> int:
        return self.plan.id

    def missing(self) -> list[str]:
        """Fields still empty, in drafting order."""
        out = [f for f in (GOALS, MEASURES, RESPONSIBLE) if not getattr(self.plan, f).strip()]
        if not self.milestones:
            out.append(TIMELINE)
        return out

    def next_field(self) -> str | None:
        """Where drafting continues: the first empty field, or None (the summary)."""
        missing = self.missing()
        return missing[0] if missing else None

    def track(self, today: dt.date) -> str | None:
        """on track / overdue / done for approved plans; None while not yet approved."""
        if self.plan.status == Status.DONE:
            return DONE
        if self.plan.status != Status.APPROVED:
            return None
        if any(m.done_at is None and m.due < today for m in self.milestones):
            return OVERDUE
        return ON_TRACK


# --- opening plans at publishing -------------------------------------------------------


def needs_plan(result: Result, threshold: Decimal | None = None) -> bool:
    """不合格, or (when the bureau sets one) a total below the threshold."""
    if result.grade == Grade.FAIL:
        return True
    return threshold is not None and Decimal(result.total) < Decimal(threshold)


async def _org(
    session: AsyncSession,
) -> tuple[dict[int, UnitNode], dict[int, PersonNode], dict[int, Staff]]:
    """The org tree as the planner sees it (active people only), as in ``start_collecting``."""
    units = list(await session.scalars(select(OrgUnit).where(OrgUnit.active.is_(True))))
    staff = list(await session.scalars(select(Staff)))
    active = {p.id for p in staff if p.active}
    unit_nodes = {
        u.id: UnitNode(
            u.id,
            u.name,
            u.parent_id,
            u.head_staff_id if u.head_staff_id in active else None,
            u.leader_staff_id if u.leader_staff_id in active else None,
        )
        for u in units
    }
    people = {
        p.id: PersonNode(p.id, p.unit_id, p.supervisor_id if p.supervisor_id in active else None)
        for p in staff
        if p.active
    }
    return unit_nodes, people, {p.id: p for p in staff}


async def open_plans_for(
    session: AsyncSession,
    cycle: Cycle,
    results: Sequence[Result],
    *,
    now: dt.datetime,
    threshold: Decimal | None = None,
) -> int:
    """Open a DRAFT plan for every poor result of the cycle and tell its author; returns how many.

    Runs inside the publishing transaction. Idempotent per (cycle, subject): a plan that
    exists is left alone (a re-run or a replayed update opens nothing twice). A unit
    without an active head has nobody to write its plan: that is audited for the working
    group (``plan.no_author``) instead.
    """
    poor = [r for r in results if needs_plan(r, threshold)]
    if not poor:
        return 0
    existing = set(
        await session.scalars(
            select(ImprovementPlan.subject_key).where(ImprovementPlan.cycle_id == cycle.id)
        )
    )
    unit_nodes, people, staff = await _org(session)
    opened = 0
    for result in poor:
        if result.subject_key in existing:
            continue
        if result.staff_id is not None:
            person = staff.get(result.staff_id)
            if person is None:
                continue
            node = people.get(person.id) or PersonNode(  # an inactive person keeps a plan
                person.id,
                person.unit_id,
                person.supervisor_id if person.supervisor_id in people else None,
            )
            author: int | None = person.id
            approver = superior_of(node, unit_nodes, people)
        else:
            unit_node = unit_nodes.get(result.unit_id)
            author = unit_node.head_id if unit_node else None
            approver = (
                unit_superior_of(unit_node, unit_nodes, people) if unit_node is not None else None
            )
        if author is None:
            await audit(
                session,
                "plan.no_author",
                actor_label="publish",
                object_type="result",
                object_id=str(result.id),
                detail={"cycle": cycle.period, "subject": result.subject_key},
                at=now,
            )
            continue
        plan = ImprovementPlan(
            cycle_id=cycle.id,
            subject_key=result.subject_key,
            author_staff_id=author,
            approver_staff_id=approver,
            status=Status.DRAFT,
            goals="",
            measures="",
            responsible="",
            cursor=GOALS,
        )
        session.add(plan)
        await session.flush()
        existing.add(result.subject_key)
        opened += 1
        await audit(
            session,
            "plan.open",
            actor_label="publish",
            object_type="improvement_plan",
            object_id=str(plan.id),
            detail={
                "cycle": cycle.period,
                "subject": result.subject_key,
                "grade": result.grade.value,
                "total": str(result.total),
                "author": author,
                "approver": approver,
            },
            at=now,
        )
        view = await load(session, plan.id)
        for telegram_id, language in await _accounts(session, author):
            tr = translator(language)
            await enqueue(
                session,
                telegram_id,
                opened_text(view, tr),
                markup=_buttons([(tr._("✍️ Draw up the plan"), f"ip1:o:{plan.id}")]),
                dedupe_key=f"plan-open:{plan.id}",
            )
    return opened


# --- loading -----------------------------------------------------------------------------


async def load(session: AsyncSession, plan_id: int, *, lock: bool = False) -> PlanView:
    """The plan and what its screens show; ``lock`` (for changes) holds the row on PostgreSQL."""
    plan = await session.get(ImprovementPlan, plan_id, with_for_update=lock or None)
    if plan is None:
        raise Refused()
    milestones = list(
        await session.scalars(
            select(PlanMilestone)
            .where(PlanMilestone.plan_id == plan.id)
            .order_by(PlanMilestone.due, PlanMilestone.id)
        )
    )
    cycle = await session.get(Cycle, plan.cycle_id)
    result = await session.scalar(
        select(Result).where(
            Result.cycle_id == plan.cycle_id, Result.subject_key == plan.subject_key
        )
    )
    kind, _, ref = plan.subject_key.partition(":")
    is_unit = kind == "u"
    unit_id = 0
    subject_name = ""
    if is_unit:
        unit_id = int(ref)
    else:
        person = await session.get(Staff, int(ref))
        if person is not None:
            unit_id, subject_name = person.unit_id, person.name
    unit = await session.get(OrgUnit, unit_id) if unit_id else None
    unit_name = unit.name if unit else ""
    if is_unit:
        subject_name = unit_name
    author = await session.get(Staff, plan.author_staff_id)
    approver = await session.get(Staff, plan.approver_staff_id) if plan.approver_staff_id else None
    return PlanView(
        plan=plan,
        milestones=milestones,
        period=cycle.period if cycle else "",
        subject_name=subject_name,
        unit_id=unit_id,
        unit_name=unit_name,
        is_unit=is_unit,
        author_name=author.name if author else "",
        approver_name=approver.name if approver else None,
        grade=result.grade if result else None,
    )


async def plan_for_result(session: AsyncSession, result_id: int) -> ImprovementPlan | None:
    """The plan a result's 改進計劃 button leads to (None if the result needs none)."""
    result = await session.get(Result, result_id)
    if result is None:
        return None
    return await session.scalar(
        select(ImprovementPlan).where(
            ImprovementPlan.cycle_id == result.cycle_id,
            ImprovementPlan.subject_key == result.subject_key,
        )
    )


async def milestone(session: AsyncSession, milestone_id: int) -> PlanMilestone:
    found = await session.get(PlanMilestone, milestone_id)
    if found is None:
        raise Refused()
    return found


async def authored_by(session: AsyncSession, staff_id: int) -> list[PlanView]:
    """The caller's own plans (theirs and their units'), newest cycle first."""
    ids = await session.scalars(
        select(ImprovementPlan.id)
        .where(ImprovementPlan.author_staff_id == staff_id)
        .order_by(ImprovementPlan.cycle_id.desc(), ImprovementPlan.id)
    )
    return [await load(session, i) for i in list(ids)]


async def approved_by(session: AsyncSession, staff_id: int) -> list[PlanView]:
    ids = await session.scalars(
        select(ImprovementPlan.id)
        .where(ImprovementPlan.approver_staff_id == staff_id)
        .order_by(ImprovementPlan.cycle_id.desc(), ImprovementPlan.id)
    )
    return [await load(session, i) for i in list(ids)]


async def every_plan(session: AsyncSession) -> list[PlanView]:
    ids = await session.scalars(
        select(ImprovementPlan.id).order_by(ImprovementPlan.cycle_id.desc(), ImprovementPlan.id)
    )
    return [await load(session, i) for i in list(ids)]


def by_unit(views: Iterable[PlanView]) -> list[tuple[str, str, list[PlanView]]]:
    """(period, unit name, plans) groups: newest cycle first, units by name, unit plan first."""
    groups: dict[tuple[int, str, str], list[PlanView]] = {}
    for view in views:
        groups.setdefault((view.plan.cycle_id, view.period, view.unit_name), []).append(view)
    out = []
    for (_cycle, period, unit), plans in sorted(groups.items(), key=lambda g: (-g[0][0], g[0][2])):
        plans.sort(key=lambda v: (not v.is_unit, v.subject_name, v.id))
        out.append((period, unit, plans))
    return out


# --- rights ------------------------------------------------------------------------------


def is_author(plan: ImprovementPlan, actor: Actor) -> bool:
    return actor.staff is not None and plan.author_staff_id == actor.staff.id


def may_decide(plan: ImprovementPlan, actor: Actor) -> bool:
    """The approver, or the working group — never the plan's own author."""
    if is_author(plan, actor):
        return False
    if actor.is_admin:
        return True
    return actor.staff is not None and plan.approver_staff_id == actor.staff.id


def may_view(plan: ImprovementPlan, actor: Actor) -> bool:
    return is_author(plan, actor) or may_decide(plan, actor)


def _require_author(plan: ImprovementPlan, actor: Actor) -> int:
    if not is_author(plan, actor):
        raise Refused()
    assert actor.staff is not None
    return actor.staff.id


def _require_editable(plan: ImprovementPlan) -> None:
    if plan.status == Status.SUBMITTED:
        raise DomainError(N_("The plan is waiting for approval and cannot be changed now."))
    if plan.status not in EDITABLE:
        raise DomainError(N_("The plan has been approved and can no longer be changed."))


# --- drafting ----------------------------------------------------------------------------


def check_text(text: str | None, limit: int, *, required: bool = True) -> str:
    value = (text or "").strip()
    if required and not value:
        raise DomainError(N_("Please write some text."))
    if len(value) > limit:
        raise DomainError(
            N_("That is {count} characters; at most {limit} fit. Please shorten it."),
            count=len(value),
            limit=limit,
        )
    return value


async def save_field(
    session: AsyncSession,
    plan_id: int,
    field: str,
    text: str | None,
    *,
    actor: Actor,
    now: dt.datetime,
) -> PlanView:
    """Goals, measures or the responsible person, written by the author of a draft."""
    if field not in LIMITS:
        raise ValueError(f"not a text field of a plan: {field}")
    view = await load(session, plan_id, lock=True)
    staff_id = _require_author(view.plan, actor)
    _require_editable(view.plan)
    value = check_text(text, LIMITS[field])
    setattr(view.plan, field, value)
    view.plan.cursor = view.next_field() or "summary"
    await audit(
        session,
        "plan.edit",
        actor_telegram_id=actor.telegram_id,
        actor_staff_id=staff_id,
        object_type="improvement_plan",
        object_id=str(plan_id),
        detail={"field": field, "length": len(value)},
        at=now,
    )
    await session.flush()
    return view


def parse_milestones(text: str | None, today: dt.date) -> list[tuple[dt.date, str]]:
    """Lines "YYYY-MM-DD 内容": at least one, each date after ``today``, in date order."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if not lines:
        raise DomainError(
            N_(
                "Please write at least one milestone: one per line, a date and what is done by then."
            )
        )
    if len(lines) > MAX_MILESTONES:
        raise DomainError(N_("At most {limit} milestones, please."), limit=MAX_MILESTONES)
    out: list[tuple[dt.date, str]] = []
    for number, line in enumerate(lines, 1):
        match = _DATE_LINE.match(line)
        if match is None:
            raise DomainError(
                N_(
                    "Line {line}: please start with a date such as 2027-03-31, then what is done by then."
                ),
                line=number,
            )
        try:
            due = dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            raise DomainError(N_("Line {line}: that date does not exist."), line=number) from None
        content = match.group(4).strip()
        if not content:
            raise DomainError(
                N_("Line {line}: please say what is to be done by that date."), line=number
            )
        if len(content) > MAX_MILESTONE_TEXT:
            raise DomainError(
                N_("Line {line}: at most {limit} characters after the date."),
                line=number,
                limit=MAX_MILESTONE_TEXT,
            )
        if due <= today:
            raise DomainError(
                N_("Line {line}: the date {date} is not in the future."),
                line=number,
                date=due.isoformat(),
            )
        if out and due < out[-1][0]:
            raise DomainError(
                N_("Line {line}: the dates must be in order, earliest first."), line=number
            )
        out.append((due, content))
    return out


async def save_milestones(
    session: AsyncSession,
    plan_id: int,
    items: Sequence[tuple[dt.date, str]],
    *,
    actor: Actor,
    today: dt.date,
    now: dt.datetime,
) -> PlanView:
    """Replace the draft's milestones (checked again: the confirmation may come a day later)."""
    view = await load(session, plan_id, lock=True)
    staff_id = _require_author(view.plan, actor)
    _require_editable(view.plan)
    checked = parse_milestones("\n".join(f"{d.isoformat()} {t}" for d, t in items), today)
    await session.execute(delete(PlanMilestone).where(PlanMilestone.plan_id == plan_id))
    for due, text in checked:
        session.add(PlanMilestone(plan_id=plan_id, due=due, text=text))
    await session.flush()
    view = await load(session, plan_id)
    view.plan.cursor = view.next_field() or "summary"
    await audit(
        session,
        "plan.edit",
        actor_telegram_id=actor.telegram_id,
        actor_staff_id=staff_id,
        object_type="improvement_plan",
        object_id=str(plan_id),
        detail={"field": TIMELINE, "milestones": len(checked)},
        at=now,
    )
    return view


async def submission_round(session: AsyncSession, plan_id: int) -> int:
    """How many times the plan was submitted: the approver's buttons name this round."""
    count = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.action == "plan.submit",
            AuditEntry.object_type == "improvement_plan",
            AuditEntry.object_id == str(plan_id),
        )
    )
    return int(count or 0)


async def submit(
    session: AsyncSession, plan_id: int, *, actor: Actor, today: dt.date, now: dt.datetime
) -> PlanView:
    """The author hands the plan to the approver (or the working group when there is none)."""
    view = await load(session, plan_id, lock=True)
    staff_id = _require_author(view.plan, actor)
    _require_editable(view.plan)
    missing = view.missing()
    if missing:
        raise DomainError(N_("Some parts of the plan are still empty."))
    if any(m.due <= today for m in view.milestones):
        raise DomainError(
            N_("A milestone date is no longer in the future. Please update the milestones.")
        )
    plan = view.plan
    plan.status = Status.SUBMITTED
    plan.submitted_at = now
    plan.cursor = "submitted"
    await audit(
        session,
        "plan.submit",
        actor_telegram_id=actor.telegram_id,
        actor_staff_id=staff_id,
        object_type="improvement_plan",
        object_id=str(plan_id),
        detail={"approver": plan.approver_staff_id},
        at=now,
    )
    await session.flush()
    round_ = await submission_round(session, plan_id)
    for telegram_id, language in await _approver_accounts(session, plan):
        tr = translator(language)
        text = "\n\n".join(
            [
                tr._("<b>An improvement plan for your approval</b>"),
                plan_text(view, tr, today=today),
            ]
        )
        await enqueue(
            session,
            telegram_id,
            _fit(text),
            markup=decision_markup(tr, plan.id, round_),
            dedupe_key=f"plan-submit:{plan.id}:{round_}:{telegram_id}",
        )
    return view


def decision_markup(tr: Translator, plan_id: int, round_: int) -> InlineKeyboardMarkup:
    return _buttons(
        [(tr._("✅ Approve the plan"), f"ip1:a:{plan_id}:{round_}")],
        [(tr._("↩️ Return with a comment"), f"ip1:b:{plan_id}:{round_}")],
    )


async def _check_decision(
    session: AsyncSession, plan_id: int, round_: int, actor: Actor
) -> PlanView:
    view = await load(session, plan_id, lock=True)
    if not may_decide(view.plan, actor):
        raise Refused()
    if view.plan.status != Status.SUBMITTED or await submission_round(session, plan_id) != round_:
        raise DomainError(N_("This plan has already been decided, or it was changed since."))
    return view


async def approve(
    session: AsyncSession, plan_id: int, round_: int, *, actor: Actor, now: dt.datetime
) -> PlanView:
    view = await _check_decision(session, plan_id, round_, actor)
    plan = view.plan
    plan.status = Status.APPROVED
    plan.approved_at = now
    plan.cursor = "approved"
    await audit(
        session,
        "plan.approve",
        actor_telegram_id=actor.telegram_id,
        actor_staff_id=actor.staff.id if actor.staff else None,
        object_type="improvement_plan",
        object_id=str(plan_id),
        detail={"round": round_, "as_admin": plan.approver_staff_id != _sid(actor)},
        at=now,
    )
    for telegram_id, language in await _accounts(session, plan.author_staff_id):
        tr = translator(language)
        await enqueue(
            session,
            telegram_id,
            html_format(
                tr._(
                    "Your improvement plan ({subject}, {period}) has been approved. You will be reminded of each milestone; report your progress with /plan."
                ),
                subject=view.subject_name,
                period=view.period,
            ),
            markup=_buttons([(tr._("Open the plan"), f"ip1:o:{plan.id}")]),
            dedupe_key=f"plan-approved:{plan.id}",
        )
    return view


async def send_back(
    session: AsyncSession,
    plan_id: int,
    round_: int,
    comment: str | None,
    *,
    actor: Actor,
    now: dt.datetime,
) -> PlanView:
    """退回: the approver says what to change; the author edits and submits again."""
    text = check_text(comment, MAX_COMMENT)
    view = await _check_decision(session, plan_id, round_, actor)
    plan = view.plan
    plan.status = Status.RETURNED
    plan.comment = text
    plan.cursor = "summary"
    await audit(
        session,
        "plan.return",
        actor_telegram_id=actor.telegram_id,
        actor_staff_id=_sid(actor),
        object_type="improvement_plan",
        object_id=str(plan_id),
        detail={"round": round_, "comment": text},
        at=now,
    )
    for telegram_id, language in await _accounts(session, plan.author_staff_id):
        tr = translator(language)
        await enqueue(
            session,
            telegram_id,
            html_format(
                tr._(
                    "Your improvement plan ({subject}, {period}) was returned for changes.\nComment: {comment}\nPlease revise it and submit it again."
                ),
                subject=view.subject_name,
                period=view.period,
                comment=text,
            ),
            markup=_buttons([(tr._("✍️ Revise the plan"), f"ip1:o:{plan.id}")]),
            dedupe_key=f"plan-returned:{plan.id}:{round_}",
        )
    return view


# --- tracking ------------------------------------------------------------------------------


async def _milestone_of_author(
    session: AsyncSession, milestone_id: int, actor: Actor
) -> tuple[PlanView, PlanMilestone]:
    found = await milestone(session, milestone_id)
    view = await load(session, found.plan_id)
    _require_author(view.plan, actor)
    if view.plan.status == Status.DONE or found.done_at is not None:
        raise DomainError(N_("This milestone is already done."))
    if view.plan.status != Status.APPROVED:
        raise DomainError(N_("Progress is reported once the plan is approved."))
    return view, found


async def check_progress_allowed(session: AsyncSession, milestone_id: int, actor: Actor) -> None:
    await _milestone_of_author(session, milestone_id, actor)


async def report_progress(
    session: AsyncSession,
    milestone_id: int,
    text: str | None,
    *,
    actor: Actor,
    now: dt.datetime,
    tz: dt.tzinfo = dt.UTC,
) -> PlanMilestone:
    """Progress on a milestone, in the author's words; each report is kept with its date."""
    _view, found = await _milestone_of_author(session, milestone_id, actor)
    value = check_text(text, MAX_PROGRESS)
    stamp = now.astimezone(tz).date().isoformat()
    found.progress = f"{found.progress}\n{stamp} {value}" if found.progress else f"{stamp} {value}"
    if len(found.progress) > 4 * MAX_PROGRESS:  # keep the newest reports
        found.progress = found.progress[-4 * MAX_PROGRESS :]
    await audit(
        session,
        "plan.progress",
        actor_telegram_id=actor.telegram_id,
        actor_staff_id=_sid(actor),
        object_type="plan_milestone",
        object_id=str(milestone_id),
        detail={"plan": found.plan_id, "length": len(value)},
        at=now,
    )
    await session.flush()
    return found


async def mark_done(
    session: AsyncSession, milestone_id: int, *, actor: Actor, now: dt.datetime
) -> PlanView:
    """A milestone reached; when it was the last, the plan is DONE and the approver is told."""
    view, found = await _milestone_of_author(session, milestone_id, actor)
    await load(session, found.plan_id, lock=True)
    found.done_at = now
    await audit(
        session,
        "plan.milestone_done",
        actor_telegram_id=actor.telegram_id,
        actor_staff_id=_sid(actor),
        object_type="plan_milestone",
        object_id=str(milestone_id),
        detail={"plan": found.plan_id},
        at=now,
    )
    await session.flush()
    view = await load(session, found.plan_id)
    if all(m.done_at is not None for m in view.milestones):
        view.plan.status = Status.DONE
        view.plan.cursor = "done"
        await audit(
            session,
            "plan.done",
            actor_telegram_id=actor.telegram_id,
            actor_staff_id=_sid(actor),
            object_type="improvement_plan",
            object_id=str(view.id),
            at=now,
        )
        for telegram_id, language in await _approver_accounts(session, view.plan):
            tr = translator(language)
            await enqueue(
                session,
                telegram_id,
                html_format(
                    tr._(
                        "The improvement plan of {subject} ({period}) is complete: every milestone is done."
                    ),
                    subject=view.subject_name,
                    period=view.period,
                ),
                markup=_buttons([(tr._("Open the plan"), f"ip1:o:{view.id}")]),
                dedupe_key=f"plan-done:{view.id}:{telegram_id}",
            )
    return view


async def remind_due(session: AsyncSession, *, now: dt.datetime, tz: dt.tzinfo) -> int:
    """Remind authors of milestones due today, and once more of overdue ones; each once.

    ``reminded_at`` records the last reminder: none yet and due → the due-date reminder;
    reminded on or before the due date and now past it → the overdue one; a job that first
    runs after the due date sends only the overdue one. The outbox dedupe keys make a
    re-run (or a crash between queueing and committing) queue nothing twice.
    """
    today = now.astimezone(tz).date()
    rows = await session.execute(
        select(PlanMilestone, ImprovementPlan)
        .join(ImprovementPlan, ImprovementPlan.id == PlanMilestone.plan_id)
        .where(
            ImprovementPlan.status == Status.APPROVED,
            PlanMilestone.done_at.is_(None),
            PlanMilestone.due <= today,
        )
        .order_by(PlanMilestone.due, PlanMilestone.id)
    )
    count = 0
    for found, plan in rows:
        last = found.reminded_at.astimezone(tz).date() if found.reminded_at else None
        if found.due < today and (last is None or last <= found.due):
            kind = "overdue"
        elif found.due == today and last is None:
            kind = "due"
        else:
            continue
        view = await load(session, plan.id)
        for telegram_id, language in await _accounts(session, plan.author_staff_id):
            tr = translator(language)
            if kind == "due":
                text = tr._(
                    "Reminder: a milestone of your improvement plan ({subject}, {period}) is due today: {date} {text}. Please report your progress."
                )
            else:
                text = tr._(
                    "A milestone of your improvement plan ({subject}, {period}) is overdue: {date} {text}. Please report your progress."
                )
            await enqueue(
                session,
                telegram_id,
                html_format(
                    text,
                    subject=view.subject_name,
                    period=view.period,
                    date=tr.date(found.due),
                    text=found.text,
                ),
                markup=_buttons([(tr._("Report progress"), f"ip1:m:{found.id}")]),
                dedupe_key=f"plan-{kind}:{found.id}",
            )
        found.reminded_at = now
        await audit(
            session,
            f"plan.remind_{kind}",
            actor_label="job",
            object_type="plan_milestone",
            object_id=str(found.id),
            detail={"plan": plan.id, "due": found.due.isoformat()},
            at=now,
        )
        count += 1
    await session.flush()
    return count


# --- texts ---------------------------------------------------------------------------------


def opened_text(view: PlanView, tr: Translator) -> str:
    grade = tr._(GRADE_LABELS[view.grade]) if view.grade else ""
    approver = (
        _esc(view.approver_name) if view.approver_name else tr._("the evaluation working group")
    )
    subject = (
        html_format(tr._("{unit} (unit)"), unit=view.subject_name)
        if view.is_unit
        else _esc(view.subject_name)
    )
    return html_format(
        tr._(
            "You need to draw up a performance improvement plan: {subject}, {period}, graded {grade}. Set out the goals, the measures, the responsible person and milestone dates; {approver} approves it. Send /plan or tap the button."
        ),
        subject=subject,
        period=view.period,
        grade=grade,
        approver=approver,
    )


def milestone_line(m: PlanMilestone, tr: Translator, today: dt.date) -> str:
    if m.done_at is not None:
        mark = "✅"
    elif m.due < today:
        mark = "⚠️"
    else:
        mark = "▫️"
    return f"{mark} {m.due.isoformat()} {_esc(m.text)}"


def plan_text(view: PlanView, tr: Translator, *, today: dt.date, progress: bool = False) -> str:
    """The whole plan as HTML; long goals and measures are shortened to fit one message."""
    plan = view.plan
    subject = (
        html_format(tr._("{unit} (unit)"), unit=view.subject_name)
        if view.is_unit
        else _esc(view.subject_name)
    )
    status = tr._(STATUS_LABELS[plan.status])
    track = view.track(today)
    if track == OVERDUE:
        status += " · " + tr._(TRACK_LABELS[OVERDUE])
    empty = tr._("(not written yet)")
    lines: list[str] = [
        html_format(
            tr._("<b>Improvement plan</b> · {subject} · {period}"),
            subject=subject,
            period=view.period,
        ),
        html_format(tr._("Status: {status}"), status=status),
        html_format(
            tr._("Approver: {name}"),
            name=view.approver_name if view.approver_name else tr._("the evaluation working group"),
        ),
    ]
    if plan.status == Status.RETURNED and plan.comment:
        lines.append(html_format(tr._("<b>Returned:</b> {comment}"), comment=plan.comment))
    budget = 3300 - sum(len(m.text) + 16 for m in view.milestones)
    goals, measures = plan.goals, plan.measures
    if len(goals) + len(measures) > budget:
        goals = _clip(goals, max(budget // 3, 100))
        measures = _clip(measures, max(budget - len(goals), 200))
    lines += [
        "",
        f"<b>{tr._(FIELD_LABELS[GOALS])}</b>",
        _esc(goals) or empty,
        f"<b>{tr._(FIELD_LABELS[MEASURES])}</b>",
        _esc(measures) or empty,
        f"<b>{tr._(FIELD_LABELS[RESPONSIBLE])}:</b> {_esc(plan.responsible) or empty}",
        f"<b>{tr._(FIELD_LABELS[TIMELINE])}</b>",
    ]
    if not view.milestones:
        lines.append(empty)
    for m in view.milestones:
        lines.append(milestone_line(m, tr, today))
        if progress and m.progress:
            lines.append("   " + _esc(_clip(m.progress.splitlines()[-1], 120)))
    return _fit("\n".join(lines))


def milestones_text(items: Sequence[tuple[dt.date, str]]) -> str:
    return "\n".join(f"• {d.isoformat()} {_esc(t)}" for d, t in items)


def overview_line(view: PlanView, tr: Translator, today: dt.date) -> str:
    track = view.track(today)
    state = tr._(TRACK_LABELS[track]) if track else tr._(STATUS_LABELS[view.plan.status])
    mark = {DONE: "✅", OVERDUE: "⚠️", ON_TRACK: "🟢"}.get(track or "", "▫️")
    name = (
        html_format(tr._("{unit} (unit)"), unit=view.subject_name)
        if view.is_unit
        else _esc(view.subject_name)
    )
    done = sum(1 for m in view.milestones if m.done_at is not None)
    count = f" {done}/{len(view.milestones)}" if view.milestones else ""
    return f"{mark} {name} · {state}{count}"


# --- helpers -------------------------------------------------------------------------------


async def _accounts(session: AsyncSession, staff_id: int | None) -> list[tuple[int, str | None]]:
    """The bound account of an active staff member, as (telegram id, language)."""
    if staff_id is None:
        return []
    row = (
        await session.execute(
            select(TelegramAccount.telegram_id, TelegramAccount.language)
            .join(Staff, Staff.id == TelegramAccount.staff_id)
            .where(Staff.id == staff_id, Staff.active.is_(True))
        )
    ).first()
    return [(int(row[0]), row[1])] if row else []


async def _approver_accounts(
    session: AsyncSession, plan: ImprovementPlan
) -> list[tuple[int, str | None]]:
    """The approver's account; with no approver (or none bound), the working group's."""
    found = await _accounts(session, plan.approver_staff_id)
    if found:
        return found
    author = await _accounts(session, plan.author_staff_id)
    return [a for a in await admin_accounts(session) if a not in author]


def _sid(actor: Actor) -> int | None:
    return actor.staff.id if actor.staff else None


def _buttons(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def _clip(text: str, limit: int) -> str:
    return clip(text, limit)


def _fit(text: str, limit: int = MESSAGE_LIMIT) -> Html:
    """A whole plan in one message, cut as Telegram counts it (domain/text.py)."""
    return clip_html(text, limit)


def _esc(text: str) -> Html:
    return escape(text)
