"""One serving process per database: a file lock on SQLite, an advisory lock on PostgreSQL.

Two ``jixiao run`` on one database would both poll and both send, so every push could go
out twice. ``serve`` therefore holds a lock for as long as it serves:

- **SQLite**: an exclusive ``flock`` on ``<database>.lock`` for the process's lifetime. The
  database lives on this host, so there is nothing to fail over to: a second process refuses
  to start (``AlreadyServing``, one line from the CLI). The kernel drops the lock when the
  holder dies, however it dies.
- **PostgreSQL**: a session advisory lock (``pg_try_advisory_lock``) on a dedicated,
  unpooled connection. A second process is a hot standby: it retries every
  ``POLL_INTERVAL`` and starts serving once it holds the lock. PostgreSQL releases the lock
  when the holder's session ends: at once after ``kill -9`` (the kernel closes the socket);
  for a host that vanished without closing it, the session is ended after ``LEASE`` seconds
  without a ping (``idle_session_timeout``, PostgreSQL ≥ 14; TCP keepalives and
  ``tcp_user_timeout`` otherwise). The holder pings every ``PING_INTERVAL``; if a ping fails
  or the connection closes while the database still answers, the lock may already be
  someone else's: it takes the lock back on a new connection at once and, if another
  process holds it, stops serving *at once* (``on_lost``). A server restart faster than
  the holder noticed it, or a DBA's ``pg_terminate_backend``, thus costs nothing; a
  holder frozen past its lease finds the standby serving and stops. If the database itself
  is away (an outage), the holder holds all work with everyone else (``infra.outage``) and,
  when the database is back, serves again only once it holds the lock again; if a standby
  took it first, it stops.

Advisory locks are scoped to one database, so bots on different databases of one server
do not see each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from infra.sqlite_driver import database_file

log = logging.getLogger(__name__)

LOCK_KEY = int.from_bytes(b"jixiao", "big")  # one bigint key: one serving bot per database
POLL_INTERVAL = 1.0  # seconds between a standby's attempts
PING_INTERVAL = 1.0  # seconds between the holder's liveness checks of its lock connection
PING_TIMEOUT = 5.0  # a ping slower than this counts as a lost connection (well inside LEASE)
LEASE = 15  # seconds: PostgreSQL ends a lock session that sent nothing for this long
EXIT_ALREADY_SERVING = 3  # exit status of a second `jixiao run` on SQLite
EXIT_LOCK_LOST = 4  # exit status of a process that lost its lock while serving

_DB_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


_HELD_BY = """
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted
      AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid
      AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
_HOLDER = f"SELECT a.application_name, host(a.client_addr) AS addr {_HELD_BY}"  # for the log
# another session of this process (by its application name) holding the lock: counted, or
# ended (``_take_back``)
_OURS = f"SELECT count(*) {_HELD_BY} AND a.application_name = $2 AND l.pid <> pg_backend_pid()"
_END_OURS = (
    f"SELECT count(pg_terminate_backend(l.pid)) {_HELD_BY} "
    "AND a.application_name = $2 AND l.pid <> pg_backend_pid()"
)


class AlreadyServing(Exception):
    """Another process serves this SQLite database; ``pid`` names it when known."""

    def __init__(self, pid: int | None) -> None:
        super().__init__(f"another jixiao process is already serving this database (pid {pid})")
        self.pid = pid


class InstanceLockLost(Exception):
    """The lock was lost while serving (raised after an in-process ``serve`` stopped)."""


class InstanceLock:
    """The small interface ``serve`` uses: ``acquire``, ``release``, and ``lost``.

    This base class is the lock of a database no other process can open (in-memory SQLite).
    """

    def __init__(self) -> None:
        self.lost = False
        self._on_lost: Callable[[], None] = lambda: None
        # Probe the database now; on an outage hold all work and return the error, else None.
        self.on_suspect: Callable[[], Awaitable[BaseException | None]] | None = None
        # Hold all work, as in an outage, until ``reacquire`` has run (the database watch's
        # gate), for the reason given; False if work cannot be held now (then: stop).
        self.on_hold: Callable[[str], bool] | None = None

    async def acquire(self, stop: asyncio.Event, on_lost: Callable[[], None]) -> bool:
        """Hold the lock (waiting as a standby if needed); False if ``stop`` came first.

        ``on_lost`` is called, once, if the lock is lost while held.
        """
        self._on_lost = on_lost
        return True

    async def release(self) -> None:
        """Let a standby take over (also done by the operating system if we die)."""

    async def reacquire(self) -> None:
        """After a database outage, before work resumes: make sure the lock is still ours."""

    def _lose(self, why: str) -> None:
        if self.lost:
            return
        self.lost = True
        log.critical("lost the instance lock (%s): stopping at once", why)
        self._on_lost()


def instance_lock(database_url: str) -> InstanceLock:
    """The lock that fits ``database_url``."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return AdvisoryLock(database_url)
    path = database_file(url)
    return FileLock(path) if path is not None else InstanceLock()


def exit_now() -> None:
    """``on_lost`` of a real process: exit without finishing anything, since the standby may
    already be serving; what was in flight is recovered exactly as after ``kill -9``."""
    logging.shutdown()
    os._exit(EXIT_LOCK_LOST)


class FileLock(InstanceLock):
    """``flock`` on ``<database>.lock``; it holds the pid of the process that serves."""

    def __init__(self, database: Path) -> None:
        super().__init__()
        database = database.resolve()  # a symlink or another spelling locks the same file
        self.path = database.with_name(database.name + ".lock")
        self._fd: int | None = None

    async def acquire(self, stop: asyncio.Event, on_lost: Callable[[], None]) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise AlreadyServing(pid) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return await super().acquire(stop, on_lost)

    async def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock; the file stays (deleting it would race)
            self._fd = None


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


class AdvisoryLock(InstanceLock):
    """``pg_try_advisory_lock`` on a connection of its own (NullPool: never shared, never
    recycled by a pool), opened through SQLAlchemy so every URL option means the same as
    for the bot's engine."""

    def __init__(self, database_url: str) -> None:
        super().__init__()
        self.database_url = database_url
        # names this process's lock sessions, and only them (a random tag: hostnames and
        # pids repeat across containers); at most 63 characters, as application_name keeps
        # (the host in ASCII: the server would rewrite other bytes, and then never match)
        host = re.sub(r"[^A-Za-z0-9._-]", "?", socket.gethostname())[:30]
        self.name = f"jixiao@{host} pid {os.getpid()} #{secrets.token_hex(4)}"
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        self._raw: Any = None  # the asyncpg connection under self._conn
        self._watch: asyncio.Task[None] | None = None
        self._releasing = False
        self._suspect_task: asyncio.Task[None] | None = None
        self._needs_reacquire = False
        # one way at a time back to the lock: a new connection and pg_try_advisory_lock
        # (``_retake`` after a cut connection, ``reacquire`` after an outage)
        self._relocking = asyncio.Lock()

    async def acquire(self, stop: asyncio.Event, on_lost: Callable[[], None]) -> bool:
        waiting_since: float | None = None
        first = True
        unreachable = False
        while not stop.is_set():
            try:
                if self._raw is None or self._raw.is_closed():
                    await self._connect()
                if await self._try_lock():
                    break
                if unreachable:
                    log.info("standby: the database answers again")
                    unreachable = False
                if waiting_since is None:
                    waiting_since = time.monotonic()
                    log.info(
                        "another jixiao process is serving this database (%s); "
                        "standing by to take over",
                        await self._holder(),
                    )
            except _DB_ERRORS as exc:
                if first:
                    raise  # a wrong URL or password is an error to show, not a wait
                if not unreachable:  # once per outage, not once a second
                    log.warning("standby: the database is unreachable (%s); retrying", exc)
                    unreachable = True
                await self._close()
            first = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_INTERVAL)
        else:
            await self._close()
            return False
        if waiting_since is not None:
            log.info(
                "took over serving this database after standing by for %.0f s",
                time.monotonic() - waiting_since,
            )
        else:
            log.info("serving this database (holding its instance lock as %s)", self.name)
        await super().acquire(stop, on_lost)
        self._watch_connection()
        return True

    async def _try_lock(self) -> bool:
        return bool(
            await self._raw.fetchval(
                "SELECT pg_try_advisory_lock($1)", LOCK_KEY, timeout=PING_TIMEOUT
            )
        )

    def _watch_connection(self) -> None:
        """Notice at once if the lock's connection closes, and ping it meanwhile."""
        self._raw.add_termination_listener(self._closed)
        self._watch = asyncio.create_task(self._ping(), name="instance-lock")

    async def release(self) -> None:
        self._releasing = True
        if self._suspect_task is not None:
            self._suspect_task.cancel()
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        await self._close()  # ending the session releases the lock

    async def _connect(self) -> None:
        await self._close()
        self._engine = create_async_engine(
            self.database_url,
            poolclass=NullPool,
            connect_args={"server_settings": {"application_name": self.name}},
        )
        self._conn = await self._engine.connect()
        self._raw = (await self._conn.get_raw_connection()).driver_connection
        await self._lease()

    async def _lease(self) -> None:
        """Have the server end this session after ``LEASE`` s without a word from us, so a
        host that died without closing its socket does not hold the lock for hours."""
        version = self._raw.get_server_version()
        options = {
            "tcp_keepalives_idle": "5",
            "tcp_keepalives_interval": "2",
            "tcp_keepalives_count": str(max(1, (LEASE - 5) // 2)),
        }
        if version >= (12,):
            options["tcp_user_timeout"] = str(LEASE * 1000)
        if version >= (14,):
            options["idle_session_timeout"] = str(LEASE * 1000)
        for name, value in options.items():
            await self._raw.execute("SELECT set_config($1, $2, false)", name, value)

    async def _holder(self) -> str:
        """Who holds the lock, for the standby's log line (best effort)."""
        try:
            row = await self._raw.fetchrow(_HOLDER, LOCK_KEY, timeout=PING_TIMEOUT)
        except _DB_ERRORS:
            return "unknown"
        if row is None:
            return "unknown"
        return f"{row['application_name'] or 'unknown'} from {row['addr'] or 'a local socket'}"

    async def _ours_holds(self) -> bool:
        """Whether another session of this process holds the lock: our previous lock
        session, which the server has not yet seen us leave (a ping that timed out on a
        stalled link or server process, an outage that cut us off)."""
        return bool(await self._raw.fetchval(_OURS, LOCK_KEY, self.name, timeout=PING_TIMEOUT))

    async def _take_back(self) -> str | None:
        """``pg_try_advisory_lock`` on the new connection; while our own previous session
        holds the lock, end that session (``pg_terminate_backend``, allowed on one's own
        role) and try again, for up to ``LEASE`` seconds. Work is held meanwhile
        (``reacquire`` runs as the database watch's gate). None once the lock is ours, else
        why not: another process holds it, or our old session could not be ended."""
        try:
            return await self._take_back_polling()
        except Exception:
            if self._releasing:  # stopping: ``release`` closed the connection under us
                return "stopping"
            raise

    async def _take_back_polling(self) -> str | None:
        deadline = time.monotonic() + LEASE
        ended = False
        while not self._releasing:
            if await self._try_lock():
                return None
            try:
                ours = await self._raw.fetchval(
                    _OURS if ended else _END_OURS, LOCK_KEY, self.name, timeout=PING_TIMEOUT
                )
            except asyncpg.InsufficientPrivilegeError as exc:
                return (
                    f"our previous lock session, which holds the lock, could not be ended ({exc})"
                )
            if not ours:  # another process holds it, or it came free just now
                if await self._try_lock():
                    return None
                return "another process took the lock while our lock connection was gone"
            if not ended:
                log.warning(
                    "the instance lock is still held by this process's previous lock session, "
                    "which the server has not seen end: ended it, waiting for the lock"
                )
                ended = True
            if time.monotonic() > deadline:
                return f"our previous lock session still held the lock {LEASE} s after it was ended"
            await asyncio.sleep(0.1)
        return "stopping"

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(PING_INTERVAL)
            try:
                await self._raw.fetchval("SELECT 1", timeout=PING_TIMEOUT)
            except Exception as exc:  # any: a ping that died quietly would watch nothing
                # (a session ended by the server can leave asyncpg's protocol mid-error, and
                # the next query raises InternalClientError, not a connection error)
                self._suspect(f"{type(exc).__name__}: {exc}")
                return

    def _closed(self, _conn: object) -> None:
        if not self._releasing:
            self._suspect("its database connection closed")

    def _suspect(self, why: str) -> None:
        """The lock connection is gone: an outage, or the lock is lost (``_check`` decides)."""
        if self.lost or self._releasing or self._needs_reacquire or self._suspect_task:
            return
        self._suspect_task = asyncio.get_running_loop().create_task(
            self._check(why), name="instance-lock-check"
        )

    async def _check(self, why: str) -> None:
        """If the database answers, take the lock back on a new connection, or stop at once
        if another process holds it by now. If it does not (an outage), work is held until
        it returns and ``reacquire`` runs. Whatever fails here stops serving: a check that
        died silently would leave the process serving without its lock."""
        suspected = self._raw
        try:
            error = await self.on_suspect() if self.on_suspect is not None else None
            retaken = error is None and await self._retake(why, suspected)
        except Exception as exc:  # anything unforeseen: the safe side
            error, retaken = None, False
            why = f"{why}; then {type(exc).__name__}: {exc}"
        finally:
            self._suspect_task = None
        if error is None:
            if not retaken:
                self._lose(why)
            return
        self._needs_reacquire = True
        log.warning(
            "the instance lock's connection is gone during a database outage (%s); "
            "serving again only once the lock is ours again",
            why,
        )

    async def _retake(self, why: str, suspected: Any) -> bool:
        """The lock again, if nobody took it while its connection was gone: a server restart
        faster than we noticed it, or a killed session, is not a reason to stop serving.
        False if another process holds it, or if the database fails meanwhile (then nothing
        would take the lock back later: stopping is the safe side)."""
        async with self._relocking:
            if self._releasing or self.lost:
                return True  # nothing to keep: stopping already
            if self._raw is not suspected and not self._needs_reacquire:
                return True  # ``reacquire`` took it back on a new connection meanwhile
            if self._watch is not None:
                self._watch.cancel()
                self._watch = None
            try:
                await self._connect()
                if not await self._try_lock():
                    if await self._ours_holds():
                        # our own previous session holds it: no other process can, but one
                        # may the moment it ends; so hold all work until ``reacquire`` has
                        # the lock (starting up, nothing would release held work: stop)
                        reason = "the instance lock is still held by our previous lock session"
                        if self.on_hold is None or not self.on_hold(reason):
                            return False
                        self._needs_reacquire = True
                        return True
                    if not await self._try_lock():  # another process's, unless freed just now
                        return False
            except Exception as exc:  # SQLAlchemy wraps what asyncpg raises
                log.warning("could not take the lock back (%s: %s)", type(exc).__name__, exc)
                return False
            self._watch_connection()
        log.warning(
            "the instance lock's connection was gone (%s) but nobody had taken the lock: "
            "it is ours again, serving on",
            why,
        )
        return True

    async def reacquire(self) -> None:
        """Gate of the database watch: after an outage, take the lock back or stop.

        Outage errors propagate, so the watch keeps probing; work stays held meanwhile.
        """
        async with self._relocking:
            if self.lost or self._releasing:
                return
            if not self._needs_reacquire:
                try:  # the outage may have cut the lock's connection before anyone noticed
                    await self._raw.fetchval("SELECT 1", timeout=PING_TIMEOUT)
                    return
                except Exception:  # gone, closed here (None), or left mid-error (as _ping)
                    self._needs_reacquire = True
            if self._watch is not None:
                self._watch.cancel()
                self._watch = None
            await self._connect()
            if self._releasing:  # stopped meanwhile: no connection may hold the lock after
                await self._close()
                return
            why = await self._take_back()
            if self._releasing:
                await self._close()
                return
            if why is not None:
                self._lose(why)
                raise InstanceLockLost(why)
            self._needs_reacquire = False
            self._watch_connection()
            log.warning("the instance lock is ours again: serving")

    async def _close(self) -> None:
        conn, engine, raw = self._conn, self._engine, self._raw
        self._conn = self._engine = self._raw = None
        if conn is not None:
            # the connection may be dead already: closing it then fails, and that is fine
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), PING_TIMEOUT)
        if raw is not None and not raw.is_closed():
            raw.terminate()
        if engine is not None:
            await engine.dispose()
