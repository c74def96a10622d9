"""整改 in the chat: unit heads handle bad reviews (/rectify), the working group decides
review requests (/reviews), and the citizen rates the handling from their own chat.

States (only the text steps are states; lists and items are plain messages):
ANSWER (what the unit did), REASON (why the unit asks for 申诉复核), NOTE (the working
group's reason for its decision). Callback data ``rc1:<action>:<rectification id>``:
``o`` open, ``a`` write the answer, ``q`` ask for review, ``u``/``x`` uphold/exclude,
``l`` the item list, ``v`` the review list — each re-checked against the caller's rights
and the item's status on every press; a forged id, or someone else's unit, is refused
politely and audited as ``access.denied``. The citizen's buttons
``rc1:r:<id>:<s|b|d>`` are checked by the keyed hash of their Telegram id (their raw id
was erased when the reply was queued). Staff never see who the citizen is.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
)
from telegram.ext import filters as F

from chat.context import JxContext
from chat.flow import (
    CANCELLED_HINT,
    END,
    Flow,
    Position,
    Prompt,
    answer_query,
    reply,
    send_prompt,
)
from conversations.common import audit_actor, html, keyboard, load_caller, now
from domain.enums import RectificationStatus, Satisfaction
from domain.text import MESSAGE_LIMIT, clip, clip_html, html_format, html_len
from infra.i18n import N_, Translator
from infra.models import Rectification
from services import rectification as rc
from services.access import Actor
from services.audit import audit
from services.errors import DomainError
from services.templates import localized
from services.templates.render import SATISFACTION_LABELS

ANSWER, REASON, NOTE = "answer", "reason", "note"
DATA = re.compile(r"^rc1:([oaqluxv]):(\d{1,12})$")
RATE = re.compile(r"^rc1:r:(\d{1,12}):([sbd])$")
Status = RectificationStatus


# --- showing ---------------------------------------------------------------------


def item_text(
    view: rc.RectView, tr: Translator, *, at: dt.datetime, limit: int = MESSAGE_LIMIT
) -> str:
    """Everything the unit may know of a bad review — never who wrote it."""
    rect, response = view.rect, view.response
    loc = tr.locale
    lines: list[str] = [
        html_format(
            tr._("<b>Bad review #{id}</b> · {status}"),
            id=rect.id,
            status=tr._(rc.STATUS_LABELS[rect.status]),
        ),
        html_format(tr._("Unit: {unit}"), unit=localized(view.unit, loc)),
    ]
    if view.staff:
        lines.append(html_format(tr._("Staff member: {name}"), name=localized(view.staff, loc)))
    lines.append(
        html_format(tr._("Received: {date}"), date=tr.date(response.completed_at or rect.opened_at))
    )
    deadline: str = html_format(tr._("Deadline: end of {date}"), date=tr.date(rect.deadline))
    if rc.is_overdue(rect, at):
        deadline += " " + tr._("⚠️ overdue")
    lines += [deadline, ""]
    for a in view.answers:
        lines.append(
            f"• {html(view.question_text(a.question, loc))} — {tr._(SATISFACTION_LABELS[a.level])}"
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
        decision = tr._("excluded") if rect.review_decision == rc.EXCLUDED else tr._("upheld")
        lines.append(
            html_format(
                tr._("Working group's decision: {decision} — {note}"),
                decision=decision,
                note=rect.review_note or "",
            )
        )
    return clip_html("\n".join(lines), limit)


async def item_prompt(
    session: AsyncSession, tr: Translator, view: rc.RectView, actor: Actor, at: dt.datetime
) -> Prompt:
    rect = view.rect
    rows: list[list[tuple[str, str]]] = []
    if actor.staff is not None and await rc.is_head(session, view, actor.staff.id):
        if rect.status == Status.OPEN:
            rows.append([(tr._("✍️ Write what was done"), f"rc1:a:{rect.id}")])
        if rect.status in (Status.OPEN, Status.ANSWERED) and rect.review_requested_at is None:
            rows.append([(tr._("Ask the working group to review it"), f"rc1:q:{rect.id}")])
    if (
        actor.is_admin
        and rect.status == Status.UNDER_REVIEW
        and not await rc.conflicted(session, view, actor)
    ):
        rows.append(
            [
                (tr._("Uphold the bad review"), f"rc1:u:{rect.id}"),
                (tr._("Exclude the bad review"), f"rc1:x:{rect.id}"),
            ]
        )
    if actor.is_admin and rect.status == Status.UNDER_REVIEW:
        rows.append([(tr._("« Review requests"), "rc1:v:0")])
    rows.append([(tr._("« All items"), "rc1:l:0")])
    return Prompt(item_text(view, tr, at=at), keyboard(*rows))


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    """The prompt of a text step, from the database (also after a restart or a stale button)."""
    try:
        view = await rc.load(session, int(pos.data["rid"]))
    except (DomainError, KeyError, ValueError):
        return Prompt(tr._("This bad review no longer exists. Send /cancel to stop."))
    if pos.state == ANSWER:
        ask: str = html_format(
            tr._("Please write what was done about this bad review (up to {limit} characters)."),
            limit=rc.MAX_TEXT,
        )
        if view.response.wants_reply:
            ask += " " + tr._("It is sent to the citizen, who is asked to rate the handling.")
    elif pos.state == REASON:
        ask = html_format(
            tr._(
                "Why should the working group review this bad review — for example, it is about another office, or it is malicious? Please write your reason (up to {limit} characters)."
            ),
            limit=rc.MAX_TEXT,
        )
    else:
        decision = (
            tr._("Exclude the bad review")
            if pos.data.get("decision") == rc.EXCLUDED
            else tr._("Uphold the bad review")
        )
        ask = html_format(
            tr._(
                "Decision: {decision}. Please write the reason for it (required, up to {limit} characters); the unit is told."
            ),
            decision=decision,
            limit=rc.MAX_TEXT,
        )
    tail = f"\n\n<b>{ask}</b>\n{tr._(CANCELLED_HINT)}"
    room = MESSAGE_LIMIT - html_len(tail)  # the review gives way, the question to answer stays
    return Prompt(item_text(view, tr, at=dt.datetime.now(dt.UTC), limit=room) + tail)


flow = Flow("rectify", N_("the rectification of a bad review"), render, prefix="rc1:")


async def list_prompt(context: JxContext, tr: Translator, actor: Actor) -> Prompt | None:
    """The caller's items (their units'; every unit's for the working group), or None."""
    if not actor.is_admin and not actor.is_unit_head:
        return None
    at = now(context)
    async with context.services.reads() as session:
        items = await rc.listing(
            session, unit_ids=None if actor.is_admin else actor.headed_unit_ids
        )
    if not items:
        return Prompt(tr._("No bad reviews to handle. 👍"))
    lines = [tr._("<b>Bad reviews to rectify</b>"), ""]
    rows = []
    for item in items:
        rect = item.rect
        mark = " ⚠️" if rc.is_overdue(rect, at) else ""
        lines.append(
            html_format(
                tr._("#{id} {unit} · {status} · due {date}"),
                id=rect.id,
                unit=localized(item.unit, tr.locale),
                status=tr._(rc.STATUS_LABELS[rect.status]),
                date=tr.date(rect.deadline),
            )
            + mark
        )
        rows.append([(f"#{rect.id} {localized(item.unit, tr.locale)}{mark}", f"rc1:o:{rect.id}")])
    return Prompt(clip_html("\n".join(lines), MESSAGE_LIMIT), keyboard(*rows))


async def reviews_prompt(context: JxContext, tr: Translator, actor: Actor) -> Prompt:
    """Requests waiting for a decision; no decision buttons on the actor's own unit's."""
    async with context.services.reads() as session:
        items = await rc.under_review(session)
        own = {
            item.rect.id
            for item in items
            if await rc.conflicted(session, await rc.load(session, item.rect.id), actor)
        }
    if not items:
        return Prompt(tr._("No review requests are waiting for a decision."))
    lines = [tr._("<b>Review requests</b>"), ""]
    rows: list[list[tuple[str, str]]] = []
    for item in items:
        rect = item.rect
        reason = clip(rect.review_reason or "", 120)
        lines.append(
            html_format(
                tr._("#{id} {unit}: {reason}"),
                id=rect.id,
                unit=localized(item.unit, tr.locale),
                reason=reason,
            )
        )
        rows.append([(f"#{rect.id} {localized(item.unit, tr.locale)}", f"rc1:o:{rect.id}")])
        if rect.id in own:
            continue
        rows.append(
            [
                (f"#{rect.id} " + tr._("Uphold the bad review"), f"rc1:u:{rect.id}"),
                (f"#{rect.id} " + tr._("Exclude the bad review"), f"rc1:x:{rect.id}"),
            ]
        )
    return Prompt(clip_html("\n".join(lines), MESSAGE_LIMIT), keyboard(*rows))


# --- commands and buttons ----------------------------------------------------------


async def _leave_text_step(update: Update, context: JxContext) -> object:
    """Navigating (a list, an item) ends any pending text step, so stray text is not taken."""
    async with flow.tx(update, context) as tx:
        tx.end()
    return tx.state


@flow.step
async def rectify_command(update: Update, context: JxContext) -> object:
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    prompt = await list_prompt(context, tr, actor)
    state = await _leave_text_step(update, context)
    if prompt is None:
        await reply(
            update,
            tr._(
                "This is for unit heads: bad reviews of your unit are listed here for you to handle."
            ),
        )
        return state
    await reply(update, prompt.text, prompt.markup)
    return state


@flow.step
async def reviews_command(update: Update, context: JxContext) -> object:
    from conversations.admin import _require_admin

    if not await _require_admin(update, context, "reviews"):
        return None
    tr = await context.tr(update)
    state = await _leave_text_step(update, context)
    prompt = await reviews_prompt(context, tr, await load_caller(update, context))
    await reply(update, prompt.text, prompt.markup)
    return state


async def _refuse(
    update: Update, context: JxContext, rect_id: str, action: str, message: str | None = None
) -> object:
    """A forged or foreign id (or a conflict of interest): change nothing, audit, say so politely."""
    actor = await load_caller(update, context)
    async with context.transaction() as session:
        await audit(
            session,
            "access.denied",
            **audit_actor(context, actor),
            object_type="rectification",
            object_id=rect_id[:64],
            detail={"action": action},
        )
    tr = await context.tr(update)
    if update.callback_query is not None:
        await answer_query(update, tr._(message or N_("This button is not for you.")), alert=True)
    else:
        await reply(update, tr._(message or N_("Sorry, this bad review is not yours to handle.")))
    return None


@flow.step
async def on_button(update: Update, context: JxContext) -> object:
    query = update.callback_query
    assert query is not None
    data = query.data or ""
    match = DATA.match(data)
    if match is None:
        return await flow._stale_button(update, context)
    action, ref = match.group(1), match.group(2)
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    if action in ("l", "v"):
        if action == "v" and not actor.is_admin:
            return await _refuse(update, context, ref, data)
        prompt = (
            await reviews_prompt(context, tr, actor)
            if action == "v"
            else await list_prompt(context, tr, actor)
        )
        if prompt is None:
            return await _refuse(update, context, ref, data)
        state = await _leave_text_step(update, context)
        await answer_query(update)
        await send_prompt(update, context, prompt)
        return state
    rect_id = int(ref)
    async with context.services.reads() as session:
        try:
            view = await rc.load(session, rect_id)
        except DomainError:
            return await _refuse(update, context, ref, data)
        head = actor.staff is not None and await rc.is_head(session, view, actor.staff.id)
        own_unit = actor.is_admin and await rc.conflicted(session, view, actor)
        prompt = (
            await item_prompt(session, tr, view, actor, now(context))
            if action == "o" and (head or actor.is_admin)
            else None
        )
    if not (head or actor.is_admin):
        return await _refuse(update, context, ref, data)
    if prompt is not None:
        state = await _leave_text_step(update, context)
        await answer_query(update)
        await send_prompt(update, context, prompt)
        return state
    if (action in ("a", "q") and not head) or (action in ("u", "x") and not actor.is_admin):
        return await _refuse(update, context, ref, data)
    if action in ("u", "x") and own_unit:
        return await _refuse(update, context, ref, data, rc.OWN_UNIT)
    problem = _cannot(action, view.rect)
    if problem is not None:
        await answer_query(update, tr._(problem), alert=True)
        return None
    async with flow.tx(update, context) as tx:
        if action == "a":
            tx.goto(ANSWER, rid=rect_id)
        elif action == "q":
            tx.goto(REASON, rid=rect_id)
        else:
            tx.goto(NOTE, rid=rect_id, decision=rc.EXCLUDED if action == "x" else rc.UPHELD)
    await answer_query(update)
    await flow.show(update, context, edit=False)
    return tx.state


def _cannot(action: str, rect: Rectification) -> str | None:
    """Why the item's status does not allow this button now (a stale button), or None."""
    if action == "a" and rect.status != Status.OPEN:
        return rc.not_open_message(rect.status)
    if action == "q" and rect.review_requested_at is not None:
        return N_("A review of this bad review was already requested; it can be requested once.")
    if action == "q" and rect.status not in (Status.OPEN, Status.ANSWERED):
        return N_("This bad review can no longer be reviewed.")
    if action in ("u", "x") and rect.status != Status.UNDER_REVIEW:
        return N_("This review has already been decided.")
    return None


@flow.step
async def on_text(update: Update, context: JxContext) -> object:
    message = update.message
    assert message is not None
    tr = await context.tr(update)
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    if pos is None or "rid" not in pos.data:
        return END
    try:
        text = rc.check_text(message.text)
    except DomainError as exc:
        await reply(update, exc.render(tr))
        await flow.show(update, context, edit=False)
        return None
    actor = await load_caller(update, context)
    rect_id = int(pos.data["rid"])
    settings = context.services.settings
    done: str
    try:
        async with flow.tx(update, context) as tx:
            if pos.state == ANSWER:
                if actor.staff is None:
                    raise rc.Refused(rc.NOT_FOUND)
                rect = await rc.answer(
                    tx.session, rect_id, text, staff_id=actor.staff.id, now=now(context)
                )
                done = (
                    tr._("Saved. Your answer was sent to the citizen, who is asked to rate it.")
                    if rect.status == Status.ANSWERED
                    else tr._("Saved. The citizen did not ask for a reply, so the item is closed.")
                )
            elif pos.state == REASON:
                if actor.staff is None:
                    raise rc.Refused(rc.NOT_FOUND)
                await rc.request_review(
                    tx.session,
                    rect_id,
                    text,
                    staff_id=actor.staff.id,
                    now=now(context),
                    admin_ids=settings.admin_id_set,
                )
                done = tr._(
                    "Sent to the working group. You will be told of its decision; until then the deadline is paused."
                )
            else:
                decision: rc.Decision = (
                    "excluded" if pos.data.get("decision") == rc.EXCLUDED else "upheld"
                )
                await rc.decide_review(
                    tx.session,
                    rect_id,
                    decision,
                    text,
                    admin_telegram_id=actor.telegram_id,
                    now=now(context),
                    admin_ids=settings.admin_id_set,
                )
                done = (
                    tr._("Excluded: the response no longer counts. The unit has been told.")
                    if decision == rc.EXCLUDED
                    else tr._("Upheld: the bad review counts. The unit has been told.")
                )
            tx.end()
    except rc.Refused as exc:
        async with flow.tx(update, context) as tx:
            tx.end()
        await _refuse(update, context, str(rect_id), pos.state, exc.message)
        return tx.state
    except DomainError as exc:
        async with flow.tx(update, context) as tx:
            tx.end()
        await reply(update, exc.render(tr))
        return tx.state
    context.services.outbox_wake()
    await reply(update, done)
    return tx.state


# --- the citizen ---------------------------------------------------------------------


async def rate_button(update: Update, context: JxContext) -> None:
    """The citizen rates the handling (满意 / 基本满意 / 不满意) once, from their own chat."""
    from services.surveys import respondent_keys

    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    tr = await context.tr(update)
    match = RATE.match(query.data or "")
    if match is None:
        await answer_query(update, tr._("This button has expired. Here is where you are now."))
        return
    rect_id, code = int(match.group(1)), match.group(2)
    level = rc.RATINGS[code]
    keys = respondent_keys(context.services.settings, user.id)
    try:
        async with context.transaction() as session:
            await rc.rate(session, rect_id, level, respondent_key=keys, now=now(context))
    except rc.Refused:
        await _refuse(update, context, str(rect_id), query.data or "")
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
    await reply(
        update,
        html_format(
            tr._("Thank you for rating how your review was handled: {rating}."),
            rating=tr._(SATISFACTION_LABELS[level]),
        ),
    )


def build_handler() -> ConversationHandler:
    text = MessageHandler(F.TEXT & ~F.COMMAND & ~F.UpdateType.EDITED, on_text)
    return flow.handler(
        entry_points=[
            CommandHandler("rectify", rectify_command),
            CommandHandler("reviews", reviews_command),
            CallbackQueryHandler(on_button, pattern=r"^rc1:[oaqluxv]:"),
        ],
        states={ANSWER: [text], REASON: [text], NOTE: [text]},
    )


def build_handlers() -> list[BaseHandler]:
    return [CallbackQueryHandler(rate_button, pattern=r"^rc1:r:")]
