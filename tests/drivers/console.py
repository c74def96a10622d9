"""Drive /admin, the working group's console, finding its buttons by their codecs."""

from __future__ import annotations

from chat.callbacks import CallbackAction
from conversations import console_view as console
from conversations.console_entries import entry
from fakebotapi import BotMessage, SimUser
from tests.drivers.taps import button, offered


async def open_console(user: SimUser) -> BotMessage:
    await user.send("/admin")
    return await user.expect_text("工作台")


def entry_data(view: BotMessage, key: str) -> str:
    data = console.GO.data(key)
    assert entry(key) is not None and data in view.button_data(), view.button_data()
    return data


async def go(user: SimUser, view: BotMessage, key: str) -> str:
    """Press a console entry's button (invites, appeals, plans …)."""
    return await user.press(entry_data(view, key), view)


def extend_data(view: BotMessage, days: int) -> str:
    found = [d for d in offered(view, console.EXTEND) if (console.EXTEND.parse(d) or ())[1] == days]
    assert found, view.button_data()
    return found[0]


async def press(user: SimUser, view: BotMessage, action: CallbackAction) -> str:
    return await user.press(button(view, action), view)
