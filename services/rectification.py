"""整改: a citizen's bad review (差评) becomes an item the unit head must handle in time.

What can happen to an item, who may do it, who is told — ``FLOW`` below, on the case
kernel (``services.cases``)::

    OPEN ──answer──▶ ANSWERED ──rate (the citizen)──▶ CLOSED
      │──close (answered, no reply wanted)──▶ CLOSED
      └──request_review──▶ UNDER_REVIEW ──exclude──▶ EXCLUDED
         (from OPEN or ANSWERED, once)   ──uphold──▶ back where it was

Rules beyond the table (each checked here, so the chat and any future CLI share them):

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

Functions run in the caller's transaction and raise ``DomainError`` (``Refused`` when the
caller has no right to the item, which the chat audits as ``access.denied``).
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any, Final, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import RectificationStatus, ResponseStatus, Satisfaction
from infra.i18n import N_
from infra.models import (
    Rectification,
    Staff,
    SurveyResponse,
)
from services import cases
from services import rectification_view as rv
from services.access import Actor, load_actor
from services.cases import NEW, SYSTEM, WORKING_GROUP, Env, Notice, Transition, Who
from services.cycles import touch_periods_of
from services.errors import DomainError
from services.outbox import enqueue
from services.rectification_view import ACTIVE, EXCLUDED, NOT_FOUND, RATINGS, UPHELD, RectView, load
from services.workdays import add_working_days

Status = RectificationStatus
Refused = cases.Refused
MAX_TEXT: Final = 1000
Decision = Literal["upheld", "excluded"]
NOT_YOURS = N_("This button is not for you.")
OWN_UNIT = N_(
    "You cannot decide this review: it was requested for your own unit. Another member of the working group decides it."
)
ASKED_ONCE = N_("A review of this bad review was already requested; it can be requested once.")


# --- the table ---------------------------------------------------------------------------


def _t(
    name: str,
    sources: set[Status] | frozenset[Status],
    target: Status | None,
    who: Who,
    audit: str,
    not_now: str,
    *notices: Notice[RectView],
) -> Transition[RectView]:
    return Transition(
        name, frozenset(sources), target, who, f"rectification.{audit}", not_now, notices
    )


HEAD: Final = Who("the head of the unit", rv.heads, NOT_FOUND)
UNIT_SIDE: Final = Who("the unit that asked", lambda actor, view: rv.conflicted(view, actor))
JUDGE: Final = WORKING_GROUP.but_not(UNIT_SIDE, OWN_UNIT)
CITIZEN: Final = Who("the citizen (by the keyed hash of their id)", lambda a, _v: a is None)
TO_HANDLE: Final[Notice[RectView]] = Notice(  # the head, else the working group
    rv.head_or_group,
    lambda tr, s: rv.opened_text(tr, s.view),
    "rect-open:{id}:{chat}",
    choices=lambda tr, s: rv.open_choice(tr, s.case.id),
)
REVIEW_ASKED: Final[Notice[RectView]] = Notice(  # the working group, minus the unit's side
    rv.impartial_group,
    lambda tr, s: rv.review_request_text(tr, s.view, s.params["reason"]),
    "rect-review:{id}:{chat}",
    choices=lambda tr, s: rv.decision_choices(tr, s.case.id),
)
DECIDED: Final[Notice[RectView]] = Notice(
    rv.head_chats,
    lambda tr, s: rv.decision_text(tr, s.view, s.params["decision"], s.params["note"]),
    "rect-decided:{id}:{chat}",
    choices=lambda tr, s: rv.open_choice(tr, s.case.id) if s.case.status in ACTIVE else (),
)
RATED: Final[Notice[RectView]] = Notice(
    rv.head_chats,
    lambda tr, s: rv.rated_text(tr, s.view, s.params["rating"]),
    "rect-rated:{id}:{chat}",
)
OVERDUE: Final[Notice[RectView]] = Notice(  # the head, else the working group
    rv.head_or_group,
    lambda tr, s: rv.overdue_text(tr, s.view),
    "rect-overdue:{id}:{chat}",
    choices=lambda tr, s: rv.open_choice(tr, s.case.id),
)
ANSWERED_ALREADY = N_("This bad review has already been answered.")
NOT_OPEN: Final = {  # why it cannot be answered now
    Status.UNDER_REVIEW: N_(
        "This bad review is being reviewed by the working group; please wait for its decision."
    ),
    Status.ANSWERED: ANSWERED_ALREADY,
    Status.CLOSED: ANSWERED_ALREADY,
    Status.EXCLUDED: N_("This bad review was excluded after review; nothing more is needed."),
}
DECIDED_ALREADY = N_("This review has already been decided.")
NOT_REVIEWABLE = N_("This bad review can no longer be reviewed.")
NOT_RATABLE = N_("This can no longer be rated. Thank you all the same.")
OPEN, ANSWERED, REVIEWED = Status.OPEN, Status.ANSWERED, Status.UNDER_REVIEW
CLOSED, EXCLUDED_ = Status.CLOSED, Status.EXCLUDED
# What can happen to an item, who may, who is told (the rules below add what a table cannot:
# one review request per item; ``answer`` queues the reply to the citizen itself, as it
# erases their chat id; ``uphold`` returns the item where it was; ``rate`` closes an
# ANSWERED item and leaves one UNDER_REVIEW there).
# fmt: off
FLOW: Final[cases.Workflow[RectView]] = cases.Workflow("rectification", (
    # name            from                to         who      audit             refused   told
    _t("open",        NEW,                None,      SYSTEM,  "open",           NOT_FOUND, TO_HANDLE),
    _t("answer",      {OPEN},             ANSWERED,  HEAD,    "answer",         ANSWERED_ALREADY),
    _t("close",       {OPEN},             CLOSED,    HEAD,    "answer",         ANSWERED_ALREADY),
    _t("request_review", {OPEN, ANSWERED}, REVIEWED, HEAD,    "review_request", NOT_REVIEWABLE, REVIEW_ASKED),
    _t("exclude",     {REVIEWED},         EXCLUDED_, JUDGE,   "review_decide",  DECIDED_ALREADY, DECIDED),
    _t("uphold",      {REVIEWED},         None,      JUDGE,   "review_decide",  DECIDED_ALREADY, DECIDED),
    _t("rate",        {ANSWERED, REVIEWED}, None,    CITIZEN, "rate",           NOT_RATABLE, RATED),
    _t("remind",      {OPEN},             None,      SYSTEM,  "overdue",        NOT_FOUND, OVERDUE),
))
# fmt: on


# --- reading -----------------------------------------------------------------


def may(name: str, view: RectView, actor: Actor | None) -> bool:
    """Whether the chat should offer ``name`` to this actor on this item now."""
    return why_not(name, view) is None and FLOW.allowed(name, view, actor)


def why_not(name: str, view: RectView) -> str | None:
    """Why the item's status does not allow ``name`` now (a stale button), or None."""
    rect = view.rect
    if name == "answer" and rect.status != Status.OPEN:
        return NOT_OPEN[rect.status]
    if name == "request_review" and rect.review_requested_at is not None:
        return ASKED_ONCE
    return None if rect.status in FLOW[name].sources else FLOW[name].not_now


# --- taking a transition -------------------------------------------------------------


def _ready(name: str, view: RectView, actor: Actor | None, text: str) -> str:
    """The cleaned text once the caller may take ``name`` and the item allows it now;
    checked in that order: a caller with no right is refused whatever they wrote."""
    refusal = FLOW[name].who.refuses(actor, view)
    if refusal is not None:
        raise Refused(refusal)
    cleaned = check_text(text)
    problem = why_not(name, view)
    if problem is not None:
        raise DomainError(problem)
    return cleaned


async def _take(
    session: AsyncSession,
    name: str,
    view: RectView,
    actor: Actor | None,
    at: dt.datetime,
    env: Env,
    changes: dict[str, Any],
    detail: dict[str, Any],
    **params: Any,
) -> None:
    await cases.apply(
        session, FLOW, name, view, actor=actor, at=at, env=env, changes=changes, detail=detail,
        **params,
    )  # fmt: skip


async def _staff_actor(session: AsyncSession, staff_id: int) -> Actor:
    """A staff member acting without a chat (the chat passes its caller's staff id)."""
    staff = await session.scalar(select(Staff).where(Staff.id == staff_id, Staff.active.is_(True)))
    return Actor(0, staff)


# --- opening -----------------------------------------------------------------


async def open_for_response(
    session: AsyncSession,
    response: SurveyResponse,
    *,
    now: dt.datetime,
    working_days: int = 15,
    env: Env,
) -> Rectification:
    """Open the item of a completed 差评 and tell the unit head; once per response.

    A second call for the same response returns the existing item and queues nothing.
    The working group (``env.admin_ids`` and bound admins) is told when the unit has no
    head who could be told.
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
        deadline=add_working_days(response.completed_at or now, working_days, env.tz),
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
    detail = {
        "response": response.id,
        "unit": response.unit_id,
        "deadline": rect.deadline.isoformat(),
        "working_days": working_days,
    }
    view = await load(session, rect.id)
    await cases.apply(
        session,
        FLOW,
        "open",
        view,
        actor=None,
        at=now,
        env=env,
        detail=detail,
        actor_label="survey",
    )
    return rect


async def _for_response(session: AsyncSession, response_id: int) -> Rectification | None:
    found: Rectification | None = await session.scalar(
        select(Rectification).where(Rectification.response_id == response_id)
    )
    return found


# --- the unit's side -----------------------------------------------------------


def check_text(text: str | None) -> str:
    """1 to 1000 characters after trimming (the kernel's check), or a DomainError."""
    return cases.check_text(text, MAX_TEXT)


async def answer(
    session: AsyncSession,
    rect_id: int,
    text: str,
    *,
    staff_id: int,
    now: dt.datetime,
    env: Env | None = None,
) -> Rectification:
    """The unit head's account of what was done; replies to the citizen if they asked.

    OPEN → ANSWERED when a reply goes to the citizen (who then rates it), else → CLOSED
    (nobody is left to rate it). The reply is queued in the citizen's language and their
    raw chat id is erased from the response in this same transaction.
    """
    env = env or Env()
    view = await load(session, rect_id)
    actor = await _staff_actor(session, staff_id)
    cleaned = _ready("answer", view, actor, text)
    rect, response = view.rect, view.response
    chat = response.reply_chat_id if response.wants_reply else None
    if chat is not None:
        tr = env.tr(response.locale)
        await enqueue(
            session,
            chat,
            rv.reply_text(tr, view, cleaned, response.locale),
            choices=rv.rating_choices(tr, rect.id),
            dedupe_key=f"rect-reply:{rect.id}",
            erase_chat_id=True,  # the row forgets the citizen once it is sent
        )
        response.reply_chat_id = None  # kept only while a requested reply was pending
    replied = chat is not None
    name = "answer" if replied else "close"
    status = Status.ANSWERED if replied else Status.CLOSED
    changes = {"answer": cleaned, "answered_at": now, "answered_by_staff_id": staff_id}
    detail = {"status": status.value, "replied": replied, "length": len(cleaned)}
    await _take(session, name, view, actor, now, env, changes, detail)
    return rect


async def request_review(
    session: AsyncSession,
    rect_id: int,
    reason: str,
    *,
    staff_id: int,
    now: dt.datetime,
    env: Env,
) -> Rectification:
    """申诉复核: the unit head asks the working group to review a 差评 it thinks mistaken
    or malicious. From OPEN or ANSWERED, once per item; the impartial part of the working
    group is told."""
    view = await load(session, rect_id)
    actor = await _staff_actor(session, staff_id)
    cleaned = _ready("request_review", view, actor, reason)
    changes = {"review_reason": cleaned, "review_requested_at": now}
    await _take(
        session,
        "request_review",
        view,
        actor,
        now,
        env,
        changes,
        {"reason": cleaned},
        reason=cleaned,
    )
    return view.rect


# --- the working group's side ----------------------------------------------------


async def decide_review(
    session: AsyncSession,
    rect_id: int,
    decision: Decision,
    note: str,
    *,
    admin_telegram_id: int,
    now: dt.datetime,
    env: Env,
) -> Rectification:
    """The working group's decision, with its reason (required), audited; ``Refused`` for
    someone who stands aside because the request came from their own unit (``conflicted``).

    ``excluded``: the response stops counting (``SurveyResponse.excluded``) and the item is
    EXCLUDED. ``upheld``: the item returns to where it was — OPEN, ANSWERED, or CLOSED if
    the citizen rated the handling meanwhile; its deadline is unchanged. The unit head is told.
    """
    actor = await load_actor(session, admin_telegram_id, env.admin_ids)
    if not actor.is_admin:
        raise Refused(cases.ONLY_ADMINS)
    if decision not in (UPHELD, EXCLUDED):
        raise ValueError(f"unknown decision {decision!r}")
    name = "exclude" if decision == EXCLUDED else "uphold"
    view = await load(session, rect_id)
    cleaned = _ready(name, view, actor, note)
    rect, response = view.rect, view.response
    if decision == EXCLUDED:
        back = Status.EXCLUDED
    elif rect.answer is None:
        back = Status.OPEN
    else:
        back = Status.CLOSED if rect.citizen_rating is not None else Status.ANSWERED
    changes: dict[str, Any] = {"status": back, "review_decision": decision, "review_note": cleaned}
    changes |= {"reviewed_at": now, "reviewed_by": admin_telegram_id}
    excluded = decision == EXCLUDED or response.excluded
    detail = {"decision": decision, "note": cleaned, "response": response.id, "excluded": excluded}
    await _take(
        session, name, view, actor, now, env, changes, detail, decision=decision, note=cleaned
    )
    if decision == EXCLUDED:
        response.excluded = True
        if response.completed_at is not None:  # it no longer counts in its period
            await touch_periods_of(session, response.completed_at, env.tz)
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
    env: Env,
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
        raise Refused(NOT_YOURS)
    if rect.citizen_rating is not None:
        if rect.citizen_rating == level.value:
            return rect
        raise DomainError(N_("You have already rated this. Thank you!"))
    if rect.answer is None:
        raise DomainError(FLOW["rate"].not_now)
    view = await load(session, rect.id)
    closed = Status.CLOSED if rect.status == Status.ANSWERED else rect.status
    changes = {"status": closed, "citizen_rating": level.value, "rated_at": now}
    detail = {"rating": level.value, "status": closed.value}
    await _take(
        session, "rate", view, None, now, env, changes, detail,
        actor_label="citizen",  # pseudonymous: never the Telegram id
        rating=level,
    )  # fmt: skip
    return rect


# --- deadlines -------------------------------------------------------------------


async def remind_overdue(session: AsyncSession, now: dt.datetime, *, env: Env) -> int:
    """Tell the unit head (or, with no head, the working group) once per overdue item."""
    count = 0
    for rect in await rv.overdue(session, now):
        if rect.overdue_notified_at is not None:
            continue
        view = await load(session, rect.id)
        told = await cases.accounts(session, [view.head_staff_id]) or await cases.working_group(
            session, env
        )
        detail = {"deadline": rect.deadline.isoformat(), "notified": len(told)}
        await _take(session, "remind", view, None, now, env, {"overdue_notified_at": now}, detail)
        count += 1
    return count
