"""Drive the results phase through the chat: send for approval, approve or send back, 为什么, 历史.

Buttons are found by the flows' codecs (``conversations.results``,
``conversations.result_review``), never by spelling their callback data, so a test reads
as what the person does.
"""

from __future__ import annotations

from conversations.result_review import APPROVE, SEND_BACK
from conversations.results import HISTORY, SEND, WHY
from fakebotapi import BotMessage, SimUser
from tests.drivers.taps import button


async def send_for_approval(admin: SimUser, scored: BotMessage) -> str:
    """The working group sends the results under /score's overview to the leadership group."""
    return await admin.press(button(scored, SEND), scored)


async def approve(leader: SimUser, request: BotMessage) -> str:
    return await leader.press(button(request, APPROVE), request)


async def send_back(leader: SimUser, request: BotMessage) -> str:
    """Asks for the comment; the leader's next text is it."""
    return await leader.press(button(request, SEND_BACK), request)


async def open_why(user: SimUser, result: BotMessage) -> str:
    """为什么 under a pushed result (or a unit's summary)."""
    return await user.press(button(result, WHY), result)


async def open_history(user: SimUser, result: BotMessage) -> str:
    return await user.press(button(result, HISTORY), result)
