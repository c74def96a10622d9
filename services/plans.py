"""績效改進計劃 (七(一)): plans for poor results, approved by the supervisor, tracked to the end.

What can happen to a plan, who may do it, who is told — the table ``PLAN`` below::

    (publishing) ──open──▶ DRAFT ──submit──▶ SUBMITTED ──approve──▶ APPROVED ──complete──▶ DONE
                             ▲ edit             │                 progress, milestone_done,
                  RETURNED ──┴──◀──send_back────┘                 remind_due / remind_overdue

Rules beyond the table (each checked here, so the chat and any future CLI share them):

- Publishing opens one plan per (cycle, subject) graded 不合格, or below an optional threshold
  (``open_plans_for``, idempotent). The author is the person, or for a unit its head; the
  approver is the supervising leader (``domain.assignments``); nobody above: the working group.
- A plan states goals, measures, the responsible person and dated milestones (at least one,
  in the future and in order; ``plan_view.parse_milestones``). Each submission is a round; the
  approver's buttons name it, so a button of an older round cannot approve what changed since.
- Every milestone of an approved plan is reminded on its due date and once more when overdue,
  each once (``PlanMilestone.reminded_at`` plus the outbox's dedupe keys).

Functions run in the caller's transaction and raise ``DomainError`` (``Refused`` when the
caller has no right to the plan, which the chat audits as ``access.denied``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.assignments import PersonNode, UnitNode, superior_of, unit_superior_of
from domain.choice import Choice, Choices, rows
from domain.enums import Grade, PlanStatus
from infra.i18n import N_, Translator
from infra.models import Cycle, ImprovementPlan, OrgUnit, PlanMilestone, Result, Staff
from services import cases
from services import plan_view as pv
from services.access import Actor
from services.audit import audit
from services.cases import Env, Notice, Recipient, Refused, Step, Transition
from services.errors import DomainError
from services.notices import Localization
from services.official_calendar import calendar, warn_unofficial
from services.plan_view import EDITABLE, NOT_FOUND, PlanView, check_text, load, parse_milestones

__all__ = ["Refused", "parse_milestones"]  # for the chat and the tests

Status = PlanStatus
DECIDED: Final = N_("This plan has already been decided, or it was changed since.")
FIXED: Final = N_("The plan has been approved and can no longer be changed.")
WAITING: Final = N_("The plan is waiting for approval and cannot be changed now.")
NOT_APPROVED: Final = N_("Progress is reported once the plan is approved.")


# --- the table: what can happen to a plan, who may do it, who is told -----------------------

AUTHOR = cases.staff_of("the author", lambda plan: plan.author_staff_id, NOT_FOUND)
APPROVER = cases.staff_of("the approver", lambda plan: plan.approver_staff_id, NOT_FOUND)
DECIDERS = (APPROVER | cases.WORKING_GROUP).but_not(AUTHOR, NOT_FOUND)  # never one's own plan
_author = cases.owner(lambda step: step.view.plan.author_staff_id)


async def _approver(session: AsyncSession, step: Step[PlanView]) -> Sequence[Recipient]:
    """The approver; with none (or none linked), the working group — but not the author."""
    plan = step.view.plan
    if found := await cases.accounts(session, [plan.approver_staff_id]):
        return found
    own = {r.chat_id for r in await cases.accounts(session, [plan.author_staff_id])}
    return [r for r in await cases.working_group(session, step.env) if r.chat_id not in own]


def _report(tr: Translator, step: Step[PlanView]) -> Choices:
    return rows([Choice(tr._("Report progress"), "plan.report", (step.params["milestone"],))])


def decision_choices(tr: Translator, plan_id: int, round_: int) -> Choices:
    """The approver's two buttons; they name the submission round they decide."""
    return rows(
        [Choice(tr._("✅ Approve the plan"), "plan.approve", (plan_id, round_))],
        [Choice(tr._("↩️ Return with a comment"), "plan.send_back", (plan_id, round_))],
    )


def _told(msgid: str) -> Any:
    """A notice's text; a reminder names its milestone (``found``)."""

    def text(tr: Translator, step: Step[PlanView]) -> str:
        found = step.params.get("found")
        at = {"date": tr.date(found.due), "text": found.text} if found else {}
        return pv.told(tr, step.view, msgid, **at)

    return text


def _for_approval(tr: Translator, step: Step[PlanView]) -> str:
    today = step.at.astimezone(step.env.tz).date()
    heading = tr._("<b>An improvement plan for your approval</b>")
    return heading + "\n\n" + pv.plan_text(step.view, tr, today=today)


# Who is told what: recipients, text, dedupe key (once per …), buttons.
# fmt: off
N = Notice[PlanView]
OPENED = N(_author, lambda tr, s: pv.opened_text(s.view, tr), "plan-open:{id}", cases.button(N_("✍️ Draw up the plan"), "plan.open"), when=lambda s: not s.params.get("told"))
TO_APPROVE = N(_approver, _for_approval, "plan-submit:{id}:{round}:{chat}", lambda tr, s: decision_choices(tr, s.case.id, s.round))
APPROVED_ = N(_author, _told(pv.APPROVED_TEXT), "plan-approved:{id}", cases.button(N_("Open the plan"), "plan.open"))
RETURNED = N(_author, _told(pv.RETURNED_TEXT), "plan-returned:{id}:{round}", cases.button(N_("✍️ Revise the plan"), "plan.open"))
COMPLETE = N(_approver, _told(pv.DONE_TEXT), "plan-done:{id}:{chat}", cases.button(N_("Open the plan"), "plan.open"))
DUE = N(_author, _told(pv.DUE_TEXT), "plan-due:{milestone}", _report)
OVERDUE = N(_author, _told(pv.OVERDUE_TEXT), "plan-overdue:{milestone}", _report)
# fmt: on

T, SYSTEM, NEW = Transition[PlanView], cases.SYSTEM, cases.NEW

SUBMITTED, APPROVED = frozenset({Status.SUBMITTED}), frozenset({Status.APPROVED})
PLAN: Final = cases.Workflow[PlanView]("improvement_plan", (
    # name              from       to                who       audit                  when not   notices
    T("open",           NEW,       Status.DRAFT,     SYSTEM,   "plan.open",           NOT_FOUND, (OPENED,)),
    T("edit",           EDITABLE | SUBMITTED, None,  AUTHOR,   "plan.edit",           FIXED,     why_not=lambda v: WAITING if v.plan.status == Status.SUBMITTED else None),
    T("submit",         EDITABLE,  Status.SUBMITTED, AUTHOR,   "plan.submit",         FIXED,     (TO_APPROVE,), bumps_round=True),
    T("approve",        SUBMITTED, Status.APPROVED,  DECIDERS, "plan.approve",        DECIDED,   (APPROVED_,)),
    T("send_back",      SUBMITTED, Status.RETURNED,  DECIDERS, "plan.return",         DECIDED,   (RETURNED,)),
    T("progress",       APPROVED,  None,             AUTHOR,   "plan.progress",       NOT_APPROVED),
    T("milestone_done", APPROVED,  None,             AUTHOR,   "plan.milestone_done", NOT_APPROVED),
    T("complete",       APPROVED,  Status.DONE,      AUTHOR,   "plan.done",           NOT_APPROVED, (COMPLETE,)),
    T("remind_due",     APPROVED,  None,             SYSTEM,   "plan.remind_due",     NOT_APPROVED, (DUE,)),
    T("remind_overdue", APPROVED,  None,             SYSTEM,   "plan.remind_overdue", NOT_APPROVED, (OVERDUE,)),
), case_of=lambda view: view.plan)  # fmt: skip


async def _apply(
    session: AsyncSession, name: str, view: PlanView, actor: Actor | None, at: dt.datetime,
    env: Env | None, **params: Any,
) -> PlanView:  # fmt: skip
    await cases.apply(session, PLAN, name, view, actor=actor, at=at, env=env or Env(), **params)
    return view


# --- opening plans at publishing -------------------------------------------------------


async def _writers(session: AsyncSession) -> Callable[[Result], tuple[int | None, int | None]]:
    """Who writes and who approves a result's plan: the org tree as ``start_collecting`` sees it
    (active people only; an inactive person keeps a plan, approved by an active superior)."""
    units = list(await session.scalars(select(OrgUnit).where(OrgUnit.active.is_(True))))
    staff = list(await session.scalars(select(Staff)))
    active = {p.id for p in staff if p.active}

    def keep(staff_id: int | None) -> int | None:
        return staff_id if staff_id in active else None

    nodes = {p.id: PersonNode(p.id, p.unit_id, keep(p.supervisor_id)) for p in staff}
    people = {i: node for i, node in nodes.items() if i in active}
    tree = {
        u.id: UnitNode(u.id, u.name, u.parent_id, keep(u.head_staff_id), keep(u.leader_staff_id))
        for u in units
    }

    def writers(result: Result) -> tuple[int | None, int | None]:
        if result.staff_id is not None:
            person = nodes.get(result.staff_id)
            return (person.id, superior_of(person, tree, people)) if person else (None, None)
        unit = tree.get(result.unit_id)
        return (unit.head_id, unit_superior_of(unit, tree, people)) if unit else (None, None)

    return writers


async def open_plans_for(
    session: AsyncSession, cycle: Cycle, results: Sequence[Result], *, now: dt.datetime,
    threshold: Decimal | None = None, env: Env | None = None, told: bool = False,
) -> int:  # fmt: skip
    """Open a DRAFT plan for every result graded 不合格 (or, when the bureau sets one, with a
    total below ``threshold``) and tell its author, unless ``told``: the result message
    carries the requirement (publishing), so that a person reads one message, not two.
    Returns how many. Idempotent per (cycle, subject). A unit
    without an active head is audited (``plan.no_author``) instead."""
    below = Decimal("-Infinity") if threshold is None else Decimal(threshold)
    poor = [r for r in results if r.grade == Grade.FAIL or Decimal(r.total) < below]
    if not poor:
        return 0
    query = select(ImprovementPlan.subject_key).where(ImprovementPlan.cycle_id == cycle.id)
    existing = set(await session.scalars(query))
    writers = await _writers(session)
    opened = 0
    for result in poor:
        if result.subject_key in existing:
            continue
        author, approver = writers(result)
        detail: dict[str, Any] = {"cycle": cycle.period, "subject": result.subject_key}
        if author is None:
            if result.staff_id is None:  # a unit without an active head
                await audit(session, "plan.no_author", actor_label="publish", object_type="result",
                            object_id=str(result.id), detail=detail, at=now)  # fmt: skip
            continue
        plan = ImprovementPlan(cycle_id=cycle.id, subject_key=result.subject_key)
        plan.author_staff_id, plan.approver_staff_id, plan.status = author, approver, Status.DRAFT
        session.add(plan)
        await session.flush()
        existing.add(result.subject_key)
        detail |= {"grade": result.grade.value, "total": str(result.total)}
        detail |= {"author": author, "approver": approver}
        view = await load(session, plan.id)
        await _apply(
            session, "open", view, None, now, env, detail=detail, actor_label="publish", told=told
        )
        opened += 1
    return opened


async def plans_of(session: AsyncSession, cycle: Cycle) -> dict[str, PlanView]:
    """The cycle's plans by subject key (``p:<staff id>`` or ``u:<unit id>``)."""
    query = select(ImprovementPlan.id).where(ImprovementPlan.cycle_id == cycle.id)
    views = [await load(session, plan_id) for plan_id in await session.scalars(query)]
    return {view.plan.subject_key: view for view in views}


# --- drafting, submitting, deciding ----------------------------------------------------------


def check_editable(view: PlanView, actor: Actor) -> None:
    """The author's draft: a submitted plan says it waits, an approved one that it is fixed."""
    cases.check(PLAN, "edit", view, actor)


async def save_field(
    session: AsyncSession, plan_id: int, field: str, text: str | None, *, actor: Actor,
    now: dt.datetime, env: Env | None = None,
) -> PlanView:  # fmt: skip
    """Goals, measures or the responsible person, written by the author of a draft."""
    if field not in pv.LIMITS:
        raise ValueError(f"not a text field of a plan: {field}")
    view = await load(session, plan_id, lock=True)
    check_editable(view, actor)
    value = check_text(text, pv.LIMITS[field])
    detail = {"field": field, "length": len(value)}
    return await _apply(
        session, "edit", view, actor, now, env, changes={field: value}, detail=detail
    )


async def save_milestones(
    session: AsyncSession, plan_id: int, items: Sequence[tuple[dt.date, str]], *, actor: Actor,
    today: dt.date, now: dt.datetime, env: Env | None = None,
) -> PlanView:  # fmt: skip
    """Replace the draft's milestones (checked again: the confirmation may come a day later)."""
    check_editable(await load(session, plan_id, lock=True), actor)
    checked = parse_milestones("\n".join(f"{d.isoformat()} {t}" for d, t in items), today)
    await session.execute(delete(PlanMilestone).where(PlanMilestone.plan_id == plan_id))
    session.add_all(PlanMilestone(plan_id=plan_id, due=due, text=text) for due, text in checked)
    await session.flush()
    env = env or Env()
    local = Localization(env.locale, env.tz)
    dues = [due for due, _ in checked]
    await warn_unofficial(
        session, await calendar(session), dues, admin_ids=env.admin_ids, local=local
    )
    detail = {"field": pv.TIMELINE, "milestones": len(checked)}
    return await _apply(
        session, "edit", await load(session, plan_id), actor, now, env, detail=detail
    )


async def submit(
    session: AsyncSession, plan_id: int, *, actor: Actor, today: dt.date, now: dt.datetime, env: Env
) -> PlanView:
    """The author hands the plan to the approver (or the working group when there is none)."""
    view = await load(session, plan_id, lock=True)
    check_editable(view, actor)
    if view.missing():
        raise DomainError(N_("Some parts of the plan are still empty."))
    if any(m.due <= today for m in view.milestones):
        raise DomainError(
            N_("A milestone date is no longer in the future. Please update the milestones.")
        )
    detail = {"approver": view.plan.approver_staff_id}
    changes = {"submitted_at": now}
    return await _apply(session, "submit", view, actor, now, env, changes=changes, detail=detail)


async def check_decision(
    session: AsyncSession, plan_id: int, round_: int, actor: Actor, *, lock: bool = False
) -> PlanView:
    """The approver's button of this round (the count of submissions), while the plan waits."""
    view = await load(session, plan_id, lock=lock)
    cases.check(PLAN, "approve", view, actor)
    if await cases.round_of(session, PLAN, plan_id) != round_:
        raise DomainError(DECIDED)
    return view


async def approve(
    session: AsyncSession, plan_id: int, round_: int, *, actor: Actor, now: dt.datetime, env: Env
) -> PlanView:
    view = await check_decision(session, plan_id, round_, actor, lock=True)
    detail = {"as_admin": view.plan.approver_staff_id != (actor.staff.id if actor.staff else None)}
    changes = {"approved_at": now}
    return await _apply(session, "approve", view, actor, now, env, changes=changes, detail=detail)


async def send_back(
    session: AsyncSession, plan_id: int, round_: int, comment: str | None, *, actor: Actor,
    now: dt.datetime, env: Env,
) -> PlanView:  # fmt: skip
    """退回: the approver says what to change; the author edits and submits again."""
    text = check_text(comment, pv.MAX_COMMENT)
    view = await check_decision(session, plan_id, round_, actor, lock=True)
    changes, detail = {"comment": text}, {"comment": text}
    return await _apply(session, "send_back", view, actor, now, env, changes=changes, detail=detail)


# --- tracking ------------------------------------------------------------------------------


async def open_milestone(
    session: AsyncSession, milestone_id: int, actor: Actor, *, lock: bool = False
) -> tuple[PlanView, PlanMilestone]:
    """A milestone its author may still report on (not done, the plan approved)."""
    if (found := await session.get(PlanMilestone, milestone_id)) is None:
        raise Refused(NOT_FOUND)
    view = await load(session, found.plan_id, lock=lock)
    if not AUTHOR.allows(actor, view.plan):
        raise Refused(NOT_FOUND)
    if view.plan.status == Status.DONE or found.done_at is not None:
        raise DomainError(N_("This milestone is already done."))
    cases.check(PLAN, "progress", view, actor)
    return view, found


async def report_progress(
    session: AsyncSession, milestone_id: int, text: str | None, *, actor: Actor, now: dt.datetime,
    env: Env,
) -> PlanMilestone:  # fmt: skip
    """Progress on a milestone, in the author's words; each report is kept with its date."""
    view, found = await open_milestone(session, milestone_id, actor)
    value = check_text(text, pv.MAX_PROGRESS)
    stamp = now.astimezone(env.tz).date().isoformat()
    found.progress = f"{found.progress}\n{stamp} {value}" if found.progress else f"{stamp} {value}"
    found.progress = found.progress[-4 * pv.MAX_PROGRESS :]  # keep the newest reports
    detail = {"milestone": milestone_id, "length": len(value)}
    await _apply(session, "progress", view, actor, now, env, detail=detail)
    return found


async def mark_done(
    session: AsyncSession, milestone_id: int, *, actor: Actor, now: dt.datetime, env: Env
) -> PlanView:
    """A milestone reached; when it was the last, the plan is DONE and the approver is told."""
    view, found = await open_milestone(session, milestone_id, actor, lock=True)
    found.done_at = now
    await _apply(session, "milestone_done", view, actor, now, env, detail={"milestone": found.id})
    view = await load(session, found.plan_id)
    if all(m.done_at is not None for m in view.milestones):
        await _apply(session, "complete", view, actor, now, env)
    return view


async def remind_due(
    session: AsyncSession, *, now: dt.datetime, tz: ZoneInfo | None = None, env: Env | None = None
) -> int:
    """Remind authors of milestones due today, and once more of overdue ones; each once.

    ``reminded_at`` records the last reminder: none yet and due → the due-date reminder;
    reminded on or before the due date and now past it → the overdue one; a job that first
    runs after the due date sends only the overdue one. The outbox dedupe keys make a
    re-run (or a crash between queueing and committing) queue nothing twice.
    """
    env = env or (Env(tz=tz) if tz is not None else Env())
    today = now.astimezone(env.tz).date()
    due = await session.execute(
        select(PlanMilestone, ImprovementPlan.id)
        .join(ImprovementPlan, ImprovementPlan.id == PlanMilestone.plan_id)
        .where(
            ImprovementPlan.status == Status.APPROVED,
            PlanMilestone.done_at.is_(None),
            PlanMilestone.due <= today,
        )
        .order_by(PlanMilestone.due, PlanMilestone.id)
    )
    count = 0
    for found, plan_id in due:
        last = found.reminded_at.astimezone(env.tz).date() if found.reminded_at else None
        if found.due < today and (last is None or last <= found.due):
            name = "remind_overdue"
        elif found.due == today and last is None:
            name = "remind_due"
        else:
            continue
        found.reminded_at = now
        detail = {"milestone": found.id, "due": found.due.isoformat()}
        view = await load(session, plan_id)
        await _apply(
            session, name, view, None, now, env, detail=detail, found=found, milestone=found.id
        )
        count += 1
    return count
