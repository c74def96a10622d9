"""Drive /cycle and the template approval through the chat, finding buttons by their codecs."""

from __future__ import annotations

from conversations.cycle_admin import (
    APPROVE,
    CLOSE,
    CLOSE_CANCELLED,
    CLOSE_CONFIRMED,
    EXTEND,
    VIEW,
)
from fakebotapi import BotMessage, SimUser
from tests.drivers.taps import button


def extend_data(view: BotMessage, days: int) -> str:
    """The data of /cycle's "+<days> days" button (the first cycle's)."""
    found = [d for d in view.button_data() if d and (args := EXTEND.parse(d)) and args[1] == days]
    assert found, f"no +{days} days button in {view.button_data()}"
    return found[0]


async def extend(admin: SimUser, view: BotMessage, days: int) -> str:
    return await admin.press(extend_data(view, days), view)


async def stop_collecting(admin: SimUser, view: BotMessage) -> str:
    """Only asks; ``confirm_stop`` answers the question."""
    return await admin.press(button(view, CLOSE), view)


async def confirm_stop(admin: SimUser, question: BotMessage) -> str:
    return await admin.press(button(question, CLOSE_CONFIRMED), question)


async def cancel_stop(admin: SimUser, question: BotMessage) -> str:
    return await admin.press(button(question, CLOSE_CANCELLED), question)


async def approve_template(leader: SimUser, request: BotMessage) -> str:
    return await leader.press(button(request, APPROVE), request)


async def view_template(leader: SimUser, request: BotMessage) -> str:
    return await leader.press(button(request, VIEW), request)
