"""The small HTTP/1.1 client (``chat.http1``) against a raw server: the framings a server may
answer with, kept-alive reuse, and every failure an :class:`HttpError`, never a hang."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from chat import http1

pytestmark = pytest.mark.nodb

T = http1.Timeouts(connect=10, read=10, pool=10)
Answer = Callable[[bytes], bytes | None]  # request bytes → what to write back (None: hang up)


class RawServer:
    """Answers each request with what ``answer`` gives (and hangs up after it when
    ``close_after``); counts connections and keeps the requests."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.close_after = False
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                sizes = [
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ]
                request = head + await reader.readexactly(sizes[0] if sizes else 0)
                self.requests.append(request)
                out = self.answer(request)
                if out is None:
                    break
                writer.write(out)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/botTOKEN/getMe"


Serve = Callable[[Answer], Awaitable[RawServer]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    started: list[RawServer] = []

    async def start(answer: Answer) -> RawServer:
        raw = RawServer(answer)
        raw.server = await asyncio.start_server(raw.serve, "127.0.0.1", 0)
        started.append(raw)
        return raw

    yield start
    for raw in started:
        assert raw.server is not None
        raw.server.close()


def _ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n" % (len(body), extra) + body


async def test_content_length_answers_reuse_one_connection(serve: Serve) -> None:
    raw = await serve(lambda _r: _ok(b'{"ok":true}'))
    pool = http1.Pool(4, 4)
    for _ in range(3):
        assert await pool.request("POST", raw.url, [], b"a=1", T) == (200, b'{"ok":true}')
    assert raw.connections == 1
    assert raw.requests[0].startswith(b"POST /botTOKEN/getMe HTTP/1.1\r\nHost: 127.0.0.1:")
    assert raw.requests[0].endswith(b"Content-Length: 3\r\n\r\na=1")
    pool.close()


async def test_chunked_gzip_and_interim_answers_are_read_whole(serve: Serve) -> None:
    packed = gzip.compress(b'{"ok":true,"result":"\xe4\xbd\xa0\xe5\xa5\xbd"}')
    chunked = b"".join(
        b"%x\r\n%s\r\n" % (len(packed[i : i + 7]), packed[i : i + 7])
        for i in range(0, len(packed), 7)
    )
    answer = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
        + chunked
        + b"0\r\n\r\n"
    )
    raw = await serve(lambda _r: answer)
    pool = http1.Pool(4, 4)
    status, body = await pool.request("POST", raw.url, [], b"", T)
    assert (status, body.decode()) == (200, '{"ok":true,"result":"你好"}')
    assert await pool.request("POST", raw.url, [], b"", T) == (status, body)
    assert raw.connections == 1
    pool.close()


async def test_connection_close_and_an_answer_read_to_the_end(serve: Serve) -> None:
    raw = await serve(lambda _r: _ok(b"first", b"Connection: close\r\n"))
    pool = http1.Pool(4, 4)
    assert await pool.request("POST", raw.url, [], b"", T) == (200, b"first")
    raw.answer, raw.close_after = (lambda _r: b"HTTP/1.0 200 OK\r\n\r\nsecond"), True
    assert await pool.request("POST", raw.url, [], b"", T) == (200, b"second")
    assert raw.connections == 2  # "Connection: close" was honoured
    assert not any(pool._idle.values())  # read to its end: that connection is done
    pool.close()


async def test_an_idle_connection_the_server_closed_is_not_reused(serve: Serve) -> None:
    raw = await serve(lambda _r: _ok(b"x"))
    pool = http1.Pool(4, 4)
    assert await pool.request("POST", raw.url, [], b"", T) == (200, b"x")
    for idle in list(pool._idle.values()):
        for conn in idle:
            assert conn.transport is not None
            conn.transport.abort()  # as the server's close is heard, between two requests
    await asyncio.sleep(0.05)
    assert await pool.request("POST", raw.url, [], b"", T) == (200, b"x")
    assert raw.connections == 2
    pool.close()


async def test_failures_are_http_errors(serve: Serve) -> None:
    pool = http1.Pool(1, 1)
    silent = await serve(lambda _r: b"")
    with pytest.raises(http1.ReadTimeout):
        await pool.request("POST", silent.url, [], b"", http1.Timeouts(10, 0.2, 10))
    hangup = await serve(lambda _r: None)
    with pytest.raises(http1.RemoteProtocolError, match="disconnected"):
        await pool.request("POST", hangup.url, [], b"", T)
    garbage = await serve(lambda _r: b"SSH-2.0-OpenSSH\r\n\r\n")
    with pytest.raises(http1.RemoteProtocolError, match="malformed"):
        await pool.request("POST", garbage.url, [], b"", T)
    too_long = await serve(lambda _r: _ok(b"ab")[:-2] + b"abcd")
    # more than Content-Length: the answer is whole, the connection is not trusted again
    assert await pool.request("POST", too_long.url, [], b"", T) == (200, b"ab")
    assert not any(pool._idle.values())
    pool.close()


async def test_a_full_pool_times_out_without_sending(serve: Serve) -> None:
    raw = await serve(lambda _r: _ok(b"slow"))
    pool = http1.Pool(1, 1)
    await pool._slots.acquire()  # the one connection is busy
    with pytest.raises(http1.PoolTimeout):
        await pool.request("POST", raw.url, [], b"", http1.Timeouts(10, 10, 0.1))
    assert raw.requests == []
    pool._slots.release()
    assert await pool.request("POST", raw.url, [], b"", T) == (200, b"slow")
    pool.close()


async def test_the_read_timeout_is_a_wait_without_a_byte_and_cancelling_frees_the_slot(
    serve: Serve,
) -> None:
    """A slow answer that keeps coming (a file download) is read whole, however long it
    takes; a cancelled request closes its connection and gives its slot back."""
    body = b"x" * 50

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body), 10):
            await asyncio.sleep(0.1)
            writer.write(body[i : i + 10])
        await writer.drain()

    server = await asyncio.start_server(slow, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/file"
    pool = http1.Pool(1, 1)
    got = await pool.request("GET", url, [], b"", http1.Timeouts(10, 0.3, 10))
    assert got == (200, body)  # 0.5 s in all, never 0.3 s without a byte
    task = asyncio.create_task(pool.request("GET", url, [], b"", T))
    await asyncio.sleep(0.15)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not pool._slots.locked() and not pool._busy and not any(pool._idle.values())
    server.close()
    pool.close()
