"""Watch a copy of an approval request (审定) as its holder sees it: edited once decided."""

from __future__ import annotations

from fakebotapi import BotMessage, SimUser


def now_reads(user: SimUser, msg: BotMessage) -> BotMessage:
    """``msg`` as it is in the chat now (a ``BotMessage`` is a snapshot of when it came)."""
    found = [m for m in user.messages if m.message_id == msg.message_id]
    assert found, f"message #{msg.message_id} is gone from chat {user.id}"
    return found[0]


async def seen(user: SimUser, says: str) -> BotMessage:
    """The first message of the chat that says ``says``, waiting for it: for messages whose
    order is not fixed (a reply and a pushed request race through different queues)."""
    await user.wait_until(lambda: any(says in (m.text or "") for m in user.messages), timeout=120)
    return next(m for m in user.messages if says in (m.text or ""))


async def retired(user: SimUser, copy: BotMessage, says: str) -> BotMessage:
    """Wait until ``copy`` was edited to say ``says`` and lost its buttons; return it."""
    await user.wait_until(
        lambda: says in (now_reads(user, copy).text or "") and not now_reads(user, copy).buttons,
        timeout=120,
    )
    return now_reads(user, copy)


async def answer_to_tap(user: SimUser, before: int) -> str:
    """The text of the first answer to a button press after the ``before`` answers so far."""
    await user.wait_until(lambda: len(user.callback_answers) > before, timeout=120)
    return str(user.callback_answers[before].get("text") or "")
