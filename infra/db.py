"""Engine, sessions and migrations: one short transaction per user event (STYLE: SQLAlchemy anchor)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session

from infra import sqlite_driver

MIGRATIONS = Path(__file__).with_name("migrations")

SessionFactory = async_sessionmaker[AsyncSession]

# How long a writer waits for another process's lock (a CLI command, a backup) before the
# statement fails. Past it the failure is an outage (``infra.outage``): logged and retried.
SQLITE_BUSY_MS = 5000
# How long a writer waits for its turn: for this process's one writing connection, or for
# the write lock that writers of several processes share (``infra.sqlite_driver``).
SQLITE_WRITER_WAIT = 300
# Execution option: on SQLite, fsync this transaction's commit (synchronous=FULL). The inbox
# uses it, since its commit is what lets Telegram forget an update.
DURABLE = "jixiao_durable"


def make_engine(url: str, *, readonly: bool = False, **kwargs: Any) -> AsyncEngine:
    """An engine for ``url``.

    SQLite allows one writer at a time. Rather than letting writers collide and sleep
    in SQLite's busy handler (back-off up to 100 ms), the writing engine holds a single
    connection, so writers wait their turn in the pool's fair queue; a ``readonly``
    engine has its own connections, which read WAL snapshots without waiting.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = kwargs.pop("connect_args", {"timeout": SQLITE_BUSY_MS / 1000})
        kwargs.setdefault(
            "async_creator",
            sqlite_driver.creator(
                parsed, writer=not readonly, turn_timeout=SQLITE_WRITER_WAIT, **connect_args
            ),
        )
        if readonly:
            # as many as the dispatcher runs updates at once (16): an overflow connection
            # is closed when returned, and opening one starts a thread and a database
            kwargs.setdefault("pool_size", 16)
            kwargs.setdefault("execution_options", {"jixiao_readonly": True})
        else:
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
            kwargs.setdefault("pool_timeout", SQLITE_WRITER_WAIT)
        engine = create_async_engine(url, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, record: Any) -> None:
            # Let SQLAlchemy's "begin" hook below issue BEGIN itself (pysqlite's own is deferred).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            cur.close()
            record.info["synchronous"] = "NORMAL"

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Connection) -> None:
            # Writers take the write lock at BEGIN, so a read-then-write transaction never
            # fails half way with "database is locked"; readers (make_readers) don't block.
            # Sent with the transaction's first statement (sqlite_driver: one trip, not two).
            options = conn.get_execution_options()
            if options.get("jixiao_readonly"):
                # No BEGIN: each read is its own snapshot, as in PostgreSQL's READ COMMITTED
                # (make_readers), and there is no ROLLBACK to send at the end (sqlite_driver).
                return
            driver = conn.connection.dbapi_connection._connection  # type: ignore[union-attr]
            assert isinstance(driver, sqlite_driver.OneTripConnection)
            # WAL with synchronous=NORMAL survives a crash of the process but may lose the
            # last commits in a power loss; a DURABLE transaction is fsynced at its commit
            # (and with it everything committed before it).
            level = "FULL" if options.get(DURABLE) else "NORMAL"
            info = conn.connection.info
            if info.get("synchronous") != level:
                driver.defer(f"PRAGMA synchronous={level}")
                info["synchronous"] = level
            driver.defer("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    # No pool_pre_ping: on asyncpg it is three round trips (BEGIN, a ping, ROLLBACK) at every
    # checkout, some 40% of the database work of an update. A connection that died meanwhile
    # (a restarted server) fails its first statement instead; SQLAlchemy then invalidates the
    # whole pool, and the failure is an outage (infra.outage) that the caller retries.
    return create_async_engine(url, **kwargs)


def make_sessions(engine: AsyncEngine) -> SessionFactory:
    """Sessions for work that writes: one short transaction per user event."""
    return async_sessionmaker(engine, expire_on_commit=False)


class ReadOnlySession(Session):
    """A session that refuses to flush: a change made through it would never be committed."""


class ReadOnlySessionError(RuntimeError):
    """Something tried to write through a read session; writes belong in a transaction."""


@event.listens_for(ReadOnlySession, "before_flush")
def _refuse_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    raise ReadOnlySessionError(
        "a read session cannot write; use the update's transaction (context.transaction())"
    )


@event.listens_for(ReadOnlySession, "do_orm_execute")
def _refuse_dml(state: ORMExecuteState) -> None:
    # on PostgreSQL a read session autocommits (make_readers): an UPDATE would stick
    if state.is_insert or state.is_update or state.is_delete:
        raise ReadOnlySessionError(
            "a read session cannot write; use the update's transaction (context.transaction())"
        )


def make_readers(engine: AsyncEngine) -> SessionFactory:
    """Sessions that only read: on SQLite they do not queue behind writers (WAL snapshots).

    Each statement reads its own snapshot: on PostgreSQL they autocommit (a read in READ
    COMMITTED sees, statement by statement, what one in a transaction would, without the
    BEGIN and ROLLBACK round trips around it), and on SQLite no BEGIN is sent either.
    """
    options: dict[str, Any] = {"jixiao_readonly": True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    return async_sessionmaker(
        engine.execution_options(**options),
        expire_on_commit=False,
        sync_session_class=ReadOnlySession,
    )


def alembic_config() -> Config:
    """Alembic configured from the installed package, so no ini file is needed at run time."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply pending migrations over ``engine`` (shares its connection with Alembic)."""

    def _run(sync_conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_run)


async def current_revision(engine: AsyncEngine) -> str | None:
    def _rev(sync_conn: Connection) -> str | None:
        return MigrationContext.configure(sync_conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(_rev)


def head_revision() -> str | None:
    """The migration this version of the code expects the database to be at."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
