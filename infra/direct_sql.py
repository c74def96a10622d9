"""Core statements of the hot path, compiled once and sent as the driver's own SQL.

A Core statement executed through SQLAlchemy costs about 100–130 µs of CPU on PostgreSQL
(its cache key, an execution context, a cursor adapter, a result); the same statement sent
to asyncpg costs about 40 µs. A survey step runs six or seven of them, so SQLAlchemy's
share was the largest single cost of a step once the ORM was gone from it (issue 12).

``Direct`` keeps what SQLAlchemy would do and drops only the repetition: the statement is
compiled by SQLAlchemy for the dialect (once per set of parameter names), parameters get
the columns' own bind processors and Python-side defaults (``updated_at``), rows the
result processors, and a failure goes through SQLAlchemy's own handling of a failed
statement: the same ``sqlalchemy.exc`` class, a lost connection invalidated with the
pool, a cancelled statement's connection closed. The statement runs on the connection of
the caller's session, inside its transaction: on PostgreSQL the transaction is begun
first if the session has not sent anything yet, on SQLite the driver sends the deferred
BEGIN with it (``infra.sqlite_driver``).

Not for statements with expanding (``IN``) parameters or SQL-side defaults: those refuse
at their first compile. And like ``connection.execute`` (not ``session.execute``) a direct
statement does not flush the session's pending ORM changes first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

Processor = Callable[[Any], Any] | None


@dataclass
class _Plan:
    """One compiled form: the SQL and how to turn named values into the driver's row."""

    sql: str
    slots: tuple[tuple[str, Processor], ...]  # parameter name and bind processor, in order
    fixed: dict[str, Any]  # values the statement carries itself (``literal(1)``, ``+ 1``)
    defaults: tuple[tuple[str, Callable[[Any], Any] | None, Any], ...]  # name, callable, scalar
    returns: tuple[TypeEngine[Any], ...] | None  # per column of a statement that returns rows
    results: tuple[Processor, ...] | None = None  # their result processors, once known
    converts: bool = False  # whether any of them does anything

    def row_of(self, params: Mapping[str, Any]) -> list[Any]:
        values = dict(self.fixed)
        for name, make, scalar in self.defaults:
            values[name] = make(None) if make is not None else scalar
        values.update(params)
        return [bind(values[n]) if bind is not None else values[n] for n, bind in self.slots]

    def processors(self, dialect: Dialect, coltypes: Sequence[Any]) -> None:
        """The result processors, by the types the driver gives: asyncpg's numeric
        processor depends on the column's type oid."""
        assert self.returns is not None
        self.results = tuple(
            t._cached_result_processor(dialect, coltype)
            for t, coltype in zip(self.returns, coltypes, strict=True)
        )
        self.converts = any(self.results)

    def processed(self, rows: Sequence[Any]) -> list[tuple[Any, ...]]:
        if not self.converts:
            return [tuple(row) for row in rows]
        processors = self.results or ()
        return [
            tuple(p(v) if p is not None else v for p, v in zip(processors, row, strict=True))
            for row in rows
        ]


@dataclass(frozen=True)
class Outcome:
    """Rows (processed as a session would give them) and the rows the statement touched."""

    rows: list[tuple[Any, ...]]
    rowcount: int

    def first(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None


class Direct:
    """A Core statement run on the driver of the caller's session (see the module's doc)."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, bool, tuple[str, ...]], _Plan] = {}

    async def execute(
        self, session: AsyncSession, params: Mapping[str, Any] | None = None
    ) -> Outcome:
        """Run once with ``params`` (bind names, or column keys of an INSERT/UPDATE)."""
        params = params or {}
        conn = await _connection(session)
        plan = self._plan(conn.dialect, tuple(params), many=False)
        return await _run(conn, plan, params)

    async def execute_many(self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run once per parameter set (all with the same names); returns nothing."""
        if not rows:
            return
        conn = await _connection(session)
        plan = self._plan(conn.dialect, tuple(rows[0]), many=len(rows) > 1)
        if len(rows) == 1:
            await _run(conn, plan, rows[0])
            return
        await _run_many(conn, plan, rows)

    def _plan(self, dialect: Dialect, keys: tuple[str, ...], *, many: bool) -> _Plan:
        key = (dialect.name, many, keys)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _compile(self.statement, dialect, keys, many)
        return plan


def _compile(
    statement: ClauseElement, dialect: Dialect, keys: tuple[str, ...], many: bool
) -> _Plan:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=many)
    assert isinstance(compiled, SQLCompiler)
    if compiled.positiontup is None:
        raise TypeError(f"{dialect.name}: not a positional parameter style")
    if compiled.post_compile_params or compiled.literal_execute_params:
        raise TypeError("expanding or literal-execute parameters cannot be compiled once")
    if getattr(compiled, "postfetch", None):  # set on INSERT and UPDATE only
        raise TypeError("SQL-side defaults would need fetching afterwards")
    defaults: list[tuple[str, Callable[[Any], Any] | None, Any]] = []
    # as SQLAlchemy's execution context fills them (DefaultExecutionContext)
    prefetch = [(c, c._default_description_tuple) for c in compiled.insert_prefetch] or [
        (c, c._onupdate_description_tuple) for c in compiled.update_prefetch
    ]
    for column, (arg, is_scalar, is_callable, is_sentinel) in prefetch:
        name = compiled._within_exec_param_key_getter(column)  # set up for DML only
        if name in keys:
            continue
        if is_scalar:
            defaults.append((name, None, arg))
        elif is_callable and not is_sentinel:
            defaults.append((name, arg, None))
        else:
            raise TypeError(f"{column}: a default that is not a Python value or callable")
    named = set(keys) | {name for name, _, _ in defaults}
    fixed = {}
    for name in compiled.positiontup:
        if name in named:
            continue
        bind = compiled.binds[name]
        if bind.callable is not None or (bind.value is None and bind.required):
            raise TypeError(f"parameter {name!r} has no value")
        fixed[name] = bind.value
    processors: dict[str, Any] = dict(compiled._bind_processors)  # tuple types: none here
    returns = tuple(column.type for column in compiled._result_columns) or None
    return _Plan(
        sql=compiled.string,
        slots=tuple((name, processors.get(name)) for name in compiled.positiontup),
        fixed=fixed,
        defaults=tuple(defaults),
        returns=returns,
    )


@dataclass(frozen=True)
class _Conn:
    sa: AsyncConnection  # the session's connection: failures go through its handling
    adapter: Any  # SQLAlchemy's adapted DBAPI connection
    driver: Any  # asyncpg.Connection, or infra.sqlite_driver.OneTripConnection

    @property
    def dialect(self) -> Dialect:
        return self.sa.dialect


_HELD = "infra.direct_sql"  # in ``session.info``: the transaction and its _Conn


async def _connection(session: AsyncSession) -> _Conn:
    """The driver under the session's transaction (begun if need be); remembered for the
    rest of the transaction (finding it again is two greenlet switches, a third of a
    statement's cost) unless its connection was invalidated meanwhile."""
    held = session.info.get(_HELD)
    tx = session.sync_session.get_transaction()
    if held is not None and tx is not None and held[0] is tx and tx.is_active:
        if not held[1].sa.invalidated:
            return held[1]
    conn = await session.connection()
    fairy = await conn.get_raw_connection()
    found = _Conn(conn, fairy.dbapi_connection, fairy.driver_connection)
    session.info[_HELD] = (session.sync_session.get_transaction(), found)
    return found


async def _run(conn: _Conn, plan: _Plan, params: Mapping[str, Any]) -> Outcome:
    try:
        row = plan.row_of(params)
        if conn.dialect.name == "postgresql":
            async with conn.adapter._execute_mutex:
                await _begun(conn)
                if plan.returns is not None:
                    if plan.results is None:
                        prepared = await conn.driver.prepare(plan.sql)
                        plan.processors(
                            conn.dialect, [a.type.oid for a in prepared.get_attributes()]
                        )
                    rows = await conn.driver.fetch(plan.sql, *row)
                    return Outcome(plan.processed(rows), len(rows))
                status = await conn.driver.execute(plan.sql, *row)
                return Outcome([], _count(status))
        cursor = conn.driver.cursor()
        await cursor.execute(plan.sql, row)
        if plan.returns is None:
            return Outcome([], cursor.rowcount)
        if plan.results is None:
            plan.processors(conn.dialect, [None] * len(plan.returns))  # pysqlite gives no types
        rows = await cursor.fetchall()
        return Outcome(plan.processed(rows), len(rows))
    except BaseException as error:
        await _failed(conn, plan, params, error)


async def _run_many(conn: _Conn, plan: _Plan, params: Sequence[Mapping[str, Any]]) -> None:
    try:
        rows = [plan.row_of(one) for one in params]
        if conn.dialect.name == "postgresql":
            async with conn.adapter._execute_mutex:
                await _begun(conn)
                await conn.driver.executemany(plan.sql, rows)
            return
        await conn.driver.cursor().executemany(plan.sql, rows)
    except BaseException as error:
        await _failed(conn, plan, params, error)


async def _begun(conn: _Conn) -> None:
    """The session's transaction, begun on the server as SQLAlchemy would at its first
    statement (its asyncpg adapter sends BEGIN lazily)."""
    if conn.adapter._transaction is None and not conn.adapter.autocommit:
        await conn.adapter._start_transaction()


def _count(status: str) -> int:
    """Rows touched, from asyncpg's command tag ("UPDATE 1", "INSERT 0 1", "DELETE 0")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


async def _failed(conn: _Conn, plan: _Plan, params: Any, error: BaseException) -> NoReturn:
    """Handle a failure as SQLAlchemy handles its own statements' (``Connection.
    _handle_dbapi_exception``): the driver's error translated by the adapter and wrapped
    (``sqlalchemy.exc.IntegrityError`` for a unique violation, a ``StatementError`` for a
    value no bind processor takes), a lost connection invalidated with the pool's older
    ones, a cancelled statement's connection closed (it may still be mid-statement)."""
    if isinstance(error, Exception):
        try:
            conn.adapter._handle_exception(error)  # the adapter's DBAPI classes; always raises
        except Exception as translated:
            error = translated

    def handle(sync: Connection) -> NoReturn:
        try:
            raise error  # SQLAlchemy reads the exception being handled (sys.exc_info)
        except BaseException as handled:
            sync._handle_dbapi_exception(handled, plan.sql, params, None, None)

    await conn.sa.run_sync(handle)
    raise AssertionError("unreachable: the handler raises")
