"""Roster import by document: an admin sends CSV/XLSX, sees a summary, confirms, it applies.

The file stays on Telegram's side: the position keeps its ``file_id`` and SHA-256,
and the confirm step downloads it again and checks it is the same file, so a
restart between summary and confirmation loses nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.callbacks import CallbackAction, Callbacks
from chat.context import JxContext
from chat.flow import END, Flow, Position, Prompt, answer_query, reply, send_prompt
from conversations.common import audit_actor, html, keyboard, load_caller, now
from domain.text import MESSAGE_LIMIT, clip, clip_html, html_format
from infra.i18n import N_, Translator
from services import files
from services.audit import audit
from services.staff_import import RosterInvalid, apply_import, parse_roster, plan_import

MAX_ERRORS_SHOWN = 30
SUMMARY_LIMIT = 3500  # UTF-16 units of the plan summary, leaving room for the question


class State(StrEnum):
    CONFIRM = "confirm"  # the summary is shown; import or cancel


CB = Callbacks("im1", "staff_import")
# both carry the file's first 8 hex digits of SHA-256, so a button of another file is stale
IMPORT = CB.action("ok", str)  # im1:ok:<sha8>
DISCARD = CB.action("no", str)  # im1:no:<sha8>


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    sha8 = _sha8(pos)
    return Prompt(
        html(pos.data["summary"]) + "\n\n" + tr._("Apply this import?"),
        keyboard([(tr._("✅ Import"), IMPORT.data(sha8)), (tr._("✖ Cancel"), DISCARD.data(sha8))]),
    )


def _sha8(pos: Position) -> str:
    return str(pos.data["sha256"])[:8]


flow = Flow("staff_import", N_("staff import"), render, prefix="im1:")


@flow.step
async def summarise(update: Update, context: JxContext) -> object:
    """Read the roster a working-group member sent and show what importing it would change."""
    message = update.message
    assert message is not None and message.document is not None
    actor = await load_caller(update, context)
    tr = await context.tr(update)
    if not actor.is_admin:
        async with context.transaction() as session:
            await audit(
                session,
                "access.denied",
                **audit_actor(context, actor),
                detail={"action": "staff.import"},
            )
        await reply(
            update,
            tr._(
                "Sorry, I cannot use this file. Only the evaluation working group can import staff."
            ),
        )
        return END
    doc = message.document
    name = doc.file_name or "roster"
    if not name.lower().endswith((".csv", ".xlsx")):
        await reply(update, tr._("Please send the roster as a .csv or .xlsx file."))
        return END
    if (doc.file_size or 0) > files.MAX_FILE_BYTES:
        limit = files.mb(files.MAX_FILE_BYTES)
        await reply(update, tr._("This file is too large (at most {max} MB).").format(max=limit))
        return END
    data = bytes(await (await doc.get_file()).download_as_bytearray())
    try:
        # parsed in a worker thread, so a large workbook never stalls other chats
        roster = await asyncio.to_thread(parse_roster, data, name)
    except RosterInvalid as exc:
        shown = [e.render(tr) for e in exc.errors[:MAX_ERRORS_SHOWN]]
        more = len(exc.errors) - len(shown)
        text = (
            tr._("Nothing was imported. Please correct these problems and send the file again:")
            + "\n"
            + "\n".join(f"• {html(line)}" for line in shown)
        )
        if more > 0:
            text += "\n" + html_format(tr._("… and {count} more."), count=more)
        await reply(update, clip_html(text, MESSAGE_LIMIT))
        return END
    async with flow.tx(update, context) as tx:
        plan = await plan_import(tx.session, roster)
        tx.goto(
            State.CONFIRM,
            file_id=doc.file_id,
            name=name,
            sha256=hashlib.sha256(data).hexdigest(),
            summary=clip(plan.summary(tr), SUMMARY_LIMIT),
        )
    await flow.show(update, context)
    return tx.state


async def _pending(update: Update, context: JxContext, action: CallbackAction) -> Position | None:
    """The stored summary the pressed button belongs to (same file), or None if stale."""
    (sha8,) = action.args(update)
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    return pos if pos is not None and sha8 == _sha8(pos) else None


@flow.step
async def confirm_import(update: Update, context: JxContext) -> object:
    """Download the file again, check it is the one summarised, and apply it (二)."""
    user = update.effective_user
    assert user is not None
    pos = await _pending(update, context, IMPORT)
    if pos is None:
        return await flow._stale_button(update, context)
    actor = await load_caller(update, context)
    if not actor.is_admin:
        return await _cancel(update, context)
    tr = await context.tr(update)
    await answer_query(update, tr._("Importing…"))
    data = bytes(await (await context.bot.get_file(pos.data["file_id"])).download_as_bytearray())
    if hashlib.sha256(data).hexdigest() != pos.data["sha256"]:
        return await flow._stale_button(update, context)
    roster = await asyncio.to_thread(parse_roster, data, pos.data["name"])
    async with flow.tx(update, context) as tx:
        plan = await apply_import(
            tx.session, roster, actor_label="telegram", actor_telegram_id=user.id, now=now(context)
        )
        tx.end()
    await send_prompt(
        update,
        context,
        Prompt(tr._("Imported.") + "\n\n" + html(clip(plan.summary(tr), SUMMARY_LIMIT))),
    )
    return END


@flow.step
async def discard(update: Update, context: JxContext) -> object:
    """Cancel: nothing was written, the position ends."""
    if await _pending(update, context, DISCARD) is None:
        return await flow._stale_button(update, context)
    return await _cancel(update, context)


async def _cancel(update: Update, context: JxContext) -> object:
    tr = await context.tr(update)
    async with flow.tx(update, context) as tx:
        tx.end()
    await answer_query(update)
    await send_prompt(update, context, Prompt(tr._("Import cancelled. Nothing was changed.")))
    return END


def build_handler() -> ConversationHandler:
    return flow.handler(
        entry_points=[MessageHandler(F.ChatType.PRIVATE & F.Document.ALL, summarise)],
        states={State.CONFIRM: [IMPORT.handler(confirm_import), DISCARD.handler(discard)]},
    )
