"""Buttons found by what they do (a flow's ``chat.callbacks`` action), not by their data."""

from __future__ import annotations

from chat.callbacks import CallbackAction
from fakebotapi import BotMessage, SimUser


def offered(msg: BotMessage, action: CallbackAction) -> list[str]:
    """The callback data of every button of ``msg`` that asks for ``action``, in order."""
    return [d for d in msg.button_data() if d and action.parse(d) is not None]


def button(msg: BotMessage, action: CallbackAction) -> str:
    """The callback data of ``msg``'s (first) button for ``action``; fail clearly if none."""
    found = offered(msg, action)
    assert found, f"no {action.owner.flow}.{action.name} button in {msg.button_data()}"
    return found[0]


def args_of(msg: BotMessage, action: CallbackAction) -> list[tuple[object, ...]]:
    """The arguments of those buttons (``[("2026Q4",), …]``)."""
    return [action.parse(d) or () for d in offered(msg, action)]


async def tap(user: SimUser, msg: BotMessage, action: CallbackAction, index: int = 0) -> None:
    """Press the ``index``-th button of ``msg`` for ``action``; fail clearly if none is there."""
    found = offered(msg, action)
    assert len(found) > index, f"no {action.owner.flow}.{action.name} button in {msg.button_data()}"
    await user.press(found[index], msg)


async def forge(user: SimUser, msg: BotMessage, action: CallbackAction, *args: int | str) -> None:
    """Press data for ``action`` on ``msg`` although ``msg`` does not offer it (a button of an
    earlier step, or forged data)."""
    await user.press(action.data(*args), msg)
