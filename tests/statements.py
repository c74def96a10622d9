"""What a session's connection sends to the database, whichever way it goes.

Statements of the hot path go straight to the driver (``infra.direct_sql``), past
SQLAlchemy's ``before_cursor_execute``. SQLite's trace sees every statement; asyncpg's
query loggers see those sent with ``fetch``/``execute``/``executemany`` but not
SQLAlchemy's single statements (prepared), which its event sees. Transaction control
(BEGIN, COMMIT, ROLLBACK, PRAGMA) is left out: on SQLite a deferred BEGIN travels with
the first statement, and what a test counts is the work.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE")


@asynccontextmanager
async def sent(session: AsyncSession) -> AsyncIterator[list[str]]:
    """The statements sent on ``session``'s connection inside the block, in order."""
    conn = await session.connection()
    driver: Any = (await conn.get_raw_connection()).driver_connection
    seen: list[str] = []

    def note(sql: str) -> None:
        if not sql.lstrip().upper().startswith(_CONTROL):
            seen.append(sql)

    if conn.dialect.name == "postgresql":

        def logged(record: Any) -> None:
            note(record.query)

        def executed(*args: Any) -> None:  # conn, cursor, statement, params, context, many
            if not args[5]:  # SQLAlchemy's executemany is asyncpg's: logged there
                note(args[2])

        driver.add_query_logger(logged)
        event.listen(conn.sync_connection, "before_cursor_execute", executed)
        try:
            yield seen
            await asyncio.sleep(0)  # asyncpg calls its query loggers soon, not at once
        finally:
            driver.remove_query_logger(logged)
            event.remove(conn.sync_connection, "before_cursor_execute", executed)
    else:
        driver._conn.set_trace_callback(note)  # the sqlite3 connection under aiosqlite's
        try:
            yield seen
        finally:
            driver._conn.set_trace_callback(None)
