"""aiosqlite with one trip to its thread per statement instead of four.

aiosqlite runs each call on its connection's thread and wakes the event loop with the
result. Under SQLAlchemy a statement made four such trips (open the cursor, execute,
fetch, close), each a cross-thread hand-off and an event-loop wake-up: a quarter of the
bot's CPU per update (issue 12). ``OneTripCursor`` does all four in one call on the
thread, keeping the rows; the API SQLAlchemy's adapter uses is unchanged.

``OneTripConnection.defer`` goes further for what opens a transaction (``BEGIN``, the
``PRAGMA synchronous`` switch, ``infra.db``): it travels with the transaction's first
statement, and a transaction that never runs one never sends it (its commit or rollback
has nothing to end). A failing ``BEGIN IMMEDIATE`` (the database busy) then raises at that
first statement, inside the same transaction, as it would have at ``BEGIN``.

Inside a write transaction, once its first statement has run (``BEGIN`` with it), the
statements run on the event loop's own thread: the lock is ours and they are short, so the
trip to the thread and back was pure cost, and it let other tasks run while every other
writer waited (``OneTripConnection._statement``). ``COMMIT`` goes back to the thread.

A commit or rollback with no transaction open is not sent either: SQLAlchemy's pool rolls
back every connection it is given back, right after the session committed or rolled back,
which was one more trip to the thread for nothing in every session (issue 12).

Writers of several processes (``jixiao run --workers``, a CLI command beside the bot) take
turns through ``WriterTurn``, a lock on ``<database>.write-lock``, held from ``BEGIN
IMMEDIATE`` to the end of the transaction. Without it they meet in SQLite's busy handler,
which sleeps 1, 2, 5, 10… up to 100 ms while the lock may long be free again: two worker
processes served fewer survey steps a second than one.
"""

from __future__ import annotations

import fcntl
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy.engine import URL


class WriterTurn:
    """An exclusive lock on ``path`` (``flock``), taken before a write transaction begins.

    Waiting polls on the connection's own thread, every 0.1 ms at first and at most every
    0.5 ms, for up to ``timeout`` seconds: as long as a writer of this process may wait for
    the one connection (``infra.db``), since the turn is that same wait across processes.
    (Polling at most every 5 ms, a waiter missed the gaps between the other process's
    transactions: p99 2.7 s against 0.6 s per survey step, two workers at 20 citizens a
    second; a poll costs a few microseconds.) Past it the transaction fails as SQLite's would ("database is locked"), and the caller takes
    that for an outage (``infra.outage``). Polling is not first come, first served: a busy
    writer may take its next turn first; its transactions are short.
    """

    FIRST_POLL, LAST_POLL = 0.0001, 0.0005

    def __init__(self, path: str, timeout: float) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self.timeout = timeout
        self.held = False

    def take(self) -> None:  # on the thread
        deadline = None
        pause = self.FIRST_POLL
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                now = time.monotonic()
                deadline = deadline or now + self.timeout
                if now > deadline:
                    raise sqlite3.OperationalError("database is locked") from None
                time.sleep(pause)
                pause = min(pause * 2, self.LAST_POLL)
            else:
                self.held = True
                return

    def give_back(self) -> None:
        if self.held:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            self.held = False

    def close(self) -> None:
        """Closing the file gives the turn back, whatever state the connection is in."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd, self.held = -1, False


# A write transaction's statements run on the event loop's thread until they have taken this
# long (seconds) in all, then on the connection's (``OneTripConnection._statement``); and
# an executemany of more rows than this always goes there.
INLINE_BUDGET = 0.005
INLINE_ROWS = 16


class OneTripCursor:
    """The part of ``aiosqlite.Cursor`` SQLAlchemy uses; the statement runs, is fetched and
    its cursor closed in one call on the connection's thread."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def _run(self, many: bool, sql: str, parameters: Any) -> None:  # on the thread
        connection = self._connection
        cursor = connection._conn.cursor()
        try:
            while connection._deferred:
                first = connection._deferred[0]
                if connection._turn is not None and first.startswith("BEGIN"):
                    connection._turn.take()
                cursor.execute(first)
                connection._deferred.pop(0)
            if many:
                cursor.executemany(sql, parameters)
            elif parameters is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, parameters)
            self.description = cursor.description
            self._rows = cursor.fetchall() if cursor.description else []
            self.rowcount, self.lastrowid = cursor.rowcount, cursor.lastrowid
        finally:
            cursor.close()

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        await self._connection._statement(self._run, False, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Any) -> OneTripCursor:
        await self._connection._statement(self._run, True, sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        count = size or self.arraysize
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def fetchall(self) -> Sequence[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *sizes: Any) -> None:
        return None


class OneTripConnection(aiosqlite.Connection):
    """``aiosqlite.Connection`` whose cursors make one trip per statement."""

    def __init__(
        self, *args: Any, turn: WriterTurn | None = None, writer: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._deferred: list[str] = []  # run on the thread before the next statement
        self._open = False  # a transaction is open (set on the thread after each statement)
        self._turn = turn  # taken at BEGIN, given back once no transaction is open
        self._writer = writer  # statements of an open transaction run on the loop's thread
        self._handed = self._returned = 0  # calls given to the thread, and run there
        self._inline_spent = 0.0  # seconds the open transaction has run on the loop's thread

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """aiosqlite's one door to the thread; notes there whether a transaction is left open
        (whatever ran: a statement, a commit, a failure SQLite rolled back itself)."""
        self._handed += 1
        return await super()._execute(self._noting(fn, *args, on_thread=True, **kwargs))

    async def _statement(self, fn: Any, many: bool, sql: str, parameters: Any) -> Any:
        """A statement: on the loop's thread if it belongs to a write transaction already
        begun (the write lock is ours; nothing else is using the connection), else on the
        connection's thread. Such statements take tens of microseconds; the trip to the
        thread and back cost more CPU than that, and let other tasks run while the lock was
        held: with two workers, p99 per survey step 1.5–6 s against 0.1–0.5 s (issue 12).
        ``BEGIN`` (which may wait for the turn or SQLite's lock), ``COMMIT`` (which may
        checkpoint or fsync), readers' statements, many rows at once, and whatever a
        transaction runs once ``INLINE_BUDGET`` of it has run here (scoring, publishing,
        an import) stay on the thread, so the loop is never held for long."""
        if (
            self._writer
            and self._open
            and not self._deferred
            and self._handed == self._returned  # the thread is idle (even after a cancel)
            and self._inline_spent < INLINE_BUDGET
            and not (many and len(parameters) > INLINE_ROWS)
            and self._running
            and self._connection is not None
        ):
            started = time.perf_counter()
            try:
                return self._noting(fn, many, sql, parameters)()
            finally:
                self._inline_spent += time.perf_counter() - started
        return await self._execute(fn, many, sql, parameters)

    def _noting(
        self, fn: Any, *args: Any, on_thread: bool = False, **kwargs: Any
    ) -> Callable[[], Any]:
        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                try:
                    self._open = self._conn.in_transaction
                except sqlite3.ProgrammingError:  # closed: nothing is open any more
                    self._open = False
                if not self._open:
                    self._inline_spent = 0.0
                    if self._turn is not None:
                        self._turn.give_back()
                if on_thread:
                    self._returned += 1

        return run

    def stop(self) -> Any:
        """Also on a forced close (SQLAlchemy's terminate): the turn's file is closed on the
        thread, after any statement in flight and before the connection."""
        if self._turn is not None:
            self._tx.put_nowait((None, self._turn.close))
        return super().stop()

    def defer(self, sql: str) -> None:
        """Run ``sql`` (no parameters, no rows) just before the next statement."""
        self._deferred.append(sql)

    async def commit(self) -> None:
        if not self._settle_deferred() and self._open:
            await super().commit()

    async def rollback(self) -> None:
        if not self._settle_deferred() and self._open:
            await super().rollback()

    def _settle_deferred(self) -> bool:
        """True when the transaction being ended never ran a statement (nothing to end).

        A ``PRAGMA synchronous`` deferred with it stays: the connection's setting
        (``infra.db`` remembers it as made) must still be applied."""
        begun = any(sql.startswith("BEGIN") for sql in self._deferred)
        self._deferred = [sql for sql in self._deferred if not sql.startswith("BEGIN")]
        return begun


def database_file(url: URL) -> Path | None:
    """The file of an SQLite ``url``, or None for a database that lives in one process only
    (the locks beside it, ``WriterTurn`` and the instance lock, need a file)."""
    database, mode = url.database, url.query.get("mode")
    if not database or database == ":memory:":
        return None
    if database.startswith("file:"):  # URI filename: the query (mode=memory…) is the URL's
        path = database[len("file:") :].partition("?")[0]
        if not path or path == ":memory:" or mode == "memory":
            return None
        return Path(path)
    return Path(database)


def creator(
    url: URL, *, writer: bool = False, turn_timeout: float = 0.0, **connect_args: Any
) -> Any:
    """``create_async_engine(async_creator=…)`` for ``url``: the arguments SQLAlchemy's
    dialect would give ``sqlite3.connect`` (a URI, ``uri=true``), plus ``connect_args``;
    ``writer``: its write transactions take turns with other processes' (``WriterTurn``),
    waiting up to ``turn_timeout`` seconds (at least the busy timeout) for one."""
    cargs, cparams = url.get_dialect()().create_connect_args(url)
    # the connection is used by its thread and, inside a write transaction, by the event
    # loop's (``OneTripConnection._statement``), never by both at once
    connect_args = {**connect_args, "check_same_thread": False}
    connector = functools.partial(sqlite3.connect, *cargs, **{**cparams, **connect_args})
    file = database_file(url)
    wait = max(float(connect_args.get("timeout", 5.0)), turn_timeout)

    async def connect() -> OneTripConnection:
        turn = WriterTurn(f"{file}.write-lock", wait) if writer and file else None
        connection = OneTripConnection(connector, 64, turn=turn, writer=writer)
        connection._thread.daemon = True  # as SQLAlchemy does: never keep the process alive
        await connection  # starts the thread and opens the database on it
        return connection

    return connect
