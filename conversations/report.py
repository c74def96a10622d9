"""``/report [PERIOD]``: the evaluation report (绩效评估报告, 五(四)1) as a PDF in the chat.

For the working group and the leadership group; anyone else is refused politely and the
refusal audited. The report is drafted from the cycle's facts when asked (the latest scored
cycle by default) and queued as a document with the request's own transaction: the outbox
sender typesets it in its drawing processes and sends it, as it sends result charts, so the
update is answered at once and a crash after the commit still delivers the file.
"""

from __future__ import annotations

import datetime as dt

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from chat.context import JxContext
from chat.flow import reply
from conversations.cases import readers_only
from domain.period import parse_period
from domain.text import html_format
from infra.i18n import N_
from services import outbox, report
from services.audit import audit
from services.errors import DomainError

RENDER_KIND = "report"  # the outbox renderer (``chat.renderers``)


async def report_command(update: Update, context: JxContext) -> None:
    """/report [PERIOD]: queue the report of that period (default: the one scored last)."""
    actor = await readers_only(
        update,
        context,
        "report",
        N_(
            "Sorry, the evaluation report is for the evaluation working group and the leadership group."
        ),
    )
    if actor is None:
        return
    tr = await context.tr(update)
    args = context.args or []
    if args and parse_period(args[0]) is None:
        await reply(update, tr._("Please give the period, e.g. /report 2026Q4"))
        return
    now = dt.datetime.now(dt.UTC)
    async with context.services.reads() as session:
        period = str(parse_period(args[0])) if args else await report.latest_scored(session)
        if period is None:
            await reply(update, tr._("No cycle has been scored yet: there is nothing to report."))
            return
        try:
            document = await report.draft(
                session,
                period,
                tr,
                now=now,
                training_below=context.services.settings.training_threshold,
            )
        except DomainError as exc:
            await reply(update, exc.render(tr))
            return
    chat = update.effective_chat
    assert chat is not None
    title = tr.period(period)
    async with context.transaction() as session:
        await outbox.enqueue(
            session,
            chat.id,
            html_format(tr._("Performance evaluation report, {period} (draft)"), period=title),
            method=outbox.SEND_DOCUMENT,
            render={"kind": RENDER_KIND, "document": document.to_json()},
            attachment_name=f"report-{period}.pdf",
        )
        await audit(
            session,
            "report.sent",
            actor_telegram_id=actor.telegram_id,
            actor_staff_id=actor.staff.id if actor.staff else None,
            object_type="cycle",
            object_id=period,
        )
    await reply(
        update,
        html_format(
            tr._("Drafting the evaluation report of {period}: it comes as a PDF in a moment."),
            period=title,
        ),
    )


def build_handlers() -> list[BaseHandler]:
    return [CommandHandler("report", report_command)]
