"""What the user sees of a step, and the helpers every flow shows it with.

A step answers with a ``Prompt`` (HTML text and optional inline buttons) and shows it with
``send_prompt``, which edits the pressed message in place when a button was pressed (a tidy
chat, no double taps) and sends a new one otherwise; ``reply`` sends a line in the update's
chat and ``answer_query`` answers a button press. They share one stance: Telegram's limits and
its refusals are handled here once (text cut to length, a malformed reply still delivered as
plain text, a query too old to answer skipped), so no flow has to remember them. Kept apart
from ``chat.flow``, which is about positions and transactions, not about sending.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.warnings import PTBUserWarning

from chat.context import JxContext
from domain.text import ALERT_LIMIT, MESSAGE_LIMIT, clip, clip_html, unescape

# These log lines keep the logger name they had when the helpers lived in chat.flow.
log = logging.getLogger("chat.flow")

# do_api_request warns that editMessageText has a method of its own: we call it raw on purpose
warnings.filterwarnings(
    "ignore", message=r"Please use 'Bot\.editMessageText'", category=PTBUserWarning
)

_keep_pressed: ContextVar[bool] = ContextVar("jixiao_keep_pressed", default=False)


@contextmanager
def keep_pressed_message() -> Iterator[None]:
    """Screens shown inside are sent as new messages: the pressed message (the working
    group's console) stays, to be redrawn in place by its own handler afterwards."""
    token = _keep_pressed.set(True)
    try:
        yield
    finally:
        _keep_pressed.reset(token)


@dataclass(frozen=True)
class Prompt:
    """What the user sees at a step: HTML text and optional inline buttons."""

    text: str
    markup: InlineKeyboardMarkup | None = None


async def reply(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Send an HTML message in the update's chat, cut to Telegram's length if it is longer.

    Markup Telegram cannot parse is a rendering bug: logged as an error, and the person
    still gets the words, as plain text, rather than nothing.
    """
    chat = update.effective_chat
    if chat is None:
        return None
    try:
        return await chat.send_message(
            clip_html(text, MESSAGE_LIMIT), reply_markup=markup, parse_mode=ParseMode.HTML
        )
    except BadRequest as exc:
        if "can't parse entities" not in str(exc).lower():
            raise
        log.error("reply refused as malformed, a rendering bug; sent as plain text: %s", exc)
        return await chat.send_message(clip(unescape(text), MESSAGE_LIMIT), reply_markup=markup)


async def answer_query(update: Update, text: str | None = None, alert: bool = False) -> None:
    """Answer a button press; a query too old to answer (after a restart) is fine to skip."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(None if text is None else clip(text, ALERT_LIMIT), show_alert=alert)
    except BadRequest as exc:
        if "query is too old" not in str(exc) and "query id is invalid" not in str(exc).lower():
            raise


async def send_prompt(
    update: Update, context: JxContext, prompt: Prompt, *, edit: bool | None = None
) -> None:
    """Edit the pressed message into the prompt (tidy chat, no double taps) or send a new one."""
    query = update.callback_query
    if edit is None:
        edit = query is not None
    if _keep_pressed.get():
        edit = False
    if edit and query is not None and isinstance(query.message, Message):
        try:
            # the raw call: Telegram answers with the whole edited message, keyboard and all,
            # which ``Message.edit_text`` would build into objects no one reads (issue 12)
            await context.bot.do_api_request(
                "editMessageText",
                api_kwargs={
                    "chat_id": query.message.chat_id,
                    "message_id": query.message.message_id,
                    "text": clip_html(prompt.text, MESSAGE_LIMIT),
                    "parse_mode": ParseMode.HTML.value,
                    "reply_markup": prompt.markup,
                },
            )
            return
        except BadRequest as exc:
            if "not modified" in str(exc):
                return
            log.info("could not edit message, sending anew: %s", exc)
    await reply(update, prompt.text, prompt.markup)
