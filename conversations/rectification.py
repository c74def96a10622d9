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
from collections.abc import Awaitable, Callable
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.callbacks import CallbackAction, Callbacks
from chat.context import JxContext
from chat.flow import (
    CANCELLED_HINT,
    END,
    Flow,
    FlowTx,
    Position,
    Prompt,
    StepFn,
    answer_query,
    reply,
    send_prompt,
)
from conversations.cases import Line, attempt, env, leave_text_step, listing, refuse
from conversations.common import load_caller, now
from domain.enums import RectificationStatus
from domain.text import MESSAGE_LIMIT, clip, clip_html, html_format, html_len
from infra.i18n import N_, Translator
from services import rectification as rc
from services import rectification_view as rv
from services.access import Actor
from services.cases import ONLY_ADMINS
from services.errors import DomainError
from services.surveys import respondent_keys
from services.templates import localized
from services.templates.render import SATISFACTION_LABELS

Status = RectificationStatus


class State(StrEnum):
    """The text steps (stored values: keep them); lists and items are plain messages."""

    ANSWER = "answer"  # what the unit did
    REASON = "reason"  # why the unit asks for 申诉复核
    NOTE = "note"  # the working group's reason for its decision


CB = Callbacks("rc1", "rectify")
OPEN = CB.action("open", int, old=("o",))  # rc1:open:<id>
LIST = CB.action("list")
REVIEWS = CB.action("reviews")
ANSWER = CB.action("answer", int)
REVIEW = CB.action("review", int)
UPHOLD = CB.action("uphold", int, old=("u",))
EXCLUDE = CB.action("exclude", int, old=("x",))
RATE = CB.action("rate", int, str, old=("r",))  # rc1:rate:<id>:<s|b|d> (rv.RATINGS)
QUESTIONS = {
    State.ANSWER: N_(
        "Please write what was done about this bad review (up to {limit} characters)."
    ),
    State.REASON: N_(
        "Why should the working group review this bad review — for example, it is about another office, or it is malicious? Please write your reason (up to {limit} characters)."
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
    if rc.may("answer", view, actor):
        rows.append([ANSWER.button(tr._("✍️ Write what was done"), rid)])
    if rc.may("request_review", view, actor):
        rows.append([REVIEW.button(tr._("Ask the working group to review it"), rid)])
    if rc.may("exclude", view, actor):
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
        return Prompt(tr._("This bad review no longer exists. Send /cancel to stop."))
    decision = rv.EXCLUDE_LABEL if pos.data.get("decision") == rv.EXCLUDED else rv.UPHOLD_LABEL
    ask: str = html_format(
        tr._(QUESTIONS[State(pos.state)]), limit=rc.MAX_TEXT, decision=tr._(decision)
    )
    if pos.state == State.ANSWER and view.response.wants_reply:
        ask += " " + tr._("It is sent to the citizen, who is asked to rate the handling.")
    tail = f"\n\n<b>{ask}</b>\n{tr._(CANCELLED_HINT)}"
    room = MESSAGE_LIMIT - html_len(tail)  # the review gives way, the question to answer stays
    return Prompt(rv.item_text(view, tr, at=dt.datetime.now(dt.UTC), limit=room) + tail)


# each step waits for one text and stores it at once: a position holds nothing typed
flow = Flow(
    "rectify",
    N_("the rectification of a bad review"),
    render,
    prefix="rc1:",
    idle_states=tuple(State),
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
    title, empty = tr._("<b>Bad reviews to rectify</b>"), tr._("No bad reviews to handle. 👍")
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


async def _refuse(update: Update, context: JxContext, ref: object, message: str = "") -> object:
    """A forged or foreign id (or a conflict of interest): change nothing, audit, say so politely."""
    query = update.callback_query
    default = rc.NOT_YOURS if query else N_("Sorry, this bad review is not yours to handle.")
    actor = await load_caller(update, context)
    action = (query.data or "") if query else "text"
    await refuse(update, context, actor, "rectification", ref, action, message or default)
    return None


async def _show(update: Update, context: JxContext, prompt: Prompt) -> object:
    """Leave any text step and show ``prompt`` (in place of the pressed message)."""
    state = await leave_text_step(flow, update, context)
    await answer_query(update)
    await send_prompt(update, context, prompt)
    return state


@flow.step
async def show_list(update: Update, context: JxContext) -> object:
    """/rectify, « All items: the caller's items; to anyone else what this is for (/rectify)
    or a refusal (a button)."""
    tr = await context.tr(update)
    prompt = await list_prompt(context, tr, await load_caller(update, context))
    if prompt is None and update.callback_query is not None:
        return await _refuse(update, context, 0)
    hint = N_("This is for unit heads: bad reviews of your unit are listed here for you to handle.")
    return await _show(update, context, prompt or Prompt(tr._(hint)))


@flow.step
async def show_reviews(update: Update, context: JxContext) -> object:
    """/reviews, « Review requests: the working group's queue (refused to anyone else)."""
    actor = await load_caller(update, context)
    if actor.is_admin:
        tr = await context.tr(update)
        return await _show(update, context, await reviews_prompt(context, tr, actor))
    if update.callback_query is not None:
        return await _refuse(update, context, 0)
    await refuse(update, context, actor, "rectification", "", "reviews", ONLY_ADMINS)
    return None


# --- an item's buttons -------------------------------------------------------------------


async def _pressed(
    update: Update, context: JxContext, action: CallbackAction
) -> tuple[Actor, rv.RectView | None, int]:
    """The caller, the item the button names (None: no such item) and its id."""
    (rect_id,) = action.args(update)
    actor = await load_caller(update, context)
    async with context.services.reads() as session:
        try:
            return actor, await rv.load(session, rect_id), rect_id
        except DomainError:
            return actor, None, rect_id


@flow.step
async def open_item(update: Update, context: JxContext) -> object:
    """The item, for its unit head or the working group (read-only for them)."""
    actor, view, rect_id = await _pressed(update, context, OPEN)
    if view is None or not (rc.HEAD.allows(actor, view) or actor.is_admin):
        return await _refuse(update, context, rect_id)
    prompt = item_prompt(await context.tr(update), view, actor, now(context))
    return await _show(update, context, prompt)


async def _begin(
    update: Update, context: JxContext, action: CallbackAction, name: str, state: State, **data: str
) -> object:
    """Check the caller (``rc.RECTIFICATION``) and the item's status, then go to the text step."""
    actor, view, rect_id = await _pressed(update, context, action)
    if view is None:
        return await _refuse(update, context, rect_id)
    refusal = rc.RECTIFICATION[name].who.refuses(actor, view)
    if refusal is not None:  # only the conflict of interest is told as such
        own = rc.OWN_UNIT if refusal == rc.OWN_UNIT else ""
        return await _refuse(update, context, rect_id, own)
    problem = rc.why_not(name, view)
    if problem is not None:
        await answer_query(update, (await context.tr(update))._(problem), alert=True)
        return None
    async with flow.tx(update, context) as tx:
        tx.goto(state, rid=rect_id, **data)
    await answer_query(update)
    await flow.show(update, context, edit=False)
    return tx.state


@flow.step
async def write_answer(update: Update, context: JxContext) -> object:
    """✍️ Write what was done: the head's answer, as a text step."""
    return await _begin(update, context, ANSWER, "answer", State.ANSWER)


@flow.step
async def ask_review(update: Update, context: JxContext) -> object:
    """Ask the working group to review it (申诉复核): the head's reason, as a text step."""
    return await _begin(update, context, REVIEW, "request_review", State.REASON)


@flow.step
async def uphold(update: Update, context: JxContext) -> object:
    """Uphold the bad review: the working group's reason, as a text step."""
    return await _begin(update, context, UPHOLD, "uphold", State.NOTE, decision=rv.UPHELD)


@flow.step
async def exclude(update: Update, context: JxContext) -> object:
    """Exclude the bad review: the working group's reason, as a text step."""
    return await _begin(update, context, EXCLUDE, "exclude", State.NOTE, decision=rv.EXCLUDED)


# --- the text steps ------------------------------------------------------------------------

Save = Callable[[AsyncSession, int, str, Actor, JxContext, Position], Awaitable[str]]


def _text_step(save: Save) -> StepFn:
    """The handler of a text step: check the text (else ask again), ``save`` it in the flow's
    transaction and say its (N_-marked) confirmation; a refusal or a reason why not ends it."""

    @flow.step
    @functools.wraps(save)
    async def step(update: Update, context: JxContext) -> object:
        tr = await context.tr(update)
        async with context.services.reads() as session:
            pos = await flow.position(session, update)
        if pos is None or "rid" not in pos.data:
            return END
        try:
            text = rc.check_text(update.message.text if update.message else None)
        except DomainError as exc:  # asked again, nothing saved
            await reply(update, exc.render(tr))
            await flow.show(update, context, edit=False)
            return None
        actor, rect_id = await load_caller(update, context), int(pos.data["rid"])

        async def call(tx: FlowTx) -> str:
            done = await save(tx.session, rect_id, text, actor, context, pos)
            tx.end()
            return done

        outcome, done = await attempt(
            flow, update, context, actor, call,
            object_type="rectification", object_id=rect_id, action=pos.state,
        )  # fmt: skip
        if outcome.ok and done:
            await reply(update, tr._(done))
        return outcome.state

    return step


def _staff_id(actor: Actor) -> int:
    if actor.staff is None:
        raise rc.Refused(rc.NOT_FOUND)
    return actor.staff.id


@_text_step
async def save_answer(
    session: AsyncSession, rid: int, text: str, actor: Actor, context: JxContext, _: Position
) -> str:
    """What the unit did: to the citizen if they asked for a reply."""
    staff_id, at = _staff_id(actor), now(context)
    rect = await rc.answer(session, rid, text, staff_id=staff_id, now=at, env=env(context))
    if rect.status == Status.ANSWERED:
        return N_("Saved. Your answer was sent to the citizen, who is asked to rate it.")
    return N_("Saved. The citizen did not ask for a reply, so the item is closed.")


@_text_step
async def send_reason(
    session: AsyncSession, rid: int, text: str, actor: Actor, context: JxContext, _: Position
) -> str:
    """Why the unit asks for 申诉复核: to the working group."""
    staff_id, at = _staff_id(actor), now(context)
    await rc.request_review(session, rid, text, staff_id=staff_id, now=at, env=env(context))
    return N_(
        "Sent to the working group. You will be told of its decision; until then the deadline is paused."
    )


@_text_step
async def record_decision(
    session: AsyncSession, rid: int, text: str, actor: Actor, context: JxContext, pos: Position
) -> str:
    """The working group's reason for upholding or excluding: to the unit."""
    decision: rc.Decision = "excluded" if pos.data.get("decision") == rv.EXCLUDED else "upheld"
    await rc.decide_review(
        session, rid, decision, text, admin_telegram_id=actor.telegram_id, now=now(context),
        env=env(context),
    )  # fmt: skip
    if decision == rv.EXCLUDED:
        return N_("Excluded: the response no longer counts. The unit has been told.")
    return N_("Upheld: the bad review counts. The unit has been told.")


# --- the citizen ---------------------------------------------------------------------


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
    try:
        async with context.transaction() as session:
            await rc.rate(
                session, rect_id, level, respondent_key=keys, now=now(context), env=env(context)
            )
    except rc.Refused:
        await _refuse(update, context, rect_id)
        return
    except DomainError as exc:
        await answer_query(update, exc.plain(tr), alert=True)
        return
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
            State.ANSWER: [MessageHandler(text, save_answer)],
            State.REASON: [MessageHandler(text, send_reason)],
            State.NOTE: [MessageHandler(text, record_decision)],
        },
    )


def build_handlers() -> list[BaseHandler]:
    return [RATE.handler(rate)]
