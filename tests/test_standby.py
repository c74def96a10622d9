"""One process serves a database; on PostgreSQL a second one waits as a hot standby.

Two ``jixiao run`` on one database would both poll and both send. On SQLite the second
refuses to start; on PostgreSQL it waits for the session advisory lock of the serving
process and takes over when that process dies (``infra.instance_lock``). The processes are
real ``python -m bot.cli run`` children, killed with SIGKILL as in ``test_restart``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import signal
import time
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.runner import serve
from domain.enums import OutboxStatus
from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.db import SessionFactory
from infra.instance_lock import (
    EXIT_LOCK_LOST,
    LEASE,
    LOCK_KEY,
    InstanceLockLost,
    instance_lock,
)
from infra.models import AuditEntry, InboxUpdate, OutboxMessage
from services import outbox
from tests.dbs import backend
from tests.factories import invite_code, make_org
from tests.harness import BotProcess, eventually, wait_for

pytestmark = pytest.mark.slow

SENDER_IN_FLIGHT = 8  # the bot's outbox sender concurrency: the documented duplicate window
BROADCAST_CHATS = 40
BROADCAST_EACH = 3
TAKEOVER_LIMIT = 5.0  # seconds, from the issue

postgres_only = pytest.mark.skipif(
    backend() != "postgresql",
    reason="a hot standby needs PostgreSQL; on SQLite a second process refuses (tested here too)",
)


def _process(server: FakeBotApi, settings: Settings, root: Path, name: str) -> BotProcess:
    workdir = root / name
    workdir.mkdir()
    return BotProcess(server, settings, workdir)


async def _serving(server: FakeBotApi, proc: BotProcess) -> None:
    """Wait until ``proc`` long-polls (the local server counts every getUpdates)."""
    before = int(server.stats.requests.get("getUpdates", 0))
    await proc.start()
    await wait_for(
        lambda: server.stats.requests.get("getUpdates", 0) > before or proc.proc.poll() is not None,  # type: ignore[union-attr]
        60,
    )
    assert proc.proc is not None and proc.proc.poll() is None, proc.output()[-3000:]


async def _nothing_owed(sessions: SessionFactory) -> bool:
    async with sessions() as s:
        owed = await s.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.replied_at.is_(None))
        )
        return owed == 0


async def _all_sent(sessions: SessionFactory) -> bool:
    async with sessions() as s:
        left = await s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status != OutboxStatus.SENT)
        )
        return left == 0


async def _binds(sessions: SessionFactory) -> int:
    async with sessions() as s:
        return int(
            await s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "account.bind")
            )
            or 0
        )


def _logged_at(output: str, marker: str) -> float | None:
    """Wall-clock time of the first log line containing ``marker`` (logging's asctime)."""
    for line in output.splitlines():
        if marker in line:
            found = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})", line)
            if found:
                stamp = dt.datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S")
                return stamp.timestamp() + int(found.group(2)) / 1000
    return None


async def test_second_process_on_sqlite_refuses_with_one_line(
    server: FakeBotApi, bot_settings: Settings, tmp_path: Path
) -> None:
    """On SQLite (any test backend: this test brings its own file) the second ``run`` exits."""
    database = tmp_path / "data" / "jixiao.db"
    settings = bot_settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{database}"})
    first = _process(server, settings, tmp_path, "first")
    second = _process(server, settings, tmp_path, "second")
    try:
        await _serving(server, first)
        await second.start()
        status = await second.wait_exit(120)
        lines = [line for line in second.output().splitlines() if line.strip()]
        assert status not in (0, None), second.output()
        assert len(lines) == 1, second.output()
        assert str(first.proc.pid) in lines[0]  # type: ignore[union-attr]
        assert "jixiao" in lines[0]
        # the first one is unharmed and still answers
        user = server.user(6101, language_code="zh-hans")
        await user.send("/help")
        await user.expect_text("/language", timeout=120)
        assert first.proc.poll() is None  # type: ignore[union-attr]
    finally:
        await second.stop()
        await first.stop()


async def _broadcast(sessions: SessionFactory, chats: list[int]) -> None:
    async with sessions.begin() as s:
        for n in range(BROADCAST_EACH):
            for chat in chats:
                await outbox.enqueue(s, chat, f"通知 {n + 1}/{BROADCAST_EACH}")


@postgres_only
async def test_standby_takes_over_mid_conversation_and_mid_broadcast(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    active = _process(server, bot_settings, tmp_path, "a")
    standby = _process(server, bot_settings, tmp_path, "b")
    await make_org(sessions)
    code = await invite_code(sessions, "A002")
    user = server.user(6001, language_code="zh-hans")
    citizens = [server.user(6200 + n, language_code="zh-hans") for n in range(5)]
    readers = [server.user(710_000 + n, language_code="zh-hans") for n in range(BROADCAST_CHATS)]
    try:
        await _serving(server, active)
        await standby.start()
        await wait_for(lambda: "standing by" in standby.output(), 60)
        assert standby.proc.poll() is None  # type: ignore[union-attr]

        # a conversation at its confirmation step, served by the active process
        await user.send(f"/start {code}")
        await user.expect_text("请确认", timeout=120)
        await eventually(lambda: _nothing_owed(sessions), 120)
        assert "took over" not in standby.output()

        # a broadcast under Telegram's limits, killed part way
        server.set_rate_limits(global_per_second=30, per_chat_per_second=1, retry_after=1)
        await _broadcast(sessions, [r.id for r in readers])
        total = BROADCAST_CHATS * BROADCAST_EACH

        def delivered() -> int:
            return sum(len(r.messages) for r in readers)

        await wait_for(lambda: delivered() >= total // 4, 60)
        for citizen in citizens:  # updates the dying process may have fetched, or not
            await citizen.send("/help")
        active.kill()
        killed_at = time.time()
        at_kill = delivered()
        assert at_kill < total, "the kill came too late to test anything"

        await user.press_button("是我本人")
        await wait_for(lambda: "took over" in standby.output(), 60)
        took_over = _logged_at(standby.output(), "took over")
        assert took_over is not None
        takeover = took_over - killed_at
        await user.expect_text("绑定成功", timeout=120)
        answered = time.time() - killed_at
        for citizen in citizens:
            await citizen.expect_text("/language", timeout=120)
        await wait_for(
            lambda: all(len(r.messages) >= BROADCAST_EACH for r in readers), 120, interval=0.1
        )

        duplicates = sum(len(r.messages) - BROADCAST_EACH for r in readers)
        helps = [sum("/language" in (m.text or "") for m in c.messages) for c in citizens]
        print(
            f"\nstandby: took over {takeover:.2f} s after SIGKILL, answered the conversation "
            f"{answered:.2f} s after it; broadcast {at_kill}/{total} delivered at the kill, "
            f"{duplicates} duplicates; {sum(helps) - len(helps)} replies sent twice"
        )
        assert takeover <= TAKEOVER_LIMIT, standby.output()[-3000:]
        assert duplicates <= SENDER_IN_FLIGHT
        # a reply that died with the process is sent again at recovery (README): at most once more
        assert all(1 <= n <= 2 for n in helps), helps
        for reader in readers:  # every message, in order, none lost
            texts = [m.text for m in reader.messages]
            assert sorted(set(texts)) == [
                f"通知 {n + 1}/{BROADCAST_EACH}" for n in range(BROADCAST_EACH)
            ]
        # each message delivered is recorded as sent once Telegram's answer is back: soon
        await eventually(lambda: _all_sent(sessions), 60)
        assert await _binds(sessions) == 1
        assert sum("绑定成功" in (m.text or "") for m in user.messages) == 1
        await eventually(lambda: _nothing_owed(sessions), 120)
    finally:
        await standby.stop()
        await active.stop()


def _dsn(settings: Settings) -> str:
    return (
        make_url(settings.database_url)
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


_OUR_LOCK = """
    l.locktype = 'advisory' AND l.classid = ($1::bigint >> 32)::oid
    AND l.objid = ($1::bigint & 4294967295)::oid AND l.objsubid = 1
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


async def _kill_the_lock_session(settings: Settings, *, take_it: bool) -> asyncpg.Connection:
    """End the serving process's lock session, as a DBA's ``pg_terminate_backend`` or a
    partition would; ``take_it``: another process got there first, played by a connection
    queued for the lock before the kill, so it is granted the lock as the session ends and
    holds it (returned) before the holder can try to take it back."""
    conn = await asyncpg.connect(_dsn(settings))
    waiting = None
    if take_it:
        waiting = asyncio.create_task(conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY))
        killer = await asyncpg.connect(_dsn(settings))
    else:
        killer = conn
    try:
        if waiting is not None:  # queued behind the holder, not yet granted
            await eventually(lambda: _queued(killer), 30)
        killed = await killer.fetchval(
            f"SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l "
            f"WHERE l.granted AND {_OUR_LOCK}",
            LOCK_KEY,
        )
        assert killed == 1
        if waiting is not None:
            await asyncio.wait_for(waiting, 60)
    finally:
        if killer is not conn:
            await killer.close()
    return conn


async def _queued(conn: asyncpg.Connection) -> bool:
    waiting = await conn.fetchval(
        f"SELECT count(*) FROM pg_locks l WHERE NOT l.granted AND {_OUR_LOCK}", LOCK_KEY
    )
    return bool(waiting)


async def _lock_holders(settings: Settings) -> list[str]:
    conn = await asyncpg.connect(_dsn(settings))
    try:
        rows = await conn.fetch(
            f"SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            f"WHERE l.granted AND {_OUR_LOCK}",
            LOCK_KEY,
        )
        return [r["application_name"] for r in rows]
    finally:
        await conn.close()


@postgres_only
async def test_active_whose_lock_was_taken_while_its_connection_was_gone_stops_serving(
    server: FakeBotApi, bot_settings: Settings, tmp_path: Path
) -> None:
    """Should the lock's connection die (a partition, a DBA's pg_terminate_backend) and
    another process take the lock before the holder takes it back, the holder stops at once
    and exits non-zero, so two never serve together; the standby then takes over."""
    active = _process(server, bot_settings, tmp_path, "a")
    standby = _process(server, bot_settings, tmp_path, "b")
    try:
        await _serving(server, active)
        await standby.start()
        await wait_for(lambda: "standing by" in standby.output(), 60)
        thief = await _kill_the_lock_session(bot_settings, take_it=True)
        started = asyncio.get_running_loop().time()
        try:
            assert await active.wait_exit(120) != 0
        finally:
            await thief.close()  # the lock is free again: the standby's turn
        stopped = asyncio.get_running_loop().time() - started
        assert "lost" in active.output()
        await wait_for(lambda: "took over" in standby.output(), 60)
        user = server.user(6102, language_code="zh-hans")
        await user.send("/help")
        await user.expect_text("/language", timeout=120)
        print(
            f"\nlock taken while its connection was gone: the holder exited after {stopped:.2f} s"
        )
    finally:
        await standby.stop()
        await active.stop()


@postgres_only
async def test_active_whose_lock_connection_is_killed_takes_the_lock_back_and_serves_on(
    server: FakeBotApi, bot_settings: Settings, tmp_path: Path
) -> None:
    """Nobody took the lock while its connection was gone (a restarted server, a killed
    session): the holder takes it back on a new connection and serves on, without a word
    to its users; the lock has one holder, this process."""
    active = _process(server, bot_settings, tmp_path, "a")
    try:
        await _serving(server, active)
        await (await _kill_the_lock_session(bot_settings, take_it=False)).close()
        await wait_for(lambda: "ours again" in active.output(), 60)
        user = server.user(6104, language_code="zh-hans")
        await user.send("/help")
        await user.expect_text("/language", timeout=120)
        assert active.proc is not None and active.proc.poll() is None
        assert "lost the instance lock" not in active.output()
        holders = await _lock_holders(bot_settings)
        assert len(holders) == 1 and holders[0].startswith("jixiao@")  # (cut at 63 characters)
    finally:
        await active.stop()


async def _lock_session_pid(settings: Settings) -> int:
    """The server process of the lock's session; on this host (the test signals it)."""
    conn = await asyncpg.connect(_dsn(settings))
    try:
        pid = await conn.fetchval(
            f"SELECT l.pid FROM pg_locks l WHERE l.granted AND {_OUR_LOCK}", LOCK_KEY
        )
    finally:
        await conn.close()
    assert pid is not None
    if not _local_postgres(pid):
        pytest.skip("the PostgreSQL server is not a process of this host")
    return int(pid)


def _local_postgres(pid: int) -> bool:
    comm = Path(f"/proc/{pid}/comm")
    return comm.exists() and comm.read_text().startswith("postgres")


def _sigterm_pending(pid: int) -> bool:
    """Whether ``pid`` has a SIGTERM waiting (``pg_terminate_backend`` sends one)."""
    status = Path(f"/proc/{pid}/status").read_text()
    masks = re.findall(r"^(?:SigPnd|ShdPnd):\s*([0-9a-f]+)$", status, re.MULTILINE)
    return any(int(mask, 16) & (1 << (signal.SIGTERM - 1)) for mask in masks)


@postgres_only
async def test_active_whose_lock_session_hangs_ends_it_and_serves_on(
    server: FakeBotApi, bot_settings: Settings, tmp_path: Path
) -> None:
    """A ping that times out while the lock's session lives on (a stalled link or server
    process: played by SIGSTOP on that server process): the holder connects again, finds
    its own previous session still holding the lock, holds its work, ends that session
    (the stopped server process has the SIGTERM pending) and, once the lock is free, takes
    it and serves on, instead of stopping as if another process held it."""
    active = _process(server, bot_settings, tmp_path, "a")
    stalled: int | None = None
    try:
        await _serving(server, active)
        stalled = await _lock_session_pid(bot_settings)
        os.kill(stalled, signal.SIGSTOP)
        pid = stalled
        await wait_for(
            lambda: _sigterm_pending(pid) or active.proc.poll() is not None,  # type: ignore[union-attr]
            120,
        )
        assert active.proc is not None and active.proc.poll() is None, active.output()[-3000:]
        assert "holding work" in active.output()
        os.kill(stalled, signal.SIGCONT)  # the server process wakes to its pending SIGTERM
        stalled = None
        await wait_for(lambda: "ours again" in active.output(), 60)
        user = server.user(6105, language_code="zh-hans")
        await user.send("/help")
        await user.expect_text("/language", timeout=120)
        assert active.proc.poll() is None
        assert "lost the instance lock" not in active.output()
        holders = await _lock_holders(bot_settings)
        assert len(holders) == 1 and holders[0].startswith("jixiao@")
    finally:
        if stalled is not None:
            os.kill(stalled, signal.SIGCONT)
        await active.stop()


@postgres_only
async def test_frozen_active_loses_its_lease_and_exits_when_it_wakes(
    server: FakeBotApi, bot_settings: Settings, tmp_path: Path
) -> None:
    """A host that vanished without closing its socket, played by SIGSTOP: PostgreSQL ends
    the silent lock session after the lease, the standby takes over, and the old process,
    thawed, finds its lock gone and exits instead of serving beside the new one."""
    active = _process(server, bot_settings, tmp_path, "a")
    standby = _process(server, bot_settings, tmp_path, "b")
    try:
        await _serving(server, active)
        await standby.start()
        await wait_for(lambda: "standing by" in standby.output(), 60)
        active.proc.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]
        frozen_at = time.time()
        await wait_for(lambda: "took over" in standby.output(), LEASE + 60, interval=0.1)
        took_over = _logged_at(standby.output(), "took over")
        assert took_over is not None
        user = server.user(6103, language_code="zh-hans")
        await user.send("/help")
        await user.expect_text("/language", timeout=120)
        active.proc.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
        assert await active.wait_exit(120) == EXIT_LOCK_LOST
        assert "lost the instance lock" in active.output()
        print(f"\nfrozen active: the standby took over {took_over - frozen_at:.1f} s after SIGSTOP")
        assert took_over - frozen_at >= LEASE - 1  # not before the lease ran out
    finally:
        if active.proc is not None and active.proc.poll() is None:
            active.proc.send_signal(signal.SIGCONT)
        await standby.stop()
        await active.stop()


@postgres_only
async def test_embedded_bot_that_loses_its_lock_stops_and_says_so(
    server: FakeBotApi, bot_settings: Settings
) -> None:
    """``serve`` inside another program (the demo, these tests) cannot exit the process: when
    another process took its lock, it stops serving and raises ``InstanceLockLost`` instead."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(bot_settings, stop=stop, migrate=False, poll_timeout=1))
    try:
        await wait_for(lambda: server.stats.requests.get("getUpdates", 0) > 0 or task.done(), 120)
        thief = await _kill_the_lock_session(bot_settings, take_it=True)
        try:
            with pytest.raises(InstanceLockLost):
                await asyncio.wait_for(task, 120)
        finally:
            await thief.close()
        assert stop.is_set()
    finally:
        stop.set()
        if not task.done():
            await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 120)


@pytest.mark.parametrize(
    ("url", "kind", "lock_file"),
    [
        (
            "sqlite+aiosqlite:////srv/jixiao/data/jixiao.db",
            "FileLock",
            "/srv/jixiao/data/jixiao.db.lock",
        ),
        ("sqlite+aiosqlite:///data/jixiao.db", "FileLock", "data/jixiao.db.lock"),
        ("sqlite+aiosqlite://", "InstanceLock", None),
        ("sqlite+aiosqlite:///:memory:", "InstanceLock", None),
        ("sqlite+aiosqlite:///file:shared?mode=memory&cache=shared&uri=true", "InstanceLock", None),
        ("postgresql+asyncpg://jixiao@db-host/jixiao", "AdvisoryLock", None),
    ],
)
def test_each_database_gets_the_lock_that_fits_it(
    url: str, kind: str, lock_file: str | None
) -> None:
    """A database only this process can open (in memory) needs no lock at all."""
    lock = instance_lock(url)
    assert type(lock).__name__ == kind
    if lock_file is not None:
        # resolved, so a symlink or a relative spelling locks the same file
        assert lock.path == Path(lock_file).resolve()  # type: ignore[attr-defined]
