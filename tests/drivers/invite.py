"""Drive onboarding (``/start in_…``) like a person: open the invite, confirm or decline."""

from __future__ import annotations

from conversations.invite import ITS_ME, NOT_ME
from fakebotapi import BotMessage, SimUser
from tests.drivers.taps import tap


async def open_code(user: SimUser, code: str) -> BotMessage:
    await user.send(f"/start {code}")
    return await user.expect()


async def confirm(user: SimUser, prompt: BotMessage) -> None:
    """是我本人: link the account."""
    await tap(user, prompt, ITS_ME)


async def decline(user: SimUser, prompt: BotMessage) -> None:
    """不是我: nothing is linked."""
    await tap(user, prompt, NOT_ME)
