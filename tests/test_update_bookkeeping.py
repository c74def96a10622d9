"""The per-update bookkeeping kept cheap: marks grouped across chats, one trip per statement."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, func, select, text
from sqlalchemy.exc import IntegrityError

from chat.done_marks import DoneMarks
from infra.db import make_engine
from infra.sqlite_driver import INLINE_ROWS

pytestmark = pytest.mark.nodb


async def test_marks_of_chats_that_finish_meanwhile_share_one_write() -> None:
    batches: list[tuple[int, ...]] = []
    writing, release = asyncio.Event(), asyncio.Event()

    async def write(ids: tuple[int, ...]) -> None:
        batches.append(ids)
        writing.set()
        if len(batches) == 1:
            await release.wait()  # the first batch is being written while others finish

    marks = DoneMarks(write)
    first = asyncio.create_task(marks.mark(1))
    await writing.wait()
    others = [asyncio.create_task(marks.mark(i)) for i in (2, 3, 4)]
    await asyncio.sleep(0)
    assert not any(t.done() for t in [first, *others])  # each waits for its own commit
    release.set()
    await asyncio.gather(first, *others)
    assert batches == [(1,), (2, 3, 4)]


async def test_a_failed_write_reaches_every_waiter_of_its_batch() -> None:
    async def write(ids: tuple[int, ...]) -> None:
        raise RuntimeError("database away")

    marks = DoneMarks(write)
    results = await asyncio.gather(marks.mark(1), marks.mark(2), return_exceptions=True)
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]


async def test_sqlite_statements_keep_their_results_in_one_trip(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/one.db")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("name", String))
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
            inserted = await conn.execute(table.insert().values(name="a"))
            assert inserted.inserted_primary_key == (1,)
            await conn.execute(table.insert(), [{"name": "b"}, {"name": "c"}])
            updated = await conn.execute(table.update().where(table.c.id > 1).values(name="x"))
            assert updated.rowcount == 2
        async with engine.connect() as conn:
            rows = (await conn.execute(select(table.c.name).order_by(table.c.id))).all()
            assert [r.name for r in rows] == ["a", "x", "x"]
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 3
        statements.clear()
        async with engine.begin():
            pass  # a transaction that runs nothing sends nothing, not even BEGIN
        assert statements == []
        async with engine.begin() as conn:  # and the next one still begins and commits
            await conn.execute(table.delete())
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 0
    finally:
        await engine.dispose()


async def test_a_write_transaction_runs_its_statements_on_the_loop_once_begun(
    tmp_path: Path,
) -> None:
    """BEGIN (which may wait for the write lock) travels with the first statement to the
    connection's thread, and COMMIT goes there too; the statements between, short and under
    the lock, run on the loop's thread; a reader's run on its connection's thread."""
    url = f"sqlite+aiosqlite:///{tmp_path}/threads.db"
    engine, readers = make_engine(url), make_engine(url, readonly=True)
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("name", String))
    seen: list[tuple[str, bool]] = []  # (statement, on the loop's thread)
    loop_thread = threading.get_ident()

    def trace(dbapi: Any, record: Any) -> None:
        raw = dbapi.driver_connection._conn  # the sqlite3 connection under aiosqlite's
        raw.set_trace_callback(
            lambda sql: seen.append((sql.split()[0], threading.get_ident() == loop_thread))
        )

    for each in (engine, readers):
        event.listen(each.sync_engine, "connect", trace)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
        seen.clear()
        async with engine.begin() as conn:
            await conn.execute(table.insert(), [{"name": "a"}, {"name": "b"}])
            await conn.execute(table.update().where(table.c.id == 2).values(name="x"))
            assert (await conn.execute(select(table.c.name).where(table.c.id == 2))).scalar() == "x"
        assert seen == [
            ("BEGIN", False),
            ("INSERT", False),
            ("INSERT", False),  # executemany: each row traced
            ("UPDATE", True),
            ("SELECT", True),
            ("COMMIT", False),
        ]
        seen.clear()
        async with engine.begin() as conn:  # many rows at once: on the thread, as a COMMIT
            await conn.execute(table.update().where(table.c.id == 0).values(name="-"))
            await conn.execute(table.insert(), [{"name": f"n{n}"} for n in range(INLINE_ROWS + 1)])
            await conn.execute(table.delete().where(table.c.id > 2))
        assert seen[:2] == [("BEGIN", False), ("UPDATE", False)]
        assert seen[2:] == [
            *[("INSERT", False)] * (INLINE_ROWS + 1),
            ("DELETE", True),
            ("COMMIT", False),
        ]
        seen.clear()
        async with readers.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(table))).scalar() == 2
        assert seen == [("SELECT", False)]
        with pytest.raises(IntegrityError):  # a failing statement on the loop: as on the thread
            async with engine.begin() as conn:
                await conn.execute(table.insert().values(id=3, name="c"))
                await conn.execute(table.insert().values(id=3, name="again"))
        async with engine.begin() as conn:  # rolled back whole; the write lock was given back
            assert (await conn.execute(select(func.count()).select_from(table))).scalar() == 2
    finally:
        await engine.dispose()
        await readers.dispose()
