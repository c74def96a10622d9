"""The Bot API's HTTP client: PTB's httpx client, made lighter where the bot spends on it.

A plain call (every call but a file upload) is sent by :mod:`chat.http1`, a small HTTP/1.1
client: httpx's request and response models, and httpcore's connection machinery under
them, cost several times the HTTP itself (issue 12). Uploads (multipart), and any client
with a proxy mounted, take httpx's whole path as PTB built it.

On httpx's path, on every request and again when each response is closed, httpcore checks
every pooled connection ("has the server closed it?"). Its anyio stream answers by building
anyio's whole table of socket attributes (``getsockname``, ``getpeername`` …) just to find the socket, and
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
import httpx
from httpcore import AsyncNetworkStream
from httpcore._backends.anyio import AnyIOBackend, AnyIOStream  # no public name for these
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from chat import http1

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
    """``HTTPXRequest`` whose plain calls go through :mod:`chat.http1` and whose uploads
    take httpx's path over :class:`_Backend`; with a proxy mounted, httpx carries all."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pool: http1.Pool | None = None
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
        timeouts = http1.Timeouts(
            connect=_given(connect_timeout, defaults.connect),
            read=_given(read_timeout, defaults.read),
            pool=_given(pool_timeout, defaults.pool),
        )  # a write is one buffered ``transport.write``: nothing to time
        headers = [("User-Agent", self.USER_AGENT)]
        content = b""
        if request_data is not None and request_data.json_parameters:
            content = urlencode(request_data.json_parameters).encode()
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        try:
            return await pool.request(method, url, headers, content, timeouts)
        except http1.PoolTimeout as err:
            raise TimedOut(
                message="Pool timeout: All connections in the connection pool are occupied. "
                "Request was *not* sent to Telegram."
            ) from err
        except (http1.ConnectTimeout, http1.ReadTimeout) as err:
            raise TimedOut from err
        except http1.HttpError as err:  # what httpx maps to its HTTPError, PTB to NetworkError
            raise NetworkError(f"{err.__class__.__name__}: {err}") from err

    async def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.close()
        await super().shutdown()

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
        self._pool = (
            None if client._mounts else http1.Pool(limits.max_connections or 256, KEEP_ALIVE)
        )
        return client


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value
