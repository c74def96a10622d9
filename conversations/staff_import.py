"""Roster import by document: an admin sends CSV/XLSX, sees a summary, confirms, it applies.

The file stays on Telegram's side: the position keeps its ``file_id`` and SHA-256,
and the confirm step downloads it again and checks it is the same file, so a
restart between summary and confirmation loses nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import re

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.context import JxContext
from chat.flow import END, Flow, Position, Prompt, answer_query, reply, send_prompt
from conversations.common import audit_actor, html, keyboard, load_caller, now
from domain.text import MESSAGE_LIMIT, clip, clip_html, html_format
from infra.i18n import N_, Translator
from services import files
from services.audit import audit
from services.staff_import import RosterInvalid, apply_import, parse_roster, plan_import

CONFIRM = "confirm"
MAX_ERRORS_SHOWN = 30
SUMMARY_LIMIT = 3500  # UTF-16 units of the plan summary, leaving room for the question
DATA = re.compile(r"^im1:(ok|no):([0-9a-f]{8})$")


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    sha8 = pos.data["sha256"][:8]
    return Prompt(
        html(pos.data["summary"]) + "\n\n" + tr._("Apply this import?"),
        keyboard([(tr._("✅ Import"), f"im1:ok:{sha8}"), (tr._("✖ Cancel"), f"im1:no:{sha8}")]),
    )


flow = Flow("staff_import", N_("staff import"), render, prefix="im1:")


@flow.step
async def on_document(update: Update, context: JxContext) -> object:
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
            CONFIRM,
            file_id=doc.file_id,
            name=name,
            sha256=hashlib.sha256(data).hexdigest(),
            summary=clip(plan.summary(tr), SUMMARY_LIMIT),
        )
    await flow.show(update, context)
    return tx.state


@flow.step
async def on_confirm(update: Update, context: JxContext) -> object:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    match = DATA.match(query.data or "")
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    if match is None or pos is None or not pos.data["sha256"].startswith(match.group(2)):
        return await flow._stale_button(update, context)
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    if match.group(1) == "no" or not actor.is_admin:
        async with flow.tx(update, context) as tx:
            tx.end()
        await answer_query(update)
        await send_prompt(update, context, Prompt(tr._("Import cancelled. Nothing was changed.")))
        return END
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


def build_handler() -> ConversationHandler:
    return flow.handler(
        entry_points=[MessageHandler(F.ChatType.PRIVATE & F.Document.ALL, on_document)],
        states={CONFIRM: [CallbackQueryHandler(on_confirm, pattern=r"^im1:")]},
    )
