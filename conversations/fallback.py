"""Last resort: stale buttons, stray messages and errors, each answered politely."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler
from telegram.ext import filters as F

from chat.context import JxContext
from chat.flow import answer_query, reply
from conversations.home import show_home

log = logging.getLogger(__name__)


async def stale_button(update: Update, context: JxContext) -> None:
    """A button whose flow is over (or forged data): change nothing, show the home screen."""
    tr = await context.tr(update)
    await answer_query(update, tr._("This button has expired. Here is where you are now."))
    await show_home(update, context)


async def stray_text(update: Update, context: JxContext) -> None:
    tr = await context.tr(update)
    await reply(
        update,
        tr._(
            "Sorry, I did not understand that. Tap /start for your home screen or /help for help."
        ),
    )


async def stray_media(update: Update, context: JxContext) -> None:
    tr = await context.tr(update)
    await reply(
        update, tr._("Sorry, I cannot use this here. Please answer with text or the buttons.")
    )


async def on_error(update: object, context: JxContext) -> None:
    """Log with the traceback; tell the user kindly that what they saved is safe."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            tr = await context.tr(update)
            await reply(
                update,
                tr._(
                    "Sorry, something went wrong on our side. What you already saved is kept; please try again in a moment."
                ),
            )
        except Exception:  # the error may be that Telegram is unreachable
            log.debug("could not report the error to the user", exc_info=True)


def build_handlers() -> list[BaseHandler]:
    return [
        CallbackQueryHandler(stale_button),
        MessageHandler(F.ChatType.PRIVATE & (F.TEXT | F.COMMAND), stray_text),
        MessageHandler(F.ChatType.PRIVATE & ~F.UpdateType.EDITED, stray_media),
    ]
