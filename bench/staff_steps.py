"""What a simulated member of staff does in the chat, shared by the chat benchmarks.

Buttons are found through the bot's own callback codecs (``conversations.form_view``,
``conversations.home``), so a changed layout or callback format breaks no benchmark.
"""

from __future__ import annotations

from collections.abc import Callable

from chat.callbacks import CallbackAction
from conversations.form_view import CB as FORM
from conversations.form_view import YES_SUBMIT
from conversations.home import OPEN_SELF
from fakebotapi import BotMessage, SimUser

WRITTEN = "本季度牵头完成防汛应急预案修订并组织两次实战演练，按期完成物资储备核查。"
TIMEOUT = 300  # generous: a benchmark on a busy machine is slower, not broken


def offered(msg: BotMessage, action: CallbackAction) -> list[str]:
    """The callback data of ``msg``'s buttons for one action, in order."""
    return [d for d in msg.button_data() if d and action.parse(d) is not None]


async def until(user: SimUser, wanted: Callable[[BotMessage], bool]) -> BotMessage:
    """The next bot message (or edit) that ``wanted`` accepts; a step may send a notice first."""
    while True:
        msg = await user.expect(timeout=TIMEOUT)
        if wanted(msg):
            return msg


def form_prompt(msg: BotMessage) -> bool:
    """A prompt of the form (a question, the summary, the confirmation): it has the form's
    buttons (a written part its "previous question"), so a notice sent between two prompts
    is never taken for one."""
    return not msg.deleted and any(d and d.startswith(f"{FORM.prefix}:") for d in msg.button_data())


def is_home(msg: BotMessage) -> bool:
    return bool(offered(msg, OPEN_SELF))


async def home(user: SimUser) -> BotMessage:
    """``/start``: the home screen, with its button to the self-assessment."""
    await user.send("/start")
    return await until(user, is_home)


async def open_self(user: SimUser, home_screen: BotMessage) -> BotMessage:
    """The self-assessment opened from the home screen: its first prompt."""
    await user.press(offered(home_screen, OPEN_SELF)[0], home_screen)
    return await until(user, form_prompt)


async def press(user: SimUser, prompt: BotMessage, action: CallbackAction) -> BotMessage:
    """Tap one of ``action``'s buttons of ``prompt`` (each user its own); the next prompt."""
    choices = offered(prompt, action)
    await user.press(choices[user.id % len(choices)], prompt)
    return await until(user, form_prompt)


async def write(user: SimUser, text: str = WRITTEN) -> BotMessage:
    """A written answer (a part of the self-assessment, or the comment); the next prompt."""
    await user.send(text)
    return await until(user, form_prompt)


async def confirm(user: SimUser, confirmation: BotMessage) -> BotMessage:
    """The second tap of submitting: the bot says it is submitted, then shows the home screen
    (a new message; without the self-assessment's button now); returns the home screen."""
    await user.press(offered(confirmation, YES_SUBMIT)[0], confirmation)
    await until(user, lambda m: not m.deleted and not offered(m, YES_SUBMIT))
    return await until(user, lambda m: not m.deleted and not m.edited)
