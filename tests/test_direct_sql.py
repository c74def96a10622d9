"""Statements sent straight to the driver behave as SQLAlchemy's would (``infra.direct_sql``):
the same values in and out, the same defaults, inside the session's transaction, and the
same exception classes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from infra.db import SessionFactory
from infra.direct_sql import Direct
from infra.models import ConversationState
from infra.outage import is_outage
from tests.dbs import backend

_STATE: Table = ConversationState.__table__  # type: ignore[assignment]
_INSERT = Direct(insert(_STATE))
_READ = Direct(select(_STATE).where(_STATE.c.key == bindparam("key")))
_RENAME = Direct(update(_STATE).where(_STATE.c.key == bindparam("of_key")))


async def test_rows_written_and_read_directly_are_what_the_orm_writes_and_reads(
    sessions: SessionFactory,
) -> None:
    before = dt.datetime.now(dt.UTC)
    async with sessions.begin() as s:
        await _INSERT.execute(
            s, {"name": "survey", "key": "1:1", "state": "Q1", "data": {"r": [1]}}
        )
        s.add(ConversationState(name="survey", key="2:2", state="Q1", data={"r": [1]}))
    async with sessions() as s:
        direct = (await _READ.execute(s, {"key": "1:1"})).rows
        orm = await s.get(ConversationState, ("survey", "1:1"))
        other = (await _READ.execute(s, {"key": "2:2"})).rows
    assert orm is not None and orm.data == {"r": [1]} and orm.updated_at >= before  # the default
    [(name, key, user_id, state, data, updated_at)] = direct
    assert (name, key, user_id, state, data, updated_at) == (
        "survey", "1:1", None, "Q1", {"r": [1]}, orm.updated_at,
    )  # fmt: skip
    assert updated_at.tzinfo is not None and other[0][4] == {"r": [1]}
    async with sessions.begin() as s:  # an UPDATE's SET from its parameters; onupdate applied
        renamed = await _RENAME.execute(s, {"of_key": "1:1", "state": "Q2"})
    async with sessions() as s:
        [row] = (await _READ.execute(s, {"key": "1:1"})).rows
    assert renamed.rowcount == 1 and row[3] == "Q2" and row[5] > updated_at


async def test_a_direct_statement_belongs_to_the_session_transaction(
    sessions: SessionFactory,
) -> None:
    """The first statement of a transaction, sent directly, is rolled back with it, and a
    unique violation is SQLAlchemy's IntegrityError; the next transaction works."""
    row = {"name": "survey", "key": "1:1", "state": "Q1", "data": {}}
    with pytest.raises(RuntimeError):
        async with sessions.begin() as s:
            await _INSERT.execute(s, row)
            raise RuntimeError("the handler failed")
    with pytest.raises(IntegrityError):
        async with sessions.begin() as s:
            await _INSERT.execute(s, row)
            await _INSERT.execute(s, row)
    async with sessions.begin() as s:
        assert (await _READ.execute(s, {"key": "1:1"})).rows == []
        await _INSERT.execute(s, row)
    async with sessions() as s:
        assert len((await _READ.execute(s, {"key": "1:1"})).rows) == 1


async def test_expanding_parameters_are_refused_at_the_first_compile(
    sessions: SessionFactory,
) -> None:
    many = Direct(select(_STATE).where(_STATE.c.key.in_(bindparam("keys", expanding=True))))
    async with sessions() as s:
        with pytest.raises(TypeError, match="expanding"):
            await many.execute(s, {"keys": ["1:1"]})


async def test_a_value_no_column_takes_is_refused_as_sqlalchemy_refuses_it(
    sessions: SessionFactory,
) -> None:
    naive = dt.datetime(2026, 12, 7, 8, 0)  # rows carry aware UTC times (UtcDateTime)
    with pytest.raises(StatementError, match="naive datetime"):
        async with sessions.begin() as s:
            await _INSERT.execute(
                s, {"name": "survey", "key": "1:1", "state": "Q1", "data": {}, "updated_at": naive}
            )


@pytest.mark.skipif(backend() != "postgresql", reason="a server connection to end")
async def test_a_connection_lost_under_a_direct_statement_is_an_outage_and_replaced(
    sessions: SessionFactory,
) -> None:
    """The server ends the session's connection (a restart, a DBA): the statement fails as
    an outage, the connection is invalidated, and the next transaction gets a new one."""
    async with sessions() as s:
        pid = (await s.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with sessions() as other:  # another connection of the pool: s holds its own
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as lost:
            await _READ.execute(s, {"key": "1:1"})
    assert lost.value.connection_invalidated and is_outage(lost.value)
    async with sessions() as s:
        assert (await _READ.execute(s, {"key": "1:1"})).rows == []
        assert (await s.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
