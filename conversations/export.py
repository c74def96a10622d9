"""/export [PERIOD]: the cycle's Excel workbook, sent as a document (二(三)1, 五(二)3).

For the working group and the leadership group; anyone else is refused politely and the
attempt audited. The workbook is queued in the outbox in the transaction that claims the
update (and audits the export), so a restart neither loses nor doubles it.
"""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from chat.context import JxContext
from chat.flow import reply
from chat.render_pool import render_pool
from conversations.cases import readers_only
from conversations.common import now
from domain.text import html_format
from infra.i18n import N_
from services import export_xlsx
from services.errors import DomainError
from services.outbox import SEND_DOCUMENT, enqueue


async def export_command(update: Update, context: JxContext) -> None:
    """Check the caller, build the workbook in the reader's language, queue it."""
    actor = await readers_only(
        update,
        context,
        "export",
        N_(
            "Sorry, only the evaluation working group and the leadership group can export the results."
        ),
    )
    if actor is None:
        return
    tr = await context.tr(update)
    chat = update.effective_chat
    assert chat is not None
    period = " ".join(context.args) if context.args else None  # "Q4 2026" comes as two words
    try:
        async with context.transaction() as session:
            at = now(context)
            facts = await export_xlsx.prepare(
                session,
                period,
                tr,
                now=at,
                actor_label="telegram",
                actor_telegram_id=actor.telegram_id,
                actor_staff_id=actor.staff.id if actor.staff else None,
            )
            # CPU-bound (a second or more for a large bureau): drawn in the render processes,
            # so the serving loop keeps answering and pinging its instance lock meanwhile
            data = await asyncio.get_running_loop().run_in_executor(
                render_pool(), export_xlsx.workbook_in, facts, tr.locale, str(tr.tz), at
            )
            await enqueue(
                session,
                chat.id,
                tr._("{bureau}: performance evaluation workbook, {period}").format(
                    bureau=facts.bureau, period=tr.period(facts.period)
                ),
                method=SEND_DOCUMENT,
                attachment=data,
                attachment_name=export_xlsx.filename(facts),
                parse_mode=None,  # names as they are, nothing to escape
                dedupe_key=f"export:{update.update_id}",
            )
    except DomainError as exc:
        await reply(update, exc.render(tr))
        return
    await reply(
        update,
        html_format(
            tr._("The workbook of {period} follows as a file."), period=tr.period(facts.period)
        ),
    )


def build_handlers() -> list[BaseHandler]:
    return [CommandHandler("export", export_command)]
