"""A chat's position in a flow and its focus, read and written by ``FlowTx`` as plain rows.

Every step reads its position and writes the next one: as mapped objects that was a query
through the ORM's loading and a flush of its unit of work, about a tenth of the bot's CPU
per update (issue 12). These are Core statements built once and sent as the driver's own
SQL (``infra.direct_sql``).
Other readers (``Flow.position``, ``Flow.current``, the persistence) keep the mapped
classes: they read before a step writes, in the same transaction or another one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from infra.direct_sql import Direct, Outcome
from infra.models import ConversationFocus, ConversationState

_STATE: Table = ConversationState.__table__  # type: ignore[assignment]
_FOCUS: Table = ConversationFocus.__table__  # type: ignore[assignment]
# bound names differ from column names: an UPDATE reserves those for its SET clause
_THIS = and_(_STATE.c.name == bindparam("of_flow"), _STATE.c.key == bindparam("of_key"))
_COLUMNS = (_FOCUS.c.name.label("focus"), _STATE.c.state, _STATE.c.data, _STATE.c.user_id)

_WITH_FOCUS = Direct(
    select(*_COLUMNS)
    .select_from(_STATE.outerjoin(_FOCUS, _FOCUS.c.key == _STATE.c.key))
    .where(_THIS)
)
_ANCHOR = select(literal(1).label("one")).subquery()  # a row to hang both outer joins on
_BOTH = Direct(
    select(*_COLUMNS)
    .select_from(_ANCHOR)
    .outerjoin(_FOCUS, _FOCUS.c.key == bindparam("of_key"))
    .outerjoin(_STATE, _THIS)
)
_INSERT_STATE = Direct(insert(_STATE))
_UPDATE_STATE = Direct(
    update(_STATE).where(_THIS).values(state=bindparam("to_state"), data=bindparam("to_data"))
)
_DELETE_STATE = Direct(delete(_STATE).where(_THIS))
_INSERT_FOCUS = Direct(insert(_FOCUS))
_OF_KEY = _FOCUS.c.key == bindparam("of_key")
_UPDATE_FOCUS = Direct(update(_FOCUS).where(_OF_KEY).values(name=bindparam("to_name")))
_DELETE_FOCUS = Direct(delete(_FOCUS).where(_OF_KEY))


@dataclass(frozen=True)
class Rows:
    """The chat's focus (the flow it is in; None: no row) and this flow's stored position
    (``state`` None: no row)."""

    focus: str | None
    state: str | None
    data: dict[str, Any] | None
    user_id: int | None


async def position(session: AsyncSession, flow: str, key: str) -> Rows | None:
    """This flow's position with the chat's focus; None if the flow has none stored."""
    found = (await _run(session, _WITH_FOCUS, of_flow=flow, of_key=key)).first()
    return None if found is None else Rows(*found)


async def both(session: AsyncSession, flow: str, key: str) -> Rows:
    """The focus and this flow's position, either or both absent, in one query."""
    (found,) = (await _run(session, _BOTH, of_flow=flow, of_key=key)).rows
    return Rows(*found)


async def insert_state(
    session: AsyncSession, flow: str, key: str, user_id: int | None, state: str, data: Any
) -> None:
    await _run(session, _INSERT_STATE, name=flow, key=key, user_id=user_id, state=state, data=data)


async def update_state(session: AsyncSession, flow: str, key: str, state: str, data: Any) -> None:
    await _run(session, _UPDATE_STATE, of_flow=flow, of_key=key, to_state=state, to_data=data)


async def delete_state(session: AsyncSession, flow: str, key: str) -> None:
    await _run(session, _DELETE_STATE, of_flow=flow, of_key=key)


async def insert_focus(session: AsyncSession, key: str, flow: str) -> None:
    await _run(session, _INSERT_FOCUS, key=key, name=flow)


async def update_focus(session: AsyncSession, key: str, flow: str) -> None:
    await _run(session, _UPDATE_FOCUS, of_key=key, to_name=flow)


async def delete_focus(session: AsyncSession, key: str) -> None:
    await _run(session, _DELETE_FOCUS, of_key=key)


async def _run(session: AsyncSession, statement: Direct, **params: Any) -> Outcome:
    return await statement.execute(session, params)
