"""Drive a rating form (/self, /review, /peer, /proxy) like a person: tap levels, write texts.

Buttons are found through the form's own codec (``conversations.form_view``), so a changed
layout or callback format breaks no behaviour test.
"""

from __future__ import annotations

from chat.callbacks import CallbackAction
from conversations.form_view import (
    CONTINUE,
    EDIT,
    KEEP,
    OPEN,
    SCORE,
    SUBMIT,
    SWITCH,
    YES_SUBMIT,
)
from fakebotapi import BotMessage, SimUser

WRITTEN = "本季度牵头完成防汛应急预案修订并组织两次实战演练，按期完成物资储备核查。"


def data_of(msg: BotMessage, prefix: str) -> list[str]:
    """The callback data of ``msg``'s buttons that start with ``prefix`` (any flow's)."""
    return [d for d in msg.button_data() if d and d.startswith(prefix)]


def buttons(msg: BotMessage, action: CallbackAction) -> list[str]:
    """The callback data of ``msg``'s buttons for one action, in order."""
    return [d for d in msg.button_data() if action.parse(d) is not None]


def levels(msg: BotMessage) -> list[str]:
    """The score or level buttons of the question shown (empty when it is not one)."""
    return buttons(msg, SCORE)


def is_question(msg: BotMessage) -> bool:
    return bool(levels(msg))


def is_summary(msg: BotMessage) -> bool:
    return bool(buttons(msg, SUBMIT))


def offers_choice(msg: BotMessage) -> bool:
    """The "continue the half-done form, or the other task?" question."""
    return bool(buttons(msg, CONTINUE)) and bool(buttons(msg, SWITCH))


def item_of(data: str) -> str:
    """The item a score button answers (its key, e.g. an indicator code)."""
    parsed = SCORE.parse(data)
    assert parsed is not None, data
    return str(parsed[1])


def listed(msg: BotMessage) -> list[tuple[str, int]]:
    """The forms of a pick list: (label, assignment id)."""
    out = []
    for row in msg.buttons:
        for b in row:
            parsed = OPEN.parse(b.callback_data)
            if parsed is not None:
                out.append((b.text, int(parsed[0])))
    return out


async def open_self(user: SimUser) -> BotMessage:
    await user.send("/self")
    return await user.expect()


async def pick(user: SimUser, listing: BotMessage, assignment_id: int) -> BotMessage:
    """Open one form of a list (a listing from /review, /peer or /proxy)."""
    await user.press(OPEN.data(assignment_id), listing)
    return await user.expect()


async def tap(user: SimUser, question: BotMessage, level: int = 0) -> str:
    """Tap the ``level``-th score button of a question (it may be an older message); no wait."""
    data = levels(question)[level]
    await user.press(data, question)
    return data


async def answer(user: SimUser, question: BotMessage, level: int = 0) -> BotMessage:
    """Answer the question shown with its ``level``-th button; returns the next prompt."""
    await tap(user, question, level)
    return await user.expect()


async def forge_score(
    user: SimUser, msg: BotMessage, assignment_id: int, item: str, level: int = 0
) -> None:
    """Press a score button made up for someone else's form."""
    await user.press(SCORE.data(assignment_id, item, level), msg)


async def answer_until_summary(
    user: SimUser, first: BotMessage, *, level: int = 0, text: str = WRITTEN
) -> BotMessage:
    """Answer every question from ``first`` on; returns the summary message."""
    msg = first
    for _ in range(60):
        if is_summary(msg):
            return msg
        choices = levels(msg)
        if choices:
            await user.press(choices[min(level, len(choices) - 1)], msg)
        elif buttons(msg, KEEP):
            await user.press(buttons(msg, KEEP)[0], msg)
        else:
            await user.send(text)
        msg = await user.expect()
    raise AssertionError("the form never reached its summary")


async def answer_indicators(user: SimUser, first: BotMessage, level: int = 0) -> BotMessage:
    """Tap through the indicator questions; returns the first written part's prompt."""
    msg = first
    while is_question(msg):
        msg = await answer(user, msg, level)
    return msg


async def edit(user: SimUser, summary: BotMessage, item: str | None = None) -> BotMessage:
    """From the summary, change one answer (the first, or the one of ``item``)."""
    edits = buttons(summary, EDIT)
    data = edits[0] if item is None else next(d for d in edits if d.endswith(f":{item}"))
    await user.press(data, summary)
    return await user.expect()


async def continue_half_done(user: SimUser, choice: BotMessage) -> BotMessage:
    await user.press(buttons(choice, CONTINUE)[0], choice)
    return await user.expect()


async def submit(user: SimUser, summary: BotMessage) -> None:
    """Submit from the summary, with the confirming second tap."""
    await user.press(buttons(summary, SUBMIT)[0], summary)
    confirm = await user.expect()
    await user.press(buttons(confirm, YES_SUBMIT)[0], confirm)
