"""Last resort: stale buttons, stray messages and errors, each answered politely."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler
from telegram.ext import filters as F

from chat.context import JxContext
from chat.errors import report_failure
from chat.flow import answer_query, reply, show_current
from conversations.common import load_caller
from conversations.home import show_home
from domain.text import html_format


async def stale_button(update: Update, context: JxContext) -> None:
    """A button whose flow is over (or forged data): change nothing, show where the user is:
    the current flow's step, or else the home screen."""
    tr = await context.tr(update)
    await answer_query(update, tr._("This button has expired. Here is where you are now."))
    if not await show_current(update, context):
        await show_home(update, context)


async def stray_text(update: Update, context: JxContext) -> None:
    """Staff are pointed to their home screen; anyone else — a citizen writing "我要投诉"
    outside a survey — is told where to go (the configured hotline), not "not understood"."""
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    if actor.is_staff or actor.is_admin:
        text = tr._(
            "Sorry, I did not understand that. Tap /start for your home screen or /help for help."
        )
    else:
        text = html_format(
            tr._(
                "Hello! This bot serves the bureau's staff and the rating of its services. To rate a service, scan the QR code at the service window or on your receipt. For enquiries or complaints, please call {phone}; in an emergency, call 119 at once."
            ),
            phone=context.services.settings.citizen_hotline,
        )
    await reply(update, text)


async def stray_media(update: Update, context: JxContext) -> None:
    tr = await context.tr(update)
    await reply(
        update, tr._("Sorry, I cannot use this here. Please answer with text or the buttons.")
    )


async def on_error(update: object, context: JxContext) -> None:
    """A handler outside a flow step failed: logged with a reference the user is told.

    Flow steps report their own failures (``chat.flow.Flow.step``) and never get here, so
    the user hears of one failure once.
    """
    await report_failure(update, context, context.error, "handling an update")


def build_handlers() -> list[BaseHandler]:
    return [
        CallbackQueryHandler(stale_button),
        MessageHandler(F.ChatType.PRIVATE & (F.TEXT | F.COMMAND), stray_text),
        MessageHandler(F.ChatType.PRIVATE & ~F.UpdateType.EDITED, stray_media),
    ]
