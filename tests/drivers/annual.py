"""``/annual`` and ``/history`` in the chat: the year's summary, its CSV, one's own results."""

from __future__ import annotations

from conversations.annual import CSV
from fakebotapi import BotMessage, SimUser
from tests.drivers.taps import offered, tap


async def history(user: SimUser, expect: str) -> BotMessage:
    """Send ``/history``; returns the answer containing ``expect``."""
    await user.send("/history")
    return await user.expect_text(expect)


async def summary(user: SimUser, expect: str, year: int | None = None) -> BotMessage:
    """Send ``/annual`` (for ``year``, or the latest); returns the answer containing ``expect``."""
    await user.send("/annual" if year is None else f"/annual {year}")
    return await user.expect_text(expect)


def offers_csv(msg: BotMessage) -> bool:
    return bool(offered(msg, CSV))


async def download_csv(user: SimUser, summary: BotMessage) -> BotMessage:
    """Tap 完整表格 (CSV) under the summary; returns the document the bot sends."""
    await tap(user, summary, CSV)
    await user.wait_until(lambda: any(m.kind == "document" for m in user.messages))
    return next(m for m in user.messages if m.kind == "document")


async def press_csv(user: SimUser, year: int, on: BotMessage) -> None:
    """Press a CSV button of ``year`` on a message of the user's (as if forwarded or forged),
    and wait for the bot's answer to the press."""
    await user.press(CSV.data(year), on)
    await user.wait_until(lambda: bool(user.callback_answers))


async def press_old_format(user: SimUser, on: BotMessage) -> None:
    """Press an ``an1:`` button of a format this version does not read (an older one's)."""
    await user.press(f"{CSV.owner.prefix}:table:2026", on)
    await user.wait_until(lambda: bool(user.callback_answers))
