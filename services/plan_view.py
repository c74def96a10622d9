"""An improvement plan as it is shown: the ``PlanView`` loaded for a step, the lists, the whole
plan as one message, the notices' texts, and the checks of what the author writes.

``services.plans`` keeps the rules; this module keeps what a plan *is* on screen, so the chat,
the notices and a future web page show it the same way.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import Grade, PlanStatus
from domain.labels import GRADE_LABELS
from domain.text import MESSAGE_LIMIT, N_, Html, clip, clip_html, escape, html_format
from infra.i18n import Translator
from infra.models import Cycle, ImprovementPlan, OrgUnit, PlanMilestone, Result, Staff
from services import cases
from services.cases import Refused
from services.errors import DomainError
from services.templates import localized
from services.workdays import PACKAGED, WorkCalendar

Status = PlanStatus
MAX_MILESTONE_TEXT, MAX_MILESTONES, MAX_COMMENT, MAX_PROGRESS = 200, 12, 1000, 1000
EDITABLE: Final = frozenset({Status.DRAFT, Status.RETURNED})

# The parts the author writes, in drafting order; "timeline" is the milestones.
GOALS, MEASURES, RESPONSIBLE, TIMELINE = "goals", "measures", "responsible", "timeline"
FIELDS: Final = (GOALS, MEASURES, RESPONSIBLE, TIMELINE)
LIMITS: Final = {GOALS: 1000, MEASURES: 2000, RESPONSIBLE: 64}
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
NOT_FOUND: Final = N_("This improvement plan does not exist, or it is not yours.")
# How an approved plan is doing, for the working group's overview.
ON_TRACK, OVERDUE, DONE = "on_track", "overdue", "done"
TRACK_LABELS: Final = {ON_TRACK: N_("on track"), OVERDUE: N_("overdue"), DONE: N_("done")}


@dataclass
class PlanView:
    """A plan with what its screens show: milestones, the subject, author and approver."""

    plan: ImprovementPlan
    milestones: list[PlanMilestone]
    period: str
    subject_name: str
    unit_name: str
    is_unit: bool
    approver_name: str | None
    grade: Grade | None
    calendar: WorkCalendar = field(default=PACKAGED)  # suggested milestone dates fall on it;
    # the packages' alone unless the screen asks for the loaded one (``conversations.plan``)

    @property
    def id(self) -> int:
        return self.plan.id

    def missing(self) -> list[str]:
        """Parts still empty, in drafting order."""
        out = [f for f in (GOALS, MEASURES, RESPONSIBLE) if not getattr(self.plan, f).strip()]
        return out if self.milestones else [*out, TIMELINE]

    def next_field(self) -> str | None:
        """Where drafting continues: the first empty part, or None (the summary)."""
        return next(iter(self.missing()), None)

    def track(self, today: dt.date) -> str | None:
        """on track / overdue / done for approved plans; None while not yet approved."""
        if self.plan.status == Status.DONE:
            return DONE
        if self.plan.status != Status.APPROVED:
            return None
        late = any(m.done_at is None and m.due < today for m in self.milestones)
        return OVERDUE if late else ON_TRACK


# --- loading -----------------------------------------------------------------------------


async def load(session: AsyncSession, plan_id: int, *, lock: bool = False) -> PlanView:
    """The plan and what its screens show; ``lock`` (for changes) holds the row on PostgreSQL."""
    plan = await session.get(ImprovementPlan, plan_id, with_for_update=lock or None)
    if plan is None:
        raise Refused(NOT_FOUND)
    by_date = (PlanMilestone.due, PlanMilestone.id)
    query = select(PlanMilestone).where(PlanMilestone.plan_id == plan.id).order_by(*by_date)
    milestones = list(await session.scalars(query))
    cycle = await session.get(Cycle, plan.cycle_id)
    of_subject = (Result.cycle_id == plan.cycle_id, Result.subject_key == plan.subject_key)
    grade = await session.scalar(select(Result.grade).where(*of_subject))
    kind, _, ref = plan.subject_key.partition(":")
    person = await session.get(Staff, int(ref)) if kind == "p" else None
    unit_id = int(ref) if kind == "u" else person.unit_id if person else 0
    unit = await session.get(OrgUnit, unit_id) if unit_id else None
    approver = await session.get(Staff, plan.approver_staff_id) if plan.approver_staff_id else None
    unit_name = unit.name if unit else ""
    return PlanView(
        plan=plan,
        milestones=milestones,
        period=cycle.period if cycle else "",
        subject_name=person.name if person else unit_name if kind == "u" else "",
        unit_name=unit_name,
        is_unit=kind == "u",
        approver_name=approver.name if approver else None,
        grade=grade,
    )


async def plan_for_result(session: AsyncSession, result_id: int) -> ImprovementPlan | None:
    """The plan a result's 改進計劃 button leads to (None if the result needs none)."""
    result = await session.get(Result, result_id)
    if result is None:
        return None
    cycle, key = ImprovementPlan.cycle_id, ImprovementPlan.subject_key
    query = select(ImprovementPlan).where(cycle == result.cycle_id, key == result.subject_key)
    return await session.scalar(query)


async def plans_of(
    session: AsyncSession, *, author: int | None = None, approver: int | None = None
) -> list[PlanView]:
    """The plans a staff member writes, or approves, or (neither given) every plan; newest first."""
    query = select(ImprovementPlan.id).order_by(ImprovementPlan.cycle_id.desc(), ImprovementPlan.id)
    if author is not None:
        query = query.where(ImprovementPlan.author_staff_id == author)
    if approver is not None:
        query = query.where(ImprovementPlan.approver_staff_id == approver)
    return [await load(session, i) for i in list(await session.scalars(query))]


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


# --- rendering -----------------------------------------------------------------------------


def subject(view: PlanView, tr: Translator) -> Html:
    """The person's name, or "<unit> (unit)"."""
    if view.is_unit:
        return html_format(tr._("{unit} (unit)"), unit=localized(view.subject_name, tr.locale))
    return escape(view.subject_name)


def approver(view: PlanView, tr: Translator) -> str:
    return view.approver_name or tr._("the evaluation working group")


def milestone_line(m: PlanMilestone, tr: Translator, today: dt.date) -> str:
    mark = "✅" if m.done_at is not None else "⚠️" if m.due < today else "▫️"
    return f"{mark} {escape(tr.date(m.due))} {escape(m.text)}"


def plan_text(view: PlanView, tr: Translator, *, today: dt.date, progress: bool = False) -> str:
    """The whole plan as HTML; long goals and measures are shortened to fit one message."""
    plan = view.plan
    status = tr._(STATUS_LABELS[plan.status])
    if view.track(today) == OVERDUE:
        status += " · " + tr._(TRACK_LABELS[OVERDUE])
    empty = tr._("(not written yet)")
    lines: list[str] = [
        html_format(
            tr._("<b>Improvement plan</b> · {subject} · {period}"),
            subject=subject(view, tr),
            period=tr.period(view.period),
        ),
        html_format(tr._("Status: {status}"), status=status),
        html_format(tr._("Approver: {name}"), name=approver(view, tr)),
    ]
    if plan.status == Status.RETURNED and plan.comment:
        lines.append(html_format(tr._("<b>Returned:</b> {comment}"), comment=plan.comment))
    budget = 3300 - sum(len(m.text) + 16 for m in view.milestones)
    goals, measures = plan.goals, plan.measures
    if len(goals) + len(measures) > budget:
        goals = clip(goals, max(budget // 3, 100))
        measures = clip(measures, max(budget - len(goals), 200))
    label = {f: tr._(FIELD_LABELS[f]) for f in FIELDS}
    lines += ["", f"<b>{label[GOALS]}</b>", escape(goals) or empty]
    lines += [f"<b>{label[MEASURES]}</b>", escape(measures) or empty]
    lines += [tr.label(f"<b>{label[RESPONSIBLE]}</b>", escape(plan.responsible) or empty)]
    lines += [f"<b>{label[TIMELINE]}</b>"] + ([] if view.milestones else [empty])
    for m in view.milestones:
        lines.append(milestone_line(m, tr, today))
        if progress and m.progress:
            lines.append("   " + escape(clip(m.progress.splitlines()[-1], 120)))
    return clip_html("\n".join(lines), MESSAGE_LIMIT)


def milestones_text(items: Sequence[tuple[dt.date, str]], tr: Translator) -> str:
    return "\n".join(f"• {escape(tr.date(d))} {escape(t)}" for d, t in items)


def overview_line(view: PlanView, tr: Translator, today: dt.date) -> str:
    track = view.track(today)
    state = tr._(TRACK_LABELS[track]) if track else tr._(STATUS_LABELS[view.plan.status])
    mark = {DONE: "✅", OVERDUE: "⚠️", ON_TRACK: "🟢"}.get(track or "", "▫️")
    done = sum(1 for m in view.milestones if m.done_at is not None)
    count = f" {done}/{len(view.milestones)}" if view.milestones else ""
    return f"{mark} {subject(view, tr)} · {state}{count}"


# --- what the author writes ------------------------------------------------------------------


EMPTY: Final = N_("Please write some text.")
TOO_LONG: Final = N_("That is {count} characters; at most {limit} fit. Please shorten it.")


def check_text(text: str | None, limit: int) -> str:
    """``services.cases.check_text`` with the plan's own msgids."""
    return cases.check_text(text, limit, EMPTY, TOO_LONG)


_DATE_LINE = re.compile(
    r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?[\s:：,，、.。;；-]*(.*?)\s*$"
)
# The English date as ``Translator.date`` writes it (10 Jan 2027), so an example can be copied.
_EN_DATE_LINE = re.compile(r"^\s*(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?\s+(\d{4})[\s:,;.-]*(.*?)\s*$")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _date_line(line: str) -> tuple[int, int, int, str] | None:
    """(year, month, day, rest) of a milestone line in either form, or None."""
    if match := _DATE_LINE.match(line):
        year, month, day = (int(g) for g in match.group(1, 2, 3))
        return year, month, day, match.group(4)
    if (match := _EN_DATE_LINE.match(line)) and match.group(2).lower() in _MONTHS:
        month = _MONTHS.index(match.group(2).lower()) + 1
        return int(match.group(3)), month, int(match.group(1)), match.group(4)
    return None


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
        if (found := _date_line(line)) is None:
            problem = N_(
                "Line {line}: please start with a date such as 2027-03-31, then what is done by then."
            )
            raise DomainError(problem, line=number)
        try:
            due = dt.date(*found[:3])
        except ValueError:
            raise DomainError(N_("Line {line}: that date does not exist."), line=number) from None
        content = found[3].strip()
        if not content:
            problem = N_("Line {line}: please say what is to be done by that date.")
        elif len(content) > MAX_MILESTONE_TEXT:
            problem = N_("Line {line}: at most {limit} characters after the date.")
        elif due <= today:
            problem = N_("Line {line}: the date {date} is not in the future.")
        elif out and due < out[-1][0]:
            problem = N_("Line {line}: the dates must be in order, earliest first.")
        else:
            out.append((due, content))
            continue
        raise DomainError(problem, line=number, limit=MAX_MILESTONE_TEXT, date=due)
    return out


# --- what the people concerned are told (``services.plans.PLAN``'s notices) -----------------

OPENED_TEXT: Final = N_(
    "You need to draw up a performance improvement plan: {subject}, {period}, graded {grade}. Set out the goals, the measures, the responsible person and milestone dates; {approver} approves it. Send /plan or tap the button."
)
APPROVED_TEXT: Final = N_(
    "Your improvement plan ({subject}, {period}) has been approved. You will be reminded of each milestone; report your progress with /plan."
)
RETURNED_TEXT: Final = N_(
    "Your improvement plan ({subject}, {period}) was returned for changes.\nComment: {comment}\nPlease revise it and submit it again."
)
DONE_TEXT: Final = N_(
    "The improvement plan of {subject} ({period}) is complete: every milestone is done."
)
DUE_TEXT: Final = N_(
    "Reminder: a milestone of your improvement plan ({subject}, {period}) is due today: {date} {text}. Please report your progress."
)
OVERDUE_TEXT: Final = N_(
    "A milestone of your improvement plan ({subject}, {period}) is overdue: {date} {text}. Please report your progress."
)


def told(tr: Translator, view: PlanView, msgid: str, **params: object) -> Html:
    """A notice naming the plan's subject and period (and the approver's comment)."""
    named = {
        "subject": view.subject_name,
        "period": tr.period(view.period),
        "comment": view.plan.comment or "",
    }
    return html_format(tr._(msgid), **{**named, **params})


def opened_text(view: PlanView, tr: Translator) -> str:
    grade = tr._(GRADE_LABELS[view.grade]) if view.grade else ""
    who = {"subject": subject(view, tr), "approver": approver(view, tr)}
    return told(tr, view, OPENED_TEXT, grade=grade, **who)
