"""The storage contract: exact decimals and aware UTC timestamps on both databases; read
sessions that cannot write."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import sqlite3
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from infra.account_read import read_account
from infra.db import ReadOnlySessionError, SessionFactory, make_engine, make_readers
from infra.models import AuditEntry, TelegramAccount
from infra.models.types import ExactDecimal
from infra.outage import is_outage
from infra.sqlite_driver import creator


async def test_timestamps_come_back_aware_utc(sessions: SessionFactory) -> None:
    when = dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    async with sessions.begin() as s:
        s.add(AuditEntry(action="test", at=when))
    async with sessions() as s:
        row = await s.scalar(select(AuditEntry))
    assert row is not None
    assert row.at == when and row.at.tzinfo is not None and row.at.utcoffset() == dt.timedelta(0)


async def test_decimals_are_exact(sessions: SessionFactory) -> None:
    table = Table(
        "t_exact",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("v", ExactDecimal(9, 4)),
    )
    async with sessions.begin() as s:
        conn = await s.connection()
        await conn.run_sync(table.metadata.create_all)
        await s.execute(table.insert(), [{"v": Decimal("89.9950")}, {"v": "0.1"}])
    async with sessions() as s:
        values = (await s.execute(select(table.c.v).order_by(table.c.id))).scalars().all()
    assert values == [Decimal("89.9950"), Decimal("0.1000")]
    assert all(isinstance(v, Decimal) for v in values)


async def test_a_read_session_refuses_an_update_and_sees_each_commit(
    sessions: SessionFactory, db_url: str
) -> None:
    """Read sessions autocommit on PostgreSQL: an UPDATE through one would stick, so none runs."""
    engine = sessions.kw["bind"]
    # on SQLite the bot reads through an engine of its own (the writer has one connection)
    sqlite = engine.dialect.name == "sqlite"
    read_engine = make_engine(db_url, readonly=True) if sqlite else engine
    readers = make_readers(read_engine)
    async with sessions.begin() as s:
        s.add(TelegramAccount(telegram_id=77, language="en"))
    async with readers() as r:
        with pytest.raises(ReadOnlySessionError):
            await r.execute(update(TelegramAccount).values(language="zh_Hant"))
        assert await r.scalar(select(TelegramAccount.language)) == "en"
        async with sessions.begin() as s:
            (await s.get(TelegramAccount, 77)).language = "zh_Hans"  # type: ignore[union-attr]
        # no snapshot held across statements: the next read sees what committed meanwhile
        assert await r.scalar(select(TelegramAccount.language)) == "zh_Hans"
    if sqlite:
        await read_engine.dispose()


async def test_the_account_read_through_the_driver_is_the_one_a_session_loads(
    sessions: SessionFactory,
) -> None:
    """``infra.account_read`` skips the ORM for the read every update makes: same values,
    same types (aware UTC timestamps included), and None for a stranger."""
    bound = dt.datetime(2026, 3, 1, 0, 30, tzinfo=dt.UTC)
    async with sessions.begin() as s:
        s.add(TelegramAccount(telegram_id=2**40 + 7, language="zh_Hant", bound_at=bound))
    readers = make_readers(sessions.kw["bind"])
    engine = readers.kw["bind"]
    async with readers() as s:
        loaded = await s.get(TelegramAccount, 2**40 + 7)
        on_its_connection = await read_account(await s.connection(), 2**40 + 7)
    direct = await read_account(engine, 2**40 + 7)
    assert loaded is not None and direct is not None and on_its_connection is not None
    columns = [c.key for c in TelegramAccount.__mapper__.column_attrs]
    assert {c: getattr(direct, c) for c in columns} == {c: getattr(loaded, c) for c in columns}
    assert {c: getattr(on_its_connection, c) for c in columns} == {
        c: getattr(loaded, c) for c in columns
    }
    assert direct.bound_at == bound and direct.bound_at.tzinfo is not None
    assert direct.created_at.tzinfo is not None and direct.blocked_at is None
    assert await read_account(engine, 2**40 + 8) is None


def _turn_taken(database: Path) -> bool:
    """Whether some connection holds the writers' turn of ``database`` (infra.sqlite_driver)."""
    fd = os.open(f"{database}.write-lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@pytest.mark.nodb
async def test_sqlite_writers_of_two_engines_take_turns_and_give_them_back(
    tmp_path: Path,
) -> None:
    """Writers of several processes queue on ``<database>.write-lock`` from BEGIN to the end of
    the transaction, however it ends; one that waits past its limit fails as SQLite's
    own "database is locked" would (an outage to retry)."""
    database = tmp_path / "turns.db"
    url = f"sqlite+aiosqlite:///{database}"
    first = make_engine(url)
    impatient = make_engine(  # waits 0.2 s for its turn, not five minutes
        url, async_creator=creator(make_url(url), writer=True, turn_timeout=0.2, timeout=0.2)
    )
    try:
        async with first.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE t (x INTEGER PRIMARY KEY)")
        assert not _turn_taken(database)
        async with first.begin() as conn:
            await conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            assert _turn_taken(database)
            with pytest.raises(OperationalError, match="database is locked"):
                async with impatient.begin() as other:
                    await other.exec_driver_sql("INSERT INTO t VALUES (2)")
        assert not _turn_taken(database)  # committed
        with pytest.raises(IntegrityError):
            async with first.begin() as conn:
                await conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert not _turn_taken(database)  # failed and rolled back
        async with impatient.begin() as conn:
            await conn.exec_driver_sql("INSERT INTO t VALUES (2)")
            await conn.rollback()
        assert not _turn_taken(database)  # rolled back
        async with first.connect() as conn:
            assert [r[0] for r in await conn.exec_driver_sql("SELECT x FROM t")] == [1]
    finally:
        await first.dispose()
        await impatient.dispose()


@pytest.mark.nodb
def test_driver_errors_read_without_sqlalchemy_are_outages_too() -> None:
    """The account is read through the driver (``infra.account_read``): its "database is
    locked" or a server restarting must be held and retried like SQLAlchemy's, never taken
    for a bug in the step (which would be answered with an error and not retried)."""
    assert is_outage(sqlite3.OperationalError("database is locked"))
    assert is_outage(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    assert is_outage(asyncpg.exceptions.TooManyConnectionsError("too many clients"))
    assert not is_outage(sqlite3.IntegrityError("UNIQUE constraint failed"))
