"""Database outages: hold work while the database is away, give up past a limit.

Every part of the bot that writes (intake, dispatch, outbox, periodic jobs) reports a failed
database call to one ``DatabaseWatch`` and waits for it; the watch probes the database with
back-off and lets them all continue once it answers again. An outage longer than
``JIXIAO_DB_OUTAGE_LIMIT`` seconds raises ``DatabaseOutage`` from ``DatabaseWatch.run``, which
stops the process with a non-zero status so its supervisor (systemd) restarts it: a process
that is running but answers no one is the one state we must never be in.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import asyncpg
import httpx
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import TelegramError

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_RETRY = 0.1  # seconds before the first probe; doubled up to MAX_RETRY
MAX_RETRY = 2.0
PROBE_TIMEOUT = 10.0  # a connect to a black-holed host can hang far longer than this
MAX_FAILURES = 5  # one call failing this often while probes succeed is a bug, not an outage


EXIT_DATABASE_OUTAGE = 75  # EX_TEMPFAIL: try again later (systemd's Restart= does)


class DatabaseOutage(Exception):
    """The database stayed unreachable past the configured limit."""


class Stopping(Exception):
    """The bot is shutting down while the database is away: leave the work for the next start."""


def is_outage(error: BaseException | None) -> bool:
    """True for "cannot reach or use the database now" (retry later), not for bugs or conflicts."""
    for exc in _chain(error):
        if isinstance(exc, sa_exc.IntegrityError | sa_exc.ProgrammingError):
            return False
        if isinstance(exc, TelegramError | httpx.HTTPError):
            return False  # Telegram unreachable (its cause may be an OSError): not ours to hold
        if isinstance(
            exc,
            sa_exc.OperationalError  # SQLite "database is locked", "unable to open", disk I/O
            | sa_exc.InterfaceError
            | sa_exc.DisconnectionError
            | sa_exc.TimeoutError  # pool exhausted while connections hang
            | sqlite3.OperationalError  # the same, from a read through the driver (account_read)
            | asyncpg.PostgresConnectionError
            | asyncpg.InterfaceError
            | asyncpg.CannotConnectNowError
            | asyncpg.exceptions.OperatorInterventionError  # the server restarting, shut down
            | asyncpg.exceptions.TooManyConnectionsError
            | OSError,  # connection refused / reset; TimeoutError is one too
        ):
            return True
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return True
    return False


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def describe(error: BaseException) -> str:
    """One line for the log: the innermost cause, without SQL or a traceback."""
    inner = list(_chain(error))[-1]
    text = str(inner).splitlines()[0] if str(inner) else ""
    return f"{type(inner).__name__}: {text}" if text else type(inner).__name__


class DatabaseWatch:
    """Whether the database answers; while it does not, one probe runs with back-off."""

    def __init__(self, engine: AsyncEngine, limit: float) -> None:
        self.engine = engine
        self.limit = limit
        self._up = asyncio.Event()
        self._up.set()
        self._down = asyncio.Event()
        self._closed = False
        self._since: float | None = None
        # Run after a successful probe, before work resumes (the instance lock is re-taken
        # there); an outage error from it means "still down".
        self.gate: Callable[[], Awaitable[None]] | None = None
        self._running = False  # ``run`` probes: only then can held work be released

    @property
    def up(self) -> bool:
        return self._up.is_set()

    def failed(self, error: BaseException) -> None:
        """A database call failed with an outage: hold work until a probe succeeds."""
        self._hold(
            "database unavailable (%s): holding work and retrying for up to %.0f s",
            describe(error),
            self.limit,
        )

    def hold(self, why: str) -> bool:
        """Hold work until a probe succeeds and the gate has run, for a reason other than a
        failed call (the instance lock's previous session still holding it). False, holding
        nothing, while ``run`` is not probing yet (starting up): nothing would release it."""
        if not self._running:
            return False
        self._hold("holding work: %s", why)
        return True

    def _hold(self, message: str, *args: object) -> None:
        if self._up.is_set():
            self._since = time.monotonic()
            self._up.clear()
            self._down.set()
            log.warning(message, *args)

    def close(self) -> None:
        """Shutting down: waiters give up (their work stays stored for the next start)."""
        self._closed = True
        self._up.set()

    async def wait_up(self) -> None:
        """Return once the database answers; ``Stopping`` if the bot stops meanwhile."""
        await self._up.wait()
        if self._closed and self._since is not None:
            raise Stopping

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation`` until it gets through an outage (other errors propagate)."""
        failures = 0
        while True:
            await self.wait_up()
            try:
                return await operation()
            except Exception as exc:
                failures += 1
                if not is_outage(exc) or failures >= MAX_FAILURES:
                    raise
                self.failed(exc)

    async def run(self, stop: asyncio.Event) -> None:
        """Probe while the database is down; ``DatabaseOutage`` once down past the limit."""
        self._running = True
        try:
            while not stop.is_set():
                await _first(self._down.wait(), stop.wait())
                if stop.is_set():
                    return
                await self._recover(stop)
        finally:
            self._running = False

    async def check(self) -> BaseException | None:
        """Probe now: on an outage hold all work (as ``failed``) and return the error."""
        try:
            await asyncio.wait_for(self._probe(), PROBE_TIMEOUT)
        except Exception as exc:
            if not is_outage(exc) and not isinstance(exc, TimeoutError):
                raise
            self.failed(exc)
            return exc
        return None

    async def wait_reachable(self, stop: asyncio.Event) -> None:
        """At start-up: wait up to the limit for the database (a supervisor may start us first)."""
        if await self.check() is not None:
            await self._recover(stop)

    async def _recover(self, stop: asyncio.Event) -> None:
        delay = FIRST_RETRY
        assert self._since is not None
        while not stop.is_set():
            await _first(asyncio.sleep(delay), stop.wait())
            try:
                await asyncio.wait_for(self._probe(), PROBE_TIMEOUT)
                if self.gate is not None:
                    await self.gate()
            except Exception as exc:
                if not is_outage(exc) and not isinstance(exc, TimeoutError):
                    raise
                down_for = time.monotonic() - self._since
                if down_for > self.limit:
                    log.critical(
                        "database unreachable for %.0f s, longer than JIXIAO_DB_OUTAGE_LIMIT=%.0f s "
                        "(%s): exiting so the supervisor restarts jixiao",
                        down_for,
                        self.limit,
                        describe(exc),
                    )
                    raise DatabaseOutage(describe(exc)) from exc
                delay = min(delay * 2, MAX_RETRY)
                continue
            log.warning("database is back after %.1f s", time.monotonic() - self._since)
            self._since = None
            self._down.clear()
            self._up.set()
            return

    async def _probe(self) -> None:
        # A write transaction (BEGIN IMMEDIATE on SQLite): a database locked by another
        # process is as unusable for intake as one that refuses connections.
        async with self.engine.begin() as conn:
            await conn.exec_driver_sql("SELECT 1")


async def _first(*waits: Awaitable[object]) -> None:
    """Wait until the first of ``waits`` completes, cancelling the others."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
