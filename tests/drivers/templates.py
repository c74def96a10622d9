"""The working group opens a cycle by sending an indicator-system file: period, deadline, open."""

from __future__ import annotations

from conversations.template_upload import CANCEL, OPEN, PICK_DEADLINE, PICK_PERIOD
from fakebotapi import BotMessage, SimUser
from tests.drivers.taps import args_of, forge, tap


async def send_template(admin: SimUser, name: str, data: bytes) -> BotMessage:
    """Send a template file; returns the answer (the periods to choose from, or a refusal)."""
    await admin.send_document(name, data)
    return await admin.expect()


def periods(msg: BotMessage) -> list[str]:
    """The cycles offered (``2026Q4``, ``2027Q1``, ``2026``)."""
    return [str(a[0]) for a in args_of(msg, PICK_PERIOD)]


def deadlines(msg: BotMessage) -> list[str]:
    """The suggested deadlines (ISO dates)."""
    return [str(a[0]) for a in args_of(msg, PICK_DEADLINE)]


async def choose_period(admin: SimUser, msg: BotMessage, index: int = 0) -> BotMessage:
    """Tap one of the offered cycles; returns the deadline question."""
    await tap(admin, msg, PICK_PERIOD, index)
    return await admin.expect()


async def choose_deadline(admin: SimUser, msg: BotMessage, index: int = 0) -> BotMessage:
    """Tap one of the suggested deadlines; returns the confirmation question."""
    await tap(admin, msg, PICK_DEADLINE, index)
    return await admin.expect()


async def open_cycle(admin: SimUser, msg: BotMessage) -> BotMessage:
    """Tap 开启 under the confirmation; returns what the bot says about the cycle."""
    await tap(admin, msg, OPEN)
    return await admin.expect()


async def cancel(admin: SimUser, msg: BotMessage) -> BotMessage:
    await tap(admin, msg, CANCEL)
    return await admin.expect()


async def open_early(admin: SimUser, msg: BotMessage) -> BotMessage:
    """Press 开启 while the deadline is still being asked (an older or forged button);
    returns the answer to the press's aftermath: the current step shown again."""
    await forge(admin, msg, OPEN, 1)
    return await admin.expect()
