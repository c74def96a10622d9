"""Drive the appeal flow (``conversations.appeal``) as its people do, through its codec."""

from __future__ import annotations

from conversations.appeal import (
    ADJUST,
    ANSWER,
    ASK,
    AT,
    BACK,
    FILE,
    LEVEL,
    NEW,
    OPEN,
    PAGE,
    PICK,
    QUEUE,
    UPHOLD,
)
from fakebotapi.sim import BotMessage, MessageRef, SimUser
from tests.drivers import has, until

__all__ = [
    "ADJUST",
    "ANSWER",
    "ASK",
    "AT",
    "FILE",
    "LEVEL",
    "NEW",
    "OPEN",
    "PICK",
    "UPHOLD",
    "has",
    "until",
]


async def start(user: SimUser, result_id: int, on: MessageRef = None) -> None:
    """申诉 under a result."""
    await user.press(NEW.data(result_id), on)


async def pick(user: SimUser, result_id: int, target: str, on: MessageRef = None) -> None:
    """Choose what is disputed: ``total``, ``dim:…``, ``ind:…`` or ``src:…``."""
    await user.press(PICK.data(result_id, target), on)


async def indicators(user: SimUser, result_id: int, on: MessageRef = None) -> None:
    """Turn the picker to its page of single indicators."""
    await user.press(PAGE.data(result_id, "i"), on)


async def change_target(user: SimUser, result_id: int, on: MessageRef = None) -> None:
    await user.press(BACK.data(result_id), on)


async def file(user: SimUser, result_id: int, on: MessageRef = None) -> None:
    """ "Done — file the appeal"."""
    await user.press(FILE.data(result_id), on)


async def dispute(
    user: SimUser, result_msg: BotMessage, result_id: int, target: str, reason: str
) -> BotMessage:
    """The whole draft without evidence: start, pick, write the reason, file; the reply."""
    await start(user, result_id, result_msg)
    picker = await until(user, PICK)
    if not has(picker, PICK, result_id, target):
        await indicators(user, result_id, picker)
        picker = await until(user, PICK)
    await pick(user, result_id, target, picker)
    await until(user, BACK)
    await user.send(reason)
    done = await until(user, FILE)
    await file(user, result_id, done)
    return await user.expect()


async def answer(user: SimUser, appeal_id: int, on: MessageRef = None) -> None:
    """ "Answer" under the working group's question."""
    await user.press(ANSWER.data(appeal_id), on)


async def queue(user: SimUser, on: MessageRef = None) -> None:
    """ "« All appeals"."""
    await user.press(QUEUE.data(), on)


async def open_case(user: SimUser, appeal_id: int, on: MessageRef = None) -> None:
    await user.press(OPEN.data(appeal_id), on)


async def ask(user: SimUser, appeal_id: int, on: MessageRef = None) -> None:
    """ "❓ Ask the appellant"; the question is the next text."""
    await user.press(ASK.data(appeal_id), on)


async def decide(
    user: SimUser,
    appeal_id: int,
    on: MessageRef = None,
    *,
    uphold: bool = True,
    total: str | None = None,
    reason: str | None = None,
) -> None:
    """Uphold (then the reason) or adjust (then ``total``, then the reason), by buttons and texts.

    Without ``total``/``reason`` only the button is pressed: the test types the rest.
    """
    await user.press((UPHOLD if uphold else ADJUST).data(appeal_id), on)
    if total is not None:
        await user.expect()
        await user.send(total)
    if reason is not None:
        await user.expect()
        await user.send(reason)


async def change_indicator(user: SimUser, appeal_id: int, code: str, on: MessageRef = None) -> None:
    """Adjusting an appeal not about one indicator: the indicator whose score changes."""
    await user.press(AT.data(appeal_id, code), on)


async def set_level(user: SimUser, appeal_id: int, index: int, on: MessageRef = None) -> None:
    """The indicator's new value as a level of its scale (0: the best), instead of a number."""
    await user.press(LEVEL.data(appeal_id, index), on)
