"""整改: a citizen's bad review (差评) becomes an item the unit head must handle in time.

What can happen to an item, who may do it, who is told: ``RECTIFICATION`` below, on the case
kernel (``services.cases``)::

    OPEN ──answer──▶ ANSWERED ──rate (the citizen)──▶ CLOSED
      │──close (answered, no reply wanted)──▶ CLOSED
      └──request_review──▶ UNDER_REVIEW ──exclude──▶ EXCLUDED
         (from OPEN or ANSWERED, once)   ──uphold──▶ back where it was

Rules beyond the table, checked here so the chat and any future CLI share them:

- One item per response; its deadline is the end of the N-th official working day
  (``services.workdays``) after the day the review arrived.
- **Only the unit head** answers (the unit's own accountable statement to the citizen) and
  asks for review (申诉复核). The working group sees every item and decides reviews, but no
  member on the unit's side (its head, a member of it, whoever made the request) decides
  one or is asked to (``conflicted``). A unit without a head is reported to the working group.
- The citizen's raw Telegram id (``response.reply_chat_id``) exists only while a requested
  reply is pending: ``answer`` queues the reply and erases it in the same transaction (the
  outbox row forgets it once sent). The citizen rates the handling once, proving who they
  are by the keyed hash of their id (``respondent_key``). Nothing shown to staff names them.

Functions run in the caller's transaction and raise ``DomainError`` (``Refused`` when the
caller has no right to the item, which the chat audits as ``access.denied``).
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable
from typing import Any, Final, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import RectificationOutcome, RectificationStatus, ResponseStatus, Satisfaction
from infra.i18n import N_
from infra.models import Rectification, Staff, SurveyResponse
from services import cases
from services import rectification_view as rv
from services.access import Actor, load_actor
from services.cases import NEW, SYSTEM, WORKING_GROUP, Env, Notice, Recipient, Transition, Who
from services.cycles import touch_periods_of
from services.errors import DomainError
from services.notices import Localization
from services.official_calendar import calendar, warn_unofficial
from services.outbox import enqueue
from services.rectification_view import EXCLUDED, NOT_FOUND, RATINGS, UPHELD, RectView, load

Status = RectificationStatus
Refused = cases.Refused
MAX_TEXT: Final = 1000
Decision = Literal["upheld", "excluded"]
NOT_YOURS = N_("This button is not for you.")
OWN_UNIT = N_(
    "You cannot decide this review: it was requested for your own unit. Another member of the working group decides it."
)
ASKED_ONCE = N_("A review of this negative rating was already requested; it can be requested once.")
ANSWERED_ALREADY = N_("This negative rating has already been answered.")
NOT_OPEN: Final = {  # why it cannot be answered now
    Status.UNDER_REVIEW: N_(
        "This negative rating is being reviewed by the working group; please wait for its decision."
    ),
    Status.ANSWERED: ANSWERED_ALREADY,
    Status.CLOSED: ANSWERED_ALREADY,
    Status.EXCLUDED: N_("This negative rating was excluded after review; nothing more is needed."),
}
DECIDED_ALREADY = N_("This review has already been decided.")
NOT_REVIEWABLE = N_("This negative rating can no longer be reviewed.")
NOT_RATABLE = N_("This can no longer be rated. Thank you all the same.")

# --- the table ---------------------------------------------------------------------------

HEAD: Final = cases.staff_of("the head of the unit", lambda view: view.head_staff_id, NOT_FOUND)
UNIT_SIDE: Final = Who("the unit that asked", lambda actor, view: rv.conflicted(view, actor))
JUDGE: Final = WORKING_GROUP.but_not(UNIT_SIDE, OWN_UNIT)
CITIZEN: Final = Who("the citizen (by the keyed hash of their id)", lambda a, _v: a is None)
HEAD_CHATS: Final = cases.owner(lambda step: step.view.head_staff_id)
HEAD_OR_GROUP: Final = cases.first(HEAD_CHATS, cases.group)  # with no head to tell, the group


async def impartial_group(session: AsyncSession, step: cases.Step[RectView]) -> list[Recipient]:
    """The working group minus those on the unit's side (``UNIT_SIDE``), who stand aside."""
    group, admins = await cases.group(session, step), step.env.admin_ids
    return [
        r
        for r in group
        if not rv.conflicted(step.view, await load_actor(session, r.chat_id, admins))
    ]


TO_HANDLE: Final = Notice(HEAD_OR_GROUP, rv.opened_text, "rect-open:{id}:{chat}", rv.open_choice)
ASKED: Final = Notice(
    impartial_group, rv.review_request_text, "rect-review:{id}:{chat}", rv.decision_choices
)
DECIDED: Final = Notice(HEAD_CHATS, rv.decision_text, "rect-decided:{id}:{chat}", rv.open_choice)
RATED: Final = Notice(HEAD_CHATS, rv.rated_text, "rect-rated:{id}:{chat}")
OVERDUE: Final = Notice(HEAD_OR_GROUP, rv.overdue_text, "rect-overdue:{id}:{chat}", rv.open_choice)
OPEN, ANSWERED, REVIEWED = Status.OPEN, Status.ANSWERED, Status.UNDER_REVIEW
CLOSED, EXCLUDED_ = Status.CLOSED, Status.EXCLUDED


def _t(
    name: str, src: Any, to: Status | None, who: Who, audit: str, no: str, *told: Notice[RectView],
    why: Callable[[RectView], str | None] | None = None,
) -> Transition[RectView]:  # fmt: skip
    return Transition(
        name, frozenset(src), to, who, f"rectification.{audit}", no, told, why_not=why
    )


def _reviewable(view: RectView) -> str | None:
    """Once only (told so first), and only from OPEN or ANSWERED."""
    if view.rect.review_requested_at is not None:
        return ASKED_ONCE
    return None if view.status in (OPEN, ANSWERED) else NOT_REVIEWABLE


# ``why``: the status-specific "not now" (``answer`` from OPEN only, ``request_review`` once,
# from OPEN or ANSWERED). Besides: ``answer`` queues the reply to the citizen itself;
# ``uphold`` returns the item where it was; ``rate`` leaves an item UNDER_REVIEW there.
# fmt: off
RECTIFICATION: Final[cases.Workflow[RectView]] = cases.Workflow("rectification", (
    # name            from                to         who      audit             refused   told
    _t("open",        NEW,                None,      SYSTEM,  "open",           NOT_FOUND, TO_HANDLE),
    _t("answer",      Status,             ANSWERED,  HEAD,    "answer",         ANSWERED_ALREADY, why=lambda v: NOT_OPEN.get(v.status)),
    _t("close",       {OPEN},             CLOSED,    HEAD,    "answer",         ANSWERED_ALREADY),
    _t("request_review", Status,          REVIEWED,  HEAD,    "review_request", NOT_REVIEWABLE, ASKED, why=_reviewable),
    _t("exclude",     {REVIEWED},         EXCLUDED_, JUDGE,   "review_decide",  DECIDED_ALREADY, DECIDED),
    _t("uphold",      {REVIEWED},         None,      JUDGE,   "review_decide",  DECIDED_ALREADY, DECIDED),
    _t("rate",        {ANSWERED, REVIEWED}, None,    CITIZEN, "rate",           NOT_RATABLE, RATED),
    _t("remind",      {OPEN},             None,      SYSTEM,  "overdue",        NOT_FOUND, OVERDUE),
))
# fmt: on


def _ready(name: str, view: RectView, actor: Actor | None, text: str) -> str:
    """The cleaned text once the caller may take ``name`` and the item allows it now, checked
    in that order: a caller with no right is refused whatever they wrote."""
    refusal = RECTIFICATION[name].who.refuses(actor, view)
    if refusal is not None:
        raise Refused(refusal)
    cleaned = cases.check_text(text, MAX_TEXT)
    cases.check(RECTIFICATION, name, view, actor)
    return cleaned


async def _staff_actor(session: AsyncSession, staff_id: int) -> Actor:
    """A staff member acting without a chat (the chat passes its caller's staff id)."""
    staff = await session.scalar(select(Staff).where(Staff.id == staff_id, Staff.active.is_(True)))
    return Actor(0, staff)


async def open_for_response(
    session: AsyncSession,
    response: SurveyResponse,
    *,
    now: dt.datetime,
    working_days: int = 15,
    env: Env,
) -> Rectification:
    """Open the item of a completed 差评 and tell the unit head (with no head who could be
    told, the working group); a second call returns the existing item and queues nothing."""
    if response.status != ResponseStatus.COMPLETE or not (
        response.overall is not None and response.overall.is_bad
    ):
        raise ValueError("only a completed bad review (差评) opens a rectification item")
    await session.flush()  # the response's id, and the caller's pending writes, first
    existing = select(Rectification).where(Rectification.response_id == response.id)
    found: Rectification | None = await session.scalar(existing)
    if found is not None:
        return found
    cal = await calendar(session)
    deadline = cal.add_working_days(response.completed_at or now, working_days, env.tz)
    local = Localization(env.locale, env.tz)
    await warn_unofficial(session, cal, [deadline], admin_ids=env.admin_ids, local=local)
    rect = Rectification(
        response_id=response.id, unit_id=response.unit_id, status=OPEN, opened_at=now,
        deadline=deadline,
    )  # fmt: skip
    try:
        async with session.begin_nested():
            session.add(rect)
    except IntegrityError:  # a concurrent transaction opened it between our check and insert
        found = await session.scalar(existing)
        if found is not None:
            return found
        raise
    detail: dict[str, Any] = {"response": response.id, "unit": response.unit_id}
    detail |= {"deadline": deadline.isoformat(), "working_days": working_days}
    view = await load(session, rect.id)
    await cases.apply(
        session, RECTIFICATION, "open", view, actor=None, at=now, env=env, detail=detail,
        actor_label="survey",
    )  # fmt: skip
    return rect


def wants_reply(view: RectView) -> bool:
    """Whether a reply to the citizen is pending: asked for, and their chat id still kept
    (or a web citizen, who reads it on the survey page with the number and receipt code)."""
    response = view.response
    return bool(response.wants_reply) and (
        response.reply_chat_id is not None or _on_the_web(response)
    )


def _on_the_web(response: SurveyResponse) -> bool:
    return response.channel == "web" and response.receipt_hash is not None


async def answer(
    session: AsyncSession,
    rect_id: int,
    record: str,
    *,
    outcome: RectificationOutcome,
    reply: str | None = None,
    staff_id: int,
    now: dt.datetime,
    env: Env | None = None,
) -> Rectification:
    """The unit head's handling, in two texts kept apart: ``record``, what was done, for the
    unit and the working group; ``reply``, what the citizen is told (required when they
    asked for a reply), with the ``outcome`` (立行立改 / 限期整改 / 解释说明). OPEN → ANSWERED
    when the reply goes to the citizen (queued in their language, their raw chat id erased
    in this transaction), who then rates it; else → CLOSED, as nobody is left to rate it."""
    env = env or Env()
    outcome = RectificationOutcome(outcome)
    view = await load(session, rect_id)
    actor = await _staff_actor(session, staff_id)
    cleaned = _ready("answer", view, actor, record)
    rect, response = view.rect, view.response
    chat = response.reply_chat_id if response.wants_reply else None
    web = bool(response.wants_reply) and _on_the_web(response)  # read on the page, not sent
    told = cases.check_text(reply, MAX_TEXT) if chat is not None or web else None
    if chat is not None and told is not None:
        tr = env.tr(response.locale)
        await enqueue(
            session,
            chat,
            rv.reply_text(tr, view, told, response.locale, outcome=outcome),
            choices=rv.rating_choices(tr, rect.id),
            dedupe_key=f"rect-reply:{rect.id}",
            erase_chat_id=True,  # the row forgets the citizen once it is sent
        )
        response.reply_chat_id = None  # kept only while a requested reply was pending
    replied = chat is not None or web
    name, status = ("answer", ANSWERED) if replied else ("close", CLOSED)
    changes: dict[str, Any] = {"answer": cleaned, "outcome": outcome, "reply": told}
    changes |= {"answered_at": now, "answered_by_staff_id": staff_id}
    detail = {"status": status.value, "replied": replied, "length": len(cleaned)}
    detail |= {"outcome": outcome.value}
    await cases.apply(
        session,
        RECTIFICATION,
        name,
        view,
        actor=actor,
        at=now,
        env=env,
        changes=changes,
        detail=detail,
    )
    return rect


async def request_review(
    session: AsyncSession, rect_id: int, reason: str, *, staff_id: int, now: dt.datetime, env: Env
) -> Rectification:
    """申诉复核: the unit head asks the working group to review a 差评 it thinks mistaken or
    malicious, once; the impartial part of the working group is told."""
    view = await load(session, rect_id)
    actor = await _staff_actor(session, staff_id)
    cleaned = _ready("request_review", view, actor, reason)
    changes = {"review_reason": cleaned, "review_requested_at": now}
    await cases.apply(
        session, RECTIFICATION, "request_review", view, actor=actor, at=now, env=env, changes=changes,
        detail={"reason": cleaned}, reason=cleaned,
    )  # fmt: skip
    return view.rect


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
    """The working group's decision, with its (required) reason; the unit head is told.

    ``excluded``: the response stops counting (``SurveyResponse.excluded``) and the item is
    EXCLUDED. ``upheld``: the item returns to where it was — OPEN, ANSWERED, or CLOSED if
    the citizen rated the handling meanwhile; its deadline is unchanged.
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
        back = EXCLUDED_
    elif rect.answer is None:
        back = OPEN
    else:
        back = CLOSED if rect.citizen_rating is not None else ANSWERED
    changes: dict[str, Any] = {"status": back, "review_decision": decision, "review_note": cleaned}
    changes |= {"reviewed_at": now, "reviewed_by": admin_telegram_id}
    excluded = decision == EXCLUDED or response.excluded
    detail = {"decision": decision, "note": cleaned, "response": response.id, "excluded": excluded}
    await cases.apply(
        session, RECTIFICATION, name, view, actor=actor, at=now, env=env, changes=changes, detail=detail,
        decision=decision, note=cleaned,
    )  # fmt: skip
    if decision == EXCLUDED:
        response.excluded = True
        if response.completed_at is not None:  # it no longer counts in its period
            await touch_periods_of(session, response.completed_at, env.tz)
        await session.flush()
    return rect


async def rate(
    session: AsyncSession,
    rect_id: int,
    rating: Satisfaction | str,
    *,
    respondent_key: str | tuple[str, ...],
    now: dt.datetime,
    env: Env,
) -> Rectification:
    """The citizen rates the handling once, proving who they are by their keyed hash (a
    tuple also recognises a pre-upgrade key: ``services.surveys.respondent_keys``).

    ANSWERED → CLOSED; while a review is pending the rating is kept and the item stays
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
        raise DomainError(RECTIFICATION["rate"].not_now)
    view = await load(session, rect.id)
    closed = CLOSED if rect.status == ANSWERED else rect.status
    changes = {"status": closed, "citizen_rating": level.value, "rated_at": now}
    await cases.apply(
        session, RECTIFICATION, "rate", view, actor=None, at=now, env=env, changes=changes,
        detail={"rating": level.value, "status": closed.value},
        actor_label="citizen",  # pseudonymous: never the Telegram id
        rating=level,
    )  # fmt: skip
    return rect


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
        await cases.apply(
            session, RECTIFICATION, "remind", view, actor=None, at=now, env=env,
            changes={"overdue_notified_at": now}, detail=detail,
        )  # fmt: skip
        count += 1
    return count
