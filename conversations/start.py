"""``/start``: the home screen, or routing of a deep-link payload that no flow claimed."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import JxContext
from bot.flow import reply
from conversations.home import show_home
from domain.payload import parse_payload


async def start(update: Update, context: JxContext) -> None:
    tr = await context.tr(update)
    if context.args:
        payload = parse_payload(context.args[0])
        if payload is None:
            await reply(update, tr._("This link is not valid or is no longer in use."))
    await show_home(update, context)


def build_handlers() -> list[BaseHandler]:
    return [CommandHandler("start", start)]
