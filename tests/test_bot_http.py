"""The Bot API client (``chat.bot_http``): plain calls go through ``chat.http1``, errors are PTB's."""

from __future__ import annotations

import socket

import pytest
from telegram.error import NetworkError
from telegram.request import RequestData

from chat.bot_http import BotRequest

pytestmark = pytest.mark.nodb


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends


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


async def test_an_unreachable_server_is_a_network_error_as_with_httpx() -> None:
    request = BotRequest(connection_pool_size=4)
    await request.initialize()
    try:
        url = f"http://127.0.0.1:{_closed_port()}/botTOKEN/sendMessage"
        with pytest.raises(NetworkError, match="ConnectError"):
            await request.do_request(url, "POST", RequestData())
    finally:
        await request.shutdown()
