"""Drive a rating form through the chat like a person would: tap levels, write texts."""

from __future__ import annotations

from fakebotapi import BotMessage, SimUser

WRITTEN = "本季度牵头完成防汛应急预案修订并组织两次实战演练，按期完成物资储备核查。"


def data_of(msg: BotMessage, prefix: str) -> list[str]:
    return [d for d in msg.button_data() if d and d.startswith(prefix)]


async def answer_until_summary(
    user: SimUser, first: BotMessage, *, level: int = 0, text: str = WRITTEN
) -> BotMessage:
    """Answer every question from ``first`` on; returns the summary message."""
    msg = first
    for _ in range(60):
        if data_of(msg, "fm1:x:"):
            return msg
        choices = data_of(msg, "fm1:v:")
        if choices:
            await user.press(choices[min(level, len(choices) - 1)], msg)
        elif data_of(msg, "fm1:k:"):
            await user.press(data_of(msg, "fm1:k:")[0], msg)
        else:
            await user.send(text)
        msg = await user.expect()
    raise AssertionError("the form never reached its summary")


async def submit(user: SimUser, summary: BotMessage) -> None:
    await user.press(data_of(summary, "fm1:x:")[0], summary)
    confirm = await user.expect()
    await user.press(data_of(confirm, "fm1:y:")[0], confirm)
