"""績效改進計劃 (七(一)): plans for poor results, approved by the supervisor, tracked to the end.

What can happen to a plan, who may do it and who is told: the table ``PLAN`` below.
The author is the person (for a unit, its head); the approver is the supervising leader
(``domain.assignments.superior_of`` / ``unit_superior_of``), or the working group when there
is none above. Only the author writes, submits and reports progress; only the approver or a
working-group member decides — never the author themself. Each submission is a round; the
approver's buttons name it, so a button of an older round cannot approve what changed since.

What is the plan's own (not the kernel's): its parts (goals 目標, measures 措施, the
responsible person 責任人, dated milestones 時間節點 — at least one, in the future, in
order), the milestone reminders (on the due date and once more when overdue, each once:
``PlanMilestone.reminded_at`` plus outbox dedupe keys), and the texts (``services.plan_texts``).
Functions run in the caller's transaction and raise ``DomainError`` (``Refused`` when the
caller has no right to the plan, which the chat audits as ``access.denied``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.assignments import PersonNode, UnitNode, superior_of, unit_superior_of
from domain.choice import Choice, Choices, rows
from domain.enums import Grade, PlanStatus
from domain.text import N_, html_format
from infra.i18n import Translator
from infra.models import Cycle, ImprovementPlan, OrgUnit, PlanMilestone, Result, Staff
from services import cases
from services.access import Actor
from services.audit import audit
from services.cases import (
    SYSTEM,
    WORKING_GROUP,
    Env,
    Notice,
    Recipient,
    Refused,
    Step,
    Transition,
    Workflow,
    accounts,
    owner,
    staff_of,
    working_group,
)
from services.errors import DomainError
from services.plan_view import (
    EDITABLE,
    LIMITS,
    MAX_COMMENT,
    MAX_MILESTONE_TEXT,
    MAX_MILESTONES,
    MAX_PROGRESS,
    NOT_FOUND,
    TIMELINE,
    PlanView,
    load,
    milestone,
    opened_text,
    plan_text,
)

Status = PlanStatus
DECIDED: Final = N_("This plan has already been decided, or it was changed since.")
FIXED: Final = N_("The plan has been approved and can no longer be changed.")
WAITING: Final = N_("The plan is waiting for approval and cannot be changed now.")
NOT_APPROVED: Final = N_("Progress is reported once the plan is approved.")


# --- the table: what can happen to a plan, who may, who is told --------------------------

AUTHOR = staff_of("author", lambda plan: plan.author_staff_id, NOT_FOUND)
APPROVER = staff_of("approver", lambda plan: plan.approver_staff_id, NOT_FOUND)
DECIDER = (APPROVER | WORKING_GROUP).but_not(AUTHOR, NOT_FOUND)
author = owner(lambda step: step.view.plan.author_staff_id)


async def approver_or_group(session: AsyncSession, step: Step[PlanView]) -> Sequence[Recipient]:
    """The approver; with none (or none linked), the working group — but not the author."""
    plan = step.view.plan
    found = await accounts(session, [plan.approver_staff_id])
    if found:
        return found
    own = {r.chat_id for r in await accounts(session, [plan.author_staff_id])}
    return [r for r in await working_group(session, step.env) if r.chat_id not in own]


def told(msgid: str) -> Callable[[Translator, Step[PlanView]], str]:
    """A notice about the plan, naming its subject and period (and the comment, if any)."""

    def text(tr: Translator, step: Step[PlanView]) -> str:
        view = step.view
        extra = {"comment": view.plan.comment or ""} if "{comment}" in msgid else {}
        return html_format(tr._(msgid), subject=view.subject_name, period=view.period, **extra)

    return text


def reminder(msgid: str) -> Callable[[Translator, Step[PlanView]], str]:
    def text(tr: Translator, step: Step[PlanView]) -> str:
        found: PlanMilestone = step.params["found"]
        view = step.view
        when = tr.date(found.due)
        return html_format(
            tr._(msgid), subject=view.subject_name, period=view.period, date=when, text=found.text
        )

    return text


def opened(tr: Translator, step: Step[PlanView]) -> str:
    return opened_text(step.view, tr)


def for_approval(tr: Translator, step: Step[PlanView]) -> str:
    today = step.at.astimezone(step.env.tz).date()
    heading = tr._("<b>An improvement plan for your approval</b>")
    return heading + "\n\n" + plan_text(step.view, tr, today=today)


def button(label: str) -> Callable[[Translator, Step[PlanView]], Choices]:
    """The plan's own button under a notice: open it."""
    return lambda tr, step: rows([Choice(tr._(label), "plan.open", (step.case.id,))])


def report_button(tr: Translator, step: Step[PlanView]) -> Choices:
    return rows([Choice(tr._("Report progress"), "plan.report", (step.params["found"].id,))])


def decision_choices(tr: Translator, plan_id: int, round_: int) -> Choices:
    """The approver's two buttons; they name the submission round they decide."""
    return rows(
        [Choice(tr._("✅ Approve the plan"), "plan.approve", (plan_id, round_))],
        [Choice(tr._("↩️ Return with a comment"), "plan.send_back", (plan_id, round_))],
    )


def decision_buttons(tr: Translator, step: Step[PlanView]) -> Choices:
    return decision_choices(tr, step.case.id, step.round)


APPROVED_TEXT = N_(
    "Your improvement plan ({subject}, {period}) has been approved. You will be reminded of each milestone; report your progress with /plan."
)
RETURNED_TEXT = N_(
    "Your improvement plan ({subject}, {period}) was returned for changes.\nComment: {comment}\nPlease revise it and submit it again."
)
DONE_TEXT = N_("The improvement plan of {subject} ({period}) is complete: every milestone is done.")
DUE_TEXT = N_(
    "Reminder: a milestone of your improvement plan ({subject}, {period}) is due today: {date} {text}. Please report your progress."
)
OVERDUE_TEXT = N_(
    "A milestone of your improvement plan ({subject}, {period}) is overdue: {date} {text}. Please report your progress."
)

N = Notice[PlanView]
T = Transition[PlanView]
ONLY = frozenset
# fmt: off
PLAN: Final = Workflow[PlanView]("improvement_plan", (
    # name           from                     to                who       audit
    T("open",        ONLY({Status.DRAFT}),    None,             SYSTEM,   "plan.open", NOT_FOUND,
      (N(author, opened, "plan-open:{id}", button(N_("✍️ Draw up the plan"))),)),
    T("edit",        EDITABLE,                None,             AUTHOR,   "plan.edit", FIXED),
    T("submit",      EDITABLE,                Status.SUBMITTED, AUTHOR,   "plan.submit", FIXED,
      (N(approver_or_group, for_approval, "plan-submit:{id}:{round}:{chat}", decision_buttons),),
      bumps_round=True),
    T("approve",     ONLY({Status.SUBMITTED}), Status.APPROVED, DECIDER,  "plan.approve", DECIDED,
      (N(author, told(APPROVED_TEXT), "plan-approved:{id}", button(N_("Open the plan"))),)),
    T("send_back",   ONLY({Status.SUBMITTED}), Status.RETURNED, DECIDER,  "plan.return", DECIDED,
      (N(author, told(RETURNED_TEXT), "plan-returned:{id}:{round}",
         button(N_("✍️ Revise the plan"))),)),
    T("progress",    ONLY({Status.APPROVED}), None,             AUTHOR,   "plan.progress",
      NOT_APPROVED),
    T("milestone_done", ONLY({Status.APPROVED}), None,          AUTHOR,   "plan.milestone_done",
      NOT_APPROVED),
    T("complete",    ONLY({Status.APPROVED}), Status.DONE,      AUTHOR,   "plan.done", NOT_APPROVED,
      (N(approver_or_group, told(DONE_TEXT), "plan-done:{id}:{chat}",
         button(N_("Open the plan"))),)),
    T("remind_due",  ONLY({Status.APPROVED}), None,             SYSTEM,   "plan.remind_due",
      NOT_APPROVED, (N(author, reminder(DUE_TEXT), "plan-due:{milestone}", report_button),)),
    T("remind_overdue", ONLY({Status.APPROVED}), None,          SYSTEM,   "plan.remind_overdue",
      NOT_APPROVED, (N(author, reminder(OVERDUE_TEXT), "plan-overdue:{milestone}",
                       report_button),)),
), case_of=lambda view: view.plan)
# fmt: on


async def _apply(
    session: AsyncSession,
    name: str,
    view: PlanView,
    *,
    actor: Actor | None,
    at: dt.datetime,
    env: Env,
    **kwargs: Any,
) -> Step[PlanView]:
    """``cases.apply`` on ``PLAN``; a milestone's notices get its id in their dedupe key.

    (A local adapter until the kernel formats keys with the step's params: kernel-requests.)
    """
    table = PLAN
    found = kwargs.get("found")
    if found is not None:
        t = PLAN[name]
        mid = str(found.id)
        notices = tuple(
            dataclasses.replace(n, key=n.key.replace("{milestone}", mid)) for n in t.notices
        )
        others = tuple(x for x in PLAN.transitions if x.name != name)
        table = dataclasses.replace(
            PLAN, transitions=(dataclasses.replace(t, notices=notices), *others)
        )
    return await cases.apply(session, table, name, view, actor=actor, at=at, env=env, **kwargs)


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


def _author_and_approver(
    result: Result,
    unit_nodes: dict[int, UnitNode],
    people: dict[int, PersonNode],
    staff: dict[int, Staff],
) -> tuple[int | None, int | None]:
    """The person writes their plan, the supervisor approves; a unit's head and its leader."""
    if result.staff_id is not None:
        person = staff.get(result.staff_id)
        if person is None:
            return None, None
        node = people.get(person.id) or PersonNode(  # an inactive person keeps a plan
            person.id,
            person.unit_id,
            person.supervisor_id if person.supervisor_id in people else None,
        )
        return person.id, superior_of(node, unit_nodes, people)
    unit_node = unit_nodes.get(result.unit_id)
    if unit_node is None:
        return None, None
    return unit_node.head_id, unit_superior_of(unit_node, unit_nodes, people)


async def open_plans_for(
    session: AsyncSession,
    cycle: Cycle,
    results: Sequence[Result],
    *,
    now: dt.datetime,
    threshold: Decimal | None = None,
    env: Env | None = None,
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
        if result.staff_id is not None and result.staff_id not in staff:
            continue
        author_id, approver_id = _author_and_approver(result, unit_nodes, people, staff)
        if author_id is None:
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
            author_staff_id=author_id,
            approver_staff_id=approver_id,
            status=Status.DRAFT,
            goals="",
            measures="",
            responsible="",
        )
        session.add(plan)
        await session.flush()
        existing.add(result.subject_key)
        opened += 1
        detail = {
            "cycle": cycle.period,
            "subject": result.subject_key,
            "grade": result.grade.value,
            "total": str(result.total),
            "author": author_id,
            "approver": approver_id,
        }
        view = await load(session, plan.id)
        await _apply(session, "open", view, actor=None, at=now, env=env or Env(), detail=detail)
    return opened


# --- rights ------------------------------------------------------------------------------


def is_author(plan: ImprovementPlan, actor: Actor) -> bool:
    return AUTHOR.allows(actor, plan)


def may_decide(plan: ImprovementPlan, actor: Actor) -> bool:
    """The approver, or the working group — never the plan's own author."""
    return DECIDER.allows(actor, plan)


def may_view(plan: ImprovementPlan, actor: Actor) -> bool:
    return is_author(plan, actor) or may_decide(plan, actor)


def check_editable(view: PlanView, actor: Actor) -> None:
    """The author's draft: a submitted plan says it waits, an approved one that it is fixed."""
    if is_author(view.plan, actor) and view.plan.status == Status.SUBMITTED:
        raise DomainError(WAITING)
    cases.check(PLAN, "edit", view, actor)


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
    env: Env | None = None,
) -> PlanView:
    """Goals, measures or the responsible person, written by the author of a draft."""
    if field not in LIMITS:
        raise ValueError(f"not a text field of a plan: {field}")
    view = await load(session, plan_id, lock=True)
    check_editable(view, actor)
    value = check_text(text, LIMITS[field])
    detail = {"field": field, "length": len(value)}
    await _apply(
        session,
        "edit",
        view,
        actor=actor,
        at=now,
        env=env or Env(),
        changes={field: value},
        detail=detail,
    )
    return view


_DATE_LINE = re.compile(
    r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?[\s:：,，、.。;；-]*(.*?)\s*$"
)


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
    env: Env | None = None,
) -> PlanView:
    """Replace the draft's milestones (checked again: the confirmation may come a day later)."""
    view = await load(session, plan_id, lock=True)
    check_editable(view, actor)
    checked = parse_milestones("\n".join(f"{d.isoformat()} {t}" for d, t in items), today)
    await session.execute(delete(PlanMilestone).where(PlanMilestone.plan_id == plan_id))
    for due, text in checked:
        session.add(PlanMilestone(plan_id=plan_id, due=due, text=text))
    await session.flush()
    view = await load(session, plan_id)
    detail = {"field": TIMELINE, "milestones": len(checked)}
    await _apply(session, "edit", view, actor=actor, at=now, env=env or Env(), detail=detail)
    return view


# --- submitting and deciding -----------------------------------------------------------------


async def submission_round(session: AsyncSession, plan_id: int) -> int:
    """How many times the plan was submitted: the approver's buttons name this round."""
    return await cases.round_of(session, PLAN, plan_id)


async def submit(
    session: AsyncSession,
    plan_id: int,
    *,
    actor: Actor,
    today: dt.date,
    now: dt.datetime,
    env: Env,
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
    await _apply(
        session, "submit", view, actor=actor, at=now, env=env, changes=changes, detail=detail
    )
    return view


async def check_decision(
    session: AsyncSession, plan_id: int, round_: int, actor: Actor, *, lock: bool = False
) -> PlanView:
    """The approver's button of this round, while the plan waits for a decision."""
    view = await load(session, plan_id, lock=lock)
    cases.check(PLAN, "approve", view, actor)
    if await submission_round(session, plan_id) != round_:
        raise DomainError(DECIDED)
    return view


async def approve(
    session: AsyncSession,
    plan_id: int,
    round_: int,
    *,
    actor: Actor,
    now: dt.datetime,
    env: Env,
) -> PlanView:
    view = await check_decision(session, plan_id, round_, actor, lock=True)
    as_admin = view.plan.approver_staff_id != (actor.staff.id if actor.staff else None)
    await _apply(
        session,
        "approve",
        view,
        actor=actor,
        at=now,
        env=env,
        changes={"approved_at": now},
        detail={"as_admin": as_admin},
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
    env: Env,
) -> PlanView:
    """退回: the approver says what to change; the author edits and submits again."""
    text = check_text(comment, MAX_COMMENT)
    view = await check_decision(session, plan_id, round_, actor, lock=True)
    await _apply(
        session,
        "send_back",
        view,
        actor=actor,
        at=now,
        env=env,
        changes={"comment": text},
        detail={"comment": text},
    )
    return view


# --- tracking ------------------------------------------------------------------------------


async def _open_milestone(
    session: AsyncSession, milestone_id: int, actor: Actor
) -> tuple[PlanView, PlanMilestone]:
    found = await milestone(session, milestone_id)
    view = await load(session, found.plan_id)
    if not is_author(view.plan, actor):
        raise Refused(NOT_FOUND)
    if view.plan.status == Status.DONE or found.done_at is not None:
        raise DomainError(N_("This milestone is already done."))
    cases.check(PLAN, "progress", view, actor)
    return view, found


async def check_progress_allowed(session: AsyncSession, milestone_id: int, actor: Actor) -> None:
    await _open_milestone(session, milestone_id, actor)


async def report_progress(
    session: AsyncSession,
    milestone_id: int,
    text: str | None,
    *,
    actor: Actor,
    now: dt.datetime,
    env: Env,
) -> PlanMilestone:
    """Progress on a milestone, in the author's words; each report is kept with its date."""
    view, found = await _open_milestone(session, milestone_id, actor)
    value = check_text(text, MAX_PROGRESS)
    stamp = now.astimezone(env.tz).date().isoformat()
    found.progress = f"{found.progress}\n{stamp} {value}" if found.progress else f"{stamp} {value}"
    if len(found.progress) > 4 * MAX_PROGRESS:  # keep the newest reports
        found.progress = found.progress[-4 * MAX_PROGRESS :]
    detail = {"milestone": milestone_id, "length": len(value)}
    await _apply(session, "progress", view, actor=actor, at=now, env=env, detail=detail)
    return found


async def mark_done(
    session: AsyncSession, milestone_id: int, *, actor: Actor, now: dt.datetime, env: Env
) -> PlanView:
    """A milestone reached; when it was the last, the plan is DONE and the approver is told."""
    view, found = await _open_milestone(session, milestone_id, actor)
    await load(session, found.plan_id, lock=True)
    found.done_at = now
    detail = {"milestone": milestone_id}
    await _apply(session, "milestone_done", view, actor=actor, at=now, env=env, detail=detail)
    view = await load(session, found.plan_id)
    if all(m.done_at is not None for m in view.milestones):
        await _apply(session, "complete", view, actor=actor, at=now, env=env)
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
    found_rows = await session.execute(
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
    for found, plan in found_rows:
        last = found.reminded_at.astimezone(env.tz).date() if found.reminded_at else None
        if found.due < today and (last is None or last <= found.due):
            name = "remind_overdue"
        elif found.due == today and last is None:
            name = "remind_due"
        else:
            continue
        found.reminded_at = now
        detail = {"milestone": found.id, "due": found.due.isoformat()}
        view = await load(session, plan.id)
        await _apply(session, name, view, actor=None, at=now, env=env, detail=detail, found=found)
        count += 1
    await session.flush()
    return count
