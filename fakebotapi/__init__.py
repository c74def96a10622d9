"""A fake Telegram Bot API server for tests, demos and benchmarks.

Not Telegram's own "Local Bot API Server": it keeps only what jixiao uses (HTML or plain
text, no Markdown), and acts as Telegram would towards the bot.

Real python-telegram-bot clients talk to it over HTTP; tests act as Telegram users through
:class:`SimUser` and inspect what the bot did via :class:`BotMessage`::

    server = FakeBotApi()
    server.add_bot("123456:ABC", username="jixiao_bot", first_name="绩效助手")
    await server.start()
    app = ApplicationBuilder().token("123456:ABC").base_url(server.base_url)
          .base_file_url(server.base_file_url).build()
    ...  # start polling
    user = server.user(1001, first_name="张三")
    await user.send("/start")
    reply = await user.expect()
    await user.press_button("确认")
    await server.stop()

Anything Telegram would reject (bad markup, long texts, 64+ byte callback data, blocked users,
flood limits) is rejected here with Telegram's own error description and status code.
"""

from fakebotapi.errors import ApiError
from fakebotapi.server import FakeBotApi
from fakebotapi.settings import scope_key
from fakebotapi.sim import BotMessage, Button, SimUser
from fakebotapi.state import LimitedCall, Stats

__all__ = [
    "ApiError",
    "BotMessage",
    "Button",
    "FakeBotApi",
    "LimitedCall",
    "SimUser",
    "Stats",
    "scope_key",
]
