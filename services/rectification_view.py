"""A rectification item as people read it — never who the citizen is: the view the rules
move (``RectView``), the queues, who may and who is told (``heads``, ``conflicted``, the
recipients of ``services.rectification.FLOW``'s notices), the item's text, and the texts
and buttons (``domain.choice``) of its notices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.choice import Choice, Choices, rows
from domain.enums import RectificationStatus, Satisfaction
from domain.template import DEFAULT_SURVEY, SurveySpec, Template, survey_of
from domain.text import MESSAGE_LIMIT, Html, clip_html, escape, html_format
from infra.i18n import N_, Translator
from infra.models import (
    AuditEntry,
    OrgUnit,
    Rectification,
    Staff,
    SurveyAnswer,
    SurveyResponse,
    TemplateVersion,
)
from services import cases
from services.access import Actor, load_actor
from services.cases import Recipient, Refused, Step
from services.templates import localized
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
NOT_FOUND = N_("This bad review does not exist or is not yours to handle.")
_ROW: Final = frozenset(c.key for c in Rectification.__mapper__.column_attrs)


@dataclass
class RectView:
    """An item with what the unit may see of its response — never who the citizen is.

    The case the kernel moves: ``id`` and ``status`` are the row's."""

    rect: Rectification
    response: SurveyResponse
    unit: str
    head_staff_id: int | None  # of the unit, while it is active
    staff: str | None
    spec: SurveySpec
    answers: list[SurveyAnswer]
    requesters: frozenset[int]  # staff who asked for 申诉复核

    @property
    def id(self) -> int:
        return self.rect.id

    @property
    def status(self) -> Status:
        return self.rect.status

    def __setattr__(self, name: str, value: Any) -> None:
        """What a transition changes (its status and ``changes``) is the row's."""
        if name in _ROW:
            setattr(self.rect, name, value)
        else:
            object.__setattr__(self, name, value)

    def question_text(self, code: str, locale: str) -> str:
        question = self.spec.question(code)
        if question is None:
            return code
        return localized(question.text, locale, question.text_en)

    def problems(self, locale: str) -> list[str]:
        names = list(self.spec.problems)
        english = list(self.spec.problems_en)
        out = []
        for index in self.response.problems or []:
            if isinstance(index, int) and 0 <= index < len(names):
                en = english[index] if index < len(english) else None
                out.append(localized(names[index], locale, en))
        return out


async def load(session: AsyncSession, rect_id: int) -> RectView:
    """The item and its response; ``Refused`` if there is no such item."""
    rect = await session.get(Rectification, rect_id)
    response = await session.get(SurveyResponse, rect.response_id) if rect else None
    unit = await session.get(OrgUnit, rect.unit_id) if rect else None
    if rect is None or response is None or unit is None:
        raise Refused(NOT_FOUND)
    staff = await session.get(Staff, response.staff_id) if response.staff_id else None
    answers = list(
        await session.scalars(
            select(SurveyAnswer)
            .where(SurveyAnswer.response_id == response.id)
            .order_by(SurveyAnswer.id)
        )
    )
    spec = await _spec(session, response)
    order = {q.code: i for i, q in enumerate(spec.questions)}
    answers.sort(key=lambda a: (order.get(a.question, len(order)), a.id))
    requesters = await session.scalars(
        select(AuditEntry.actor_staff_id).where(
            AuditEntry.action == REVIEW_REQUEST,
            AuditEntry.object_type == KIND,
            AuditEntry.object_id == str(rect.id),
        )
    )
    return RectView(
        rect,
        response,
        unit.name,
        unit.head_staff_id if unit.active else None,
        staff.name if staff else None,
        spec,
        answers,
        frozenset(s for s in requesters if s is not None),
    )


async def _spec(session: AsyncSession, response: SurveyResponse) -> SurveySpec:
    version = (
        await session.get(TemplateVersion, response.template_id) if response.template_id else None
    )
    return survey_of(Template.from_dict(version.content)) if version else DEFAULT_SURVEY


@dataclass(frozen=True)
class ListedItem:
    rect: Rectification
    unit: str


async def listing(
    session: AsyncSession,
    *,
    unit_ids: frozenset[int] | None,
    statuses: tuple[RectificationStatus, ...] = ACTIVE,
    limit: int = 30,
    by_request: bool = False,
) -> list[ListedItem]:
    """Items of ``unit_ids`` (None: every unit, for the working group), earliest deadline
    first (``by_request``: the oldest review request first)."""
    first = Rectification.review_requested_at if by_request else Rectification.deadline
    query = (
        select(Rectification, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == Rectification.unit_id)
        .where(Rectification.status.in_(statuses))
        .order_by(first, Rectification.id)
        .limit(limit)
    )
    if unit_ids is not None:
        if not unit_ids:
            return []
        query = query.where(Rectification.unit_id.in_(unit_ids))
    return [ListedItem(rect, name) for rect, name in (await session.execute(query)).all()]


async def under_review(session: AsyncSession, *, limit: int = 30) -> list[ListedItem]:
    """What waits for the working group's decision, oldest request first."""
    return await listing(
        session, unit_ids=None, statuses=(Status.UNDER_REVIEW,), limit=limit, by_request=True
    )


def is_overdue(rect: Rectification, now: dt.datetime) -> bool:
    return rect.status == Status.OPEN and rect.deadline < now


async def overdue(session: AsyncSession, now: dt.datetime) -> list[Rectification]:
    """OPEN items past their deadline (answered ones are not late; a review pauses it)."""
    return list(
        await session.scalars(
            select(Rectification)
            .where(Rectification.status == Status.OPEN, Rectification.deadline < now)
            .order_by(Rectification.deadline, Rectification.id)
        )
    )


# --- who may, who is told ------------------------------------------------------------


def heads(actor: Actor | None, view: RectView) -> bool:
    """The active head of the item's (active) unit."""
    return actor is not None and actor.staff is not None and actor.staff.id == view.head_staff_id


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


async def head_chats(session: AsyncSession, step: Step[RectView]) -> list[Recipient]:
    """The unit head's linked chats (an active head of an active unit)."""
    return await cases.accounts(session, [step.view.head_staff_id])


async def head_or_group(session: AsyncSession, step: Step[RectView]) -> list[Recipient]:
    """The unit head; with no head who could be told, the working group."""
    return await head_chats(session, step) or await cases.working_group(session, step.env)


async def impartial_group(session: AsyncSession, step: Step[RectView]) -> list[Recipient]:
    """The working group minus those who stand aside for this item (``conflicted``)."""
    out = []
    for r in await cases.working_group(session, step.env):
        if not conflicted(step.view, await load_actor(session, r.chat_id, step.env.admin_ids)):
            out.append(r)
    return out


# --- the item, as the unit reads it ---------------------------------------------------


def item_text(
    view: RectView, tr: Translator, *, at: dt.datetime, limit: int = MESSAGE_LIMIT
) -> str:
    """Everything the unit may know of a bad review — never who wrote it."""
    rect, response = view.rect, view.response
    loc = tr.locale
    lines: list[str] = [
        html_format(
            tr._("<b>Bad review #{id}</b> · {status}"),
            id=rect.id,
            status=tr._(STATUS_LABELS[rect.status]),
        ),
        html_format(tr._("Unit: {unit}"), unit=localized(view.unit, loc)),
    ]
    if view.staff:
        lines.append(html_format(tr._("Staff member: {name}"), name=localized(view.staff, loc)))
    lines.append(
        html_format(tr._("Received: {date}"), date=tr.date(response.completed_at or rect.opened_at))
    )
    deadline: str = html_format(tr._("Deadline: end of {date}"), date=tr.date(rect.deadline))
    if is_overdue(rect, at):
        deadline += " " + tr._("⚠️ overdue")
    lines += [deadline, ""]
    for a in view.answers:
        lines.append(
            f"• {escape(view.question_text(a.question, loc))} — {tr._(SATISFACTION_LABELS[a.level])}"
        )
    if response.comment:
        lines.append(html_format(tr._("Comment: {text}"), text=response.comment))
    problems = view.problems(loc)
    if problems:
        lines.append(
            html_format(
                tr._("Problems: {list}"), list=(", " if loc == "en" else "、").join(problems)
            )
        )
    if response.problem_text:
        lines.append(html_format(tr._("In their words: {text}"), text=response.problem_text))
    lines.append(
        tr._("The citizen asked for a reply.")
        if response.wants_reply
        else tr._("The citizen did not ask for a reply.")
    )
    if rect.answer is not None:
        lines += ["", html_format(tr._("<b>What was done:</b> {text}"), text=rect.answer)]
    if rect.citizen_rating is not None:
        lines.append(
            html_format(
                tr._("The citizen's rating of the handling: {rating}"),
                rating=tr._(SATISFACTION_LABELS[Satisfaction(rect.citizen_rating)]),
            )
        )
    if rect.review_reason is not None:
        lines += [
            "",
            html_format(tr._("<b>Review requested:</b> {text}"), text=rect.review_reason),
        ]
    if rect.review_decision is not None:
        decision = tr._("excluded") if rect.review_decision == EXCLUDED else tr._("upheld")
        lines.append(
            html_format(
                tr._("Working group's decision: {decision} — {note}"),
                decision=decision,
                note=rect.review_note or "",
            )
        )
    return clip_html("\n".join(lines), limit)


# --- notices: texts and buttons ---------------------------------------------------


def open_choice(tr: Translator, rect_id: int) -> Choices:
    return rows([Choice(tr._("Open"), "rectify.open", (rect_id,))])


def decision_choices(tr: Translator, rect_id: int) -> Choices:
    """[维持差评] [剔除差评], then a text step for the reason."""
    return rows(
        [
            Choice(tr._("Uphold the bad review"), "rectify.uphold", (rect_id,)),
            Choice(tr._("Exclude the bad review"), "rectify.exclude", (rect_id,)),
        ],
        [Choice(tr._("Open"), "rectify.open", (rect_id,))],
    )


def rating_choices(tr: Translator, rect_id: int) -> Choices:
    return rows(
        [
            Choice(tr._(SATISFACTION_LABELS[level]), "rectify.rate", (rect_id, code))
            for code, level in RATINGS.items()
        ]
    )


def received(view: RectView) -> dt.datetime:
    return view.response.completed_at or view.rect.opened_at


def target(tr: Translator, view: RectView) -> Html:
    unit = localized(view.unit, tr.locale)
    if view.staff:
        return html_format("{unit} · {staff}", unit=unit, staff=localized(view.staff, tr.locale))
    return escape(unit)


def opened_text(tr: Translator, view: RectView) -> str:
    level = view.response.overall
    return "\n".join(
        [
            html_format(tr._("<b>New bad review to rectify</b> (#{id})"), id=view.rect.id),
            html_format(
                tr._("{target}, {date}: {level}."),
                target=target(tr, view),
                date=tr.date(received(view)),
                level=tr._(SATISFACTION_LABELS[level]) if level else "—",
            ),
            html_format(
                tr._("Please handle it and write what was done by the end of {deadline}."),
                deadline=tr.date(view.rect.deadline),
            ),
        ]
    )


def reply_text(tr: Translator, view: RectView, text: str, locale: str) -> str:
    unit = escape(localized(view.unit, locale))
    return "\n\n".join(
        [
            html_format(
                tr._("About your review of {unit}, this is how it was handled:"), unit=unit
            ),
            escape(text),
            tr._("Are you satisfied with how it was handled?"),
        ]
    )


def review_request_text(tr: Translator, view: RectView, reason: str) -> str:
    level = view.response.overall
    return "\n".join(
        [
            html_format(tr._("<b>Review requested</b> · #{id}"), id=view.rect.id),
            html_format(
                tr._("{unit} asks the working group to review a bad review of {date} ({level})."),
                unit=localized(view.unit, tr.locale),
                date=tr.date(received(view)),
                level=tr._(SATISFACTION_LABELS[level]) if level else "—",
            ),
            html_format(tr._("Reason: {reason}"), reason=reason),
        ]
    )


def decision_text(tr: Translator, view: RectView, decision: str, note: str) -> str:
    head = (
        tr._(
            "The working group excluded bad review #{id} ({unit}): it no longer counts, and nothing more is needed."
        )
        if decision == EXCLUDED
        else tr._(
            "The working group upheld bad review #{id} ({unit}): it counts, and still needs to be handled."
        )
    )
    return "\n".join(
        [
            html_format(head, id=view.rect.id, unit=localized(view.unit, tr.locale)),
            html_format(tr._("Reason: {reason}"), reason=note),
        ]
    )


def overdue_text(tr: Translator, view: RectView) -> str:
    return html_format(
        tr._(
            "Overdue: bad review #{id} ({target}, {date}) was due by the end of {deadline} and has not been handled yet. Please write what was done."
        ),
        id=view.rect.id,
        target=target(tr, view),
        date=tr.date(received(view)),
        deadline=tr.date(view.rect.deadline),
    )


def rated_text(tr: Translator, view: RectView, rating: Satisfaction) -> str:
    return html_format(
        tr._("The citizen rated the handling of bad review #{id} ({unit}): {rating}."),
        id=view.id,
        unit=view.unit,
        rating=tr._(SATISFACTION_LABELS[rating]),
    )
