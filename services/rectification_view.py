"""A rectification item as people read it — never who the citizen is: the view the rules
move (``RectView``), the queues, who stands aside from a review (``conflicted``), the item's
text, and the texts and buttons (``domain.choice``) of the notices of
``services.rectification.RECTIFICATION``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.choice import Choice, Choices, rows
from domain.enums import RectificationOutcome, RectificationStatus, Satisfaction
from domain.template import DEFAULT_SURVEY, SurveySpec, Template, survey_of
from domain.template.survey import OVERALL
from domain.text import MESSAGE_LIMIT, Html, clip_html, escape, html_format
from infra.i18n import N_, Translator
from infra.models import (
    AuditEntry,
    OrgUnit,
    Rectification,
    Staff,
    SurveyAnswer,
    SurveyLink,
    SurveyResponse,
    TemplateVersion,
)
from services.access import Actor
from services.cases import Refused, Step, button
from services.templates import localized, problem_labels, question_text
from services.templates.render import SATISFACTION_LABELS

Status = RectificationStatus
KIND: Final = "rectification"  # the audit log's object_type
REVIEW_REQUEST: Final = "rectification.review_request"
UPHELD: Final = "upheld"
EXCLUDED: Final = "excluded"
# The citizen's rating of the handling, as the argument of its choice ``rectify.rate``.
RATINGS: Final = {
    "s": Satisfaction.SATISFIED,
    "b": Satisfaction.BASIC,
    "d": Satisfaction.DISSATISFIED,
}
ACTIVE: Final = (Status.OPEN, Status.ANSWERED, Status.UNDER_REVIEW)
STATUS_LABELS: Final = {
    Status.OPEN: N_("to handle"),
    Status.ANSWERED: N_("answered, waiting for the citizen's rating"),
    Status.UNDER_REVIEW: N_("under review by the working group"),
    Status.EXCLUDED: N_("excluded after review"),
    Status.CLOSED: N_("closed"),
}
OUTCOME_LABELS: Final = {
    RectificationOutcome.IMMEDIATE: N_("Put right at once"),
    RectificationOutcome.DEADLINE: N_("Put right by a deadline"),
    RectificationOutcome.EXPLAINED: N_("Explained"),
}
NOT_FOUND = N_("This negative rating does not exist or is not yours to handle.")
UPHOLD_LABEL, EXCLUDE_LABEL = N_("Uphold the negative rating"), N_("Exclude the negative rating")
_OPEN: Final = button(N_("Open"), "rectify.open")
_ROW: Final = frozenset(c.key for c in Rectification.__mapper__.column_attrs)


@dataclass
class RectView:
    """The case the kernel moves (``id``, ``status`` and the fields a transition changes are
    the row's), with what the unit may see of its response — never who the citizen is."""

    rect: Rectification
    response: SurveyResponse
    unit: str
    head_staff_id: int | None  # of the unit, while it is active
    staff: str | None
    spec: SurveySpec
    answers: list[SurveyAnswer]
    requesters: frozenset[int]  # staff who asked for 申诉复核
    reference: str | None = None  # the service the survey link was for (一事一评)

    @property
    def id(self) -> int:
        return self.rect.id

    @property
    def status(self) -> Status:
        return self.rect.status

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _ROW:  # what a transition changes (its status and ``changes``) is the row's
            setattr(self.rect, name, value)
        else:
            object.__setattr__(self, name, value)


async def load(session: AsyncSession, rect_id: int) -> RectView:
    """The item and its response; ``Refused`` if there is no such item."""
    rect = await session.get(Rectification, rect_id)
    response = await session.get(SurveyResponse, rect.response_id) if rect else None
    unit = await session.get(OrgUnit, rect.unit_id) if rect else None
    if rect is None or response is None or unit is None:
        raise Refused(NOT_FOUND)
    staff = await session.get(Staff, response.staff_id) if response.staff_id else None
    template = response.template_id
    version = await session.get(TemplateVersion, template) if template else None
    spec = survey_of(Template.from_dict(version.content)) if version else DEFAULT_SURVEY
    order = {q.code: i for i, q in enumerate(spec.questions)} | {OVERALL: -1}  # overall first
    answers = sorted(
        await session.scalars(select(SurveyAnswer).where(SurveyAnswer.response_id == response.id)),
        key=lambda a: (order.get(a.question, len(order)), a.id),
    )
    requesters = await session.scalars(
        select(AuditEntry.actor_staff_id).where(
            AuditEntry.action == REVIEW_REQUEST,
            AuditEntry.object_type == KIND,
            AuditEntry.object_id == str(rect.id),
        )
    )
    head = unit.head_staff_id if unit.active else None
    asked = frozenset(s for s in requesters if s is not None)
    name = staff.name if staff else None
    link = await session.get(SurveyLink, response.link_id)
    reference = link.reference if link else None
    return RectView(rect, response, unit.name, head, name, spec, answers, asked, reference)


async def listing(
    session: AsyncSession,
    *,
    unit_ids: frozenset[int] | None,
    statuses: tuple[RectificationStatus, ...] = ACTIVE,
    by_request: bool = False,
) -> list[tuple[Rectification, str]]:
    """Items of ``unit_ids`` (None: every unit) with their unit's name, at most 30, earliest
    deadline first (``by_request``: the oldest review request first)."""
    if unit_ids is not None and not unit_ids:
        return []
    first = Rectification.review_requested_at if by_request else Rectification.deadline
    query = (
        select(Rectification, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == Rectification.unit_id)
        .where(Rectification.status.in_(statuses))
        .order_by(first, Rectification.id)
        .limit(30)
    )
    if unit_ids is not None:
        query = query.where(Rectification.unit_id.in_(unit_ids))
    return [(rect, name) for rect, name in (await session.execute(query)).all()]


def is_overdue(rect: Rectification, now: dt.datetime) -> bool:
    return rect.status == Status.OPEN and rect.deadline < now


async def overdue(session: AsyncSession, now: dt.datetime) -> list[Rectification]:
    """OPEN items past their deadline (answered ones are not late; a review pauses it)."""
    query = select(Rectification).where(Rectification.status == Status.OPEN)
    query = query.where(Rectification.deadline < now)
    return list(await session.scalars(query.order_by(Rectification.deadline, Rectification.id)))


# --- who may, who is told ------------------------------------------------------------


def conflicted(view: RectView, actor: Actor | None) -> bool:
    """Whether ``actor`` is on the side of the unit that asked for 申诉复核, so may not judge it:
    its head, anyone in it, or whoever made the request (a head who has moved on since)."""
    staff = actor.staff if actor is not None else None
    if actor is None or staff is None:
        return False
    unit_id = view.rect.unit_id
    return (
        staff.unit_id == unit_id
        or staff.id == view.head_staff_id
        or unit_id in actor.headed_unit_ids
        or staff.id in view.requesters
    )


def may_see_callback(view: RectView, actor: Actor | None) -> bool:
    """Whether ``actor`` is shown the citizen's 回访 number: the head of the item's unit alone
    (who calls back), never its staff, the person rated or the working group."""
    staff = actor.staff if actor is not None else None
    if actor is None or staff is None or view.head_staff_id is None:
        return False
    return staff.id == view.head_staff_id and staff.id != view.response.staff_id


# --- the item, as the unit reads it ---------------------------------------------------


def item_text(
    view: RectView,
    tr: Translator,
    *,
    at: dt.datetime,
    limit: int = MESSAGE_LIMIT,
    callback: bool = False,
) -> str:
    """Everything the unit may know of a bad review — never who wrote it; ``callback``
    (for the unit head alone, ``may_see_callback``) adds the number the citizen left for a
    return call while the item is active."""
    rect, response, loc, _ = view.rect, view.response, tr.locale, tr._
    status = _(STATUS_LABELS[rect.status])
    lines: list[str] = [
        html_format(_("<b>Negative rating #{id}</b> · {status}"), id=rect.id, status=status),
        html_format(_("Unit: {unit}"), unit=localized(view.unit, loc)),
    ]
    if view.staff:
        lines.append(html_format(_("Staff member: {name}"), name=view.staff))
    lines.append(html_format(_("Received: {date}"), date=tr.date(received(view))))
    deadline: str = html_format(_("Deadline: end of {date}"), date=tr.date(rect.deadline))
    lines += [deadline + (" " + _("⚠️ overdue") if is_overdue(rect, at) else ""), ""]
    for a in view.answers:
        question = view.spec.question(a.question)
        if a.question == OVERALL:
            text = _("Overall")
        else:
            text = question_text(question, loc) if question else a.question
        lines.append(f"• {escape(text)} — {_(SATISFACTION_LABELS[a.level])}")
    if response.comment:
        lines.append(html_format(_("Comment: {text}"), text=response.comment))
    labels = problem_labels(view.spec, loc)
    chosen = [i for i in response.problems or () if isinstance(i, int) and 0 <= i < len(labels)]
    if chosen:
        lines.append(html_format(_("Problems: {list}"), list=tr.join(labels[i] for i in chosen)))
    if response.problem_text:
        lines.append(html_format(_("In their words: {text}"), text=response.problem_text))
    if response.wants_reply:
        lines.append(_("The citizen asked for a reply."))
    else:
        lines.append(_("The citizen did not ask for a reply."))
    if callback and response.callback_phone and rect.status in ACTIVE:
        lines.append(
            html_format(
                _("The citizen left a number for a return call: {phone}"),
                phone=response.callback_phone,
            )
        )
    if view.reference:
        lines.insert(
            2,
            html_format(_("Service: {reference}"), reference=localized(view.reference, tr.locale)),
        )
    if rect.outcome is not None:
        outcome = _(OUTCOME_LABELS[rect.outcome])
        lines += ["", html_format(_("<b>Outcome:</b> {outcome}"), outcome=outcome)]
    if rect.answer is not None:
        lines += [html_format(_("<b>What was done:</b> {text}"), text=rect.answer)]
    if rect.reply is not None:
        lines.append(html_format(_("<b>Reply to the citizen:</b> {text}"), text=rect.reply))
    if rect.citizen_rating is not None:
        rating = _(SATISFACTION_LABELS[Satisfaction(rect.citizen_rating)])
        lines.append(
            html_format(_("The citizen's rating of the handling: {rating}"), rating=rating)
        )
    if rect.review_reason is not None:
        lines += ["", html_format(_("<b>Review requested:</b> {text}"), text=rect.review_reason)]
    if rect.review_decision is not None:
        decision = _("excluded") if rect.review_decision == EXCLUDED else _("upheld")
        text = _("Working group's decision: {decision} — {note}")
        lines.append(html_format(text, decision=decision, note=rect.review_note or ""))
    return clip_html("\n".join(lines), limit)


# --- notices: texts and buttons ---------------------------------------------------


def open_choice(tr: Translator, step: Step[RectView]) -> Choices:
    """[Open], while the item is active."""
    return _OPEN(tr, step) if step.case.status in ACTIVE else ()


def decision_choices(tr: Translator, step: Step[RectView]) -> Choices:
    """[维持差评] [剔除差评] (then a text step for the reason), [Open]."""
    up = Choice(tr._(UPHOLD_LABEL), "rectify.uphold", (step.case.id,))
    out = Choice(tr._(EXCLUDE_LABEL), "rectify.exclude", (step.case.id,))
    return rows([up, out], *open_choice(tr, step))


def rating_choices(tr: Translator, rect_id: int) -> Choices:
    """[满意] [基本满意] [不满意]: the citizen's rating of the handling."""
    labels = {code: tr._(SATISFACTION_LABELS[level]) for code, level in RATINGS.items()}
    return rows([Choice(label, "rectify.rate", (rect_id, code)) for code, label in labels.items()])


def received(view: RectView) -> dt.datetime:
    return view.response.completed_at or view.rect.opened_at


def _target(tr: Translator, view: RectView) -> Html:
    unit = localized(view.unit, tr.locale)
    if view.staff:
        return html_format("{unit} · {staff}", unit=unit, staff=view.staff)
    return escape(unit)


def _lines(tr: Translator, view: RectView, *msgids: str, **more: object) -> str:
    """A notice about the item: each of its lines filled with what notices say of an item."""
    level = view.response.overall
    facts = {
        "id": view.id,
        "unit": localized(view.unit, tr.locale),
        "target": _target(tr, view),
        "date": tr.date(received(view)),
        "deadline": tr.date(view.rect.deadline),
        "level": tr._(SATISFACTION_LABELS[level]) if level else "—",
    }
    return "\n".join(html_format(tr._(m), **(facts | more)) for m in msgids)


def opened_text(tr: Translator, step: Step[RectView]) -> str:
    view = step.view
    service = (N_("Service: {reference}"),) if view.reference else ()
    return _lines(
        tr,
        view,
        N_("<b>New negative rating to rectify</b> (#{id})"),
        N_("{target}, {date}: {level}."),
        *service,
        N_("Please handle it and write what was done by the end of {deadline}."),
        reference=localized(view.reference or "", tr.locale),
    )


def reply_text(
    tr: Translator, view: RectView, text: str, locale: str, *, outcome: RectificationOutcome
) -> str:
    """The unit's reply to the citizen, under the number they were given and the outcome."""
    unit = escape(localized(view.unit, locale))
    intro = tr._("About your review of {unit} (No. {ref}), this is how it was handled:")
    kind = escape(tr.label(tr._("Outcome"), tr._(OUTCOME_LABELS[outcome])))
    question = tr._("Are you satisfied with how it was handled?")
    return "\n\n".join([html_format(intro, unit=unit, ref=view.id), kind, escape(text), question])


def review_request_text(tr: Translator, step: Step[RectView]) -> str:
    return _lines(
        tr,
        step.view,
        N_("<b>Review requested</b> · #{id}"),
        N_("{unit} asks the working group to review a negative rating of {date} ({level})."),
        N_("Reason: {reason}"),
        reason=step.params["reason"],
    )


def decision_text(tr: Translator, step: Step[RectView]) -> str:
    head = (
        N_(
            "The working group excluded negative rating #{id} ({unit}): it no longer counts, and nothing more is needed."
        )
        if step.params["decision"] == EXCLUDED
        else N_(
            "The working group upheld negative rating #{id} ({unit}): it counts, and still needs to be handled."
        )
    )
    return _lines(tr, step.view, head, N_("Reason: {reason}"), reason=step.params["note"])


def overdue_text(tr: Translator, step: Step[RectView]) -> str:
    overdue = N_(
        "Overdue: negative rating #{id} ({target}, {date}) was due by the end of {deadline} and has not been handled yet. Please write what was done."
    )
    return _lines(tr, step.view, overdue)


def rated_text(tr: Translator, step: Step[RectView]) -> str:
    rated = N_("The citizen rated the handling of negative rating #{id} ({unit}): {rating}.")
    rating = tr._(SATISFACTION_LABELS[step.params["rating"]])
    return _lines(tr, step.view, rated, unit=localized(step.view.unit, tr.locale), rating=rating)
