"""The Bot API client (``chat.bot_http``): plain calls go through ``chat.http1``, errors are PTB's."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from telegram.error import NetworkError
from telegram.request import RequestData

from chat import http1
from chat.bot_http import BotRequest
from fakebotapi import FakeBotApi
from infra.config import Settings
from tests.harness import InProcessBot


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends


@pytest.mark.nodb
async def test_a_proxied_client_keeps_httpx_whole_path(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    assert BotRequest(connection_pool_size=4, proxy="http://127.0.0.1:3128")._pool is None
    assert BotRequest(connection_pool_size=4)._pool is not None


@pytest.mark.nodb
async def test_an_unreachable_server_is_a_network_error_as_with_httpx() -> None:
    request = BotRequest(connection_pool_size=4)
    await request.initialize()
    try:
        url = f"http://127.0.0.1:{_closed_port()}/botTOKEN/sendMessage"
        with pytest.raises(NetworkError, match="ConnectError"):
            await request.do_request(url, "POST", RequestData())
    finally:
        await request.shutdown()


async def test_every_call_of_the_running_bot_the_long_poll_included_takes_the_lean_client(
    monkeypatch: pytest.MonkeyPatch, server: FakeBotApi, bot_settings: Settings
) -> None:
    """PTB gives getUpdates a client of its own (httpx's whole path unless told otherwise):
    at 160 updates a second that poll was a tenth of the bot's CPU (issue 12)."""
    methods: list[str] = []
    send = http1.Pool.request

    async def spy(self: http1.Pool, method: str, url: str, *args: Any) -> tuple[int, bytes]:
        methods.append(url.rsplit("/", 1)[-1])
        return await send(self, method, url, *args)

    monkeypatch.setattr(http1.Pool, "request", spy)
    bot = InProcessBot(server, bot_settings)
    await bot.start()
    try:
        user = server.user(3301, language_code="zh-hans")
        await user.send("/start")
        assert (await user.expect()).text
    finally:
        await bot.stop()
    assert "getUpdates" in methods and "sendMessage" in methods
