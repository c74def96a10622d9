"""The home screen (``/start``): what it offers, and opening a task or a pending thing from it."""

from __future__ import annotations

from chat.callbacks import CallbackAction
from conversations.home import TASKS
from domain.enums import Source
from fakebotapi import BotMessage, SimUser
from tests.drivers.taps import offered, tap


async def open_home(user: SimUser, expect: str = "") -> BotMessage:
    """Send ``/start``; returns the home screen (the message containing ``expect``)."""
    await user.send("/start")
    return await user.expect_text(expect) if expect else await user.expect()


def tasks(home: BotMessage) -> list[Source]:
    """The kinds of forms the home screen has a button for, in order."""
    return [source for source, action in TASKS.items() if offered(home, action)]


async def start_task(user: SimUser, home: BotMessage, source: Source) -> BotMessage:
    """Tap the button of ``source``'s forms; returns the first prompt of the rating flow."""
    await tap(user, home, TASKS[source])
    return await user.expect()


async def act(user: SimUser, home: BotMessage, action: CallbackAction) -> BotMessage:
    """Tap the home screen's (first) button for ``action`` of another flow (申诉, 审定, 整改 …);
    returns the next message that flow sends."""
    await tap(user, home, action)
    return await user.expect()
