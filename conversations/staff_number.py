"""The console's entries for commands that take employee numbers (工号): ask, check, run.

/reissue, /unbind, /reopen, /reassign and /proxy take numbers as arguments, which a
button cannot carry. Their console entry asks for them as a typed reply, checks each
against the roster (an unknown number is said politely and asked again, and nothing
changes), then runs the command itself with those arguments: its own refusal, reply and
audit, so the console and the typed command cannot drift apart. The command's transaction
also closes the question (``Flow.handing_over``): the answer and its effect are one commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.context import JxContext
from chat.flow import END, Flow, Position, Prompt, reply
from conversations import admin, form
from conversations.common import load_caller
from domain.text import html_format
from infra.i18n import N_, Translator
from services import staff_numbers


class State(StrEnum):
    ASK = "ask"


@dataclass(frozen=True)
class NumberedCommand:
    """A command that takes ``count`` employee numbers, and the question that asks for them."""

    count: int
    question: str  # an N_ msgid
    run: Callable[[Update, JxContext], Awaitable[object]]


COMMANDS = {
    "reissue": NumberedCommand(
        1,
        N_(
            "Type the employee number of the person who needs a new invitation code (for example A0012), or /cancel."
        ),
        admin.reissue_command,
    ),
    "unbind": NumberedCommand(
        1,
        N_(
            "Type the employee number of the person whose Telegram account is to be unlinked (for example A0012), or /cancel."
        ),
        admin.unbind_command,
    ),
    "reopen": NumberedCommand(
        2,
        N_(
            "Type two employee numbers: the rater, then the person rated; the same number twice for a self-assessment (for example A0003 A0012). Or /cancel."
        ),
        admin.reopen_command,
    ),
    "reassign": NumberedCommand(
        3,
        N_(
            "Type three employee numbers: the person rated, the absent rater and the new rater (for example A0012 A0003 A0007). Or /cancel."
        ),
        admin.reassign_command,
    ),
    "proxy": NumberedCommand(
        1,
        N_(
            "Type the employee number of the person whose paper form you are entering (for example A0012), or /cancel."
        ),
        form.proxy_command,
    ),
}
"""By console entry key, which is also the command's name."""


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    command = COMMANDS.get(str(pos.data.get("command")))
    if command is None:  # a command dropped since the question was asked
        return Prompt(tr._("This button has expired. Here is where you are now."))
    return Prompt(html_format(tr._(command.question)))


flow = Flow(
    "staff_number",
    N_("employee number entry"),
    render,
    prefix="sn1:",
    idle_states=(State.ASK,),  # nothing typed is kept: leaving loses no work
)


def asker(key: str) -> Callable[[Update, JxContext], Awaitable[object]]:
    """The console entry of command ``key``: ask for its numbers (the console checked the
    caller's role before calling it; the command checks it again when it runs)."""

    @flow.step
    async def ask(update: Update, context: JxContext) -> object:
        async with flow.tx(update, context) as tx:
            tx.goto(State.ASK, command=key)
        await flow.show(update, context, edit=False)
        return tx.state

    ask.__name__ = f"ask_{key}"
    return ask


@flow.step
async def take_numbers(update: Update, context: JxContext) -> object:
    """The typed numbers: asked again while any is missing or unknown, else the command."""
    tr = await context.tr(update)
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
        key = str(pos.data.get("command")) if pos is not None else ""
        command = COMMANDS.get(key)
        typed = staff_numbers.split_numbers(
            update.message.text or "" if update.message is not None else ""
        )
        actor = await load_caller(update, context)
        matched = await staff_numbers.match(session, typed) if actor.is_admin else None
    if command is None or not actor.is_admin:
        # gone, or no longer in the working group: the command refuses (and audits) as typed,
        # in the transaction that closes the question
        async with flow.handing_over(update, context, lambda tx: tx.end()):
            if command is not None:
                context.args = []
                await command.run(update, context)
        return END
    if len(typed) != command.count:
        await reply(
            update,
            tr.ngettext(
                "Please type {count} employee number.",
                "Please type {count} employee numbers.",
                command.count,
            ).format(count=command.count),
        )
        await flow.show(update, context, edit=False)
        return State.ASK
    assert matched is not None
    if matched.unknown is not None:
        await reply(
            update,
            html_format(
                tr._("No staff member has the employee number {no}. Please check it."),
                no=matched.unknown,
            ),
        )
        await flow.show(update, context, edit=False)
        return State.ASK
    # the command's transaction also closes the question: a crash applies both or neither
    context.args = list(matched.numbers)
    async with flow.handing_over(update, context, lambda tx: tx.end(finished=True)):
        await command.run(update, context)  # its own refusal, reply and audit
    return END


def build_handler() -> ConversationHandler:
    return flow.handler(
        entry_points=[],  # entered from the console (conversations.console_entries)
        states={State.ASK: [MessageHandler(~F.COMMAND & ~F.UpdateType.EDITED, take_numbers)]},
    )
