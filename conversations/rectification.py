"""整改 in the chat: unit heads handle bad reviews (/rectify), the working group decides
review requests (/reviews), and the citizen rates the handling from their own chat.

Lists and items are plain messages; the text steps are the ``State``s
(``rectification.mmd``). Who may press what is the service's table (``rc.RECTIFICATION``): each
press is re-checked against it and the item's status, and a forged id or someone else's
unit is refused politely and audited as ``access.denied``. The citizen's ``rate`` is
checked by the keyed hash of their Telegram id (their raw id was erased when the reply
was queued). Staff never see who the citizen is.
"""

from __future__ import annotations

import datetime as dt
import functools
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.callbacks import CallbackAction, Callbacks
from chat.context import JxContext
from chat.flow import (
    CANCELLED_HINT,
    Flow,
    FlowTx,
    Position,
    Prompt,
    answer_query,
    reply,
)
from conversations import cases as cc
from conversations.cases import Line, listing, refuse
from conversations.common import load_caller, now
from domain.enums import RectificationOutcome, RectificationStatus
from domain.text import MESSAGE_LIMIT, clip, clip_html, html_format, html_len
from infra.i18n import N_, Translator
from services import rectification as rc
from services import rectification_view as rv
from services.access import Actor
from services.cases import ONLY_ADMINS, check_text
from services.errors import DomainError
from services.surveys import respondent_keys
from services.templates import localized
from services.templates.render import SATISFACTION_LABELS

Status = RectificationStatus


class State(StrEnum):
    """The steps (stored values: keep them); lists and items are plain messages."""

    OUTCOME = "outcome"  # 立行立改 / 限期整改 / 解释说明 (buttons)
    ANSWER = "answer"  # the record of what the unit did (internal)
    REPLY = "reply"  # what the citizen is told (the record waits in the position)
    REASON = "reason"  # why the unit asks for 申诉复核
    NOTE = "note"  # the working group's reason for its decision


CB = Callbacks("rc1", "rectify")
OPEN = CB.action("open", int, old=("o",))  # rc1:open:<id>
LIST = CB.action("list")
REVIEWS = CB.action("reviews")
ANSWER = CB.action("answer", int)
OUTCOME = CB.action("outcome", int, str)  # rc1:outcome:<id>:<immediate|deadline|explained>
REVIEW = CB.action("review", int)
UPHOLD = CB.action("uphold", int, old=("u",))
EXCLUDE = CB.action("exclude", int, old=("x",))
RATE = CB.action("rate", int, str, old=("r",))  # rc1:rate:<id>:<s|b|d> (rv.RATINGS)
QUESTIONS = {
    State.OUTCOME: N_("How was this negative rating dealt with?"),
    State.ANSWER: N_(
        "Please write what was done about this negative rating, for the record (up to {limit} characters). The citizen does not see it."
    ),
    State.REPLY: N_(
        "Now please write the reply to the citizen (up to {limit} characters): what was found and what was done, as the citizen should read it. It is sent with the outcome, and the citizen is asked to rate the handling."
    ),
    State.REASON: N_(
        "Why should the working group review this negative rating — for example, it is about another office, or it is malicious? Please write your reason (up to {limit} characters)."
    ),
    State.NOTE: N_(
        "Decision: {decision}. Please write the reason for it (required, up to {limit} characters); the unit is told."
    ),
}


# --- showing ---------------------------------------------------------------------


def item_prompt(tr: Translator, view: rv.RectView, actor: Actor, at: dt.datetime) -> Prompt:
    """The item, with the buttons of what this actor may do with it now."""
    rows: list[list[InlineKeyboardButton]] = []
    rid = view.id
    may = functools.partial(rc.RECTIFICATION.allowed, view=view, actor=actor)
    if may("answer"):
        rows.append([ANSWER.button(tr._("✍️ Write what was done"), rid)])
    if may("request_review"):
        rows.append([REVIEW.button(tr._("Ask the working group to review it"), rid)])
    if may("exclude"):
        up, out = tr._(rv.UPHOLD_LABEL), tr._(rv.EXCLUDE_LABEL)
        rows.append([UPHOLD.button(up, rid), EXCLUDE.button(out, rid)])
    if actor.is_admin and view.status == Status.UNDER_REVIEW:
        rows.append([REVIEWS.button(tr._("« Review requests"))])
    rows.append([LIST.button(tr._("« All items"))])
    return Prompt(rv.item_text(view, tr, at=at), InlineKeyboardMarkup(rows))


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    """The prompt of a text step, from the database (also after a restart or a stale button)."""
    try:
        view = await rv.load(session, int(pos.data["rid"]))
    except (DomainError, KeyError, ValueError):
        return Prompt(tr._("This negative rating no longer exists. Send /cancel to stop."))
    decision = rv.EXCLUDE_LABEL if pos.data.get("decision") == rv.EXCLUDED else rv.UPHOLD_LABEL
    ask: str = html_format(
        tr._(QUESTIONS[State(pos.state)]), limit=rc.MAX_TEXT, decision=tr._(decision)
    )
    tail = f"\n\n<b>{ask}</b>\n{tr._(CANCELLED_HINT)}"
    room = MESSAGE_LIMIT - html_len(tail)  # the review gives way, the question to answer stays
    text = rv.item_text(view, tr, at=dt.datetime.now(dt.UTC), limit=room) + tail
    if pos.state == State.OUTCOME:
        rows = [
            [OUTCOME.button(tr._(label), view.id, outcome.value)]
            for outcome, label in rv.OUTCOME_LABELS.items()
        ]
        return Prompt(text, InlineKeyboardMarkup(rows))
    return Prompt(text)


# each step waits for one text and stores it at once; only the reply step holds something
# typed (the record, kept in the position until the reply is written)
flow = Flow(
    "rectify",
    N_("the rectification of a negative rating"),
    render,
    prefix="rc1:",
    idle_states=tuple(s for s in State if s != State.REPLY),
)


async def list_prompt(context: JxContext, tr: Translator, actor: Actor) -> Prompt | None:
    """The caller's items (their units'; every unit's for the working group), or None."""
    if not actor.is_admin and not actor.is_unit_head:
        return None
    at, units = now(context), None if actor.is_admin else actor.headed_unit_ids
    async with context.services.reads() as session:
        items = await rv.listing(session, unit_ids=units)
    lines = []
    for rect, name in items:
        unit, mark = localized(name, tr.locale), " ⚠️" if rv.is_overdue(rect, at) else ""
        status, due = tr._(rv.STATUS_LABELS[rect.status]), tr.date(rect.deadline)
        text = tr._("#{id} {unit} · {status} · due {date}")
        line = html_format(text, id=rect.id, unit=unit, status=status, date=due) + mark
        lines.append(Line(line, f"#{rect.id} {unit}{mark}", OPEN.data(rect.id)))
    title, empty = (
        tr._("<b>Negative ratings to rectify</b>"),
        tr._("No negative ratings to handle. 👍"),
    )
    return listing(title, lines, empty)


async def reviews_prompt(context: JxContext, tr: Translator, actor: Actor) -> Prompt:
    """Requests waiting for a decision; no decision buttons on the actor's own unit's."""
    async with context.services.reads() as session:
        items = await rv.listing(
            session, unit_ids=None, statuses=(Status.UNDER_REVIEW,), by_request=True
        )
        own = {r.id for r, _ in items if rv.conflicted(await rv.load(session, r.id), actor)}
    if not items:
        return Prompt(tr._("No review requests are waiting for a decision."))
    lines, rows = [tr._("<b>Review requests</b>"), ""], list[list[InlineKeyboardButton]]()
    up, out = tr._(rv.UPHOLD_LABEL), tr._(rv.EXCLUDE_LABEL)
    for rect, name in items:
        rid, unit, reason = rect.id, localized(name, tr.locale), clip(rect.review_reason or "", 120)
        lines.append(html_format(tr._("#{id} {unit}: {reason}"), id=rid, unit=unit, reason=reason))
        rows.append([OPEN.button(f"#{rid} {unit}", rid)])
        if rid not in own:
            rows.append([UPHOLD.button(f"#{rid} {up}", rid), EXCLUDE.button(f"#{rid} {out}", rid)])
    return Prompt(clip_html("\n".join(lines), MESSAGE_LIMIT), InlineKeyboardMarkup(rows))


# --- refusing and leaving ------------------------------------------------------------


async def _not_yours(update: Update, context: JxContext) -> object:
    """A queue's button pressed by someone it is not for: change nothing, audit, say so politely."""
    actor, query = await load_caller(update, context), update.callback_query
    data = (query.data if query else None) or ""
    await refuse(update, context, actor, "rectification", 0, data, rc.NOT_YOURS)
    return None


@flow.step
async def show_list(update: Update, context: JxContext) -> object:
    """/rectify, « All items: the caller's items; to anyone else what this is for (/rectify)
    or a refusal (a button)."""
    tr = await context.tr(update)
    prompt = await list_prompt(context, tr, await load_caller(update, context))
    if prompt is None and update.callback_query is not None:
        return await _not_yours(update, context)
    hint = N_(
        "This is for unit heads: negative ratings of your unit are listed here for you to handle."
    )
    return await cc.show(flow, update, context, prompt or Prompt(tr._(hint)))


@flow.step
async def show_reviews(update: Update, context: JxContext) -> object:
    """/reviews, « Review requests: the working group's queue (refused to anyone else)."""
    actor = await load_caller(update, context)
    if actor.is_admin:
        tr = await context.tr(update)
        return await cc.show(flow, update, context, await reviews_prompt(context, tr, actor))
    if update.callback_query is not None:
        return await _not_yours(update, context)
    await refuse(update, context, actor, "rectification", "", "reviews", ONLY_ADMINS)
    return None


# --- an item's buttons -------------------------------------------------------------------


async def _pressed(
    update: Update, context: JxContext, action: CallbackAction
) -> tuple[Actor, rv.RectView, int]:
    """The caller, the item the button names first (``Refused``: no such item) and its id."""
    rect_id = action.args(update)[0]
    actor = await load_caller(update, context)
    async with context.services.reads() as session:
        return actor, await rv.load(session, rect_id), rect_id


@cc.guarded(flow, "rectification", rc.NOT_YOURS)
async def open_item(update: Update, context: JxContext) -> object:
    """The item, for its unit head or the working group (read-only for them)."""
    actor, view, _ = await _pressed(update, context, OPEN)
    if not (rc.HEAD.allows(actor, view) or actor.is_admin):
        raise rc.Refused(rc.NOT_YOURS)
    prompt = item_prompt(await context.tr(update), view, actor, now(context))
    return await cc.show(flow, update, context, prompt)


async def _begin(
    update: Update, context: JxContext, action: CallbackAction, name: str, state: State, **data: Any
) -> object:
    """Check the caller (``rc.RECTIFICATION``) and the item's status, then go to the text step."""
    actor, view, rect_id = await _pressed(update, context, action)
    pressed = (update.callback_query.data if update.callback_query else None) or ""
    if not await cc.may(
        update, context, rc.RECTIFICATION, name, view, actor, object_id=rect_id,
        action=pressed, refusal=_own_unit_or_not_yours,
    ):  # fmt: skip
        return None
    return await cc.goto(flow, update, context, state, rid=rect_id, **data)


def _own_unit_or_not_yours(refusal: str) -> str:
    """Only the conflict of interest is told as such."""
    return refusal if refusal == rc.OWN_UNIT else rc.NOT_YOURS


@cc.guarded(flow, "rectification", rc.NOT_YOURS)
async def write_answer(update: Update, context: JxContext) -> object:
    """✍️ Write what was done: first the outcome, then the texts."""
    return await _begin(update, context, ANSWER, "answer", State.OUTCOME)


@cc.guarded(flow, "rectification", rc.NOT_YOURS)
async def choose_outcome(update: Update, context: JxContext) -> object:
    """立行立改 / 限期整改 / 解释说明: then the record of what was done."""
    _rect_id, code = OUTCOME.args(update)
    if code not in {o.value for o in RectificationOutcome}:
        raise DomainError(N_("This button has expired. Here is where you are now."))
    return await _begin(update, context, OUTCOME, "answer", State.ANSWER, outcome=code)


@cc.guarded(flow, "rectification", rc.NOT_YOURS)
async def ask_review(update: Update, context: JxContext) -> object:
    """Ask the working group to review it (申诉复核): the head's reason, as a text step."""
    return await _begin(update, context, REVIEW, "request_review", State.REASON)


@cc.guarded(flow, "rectification", rc.NOT_YOURS)
async def uphold(update: Update, context: JxContext) -> object:
    """Uphold the negative rating: the working group's reason, as a text step."""
    return await _begin(update, context, UPHOLD, "uphold", State.NOTE, decision=rv.UPHELD)


@cc.guarded(flow, "rectification", rc.NOT_YOURS)
async def exclude(update: Update, context: JxContext) -> object:
    """Exclude the negative rating: the working group's reason, as a text step."""
    return await _begin(update, context, EXCLUDE, "exclude", State.NOTE, decision=rv.EXCLUDED)


# --- the text steps ------------------------------------------------------------------------


def _text(text: str | None, _pos: Position, _context: JxContext) -> str:
    return check_text(text, rc.MAX_TEXT)


def _staff_id(actor: Actor) -> int:
    if actor.staff is None:
        raise rc.Refused(rc.NOT_FOUND)
    return actor.staff.id


@cc.text_step(flow, _text, object_type="rectification", key="rid")
async def save_answer(
    tx: FlowTx, actor: Actor, pos: Position, text: str, c: JxContext
) -> str | None:
    """The record of what was done; then the reply, if the citizen asked for one."""
    staff_id, rid, env = _staff_id(actor), int(pos.data["rid"]), cc.env(c)
    outcome = pos.data.get("outcome")
    if outcome is None:  # a position from before outcomes: choose one first
        tx.goto(State.OUTCOME, rid=rid)
        return None
    if rc.wants_reply(await rv.load(tx.session, rid)):
        tx.goto(State.REPLY, rid=rid, outcome=outcome, record=text)
        return None
    outcome = RectificationOutcome(outcome)
    await rc.answer(tx.session, rid, text, outcome=outcome, staff_id=staff_id, now=now(c), env=env)
    tx.end()
    return N_("Saved. The citizen did not ask for a reply, so the item is closed.")


@cc.text_step(flow, _text, object_type="rectification", key="rid")
async def save_reply(tx: FlowTx, actor: Actor, pos: Position, text: str, c: JxContext) -> str:
    """The reply to the citizen, sent with the outcome; the record is stored beside it."""
    staff_id, rid, env = _staff_id(actor), int(pos.data["rid"]), cc.env(c)
    outcome, record = RectificationOutcome(pos.data["outcome"]), str(pos.data["record"])
    rect = await rc.answer(
        tx.session, rid, record, outcome=outcome, reply=text, staff_id=staff_id, now=now(c),
        env=env,
    )  # fmt: skip
    tx.end()
    if rect.status == Status.ANSWERED:
        if (await rv.load(tx.session, rid)).response.channel == "web":  # read on the page
            return N_(
                "Saved. The citizen reads your reply on the survey page with their number and receipt code, and is asked to rate the handling."
            )
        return N_("Saved. Your reply was sent to the citizen, who is asked to rate the handling.")
    return N_("Saved. The citizen did not ask for a reply, so the item is closed.")


@cc.text_step(flow, _text, object_type="rectification", key="rid")
async def send_reason(tx: FlowTx, actor: Actor, pos: Position, text: str, c: JxContext) -> str:
    """Why the unit asks for 申诉复核: to the working group."""
    staff_id, rid, env = _staff_id(actor), int(pos.data["rid"]), cc.env(c)
    await rc.request_review(tx.session, rid, text, staff_id=staff_id, now=now(c), env=env)
    tx.end()
    return N_(
        "Sent to the working group. You will be told of its decision; until then the deadline is paused."
    )


@cc.text_step(flow, _text, object_type="rectification", key="rid")
async def record_decision(tx: FlowTx, actor: Actor, pos: Position, text: str, c: JxContext) -> str:
    """The working group's reason for upholding or excluding: to the unit."""
    decision: rc.Decision = "excluded" if pos.data.get("decision") == rv.EXCLUDED else "upheld"
    await rc.decide_review(
        tx.session, int(pos.data["rid"]), decision, text, admin_telegram_id=actor.telegram_id,
        now=now(c), env=cc.env(c),
    )  # fmt: skip
    tx.end()
    if decision == rv.EXCLUDED:
        return N_("Excluded: the response no longer counts. The unit has been told.")
    return N_("Upheld: the negative rating counts. The unit has been told.")


# --- the citizen ---------------------------------------------------------------------


@cc.guarded(flow, "rectification", rc.NOT_YOURS)
async def rate(update: Update, context: JxContext) -> None:
    """The citizen rates the handling (满意 / 基本满意 / 不满意) once, from their own chat."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    tr = await context.tr(update)
    rect_id, code = RATE.args(update)
    level = rv.RATINGS.get(code)
    if level is None:
        await answer_query(update, tr._("This button has expired. Here is where you are now."))
        return
    keys = respondent_keys(context.services.settings, user.id)
    async with context.transaction() as session:
        await rc.rate(
            session, rect_id, level, respondent_key=keys, now=now(context), env=cc.env(context)
        )
    context.services.outbox_wake()
    await answer_query(update, tr._("Thank you!"))
    if isinstance(query.message, Message):
        try:
            await query.message.edit_reply_markup(None)
        except BadRequest:
            pass  # already without buttons (a second press)
    thanks = tr._("Thank you for rating how your review was handled: {rating}.")
    await reply(update, html_format(thanks, rating=tr._(SATISFACTION_LABELS[level])))


def build_handler() -> ConversationHandler:
    text = F.TEXT & ~F.COMMAND & ~F.UpdateType.EDITED
    return flow.handler(
        entry_points=[
            CommandHandler("rectify", show_list),
            CommandHandler("reviews", show_reviews),
            LIST.handler(show_list),
            REVIEWS.handler(show_reviews),
            OPEN.handler(open_item),
            ANSWER.handler(write_answer),
            REVIEW.handler(ask_review),
            UPHOLD.handler(uphold),
            EXCLUDE.handler(exclude),
        ],
        states={
            State.OUTCOME: [OUTCOME.handler(choose_outcome)],
            State.ANSWER: [MessageHandler(text, save_answer)],
            State.REPLY: [MessageHandler(text, save_reply)],
            State.REASON: [MessageHandler(text, send_reason)],
            State.NOTE: [MessageHandler(text, record_decision)],
        },
    )


def build_handlers() -> list[BaseHandler]:
    return [RATE.handler(rate)]
