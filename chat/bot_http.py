"""The Bot API's HTTP client: PTB's httpx client, with a connection check that costs one poll.

On every request, and again when each response is closed, httpcore checks every pooled
connection ("has the server closed it?"). Its anyio stream answers by building anyio's whole
table of socket attributes (``getsockname``, ``getpeername`` …) just to find the socket, and
then polls it: about a tenth of the bot's CPU per update at 16 chats at once (issue 12). The
stream here keeps the socket it was opened with and polls that. PTB also leaves the number of
idle connections kept open unbounded; it is bounded here, so the check has fewer to visit.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterable
from typing import Any

import anyio.abc
import httpx
from httpcore import AsyncNetworkStream
from httpcore._backends.anyio import AnyIOBackend, AnyIOStream  # no public name for these
from telegram.request import HTTPXRequest

# Idle connections kept open to the Bot API: the dispatcher handles 16 chats at once and
# the outbox sends a few more; a connection beyond these is closed when it falls idle.
KEEP_ALIVE = 24


class _Stream(AnyIOStream):
    """anyio's stream, knowing its socket: ``is_readable`` is one ``poll`` of it."""

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        super().__init__(stream)
        self._socket: socket.socket | None = stream.extra(
            anyio.abc.SocketAttribute.raw_socket, None
        )

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self._socket is not None and _readable(self._socket)
        if info == "socket":
            return self._socket
        return super().get_extra_info(info)


def _readable(sock: socket.socket) -> bool:
    """An idle connection with something to read has been closed by the server (EOF)."""
    fd = sock.fileno()
    if fd < 0:
        return True  # closed here already: not to be reused
    probe = select.poll()
    probe.register(fd, select.POLLIN)
    return bool(probe.poll(0))


class _Backend(AnyIOBackend):
    """httpcore's anyio backend, opening :class:`_Stream`s (TLS connections stay anyio's)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> AsyncNetworkStream:
        opened = await super().connect_tcp(host, port, timeout, local_address, socket_options)
        assert isinstance(opened, AnyIOStream)
        return _Stream(opened._stream)


class BotRequest(HTTPXRequest):
    """``HTTPXRequest`` whose client (built anew after each shutdown) uses :class:`_Backend`."""

    def _build_client(self) -> httpx.AsyncClient:
        kwargs = dict(self._client_kwargs)
        limits: httpx.Limits = kwargs.pop("limits")
        kwargs.pop("transport", None)  # only set for socket options, which jixiao does not use
        transport = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(
                max_connections=limits.max_connections,
                max_keepalive_connections=KEEP_ALIVE,
            ),
            http1=kwargs.get("http1", True),
            http2=kwargs.get("http2", False),
        )
        transport._pool._network_backend = _Backend()  # httpx takes no backend of its own
        return httpx.AsyncClient(transport=transport, **kwargs)
