"""Small helpers every flow shares: keyboards, the acting person, the clock."""

from __future__ import annotations

import datetime as dt

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import JxContext
from domain.text import Html, escape
from services.access import Actor, load_actor


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """Inline keyboard from rows of (label, callback data); data is checked ≤ 64 bytes."""
    for row in rows:
        for _, data in row:
            if len(data.encode()) > 64:
                raise ValueError(f"callback data over 64 bytes: {data!r}")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


async def load_caller(update: Update, context: JxContext) -> Actor:
    """The person behind this update, roles resolved fresh from the database."""
    user = update.effective_user
    assert user is not None
    async with context.services.reads() as session:
        return await load_actor(session, user.id, context.services.settings.admin_id_set)


def now(context: JxContext) -> dt.datetime:
    return context.services.clock()


def html(text: str) -> Html:
    """Escape user-supplied text (names, units) for HTML parse mode, once (see domain/text.py)."""
    return escape(text)
