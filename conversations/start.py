"""``/start``: the home screen, or routing of a deep-link payload that no flow claimed."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from chat.context import JxContext
from chat.flow import reply
from conversations.common import start_payload
from conversations.home import show_home


async def start(update: Update, context: JxContext) -> None:
    tr = await context.tr(update)
    if context.args:
        payload = start_payload(update)
        if payload is None:
            await reply(update, tr._("This link is not valid or is no longer in use."))
    await show_home(update, context)


def build_handlers() -> list[BaseHandler]:
    return [CommandHandler("start", start)]
