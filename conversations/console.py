"""/admin: one console for the working group (leaders see the same figures, read-only).

One message: the current cycle's period, phase and deadline, progress by unit, and a
button for each thing to do now. Every press is checked again (the role from the
database, the cycle from the data) and redraws the same message in place
(``editMessageText``): a one-way action asks first, in place of the console, with a way
back. Actions call the same code as their commands (``cycle_admin.change``,
``results.score_period`` and ``send_cycle``, ``result_review.decide``); the entries of
``conversations.console_entries`` start the commands' own flows, whose screens arrive as
new messages below while the console stays where it is. Services audit the changes;
refusals here are audited as ``access.denied``.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from chat.context import JxContext
from chat.flow import Prompt, answer_query, leave_current, send_prompt
from chat.prompt import keep_pressed_message
from conversations import cycle_admin, result_review, results
from conversations.cases import admin_only
from conversations.common import audit_actor, html, keyboard, load_caller, now
from conversations.console_entries import allowed, entry
from conversations.console_view import (
    BACK,
    CLOSE,
    CLOSE_YES,
    EXTEND,
    GO,
    PUBLISH,
    PUBLISH_YES,
    REFRESH,
    REMIND,
    REMIND_YES,
    SCORE,
    SEND,
    console,
)
from conversations.menus import sync_chat_commands
from domain.text import html_format
from infra.i18n import N_
from infra.models import Cycle
from services import console as cs
from services import cycles
from services.access import Actor
from services.audit import audit
from services.errors import DomainError
from services.notices import Localization

ONLY_WORKING_GROUP = N_("Sorry, only the evaluation working group can do this.")


async def admin_command(update: Update, context: JxContext) -> None:
    """/admin: the console for the working group, read-only for the leadership group."""
    await leave_current(update, context)
    actor = await load_caller(update, context)
    if not actor.is_admin and not actor.is_leadership:
        await admin_only(update, context, "admin")
        return
    tr = await context.tr(update)
    await sync_chat_commands(update, context, actor, tr)
    await send_prompt(update, context, await console(context, actor, tr))


async def _gate(update: Update, context: JxContext, *, readers: bool = False) -> Actor | None:
    """The caller if they may press this (the working group; ``readers``: leaders too); anyone
    else is refused politely and audited, and nothing changes."""
    actor = await load_caller(update, context)
    if actor.is_admin or (readers and actor.is_leadership):
        return actor
    await _refuse(update, context, actor)
    return None


async def _refuse(update: Update, context: JxContext, actor: Actor) -> None:
    data = (update.callback_query.data if update.callback_query else None) or ""
    async with context.transaction() as session:
        await audit(
            session,
            "access.denied",
            **audit_actor(context, actor),
            object_type="console",
            object_id=data[:64],
            detail={"action": "admin"},
        )
    tr = await context.tr(update)
    await answer_query(update, tr._(ONLY_WORKING_GROUP), alert=True)


async def _redraw(
    update: Update, context: JxContext, actor: Actor, notice: list[str] | None = None
) -> None:
    """The console again, in place of the pressed message."""
    tr = await context.tr(update)
    await answer_query(update)  # a no-op when the action answered already
    await send_prompt(update, context, await console(context, actor, tr, notice), edit=True)


def _who(actor: Actor) -> cycles.Actor:
    return cycles.Actor("telegram", actor.telegram_id, actor.staff.id if actor.staff else None)


async def _cycle(context: JxContext, cycle_id: int) -> Cycle | None:
    async with context.services.reads() as session:
        return await session.get(Cycle, cycle_id)


async def _ask(update: Update, context: JxContext, question: str, yes: str, yes_data: str) -> None:
    """A one-way action's question, in place of the console, with the way back."""
    tr = await context.tr(update)
    await answer_query(update)
    buttons = keyboard([(yes, yes_data), (tr._("✖ Cancel"), BACK.data())])
    await send_prompt(update, context, Prompt(question, buttons), edit=True)


async def refresh(update: Update, context: JxContext) -> None:
    """刷新: the figures of now, in place."""
    if (actor := await _gate(update, context, readers=True)) is not None:
        await _redraw(update, context, actor)


async def back(update: Update, context: JxContext) -> None:
    """取消 under a question: nothing changes, the console again."""
    if (actor := await _gate(update, context)) is not None:
        tr = await context.tr(update)
        await answer_query(update, tr._("Cancelled. Nothing was changed."))
        await _redraw(update, context, actor)


async def ask_remind(update: Update, context: JxContext) -> None:
    (cycle_id,) = REMIND.args(update)
    if await _gate(update, context) is None or (cycle := await _cycle(context, cycle_id)) is None:
        return
    tr = await context.tr(update)
    async with context.services.reads() as session:
        found = await cs.console(session, staff_id=None)
    question = html_format(
        tr.ngettext(
            "Remind the {count} person behind with the {period} forms? Each person gets one reminder a day at most.",
            "Remind the {count} people behind with the {period} forms? Each person gets one reminder a day at most.",
            found.reachable,
        ),
        count=found.reachable,
        period=tr.period(cycle.period),
    )
    await _ask(update, context, question, tr._("Yes, remind them"), REMIND_YES.data(cycle_id))


async def remind(update: Update, context: JxContext) -> None:
    """Confirmed: queue the reminders (once a day each, so a double tap sends once)."""
    (cycle_id,) = REMIND_YES.args(update)
    if (actor := await _gate(update, context)) is None:
        return
    tr = await context.tr(update)
    settings = context.services.settings
    try:
        async with context.transaction() as session:
            queued = await cs.remind(
                session,
                cycle_id,
                now=now(context),
                actor=_who(actor),
                local=Localization.of(settings),
            )
    except DomainError as exc:
        await answer_query(update, exc.plain(tr), alert=True)
        return
    context.services.outbox_wake()
    notice = (
        tr.ngettext("Reminded {count} person.", "Reminded {count} people.", queued).format(
            count=queued
        )
        if queued
        else tr._("Everyone behind was already reminded today; nothing more was sent.")
    )
    await _redraw(update, context, actor, [html(notice)])


async def extend(update: Update, context: JxContext) -> None:
    cycle_id, days = EXTEND.args(update)
    if (actor := await _gate(update, context)) is None:
        return
    if days not in cycle_admin.EXTENSIONS:
        tr = await context.tr(update)
        await answer_query(update, tr._("This button has expired. Here is where you are now."))
        await _redraw(update, context, actor)
        return
    if await cycle_admin.change(update, context, cycle_id, _who(actor), days=days):
        tr = await context.tr(update)
        await answer_query(update, tr._("Done."))
        await _redraw(update, context, actor)


async def ask_close(update: Update, context: JxContext) -> None:
    (cycle_id,) = CLOSE.args(update)
    if await _gate(update, context) is None or (cycle := await _cycle(context, cycle_id)) is None:
        return
    tr = await context.tr(update)
    question = html_format(
        tr._(
            "Stop collecting answers for {period}? Unsubmitted forms can then no longer be submitted."
        ),
        period=tr.period(cycle.period),
    )
    await _ask(update, context, question, tr._("Yes, stop collecting"), CLOSE_YES.data(cycle_id))


async def close(update: Update, context: JxContext) -> None:
    (cycle_id,) = CLOSE_YES.args(update)
    if (actor := await _gate(update, context)) is None:
        return
    if await cycle_admin.change(update, context, cycle_id, _who(actor), days=None):
        tr = await context.tr(update)
        await answer_query(update, tr._("Done."))
        await _redraw(update, context, actor)


async def score(update: Update, context: JxContext) -> None:
    """计算成绩: as /score with the cycle's period; the grades arrive below the console."""
    (cycle_id,) = SCORE.args(update)
    if (actor := await _gate(update, context)) is None:
        return
    if (cycle := await _cycle(context, cycle_id)) is not None:
        with keep_pressed_message():
            await results.score_period(update, context, cycle.period)
    await _redraw(update, context, actor)


async def send(update: Update, context: JxContext) -> None:
    """报送审定: as the button under /score's grades."""
    cycle_id, revision = SEND.args(update)
    if (actor := await _gate(update, context)) is None:
        return
    lines = await results.send_cycle(update, context, cycle_id, revision)
    if lines is not None:
        await _redraw(update, context, actor, lines)


async def ask_publish(update: Update, context: JxContext) -> None:
    cycle_id, round_ = PUBLISH.args(update)
    if await _gate(update, context) is None or (cycle := await _cycle(context, cycle_id)) is None:
        return
    tr = await context.tr(update)
    question = html_format(
        tr._(
            "Approve the {period} results? As the group leader's approval, this publishes them: everyone is sent their result at once."
        ),
        period=tr.period(cycle.period),
    )
    await _ask(
        update,
        context,
        question,
        tr._("✅ Approve and publish"),
        PUBLISH_YES.data(cycle_id, round_),
    )


async def publish(update: Update, context: JxContext) -> None:
    """审定 by a leadership member of the working group: the same decision as under the
    request (``conversations.result_review``), which checks the round and the role."""
    cycle_id, round_ = PUBLISH_YES.args(update)
    if (actor := await _gate(update, context)) is None:
        return
    if await result_review.may_decide(update, context, cycle_id, round_):
        with keep_pressed_message():
            await result_review.decide(
                update, context, cycle_id, approve=True, comment="", round_=round_
            )
    await _redraw(update, context, actor)


async def go(update: Update, context: JxContext) -> None:
    """An entry's button: its command's own handler, then the console redrawn."""
    (key,) = GO.args(update)
    found = entry(key)
    actor = await load_caller(update, context)
    if found is None and actor.is_admin:  # an entry removed since the console was drawn
        tr = await context.tr(update)
        await answer_query(update, tr._("This button has expired. Here is where you are now."))
        await _redraw(update, context, actor)
        return
    if found is None or not allowed(
        found, is_admin=actor.is_admin, is_leadership=actor.is_leadership
    ):
        await _refuse(update, context, actor)
        return
    context.args = []  # the command typed bare: its own default period
    with keep_pressed_message():
        await found.start(update, context)
    tr = await context.tr(update)
    notice = html_format(tr._("Opened below: {entry}"), entry=tr._(found.label))
    await _redraw(update, context, actor, [notice])


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("admin", admin_command),
        REFRESH.handler(refresh),
        BACK.handler(back),
        REMIND.handler(ask_remind),
        REMIND_YES.handler(remind),
        EXTEND.handler(extend),
        CLOSE.handler(ask_close),
        CLOSE_YES.handler(close),
        SCORE.handler(score),
        SEND.handler(send),
        PUBLISH.handler(ask_publish),
        PUBLISH_YES.handler(publish),
        GO.handler(go),
    ]
