"""The working group's roster import in the chat: send the file, then import or cancel."""

from __future__ import annotations

from conversations.staff_import import DISCARD, IMPORT
from fakebotapi import BotMessage, SimUser
from tests.drivers.taps import offered, tap


async def send_roster(
    admin: SimUser, name: str, data: bytes, mime: str | None = None
) -> BotMessage:
    """Send a roster file; returns the bot's answer (a summary, or a refusal)."""
    await admin.send_document(name, data, mime)
    return await admin.expect()


def offers_import(summary: BotMessage) -> bool:
    return bool(offered(summary, IMPORT))


async def confirm(admin: SimUser, summary: BotMessage) -> None:
    """Tap 导入 under the summary."""
    await tap(admin, summary, IMPORT)


async def cancel(admin: SimUser, summary: BotMessage) -> None:
    """Tap 取消 under the summary."""
    await tap(admin, summary, DISCARD)


async def confirm_another_file(admin: SimUser, summary: BotMessage) -> None:
    """A forged (or older) 导入 button naming a file that is not the one summarised."""
    await admin.press(IMPORT.data("deadbeef"), summary)
