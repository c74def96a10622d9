"""Drive the citizen's survey (``/start sv_…``) and the survey codes (``/links``) like a person.

Buttons are found through the flows' own codecs (``conversations.survey``,
``conversations.survey_admin``), never by callback literals.
"""

from __future__ import annotations

from chat.callbacks import CallbackAction
from conversations.survey import NEXT, RATE, TOGGLE, WANTS_REPLY
from conversations.survey_admin import KIND, NO_WINDOW, UNIT
from fakebotapi import BotMessage, SimUser

# the five levels in the order of their buttons (services.surveys.LEVELS, best first)
VERY_SATISFIED, SATISFIED, BASIC, DISSATISFIED, VERY_DISSATISFIED = range(5)


def buttons(msg: BotMessage, action: CallbackAction) -> list[str]:
    return [d for d in msg.button_data() if action.parse(d) is not None]


def levels(msg: BotMessage) -> list[str]:
    """The five levels of the question shown, the overall one first (empty when it is not a
    question)."""
    return buttons(msg, RATE)


def asks_rating(msg: BotMessage) -> bool:
    return bool(levels(msg))


async def open_link(citizen: SimUser, payload: str, timeout: float | None = None) -> BotMessage:
    """Open a survey link (a QR code's ``sv_…`` payload); returns the first prompt."""
    await citizen.send(f"/start {payload}")
    return await citizen.expect(timeout)


async def tap(citizen: SimUser, question: BotMessage, level: int) -> str:
    """Tap a level of a question (it may be an older message); no wait."""
    data = levels(question)[level]
    await citizen.press(data, question)
    return data


async def rate(
    citizen: SimUser,
    question: BotMessage,
    level: int = VERY_SATISFIED,
    timeout: float | None = None,
) -> BotMessage:
    """Answer the question shown; returns the next prompt."""
    await tap(citizen, question, level)
    return await citizen.expect(timeout)


async def rate_all(
    citizen: SimUser, first: BotMessage, level: int = VERY_SATISFIED, timeout: float | None = None
) -> BotMessage:
    """Answer the overall level and every question with ``level``; returns the prompt after
    the last (the tags)."""
    msg = first
    while asks_rating(msg):
        msg = await rate(citizen, msg, level, timeout)
    return msg


def tags(msg: BotMessage) -> list[str]:
    """The tag buttons of the tags step (empty elsewhere)."""
    return buttons(msg, TOGGLE)


async def tick(citizen: SimUser, prompt: BotMessage, index: int = 0) -> BotMessage:
    """Tick (or untick) one of the tags offered; returns the prompt shown again."""
    await citizen.press(tags(prompt)[index], prompt)
    return await citizen.expect()


async def done(citizen: SimUser, prompt: BotMessage, timeout: float | None = None) -> BotMessage:
    """Tap 完成 at the tags; returns the next message (the reply question, the thanks, or the
    prompt shown again when a 差评 has no reason yet)."""
    await citizen.press(buttons(prompt, NEXT)[0], prompt)
    return await citizen.expect(timeout)


async def want_reply(citizen: SimUser, prompt: BotMessage, yes: bool = True) -> None:
    """Answer "would you like a reply?"; the survey ends."""
    data = next(d for d in buttons(prompt, WANTS_REPLY) if d.endswith(":1" if yes else ":0"))
    await citizen.press(data, prompt)


async def complete(
    citizen: SimUser,
    payload: str,
    *,
    level: int = VERY_SATISFIED,
    comment: str | None = None,
    timeout: float = 10.0,
) -> None:
    """Answer everything with a good ``level``, then comment or tap 完成;
    ``timeout`` bounds each wait for the bot's next message."""
    msg = await rate_all(citizen, await open_link(citizen, payload, timeout), level, timeout)
    if comment is None:
        await done(citizen, msg, timeout)
    else:
        await citizen.send(comment)
        await citizen.expect(timeout)


async def complain(citizen: SimUser, payload: str, problem: str = "窗口无人") -> None:
    """A 差评 through the chat, with what went wrong, asking for a reply."""
    await rate_all(citizen, await open_link(citizen, payload), VERY_DISSATISFIED)
    await citizen.send(problem)
    ask = await citizen.expect()
    await want_reply(citizen, ask, yes=True)
    await citizen.expect_text("转交")


# --- /links: survey QR codes -------------------------------------------------------


def units(msg: BotMessage) -> list[str]:
    """The unit buttons of /links (a unit head sees only their own)."""
    return buttons(msg, UNIT)


async def make_codes(
    user: SimUser, choose: BotMessage, *, unit: int = 0, kind: str = "s10"
) -> None:
    """Choose a unit of the /links list, then the kind of codes (s10, s30, r1, r1a5)."""
    await user.press(units(choose)[unit], choose)
    kinds = await user.expect()
    await user.press(KIND.data(kind), kinds)


async def make_poster(
    user: SimUser, choose: BotMessage, *, window: str | None, kind: str = "r1"
) -> BotMessage:
    """A window code's poster: the kind (r1 A4, r1a5 A5), then the window's name typed (or
    "No window name" tapped when ``window`` is None); returns the window question."""
    await make_codes(user, choose, kind=kind)
    question = await user.expect()
    if window is None:
        await user.press(buttons(question, NO_WINDOW)[0], question)
    else:
        await user.send(window)
    return question
