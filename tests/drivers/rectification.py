"""Drive 整改 through the chat as people do: the unit head, the working group, the citizen.

``await rectification.answer(head, rect_id, notice, "已整改")`` instead of ``"rc1:…"``
strings; the callback data comes from the flow's own codec, so a renamed action changes
one place. ``press`` sends a button that need not be on the message (a forged or stale
press); the step helpers return the bot's next message.
"""

from __future__ import annotations

from chat.callbacks import CallbackAction
from conversations.rectification import (
    ANSWER,
    EXCLUDE,
    LIST,
    OPEN,
    OUTCOME,
    RATE,
    REVIEW,
    REVIEWS,
    UPHOLD,
)
from fakebotapi import BotMessage, SimUser
from tests.drivers import has

__all__ = [
    "ANSWER", "EXCLUDE", "LIST", "OPEN", "OUTCOME", "RATE", "REVIEW", "REVIEWS", "UPHOLD", "has",
]  # fmt: skip

RATING_CODES = ("s", "b", "d")  # satisfied, basic, dissatisfied: as the buttons are laid out


async def press(user: SimUser, action: CallbackAction, *args: int | str, on: BotMessage) -> None:
    """Press ``action`` from ``on`` whether or not it offers it (forged, stale)."""
    await user.press(action.data(*args), on)


async def refused(user: SimUser, action: CallbackAction, *args: int | str, on: BotMessage) -> str:
    """Press, and return the text of the alert that answers it (nothing else is sent)."""
    before = len(user.callback_answers)
    await press(user, action, *args, on=on)
    await user.wait_until(lambda: len(user.callback_answers) > before)
    return str(user.callback_answers[-1].get("text") or "")


async def open_item(user: SimUser, rect_id: int, on: BotMessage) -> BotMessage:
    """Open the item from a notice or a list; returns the item."""
    await press(user, OPEN, rect_id, on=on)
    return await user.expect()


async def rectify(user: SimUser) -> BotMessage:
    """``/rectify``: the caller's list (or why it is not for them)."""
    await user.send("/rectify")
    return await user.expect()


async def reviews(user: SimUser) -> BotMessage:
    """``/reviews``: the requests waiting for the working group."""
    await user.send("/reviews")
    return await user.expect()


async def start_answer(
    head: SimUser, rect_id: int, on: BotMessage, outcome: str = "immediate"
) -> BotMessage:
    """Press "write what was done", then the outcome; returns the question for the record."""
    await press(head, ANSWER, rect_id, on=on)
    choose = await head.expect_text("How was this negative rating dealt with?")
    await press(head, OUTCOME, rect_id, outcome, on=choose)
    return await head.expect_text("Please write what was done")


async def start_review_request(head: SimUser, rect_id: int, on: BotMessage) -> BotMessage:
    """Press "ask the working group to review it"; returns the question."""
    await press(head, REVIEW, rect_id, on=on)
    return await head.expect_text("Why should the working group review")


async def start_decision(
    admin: SimUser, rect_id: int, on: BotMessage, *, exclude: bool
) -> BotMessage:
    """Press uphold or exclude; returns the question for the reason."""
    await press(admin, EXCLUDE if exclude else UPHOLD, rect_id, on=on)
    return await admin.expect_text("Please write the reason")


async def write(user: SimUser, text: str) -> BotMessage:
    """Send the text of the current step; returns the bot's answer."""
    await user.send(text)
    return await user.expect()


async def answer(
    head: SimUser,
    rect_id: int,
    on: BotMessage,
    text: str,
    *,
    reply: str | None = None,
    outcome: str = "immediate",
) -> BotMessage:
    """The head chooses the outcome, writes the record of what was done and, when the citizen
    asked for one, the reply (``reply``, else the record again); returns the confirmation."""
    await start_answer(head, rect_id, on, outcome)
    msg = await write(head, text)
    if "reply to the citizen" in msg.text:
        msg = await write(head, reply if reply is not None else text)
    return msg


async def request_review(head: SimUser, rect_id: int, on: BotMessage, reason: str) -> BotMessage:
    """The head asks for 申诉复核; returns the confirmation."""
    await start_review_request(head, rect_id, on)
    return await write(head, reason)


async def decide(
    admin: SimUser, rect_id: int, on: BotMessage, *, exclude: bool, note: str
) -> BotMessage:
    """The working group upholds or excludes, with its reason; returns the confirmation."""
    await start_decision(admin, rect_id, on, exclude=exclude)
    return await write(admin, note)


def rating_buttons(rect_id: int) -> list[str]:
    return [RATE.data(rect_id, code) for code in RATING_CODES]


async def rate(citizen: SimUser, rect_id: int, on: BotMessage, code: str = "s") -> None:
    """The citizen presses a rating of the handling (``s``/``b``/``d``)."""
    await press(citizen, RATE, rect_id, code, on=on)
