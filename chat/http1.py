"""A small HTTP/1.1 client for the Bot API's plain calls: kept-alive connections as asyncio
protocols, each request written in one piece and each response parsed from one buffer.

Why: a citizen's tap costs two Bot API calls (answer the button, edit the message), and
httpcore, even called directly, spent about 0.8 ms of CPU on each: a sixth of the bot's
CPU per update (issue 12). Here a call is a write and a parse. What it leaves to httpx:
uploads (multipart), proxies, HTTP/2, redirects, cookies; ``chat.bot_http`` sends those
the whole httpx way.

The promises are httpcore's: a connection is reused only after a complete response that
did not say ``Connection: close``, and only if the server has not closed it meanwhile (the
protocol hears the FIN as the event loop reads it); a request is never sent twice; a
request cancelled or timed out mid-way closes its connection.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import certifi

# a response head longer than this is not the Bot API's (nor any sane server's)
MAX_HEAD = 64 * 1024


class HttpError(Exception):
    """Any failure of a call; the subclasses say which, as httpcore's names do."""


class ConnectError(HttpError):
    pass


class ConnectTimeout(HttpError):
    pass


class ReadTimeout(HttpError):
    pass


class PoolTimeout(HttpError):
    pass


class RemoteProtocolError(HttpError):
    pass


@dataclass(frozen=True)
class Timeouts:
    """Seconds, or None for no limit: connecting, waiting for the whole answer, waiting
    for a free connection when all are busy."""

    connect: float | None
    read: float | None
    pool: float | None


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection, answering one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.reusable = False  # open, idle, and its last answer did not ask to close
        self._buffer = bytearray()
        self.received = 0  # bytes of answers so far: a read timeout is a wait without any
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._head: tuple[int, int | None, bool, bool, bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike
        self.transport, self.reusable = cast(asyncio.Transport, transport), True

    def send(self, data: bytes) -> asyncio.Future[tuple[int, bytes]]:
        if self.transport is None or not self.reusable:  # closed before a byte was sent
            self.close()
            raise RemoteProtocolError("Server disconnected before the request was sent.")
        self.reusable = False  # busy until its answer is complete
        self._buffer.clear()
        self._head = None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self._waiter

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self.close()  # bytes nobody asked for: the connection is not to be trusted
            return
        self._buffer += data
        self.received += len(data)
        try:
            self._parse()
        except (ValueError, IndexError, zlib.error) as exc:
            self._fail(RemoteProtocolError(f"malformed response: {exc}"))

    def eof_received(self) -> bool:
        head = self._head
        if head is not None and head[1] is None and not head[2]:  # an answer read to its end
            try:
                self._complete(head, bytes(self._buffer), keep=False)
            except (ValueError, zlib.error) as exc:
                self._fail(RemoteProtocolError(f"malformed response: {exc}"))
        self.reusable = False
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self.transport = None
        self._fail(RemoteProtocolError("Server disconnected without sending a response."))

    def _fail(self, error: HttpError) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)
        self.close()

    def _parse(self) -> None:
        buf = self._buffer
        while self._head is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    raise ValueError("response head too long")
                return
            head = _parse_head(bytes(buf[:end]))
            del buf[: end + 4]
            if head[0] >= 200:  # 1xx are interim: the answer follows
                self._head = head
        head = self._head
        _status, length, chunked, _close, _encoding = head
        if chunked:
            body = _dechunk(buf)
            if body is None:
                return
        elif length is not None:
            if len(buf) < length:
                return
            body = bytes(buf[:length])
            if len(buf) > length:  # the answer is whole; what follows is nobody's
                self._complete(head, body, keep=False)
                self.close()
                return
        else:
            return  # no length: the answer ends when the server closes (eof_received)
        self._complete(head, body, keep=not head[3])

    def _complete(
        self, head: tuple[int, int | None, bool, bool, bytes], body: bytes, *, keep: bool
    ) -> None:
        status, _length, _chunked, _close, encoding = head
        if encoding in (b"gzip", b"x-gzip"):
            body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        elif encoding == b"deflate":
            body = zlib.decompress(body)
        elif encoding not in (b"", b"identity"):
            raise ValueError(f"content encoding {encoding!r}")
        waiter = self._waiter
        self._waiter, self._head = None, None
        self._buffer.clear()
        self.reusable = keep and self.transport is not None and not self.transport.is_closing()
        if waiter is not None and not waiter.done():
            waiter.set_result((status, body))


def _parse_head(block: bytes) -> tuple[int, int | None, bool, bool, bytes]:
    """(status, Content-Length or None, chunked, close afterwards, content encoding)."""
    lines = block.split(b"\r\n")
    version, status_text = lines[0].split(b" ", 2)[:2]
    if not version.startswith(b"HTTP/1."):
        raise ValueError(f"not HTTP/1.x: {version!r}")
    status = int(status_text)
    length: int | None = None
    chunked = False
    close = version == b"HTTP/1.0"
    encoding = b""
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = value.endswith(b"chunked")
        elif name == b"connection":
            close = b"close" in value or (close and b"keep-alive" not in value)
        elif name == b"content-encoding":
            encoding = value
    if status in (204, 304):
        length, chunked = 0, False
    return status, length, chunked, close, encoding


def _dechunk(buf: bytearray) -> bytes | None:
    """The body of a complete chunked answer in ``buf``, or None while more is to come."""
    out = bytearray()
    pos = 0
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";", 1)[0].strip(), 16)
        if size < 0:
            raise ValueError("negative chunk size")
        if size == 0:
            rest = eol + 2
            if buf[rest : rest + 2] == b"\r\n":
                end = rest + 2
            else:  # trailers, up to an empty line
                found = buf.find(b"\r\n\r\n", rest)
                if found < 0:
                    return None
                end = found + 4
            if end != len(buf):
                raise ValueError("bytes after the last chunk")
            return bytes(out)
        start = eol + 2
        if len(buf) < start + size + 2:
            return None
        if buf[start + size : start + size + 2] != b"\r\n":
            raise ValueError("a chunk not ended by CRLF")
        out += buf[start : start + size]
        pos = start + size + 2


class Pool:
    """Kept-alive connections per host, at most ``max_connections`` busy at once and at
    most ``keep_alive`` idle ones kept open (the most recently used, which are warmest)."""

    def __init__(self, max_connections: int, keep_alive: int) -> None:
        self._slots = asyncio.Semaphore(max_connections)
        self._keep_alive = keep_alive
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._busy: set[_Connection] = set()
        self._ssl: ssl.SSLContext | None = None
        self._closed = False

    async def request(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        timeouts: Timeouts,
    ) -> tuple[int, bytes]:
        """(status, body) of one request; an :class:`HttpError` if there is none."""
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        host = parts.hostname or ""
        key = (parts.scheme, host, parts.port or (443 if secure else 80))
        target = parts.path + ("?" + parts.query if parts.query else "")
        authority = parts.netloc.rpartition("@")[2]  # never a user:password in the URL
        lines = [f"{method} {target} HTTP/1.1", f"Host: {authority}"]
        lines += [f"{name}: {value}" for name, value in headers]
        if body or method not in ("GET", "HEAD"):
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        if self._slots.locked():
            try:
                async with asyncio.timeout(timeouts.pool):
                    await self._slots.acquire()
            except TimeoutError:
                raise PoolTimeout("all connections are busy") from None
        else:
            await self._slots.acquire()
        try:
            conn = self._take_idle(key) or await self._connect(key, timeouts.connect)
            self._busy.add(conn)
            try:
                answer = conn.send(data)
                try:
                    while not answer.done():  # the read timeout is a wait without a byte
                        seen = conn.received
                        await asyncio.wait((answer,), timeout=timeouts.read)
                        if not answer.done() and conn.received == seen:
                            raise ReadTimeout("no answer in time")
                    status, content = answer.result()
                except BaseException:
                    answer.cancel()  # cancelled, timed out or failed: its state is unknown
                    conn.close()
                    raise
            finally:
                self._busy.discard(conn)
            self._put_idle(key, conn)
            return status, content
        finally:
            self._slots.release()

    def _take_idle(self, key: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.reusable:
                return conn
            conn.close()
        return None

    def _put_idle(self, key: tuple[str, str, int], conn: _Connection) -> None:
        if not conn.reusable or self._closed:
            conn.close()
            return
        idle = self._idle.setdefault(key, [])
        idle.append(conn)
        if len(idle) > self._keep_alive:
            idle.pop(0).close()  # the coldest

    async def _connect(self, key: tuple[str, str, int], timeout: float | None) -> _Connection:
        scheme, host, port = key
        context = None
        if scheme == "https":
            if self._ssl is None:  # certifi's roots, as httpx trusts
                self._ssl = ssl.create_default_context(cafile=certifi.where())
            context = self._ssl
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _transport, conn = await loop.create_connection(
                    _Connection, host, port, ssl=context, server_hostname=host if context else None
                )
        except TimeoutError:
            raise ConnectTimeout(f"no connection to {host}:{port} in time") from None
        except OSError as exc:  # refused, unreachable, name unknown, TLS refused
            raise ConnectError(str(exc)) from exc
        return conn

    def close(self) -> None:
        """Close every connection: a request still waiting (a long poll) fails, as with
        httpx's ``aclose``."""
        self._closed = True
        for conn in [*self._busy, *(c for idle in self._idle.values() for c in idle)]:
            conn.close()
        self._idle.clear()
