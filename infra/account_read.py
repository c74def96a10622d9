"""The caller's account, read once for every update, through the driver rather than the ORM.

Every update reads its caller's ``telegram_account`` row (binding, language). Through a
session that read costs about 0.6 ms of CPU on PostgreSQL, nearly all of it SQLAlchemy's
(the driver's own part is a twentieth); the same row read from a pooled connection's driver
costs about 0.17 ms (issue 12). The row is converted by the columns' own result processors,
so the values are exactly those a session would load, and returned as a transient
``TelegramAccount``: read-only, as everything from a read session is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infra.models import TelegramAccount

_TABLE = TelegramAccount.__table__
_NAMES = [column.name for column in _TABLE.columns]
_SQL = f"SELECT {', '.join(_NAMES)} FROM {TelegramAccount.__tablename__} WHERE telegram_id = "
_PARAM = {"postgresql": "$1", "sqlite": "?"}  # the drivers' own parameter styles

Processors = list[tuple[str, Callable[[Any], Any] | None]]
_processors: dict[str, Processors] = {}  # by dialect name, built at the first read


async def read_account(
    source: AsyncEngine | AsyncConnection, telegram_id: int
) -> TelegramAccount | None:
    """The account of ``telegram_id`` as a session would load it, or None for a stranger.

    ``source``: the read sessions' engine (autocommit on PostgreSQL, no BEGIN on SQLite),
    or the connection of a read session already open, so one update never holds two."""
    dialect = source.dialect
    if isinstance(source, AsyncEngine):
        async with source.connect() as conn:
            row = await _fetch(conn, telegram_id)
    else:
        row = await _fetch(source, telegram_id)
    if row is None:
        return None
    processors = _processors.get(dialect.name)
    if processors is None:
        processors = _processors[dialect.name] = [
            (c.name, c.type.dialect_impl(dialect).result_processor(dialect, None))
            for c in _TABLE.columns
        ]
    return TelegramAccount(
        **{
            name: process(value) if process is not None else value
            for (name, process), value in zip(processors, tuple(row), strict=True)
        }
    )


async def _fetch(conn: AsyncConnection, telegram_id: int) -> Any:
    sql = _SQL + _PARAM[conn.dialect.name]
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    if conn.dialect.name == "postgresql":
        return await driver.fetchrow(sql, telegram_id)
    cursor = driver.cursor()  # infra.sqlite_driver's: one trip to the thread
    await cursor.execute(sql, (telegram_id,))
    return await cursor.fetchone()
