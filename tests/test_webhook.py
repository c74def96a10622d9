"""Webhook mode: the same bot, fed by Telegram's POSTs instead of getUpdates."""

from __future__ import annotations

import asyncio
import socket

import httpx

from bot.config import Settings
from bot.runner import serve
from localbotapi import LocalBotApi
from tests.harness import wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_delivers_and_replies(server: LocalBotApi, bot_settings: Settings) -> None:
    port = _free_port()
    settings = bot_settings.model_copy(
        update={
            "webhook_url": f"http://127.0.0.1:{port}/telegram",
            "webhook_port": port,
        }
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop=stop, migrate=False))
    try:
        await wait_for(lambda: server.webhook() is not None or task.done(), 20)
        assert server.webhook()["url"].endswith("/telegram")  # type: ignore[index]
        user = server.user(8101, language_code="en")
        await user.send("/start")
        assert "QR code" in (await user.expect()).text
        # the secret token is enforced: a forged POST is refused
        async with httpx.AsyncClient() as client:
            response = await client.post(f"http://127.0.0.1:{port}/telegram", json={"update_id": 1})
        assert response.status_code == 403
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
