"""One outbox row as the Bot API call that sends it (a text, photo, document or edit).

A row stores what to send in a database-friendly form: the keyboard as named flow choices
(or, from older versions, a Bot API ``reply_markup`` dict), the attachment as bytes or as a
chart spec still to draw. This module rebuilds the PTB objects from that and makes the call;
pacing, retries and recording stay with the sender (``chat.outbox_sender``), which treats any
error raised here by the policy of ``chat.outbox_policy``.
"""

from __future__ import annotations

from typing import Any

from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from chat.callbacks import markup as choices_markup
from chat.outbox_rows import Queued
from chat.render_pool import draw
from domain.choice import choices_from_json
from services.outbox import EDIT_TEXT, SEND_DOCUMENT, SEND_MESSAGE, SEND_PHOTO


async def call(bot: Bot, row: Queued) -> Message:
    """Send ``row`` through ``bot``; raises what Telegram answered, or ValueError for a row
    that cannot be built into a request."""
    kwargs: dict[str, Any] = dict(row.payload)
    render = kwargs.pop("render", None)
    if "choices" in kwargs:  # named flow actions: each flow's codec spells the data now
        kwargs["reply_markup"] = _choices(kwargs.pop("choices"))
    elif "reply_markup" in kwargs:  # a Bot API dict, as queued by older versions
        kwargs["reply_markup"] = _markup(kwargs["reply_markup"])
    if row.method == SEND_MESSAGE:
        return await bot.send_message(row.chat_id, **kwargs)
    if row.method == EDIT_TEXT:  # the sender put in the message id (``edit_of``'s)
        kwargs.pop("edit_of", None)
        message_id = kwargs.pop("message_id", None)
        if message_id is None:
            raise ValueError("an edit without the message it edits")
        edited = await bot.edit_message_text(chat_id=row.chat_id, message_id=message_id, **kwargs)
        if not isinstance(edited, Message):
            raise ValueError("an edit answered without the message")
        return edited
    attachment = row.attachment
    if attachment is None and render is not None:
        # drawn when sent, not when queued: a broadcast's transaction stays short; in a
        # worker process, so drawing (CPU-bound) runs beside the sending loop
        attachment = await draw(render)
    if attachment is None:
        raise ValueError(f"{row.method} without an attachment")
    upload = InputFile(attachment, filename=row.attachment_name)
    if row.method == SEND_PHOTO:
        return await bot.send_photo(row.chat_id, photo=upload, **kwargs)
    if row.method == SEND_DOCUMENT:
        return await bot.send_document(row.chat_id, document=upload, **kwargs)
    raise ValueError(f"unsupported outbox method {row.method!r}")


def _choices(data: list[list[dict[str, Any]]]) -> InlineKeyboardMarkup | None:
    """The inline keyboard of stored choices (``services.outbox.enqueue(choices=…)``)."""
    return choices_markup(choices_from_json(data))


def _markup(
    data: dict[str, Any],
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply:
    """Rebuild the stored Bot API dict into PTB's object."""
    if "inline_keyboard" in data:
        return InlineKeyboardMarkup.de_json(data)
    if "keyboard" in data:
        return ReplyKeyboardMarkup.de_json(data)
    if "remove_keyboard" in data:
        return ReplyKeyboardRemove.de_json(data)
    if "force_reply" in data:
        return ForceReply.de_json(data)
    raise ValueError(f"unknown reply markup: {sorted(data)}")
