"""``/start``: the home screen, or routing of a deep-link payload that no flow claimed.

A deep link (``/start <kind>_<token>``, domain.payload) opens its flow directly: the flow's
entry point filters on its kind with ``deep_link`` (invite: ``in_``, survey: ``sv_``), and
those handlers come before this one (bot.app), so only what no flow claims arrives here.
"""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler
from telegram.ext import filters as F

from chat.context import JxContext
from chat.flow import leave_current, reply
from conversations.common import start_payload
from conversations.home import show_home
from domain.payload import PayloadKind


def deep_link(kind: PayloadKind) -> F.Regex:
    """The filter of a ``/start`` carrying a payload of ``kind`` (an entry point's)."""
    return F.Regex(rf"^/start(@\w+)?\s+{re.escape(kind.value)}_")


async def start(update: Update, context: JxContext) -> None:
    if context.args and start_payload(update) is None:
        tr = await context.tr(update)
        await reply(update, tr._("This link is not valid or is no longer in use."))
    await leave_current(update, context)
    await show_home(update, context)


def build_handlers() -> list[BaseHandler]:
    return [CommandHandler("start", start)]
