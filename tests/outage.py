"""Database outages for tests, without touching the shared PostgreSQL server.

PostgreSQL: the bot connects through ``TcpProxy``, a relay on loopback; ``refuse()`` closes its
listening socket (new connections are refused) and cuts every relayed connection, which is what
a restarting or unreachable server looks like from the bot. SQLite has no connections to refuse:
``SqliteLock`` holds the write lock from another connection, as a stuck maintenance command or
backup would, so every write of the bot fails once its busy timeout (``infra.db.SQLITE_BUSY_MS``)
runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.engine import make_url


class TcpProxy:
    """Relays 127.0.0.1:<port> to ``host:port`` until told to refuse."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.target_port = port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def refuse(self) -> None:
        """From now on connecting fails, and every open connection is cut."""
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def stop(self) -> None:
        if self._server is not None:
            await self.refuse()

    def url(self, database_url: str) -> str:
        """``database_url`` with its host and port replaced by this proxy's."""
        return (
            make_url(database_url)
            .set(host="127.0.0.1", port=self.port)
            .render_as_string(hide_password=False)
        )

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            client_w.transport.abort()
            return
        self._writers.update((client_w, server_w))
        try:
            await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))
        finally:
            for w in (client_w, server_w):
                self._writers.discard(w)
                w.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


class SqliteLock:
    """Holds the write lock of a SQLite database from a connection of its own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def acquire(self) -> None:
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        if self._conn is not None:
            self._conn.execute("ROLLBACK")
            self._conn.close()
            self._conn = None


class Outage:
    """Either kind of outage, for the backend the test database lives on."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.backend = url.get_backend_name()
        self.proxy: TcpProxy | None = None
        self.lock: SqliteLock | None = None
        self.bot_url = database_url
        if self.backend == "postgresql":
            self.proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
        else:
            assert url.database
            self.lock = SqliteLock(Path(url.database))

    async def start(self) -> None:
        if self.proxy is not None:
            await self.proxy.start()
            self.bot_url = self.proxy.url(self.bot_url)

    async def begin(self) -> None:
        """The database goes away."""
        if self.proxy is not None:
            await self.proxy.refuse()
        else:
            assert self.lock is not None
            await asyncio.to_thread(self.lock.acquire)

    async def end(self) -> None:
        """The database is back."""
        if self.proxy is not None:
            await self.proxy.start()  # the same port again
        else:
            assert self.lock is not None
            await asyncio.to_thread(self.lock.release)

    async def stop(self) -> None:
        if self.proxy is not None:
            await self.proxy.stop()
        elif self.lock is not None:
            self.lock.release()


@contextlib.asynccontextmanager
async def outage_for(database_url: str) -> AsyncIterator[Outage]:
    outage = Outage(database_url)
    await outage.start()
    try:
        yield outage
    finally:
        await outage.stop()
