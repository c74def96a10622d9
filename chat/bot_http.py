"""The Bot API's HTTP client: PTB's httpx client, made lighter where the bot spends on it.

A plain call (every call but a file upload) goes to httpcore's connection pool directly, as
httpx would send it, without httpx's request and response models around it (building the
URL, cookies, auth, redirects): those cost about as much CPU as the HTTP itself. Uploads,
and any client with a proxy mounted, take httpx's whole path as PTB built it.

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
from urllib.parse import urlencode

import anyio.abc
import httpcore
import httpx
from httpcore import AsyncNetworkStream
from httpcore._backends.anyio import AnyIOBackend, AnyIOStream  # no public name for these
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

# httpcore's errors but timeouts (those are TimedOut): they have no common base of their own
_FAILURES = (
    httpcore.NetworkError,  # connect, read, write
    httpcore.ProtocolError,  # the server's answer (or our request) broke HTTP
    httpcore.UnsupportedProtocol,
    httpcore.ProxyError,
)

# Idle connections kept open to the Bot API: the dispatcher handles 16 chats at once, so
# a burst of replies finds them open (a TLS handshake each otherwise); one beyond is closed.
KEEP_ALIVE = 16


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
    """``HTTPXRequest`` whose client (built anew after each shutdown) uses :class:`_Backend`,
    and whose plain calls go to its connection pool directly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pool: httpcore.AsyncConnectionPool | None = None
        super().__init__(*args, **kwargs)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """As ``HTTPXRequest.do_request``: the same request, timeouts and errors."""
        pool = self._pool
        if pool is None or self._client.is_closed or (request_data and request_data.multipart_data):
            return await super().do_request(
                url,
                method,
                request_data,
                read_timeout,
                write_timeout,
                connect_timeout,
                pool_timeout,
            )
        defaults = self._client.timeout
        timeouts = {
            "connect": _given(connect_timeout, defaults.connect),
            "read": _given(read_timeout, defaults.read),
            "write": _given(write_timeout, defaults.write),
            "pool": _given(pool_timeout, defaults.pool),
        }
        headers = [(b"User-Agent", self.USER_AGENT.encode())]
        content = b""
        if request_data is not None and request_data.json_parameters:
            content = urlencode(request_data.json_parameters).encode()
            headers.append((b"Content-Type", b"application/x-www-form-urlencoded"))
        try:
            response = await pool.request(
                method, url, headers=headers, content=content, extensions={"timeout": timeouts}
            )
        except httpcore.PoolTimeout as err:
            raise TimedOut(
                message="Pool timeout: All connections in the connection pool are occupied. "
                "Request was *not* sent to Telegram."
            ) from err
        except httpcore.TimeoutException as err:
            raise TimedOut from err
        except _FAILURES as err:  # what httpx maps to its HTTPError, PTB to NetworkError
            raise NetworkError(f"httpcore.{err.__class__.__name__}: {err}") from err
        return response.status, response.content

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
        client = httpx.AsyncClient(transport=transport, **kwargs)
        # a proxy (given, or from the environment) is mounted: then httpx's path for all
        self._pool = None if client._mounts else transport._pool
        return client


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value
