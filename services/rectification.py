"""整改: a citizen's bad review (差评) becomes an item the unit head must handle in time.

Life of an item (``RectificationStatus``)::

    OPEN ──answer──▶ ANSWERED ──citizen rates──▶ CLOSED
      │                 │
      │ (no reply wanted or possible: answer closes it at once)
      └──request_review──▶ UNDER_REVIEW ──decide "excluded"──▶ EXCLUDED
                           (from OPEN or ANSWERED) ──decide "upheld"──▶ back where it was

Rules (each checked here, so the chat and any future CLI share them):

- One item per response (``open_for_response`` is idempotent). The deadline is the end of
  the N-th official working day (``services.workdays``) after the day the review arrived.
- **Only the head of the unit** answers and asks for review (申诉复核). The working group
  (admins) sees every item and decides reviews, but does not answer for a unit: the answer
  is the unit's own accountable statement to the citizen, and the group that judges a
  review request must not also be the party making it: a working-group member who heads
  the unit, belongs to it or made the request never decides it (``conflicted``, as an
  appeal is never handled by the appellant), nor is asked to. A unit without a head is
  reported to the working group, which names one in the roster.
- The citizen's raw Telegram id (``response.reply_chat_id``) exists only while a requested
  reply is pending: ``answer`` queues the reply and erases it in the same transaction (the
  outbox row carries the chat id until it is sent, then forgets it too). The citizen later
  proves who they are by the keyed hash of their id (``respondent_key``) to rate the
  handling once.
- Nothing shown to staff names the citizen: no Telegram id, name or username is stored.
- Every change is audited; every push goes through the outbox with a dedupe key.

Functions run in the caller's transaction and raise ``DomainError`` (``Refused`` when the
caller has no right to the item, which the chat audits as ``access.denied``).
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Final, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.choice import Choice, Choices, rows
from domain.enums import RectificationStatus, ResponseStatus, Satisfaction
from domain.template import DEFAULT_SURVEY, SurveySpec, Template, survey_of
from domain.text import Html, escape, html_format
from infra.i18n import N_, Translator
from infra.models import (
    AuditEntry,
    OrgUnit,
    Rectification,
    Staff,
    SurveyAnswer,
    SurveyResponse,
    TelegramAccount,
    TemplateVersion,
)
from services.access import Actor, admin_accounts, load_actor
from services.audit import audit
from services.cycles import touch_periods_of
from services.errors import DomainError
from services.notices import translator
from services.outbox import enqueue
from services.templates import localized
from services.templates.render import SATISFACTION_LABELS
from services.workdays import add_working_days

Status = RectificationStatus
MAX_TEXT: Final = 1000
UPHELD: Final = "upheld"
EXCLUDED: Final = "excluded"
Decision = Literal["upheld", "excluded"]
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


class Refused(DomainError):
    """The caller has no right to this item (or it does not exist): audit as access.denied."""


NOT_FOUND = N_("This bad review does not exist or is not yours to handle.")
OWN_UNIT = N_(
    "You cannot decide this review: it was requested for your own unit. Another member of the working group decides it."
)


# --- reading -----------------------------------------------------------------


@dataclass(frozen=True)
class RectView:
    """An item with what the unit may see of its response — never who the citizen is."""

    rect: Rectification
    response: SurveyResponse
    unit: str
    head_staff_id: int | None
    staff: str | None
    spec: SurveySpec
    answers: list[SurveyAnswer]

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
    return RectView(
        rect,
        response,
        unit.name,
        unit.head_staff_id if unit.active else None,
        staff.name if staff else None,
        spec,
        answers,
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
) -> list[ListedItem]:
    """Items of ``unit_ids`` (None: every unit, for the working group), earliest deadline first."""
    query = (
        select(Rectification, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == Rectification.unit_id)
        .where(Rectification.status.in_(statuses))
        .order_by(Rectification.deadline, Rectification.id)
        .limit(limit)
    )
    if unit_ids is not None:
        if not unit_ids:
            return []
        query = query.where(Rectification.unit_id.in_(unit_ids))
    return [ListedItem(rect, name) for rect, name in (await session.execute(query)).all()]


async def under_review(session: AsyncSession, *, limit: int = 30) -> list[ListedItem]:
    """What waits for the working group's decision, oldest request first."""
    query = (
        select(Rectification, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == Rectification.unit_id)
        .where(Rectification.status == Status.UNDER_REVIEW)
        .order_by(Rectification.review_requested_at, Rectification.id)
        .limit(limit)
    )
    return [ListedItem(rect, name) for rect, name in (await session.execute(query)).all()]


def is_overdue(rect: Rectification, now: dt.datetime) -> bool:
    return rect.status == Status.OPEN and rect.deadline < now


# --- opening -----------------------------------------------------------------


async def open_for_response(
    session: AsyncSession,
    response: SurveyResponse,
    *,
    now: dt.datetime,
    working_days: int = 15,
    tz: ZoneInfo,
    admin_ids: frozenset[int] = frozenset(),
) -> Rectification:
    """Open the item of a completed 差评 and tell the unit head; once per response.

    A second call for the same response returns the existing item and queues nothing.
    ``admin_ids`` (``settings.admin_id_set``) are told, with bound admins, when the unit
    has no head who could be told.
    """
    if response.status != ResponseStatus.COMPLETE or not (
        response.overall is not None and response.overall.is_bad
    ):
        raise ValueError("only a completed bad review (差评) opens a rectification item")
    await session.flush()  # the response's id, and the caller's pending writes, first
    existing = await _for_response(session, response.id)
    if existing is not None:
        return existing
    rect = Rectification(
        response_id=response.id,
        unit_id=response.unit_id,
        status=Status.OPEN,
        opened_at=now,
        deadline=add_working_days(response.completed_at or now, working_days, tz),
    )
    try:
        async with session.begin_nested():
            session.add(rect)
    except IntegrityError:
        # A concurrent transaction opened it between our check and insert.
        existing = await _for_response(session, response.id)
        if existing is not None:
            return existing
        raise
    await audit(
        session,
        "rectification.open",
        actor_label="survey",
        object_type="rectification",
        object_id=str(rect.id),
        detail={
            "response": response.id,
            "unit": response.unit_id,
            "deadline": rect.deadline.isoformat(),
            "working_days": working_days,
        },
        at=now,
    )
    view = await load(session, rect.id)
    recipients = await _head_accounts(session, view)
    if not recipients:
        recipients = await _admin_accounts(session, admin_ids)
    for telegram_id, language in recipients:
        tr = translator(language)
        await enqueue(
            session,
            telegram_id,
            _opened_text(tr, view),
            choices=_open_choice(tr, rect.id),
            dedupe_key=f"rect-open:{rect.id}:{telegram_id}",
        )
    return rect


async def _for_response(session: AsyncSession, response_id: int) -> Rectification | None:
    found: Rectification | None = await session.scalar(
        select(Rectification).where(Rectification.response_id == response_id)
    )
    return found


# --- the unit's side -----------------------------------------------------------


def check_text(text: str | None) -> str:
    """1 to 1000 characters after trimming, or a DomainError saying what is wrong."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise DomainError(N_("Please write a few words; an empty text cannot be sent."))
    if len(cleaned) > MAX_TEXT:
        raise DomainError(
            N_(
                "Your text has {length} characters; at most {limit} are allowed. Please shorten it and send it again."
            ),
            length=len(cleaned),
            limit=MAX_TEXT,
        )
    return cleaned


async def is_head(session: AsyncSession, view: RectView, staff_id: int | None) -> bool:
    """The active head of the item's (active) unit."""
    if staff_id is None or view.head_staff_id != staff_id:
        return False
    staff = await session.get(Staff, staff_id)
    return staff is not None and staff.active


async def conflicted(session: AsyncSession, view: RectView, actor: Actor) -> bool:
    """Whether ``actor`` is on the side of the unit that asked for 申诉复核, so may not judge it:
    its head, anyone in it, or whoever made the request (a head who has moved on since)."""
    staff = actor.staff
    if staff is None:
        return False
    unit_id = view.rect.unit_id
    if staff.unit_id == unit_id or staff.id == view.head_staff_id:
        return True
    if unit_id in actor.headed_unit_ids:
        return True
    requesters = await session.scalars(
        select(AuditEntry.actor_staff_id).where(
            AuditEntry.action == "rectification.review_request",
            AuditEntry.object_type == "rectification",
            AuditEntry.object_id == str(view.rect.id),
        )
    )
    return staff.id in set(requesters)


async def _impartial_admins(
    session: AsyncSession, view: RectView, admin_ids: frozenset[int]
) -> list[tuple[int, str | None]]:
    """The working group minus those who stand aside for this item (``conflicted``)."""
    out = []
    for telegram_id, language in await _admin_accounts(session, admin_ids):
        if not await conflicted(session, view, await load_actor(session, telegram_id, admin_ids)):
            out.append((telegram_id, language))
    return out


async def answer(
    session: AsyncSession, rect_id: int, text: str, *, staff_id: int, now: dt.datetime
) -> Rectification:
    """The unit head's account of what was done; replies to the citizen if they asked.

    OPEN → ANSWERED when a reply goes to the citizen (who then rates it), else → CLOSED
    (nobody is left to rate it). The reply is queued in the citizen's language and their
    raw chat id is erased from the response in this same transaction.
    """
    view = await load(session, rect_id)
    if not await is_head(session, view, staff_id):
        raise Refused(NOT_FOUND)
    cleaned = check_text(text)
    rect, response = view.rect, view.response
    if rect.status != Status.OPEN:
        raise DomainError(not_open_message(rect.status))
    rect.answer = cleaned
    rect.answered_at = now
    rect.answered_by_staff_id = staff_id
    replied = False
    if response.wants_reply and response.reply_chat_id is not None:
        tr = translator(response.locale)
        await enqueue(
            session,
            response.reply_chat_id,
            _reply_text(tr, view, cleaned, response.locale),
            choices=_rating_choices(tr, rect.id),
            dedupe_key=f"rect-reply:{rect.id}",
            erase_chat_id=True,  # the row forgets the citizen once it is sent
        )
        response.reply_chat_id = None  # kept only while a requested reply was pending
        replied = True
    rect.status = Status.ANSWERED if replied else Status.CLOSED
    await audit(
        session,
        "rectification.answer",
        actor_staff_id=staff_id,
        object_type="rectification",
        object_id=str(rect.id),
        detail={"status": rect.status.value, "replied": replied, "length": len(cleaned)},
        at=now,
    )
    await session.flush()
    return rect


def not_open_message(status: RectificationStatus) -> str:
    if status == Status.UNDER_REVIEW:
        return N_(
            "This bad review is being reviewed by the working group; please wait for its decision."
        )
    if status in (Status.ANSWERED, Status.CLOSED):
        return N_("This bad review has already been answered.")
    return N_("This bad review was excluded after review; nothing more is needed.")


async def request_review(
    session: AsyncSession,
    rect_id: int,
    reason: str,
    *,
    staff_id: int,
    now: dt.datetime,
    admin_ids: frozenset[int] = frozenset(),
) -> Rectification:
    """申诉复核: the unit head asks the working group to review a 差评 it thinks mistaken
    or malicious. From OPEN or ANSWERED, once per item; admins are told (bound staff with
    the admin role, plus ``admin_ids`` from the configuration)."""
    view = await load(session, rect_id)
    if not await is_head(session, view, staff_id):
        raise Refused(NOT_FOUND)
    cleaned = check_text(reason)
    rect = view.rect
    if rect.review_requested_at is not None:
        raise DomainError(
            N_("A review of this bad review was already requested; it can be requested once.")
        )
    if rect.status not in (Status.OPEN, Status.ANSWERED):
        raise DomainError(N_("This bad review can no longer be reviewed."))
    old = rect.status
    rect.status = Status.UNDER_REVIEW
    rect.review_reason = cleaned
    rect.review_requested_at = now
    await audit(
        session,
        "rectification.review_request",
        actor_staff_id=staff_id,
        object_type="rectification",
        object_id=str(rect.id),
        detail={"old": old.value, "new": rect.status.value, "reason": cleaned},
        at=now,
    )
    for telegram_id, language in await _impartial_admins(session, view, admin_ids):
        tr = translator(language)
        await enqueue(
            session,
            telegram_id,
            _review_request_text(tr, view, cleaned),
            choices=decision_choices(tr, rect.id),
            dedupe_key=f"rect-review:{rect.id}:{telegram_id}",
        )
    await session.flush()
    return rect


# --- the working group's side ----------------------------------------------------


async def decide_review(
    session: AsyncSession,
    rect_id: int,
    decision: Decision,
    note: str,
    *,
    admin_telegram_id: int,
    now: dt.datetime,
    tz: ZoneInfo,
    admin_ids: frozenset[int] = frozenset(),
) -> Rectification:
    """The working group's decision, with its reason (required), audited; ``Refused`` for
    someone who stands aside because the request came from their own unit (``conflicted``).

    ``excluded``: the response stops counting (``SurveyResponse.excluded``) and the item is
    EXCLUDED. ``upheld``: the item returns to where it was — OPEN, ANSWERED, or CLOSED if
    the citizen rated the handling meanwhile; its deadline is unchanged. The unit head is told.
    """
    actor = await load_actor(session, admin_telegram_id, admin_ids)
    if not actor.is_admin:
        raise Refused(N_("Sorry, only the evaluation working group can do this."))
    if decision not in (UPHELD, EXCLUDED):
        raise ValueError(f"unknown decision {decision!r}")
    view = await load(session, rect_id)
    if await conflicted(session, view, actor):
        raise Refused(OWN_UNIT)
    cleaned = check_text(note)
    rect = view.rect
    if rect.status != Status.UNDER_REVIEW:
        raise DomainError(N_("This review has already been decided."))
    old = rect.status
    if decision == EXCLUDED:
        rect.status = Status.EXCLUDED
        view.response.excluded = True
        if view.response.completed_at is not None:  # it no longer counts in its period
            await touch_periods_of(session, view.response.completed_at, tz)
    elif rect.answer is None:
        rect.status = Status.OPEN
    else:
        rect.status = Status.CLOSED if rect.citizen_rating is not None else Status.ANSWERED
    rect.review_decision = decision
    rect.review_note = cleaned
    rect.reviewed_at = now
    rect.reviewed_by = admin_telegram_id
    await audit(
        session,
        "rectification.review_decide",
        actor_telegram_id=admin_telegram_id,
        actor_staff_id=actor.staff.id if actor.staff else None,
        object_type="rectification",
        object_id=str(rect.id),
        detail={
            "old": old.value,
            "new": rect.status.value,
            "decision": decision,
            "note": cleaned,
            "response": view.response.id,
            "excluded": view.response.excluded,
        },
        at=now,
    )
    for telegram_id, language in await _head_accounts(session, view):
        tr = translator(language)
        await enqueue(
            session,
            telegram_id,
            _decision_text(tr, view, decision, cleaned),
            choices=_open_choice(tr, rect.id) if rect.status in ACTIVE else None,
            dedupe_key=f"rect-decided:{rect.id}:{telegram_id}",
        )
    await session.flush()
    return rect


# --- the citizen's side ------------------------------------------------------------


async def rate(
    session: AsyncSession,
    rect_id: int,
    rating: Satisfaction | str,
    *,
    respondent_key: str | tuple[str, ...],
    now: dt.datetime,
) -> Rectification:
    """The citizen rates the handling, once; they prove who they are by their keyed hash
    (``services.surveys.respondent_keys``: a tuple also recognises a pre-upgrade key).

    ANSWERED → CLOSED. While a review is pending the rating is kept and the item stays
    UNDER_REVIEW. Pressing the same rating again changes nothing; another one is refused.
    """
    level = Satisfaction(rating)
    if level not in RATINGS.values():
        raise ValueError(f"not a rating of the handling: {rating!r}")
    rect = await session.get(Rectification, rect_id)
    response = await session.get(SurveyResponse, rect.response_id) if rect else None
    keys = (respondent_key,) if isinstance(respondent_key, str) else respondent_key
    if (
        rect is None
        or response is None
        or not any(hmac.compare_digest(response.respondent_key, k) for k in keys)
    ):
        raise Refused(N_("This button is not for you."))
    if rect.citizen_rating is not None:
        if rect.citizen_rating == level.value:
            return rect
        raise DomainError(N_("You have already rated this. Thank you!"))
    if rect.answer is None or rect.status not in (Status.ANSWERED, Status.UNDER_REVIEW):
        raise DomainError(N_("This can no longer be rated. Thank you all the same."))
    rect.citizen_rating = level.value
    rect.rated_at = now
    if rect.status == Status.ANSWERED:
        rect.status = Status.CLOSED
    await audit(
        session,
        "rectification.rate",
        actor_label="citizen",  # pseudonymous: never the Telegram id
        object_type="rectification",
        object_id=str(rect.id),
        detail={"rating": level.value, "status": rect.status.value},
        at=now,
    )
    view = await load(session, rect.id)
    for telegram_id, language in await _head_accounts(session, view):
        tr = translator(language)
        await enqueue(
            session,
            telegram_id,
            html_format(
                tr._("The citizen rated the handling of bad review #{id} ({unit}): {rating}."),
                id=rect.id,
                unit=view.unit,
                rating=tr._(SATISFACTION_LABELS[level]),
            ),
            dedupe_key=f"rect-rated:{rect.id}:{telegram_id}",
        )
    await session.flush()
    return rect


# --- deadlines -------------------------------------------------------------------


async def overdue(session: AsyncSession, now: dt.datetime) -> list[Rectification]:
    """OPEN items past their deadline (answered ones are not late; a review pauses it)."""
    return list(
        await session.scalars(
            select(Rectification)
            .where(Rectification.status == Status.OPEN, Rectification.deadline < now)
            .order_by(Rectification.deadline, Rectification.id)
        )
    )


async def remind_overdue(
    session: AsyncSession, now: dt.datetime, *, admin_ids: frozenset[int] = frozenset()
) -> int:
    """Tell the unit head (or, with no head, the working group) once per overdue item."""
    count = 0
    for rect in await overdue(session, now):
        if rect.overdue_notified_at is not None:
            continue
        view = await load(session, rect.id)
        recipients = await _head_accounts(session, view) or await _admin_accounts(
            session, admin_ids
        )
        for telegram_id, language in recipients:
            tr = translator(language)
            await enqueue(
                session,
                telegram_id,
                _overdue_text(tr, view),
                choices=_open_choice(tr, rect.id),
                dedupe_key=f"rect-overdue:{rect.id}:{telegram_id}",
            )
        rect.overdue_notified_at = now
        await audit(
            session,
            "rectification.overdue",
            actor_label="job",
            object_type="rectification",
            object_id=str(rect.id),
            detail={"deadline": rect.deadline.isoformat(), "notified": len(recipients)},
            at=now,
        )
        count += 1
    await session.flush()
    return count


# --- recipients and texts ----------------------------------------------------------


async def _head_accounts(session: AsyncSession, view: RectView) -> list[tuple[int, str | None]]:
    """The bound account of the unit's active head, as (telegram id, language)."""
    if view.head_staff_id is None:
        return []
    row = (
        await session.execute(
            select(TelegramAccount.telegram_id, TelegramAccount.language)
            .join(Staff, Staff.id == TelegramAccount.staff_id)
            .where(Staff.id == view.head_staff_id, Staff.active.is_(True))
        )
    ).first()
    return [(row[0], row[1])] if row else []


async def _admin_accounts(
    session: AsyncSession, admin_ids: frozenset[int]
) -> list[tuple[int, str | None]]:
    """Bound active staff with the admin role, plus the configured admin ids."""
    return await admin_accounts(session, admin_ids)


def _when(view: RectView) -> dt.datetime:
    return view.response.completed_at or view.rect.opened_at


def _target(tr: Translator, view: RectView) -> Html:
    unit = localized(view.unit, tr.locale)
    if view.staff:
        return html_format("{unit} · {staff}", unit=unit, staff=localized(view.staff, tr.locale))
    return escape(unit)


def _open_choice(tr: Translator, rect_id: int) -> Choices:
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


def _rating_choices(tr: Translator, rect_id: int) -> Choices:
    return rows(
        [
            Choice(tr._(SATISFACTION_LABELS[level]), "rectify.rate", (rect_id, code))
            for code, level in RATINGS.items()
        ]
    )


def _opened_text(tr: Translator, view: RectView) -> str:
    level = view.response.overall
    return "\n".join(
        [
            html_format(tr._("<b>New bad review to rectify</b> (#{id})"), id=view.rect.id),
            html_format(
                tr._("{target}, {date}: {level}."),
                target=_target(tr, view),
                date=tr.date(_when(view)),
                level=tr._(SATISFACTION_LABELS[level]) if level else "—",
            ),
            html_format(
                tr._("Please handle it and write what was done by the end of {deadline}."),
                deadline=tr.date(view.rect.deadline),
            ),
        ]
    )


def _reply_text(tr: Translator, view: RectView, text: str, locale: str) -> str:
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


def _review_request_text(tr: Translator, view: RectView, reason: str) -> str:
    level = view.response.overall
    return "\n".join(
        [
            html_format(tr._("<b>Review requested</b> · #{id}"), id=view.rect.id),
            html_format(
                tr._("{unit} asks the working group to review a bad review of {date} ({level})."),
                unit=localized(view.unit, tr.locale),
                date=tr.date(_when(view)),
                level=tr._(SATISFACTION_LABELS[level]) if level else "—",
            ),
            html_format(tr._("Reason: {reason}"), reason=reason),
        ]
    )


def _decision_text(tr: Translator, view: RectView, decision: str, note: str) -> str:
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


def _overdue_text(tr: Translator, view: RectView) -> str:
    return html_format(
        tr._(
            "Overdue: bad review #{id} ({target}, {date}) was due by the end of {deadline} and has not been handled yet. Please write what was done."
        ),
        id=view.rect.id,
        target=_target(tr, view),
        date=tr.date(_when(view)),
        deadline=tr.date(view.rect.deadline),
    )
