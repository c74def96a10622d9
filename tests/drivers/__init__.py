"""Drivers: press a flow's buttons by what they do (``await appeal.dispute(me, …)``), so tests
speak behaviour and never spell callback strings; each driver uses its flow's codec."""

from __future__ import annotations

from chat.callbacks import CallbackAction
from fakebotapi.sim import BotMessage, SimUser


def has(message: BotMessage, action: CallbackAction, *args: object) -> bool:
    """Whether the message carries a button of ``action`` (with these arguments, if given)."""
    for data in message.button_data():
        parsed = action.parse(data)
        if parsed is not None and (not args or parsed == args):
            return True
    return False


async def until(user: SimUser, action: CallbackAction, timeout: float | None = None) -> BotMessage:
    """Consume the user's bot messages until one carries a button of ``action``."""
    while True:
        message = await user.expect(timeout)
        if has(message, action):
            return message
