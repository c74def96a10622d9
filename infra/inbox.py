"""Durable inbox: updates are stored before Telegram is told they arrived.

The Bot API forgets an update once ``getUpdates`` is called with a higher offset,
so we store first and confirm second; ``handled_at`` is set inside the handler's
own transaction (``chat.uow``) and guards against applying an update twice.

Invite codes and survey tokens never reach the table: ``redacted`` replaces them in the
stored copy (only their hash is kept anywhere), while the dispatcher gets the original
payload in memory. A ``/start <payload>`` keeps the token's hash under ``REDACTED_KEY``,
so an update stored just before a crash is still handled after the restart: the flows
look the link up by that hash (``conversations.common.start_payload``). Telegram never
sends that key, so nobody can present a hash in place of a code.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from domain.payload import REDACTED, REDACTED_KEY, PayloadKind, hash_token, parse_payload
from infra.db import DURABLE, SessionFactory
from infra.direct_sql import Direct
from infra.models import InboxUpdate
from infra.models.types import utcnow

# a payload of a secret kind anywhere in a text (a /start, a pasted link or code)
_SECRET = re.compile(
    r"(?<![A-Za-z0-9_-])(" + "|".join(k.value for k in PayloadKind) + r")_[A-Za-z0-9_-]{10,59}"
    r"(?![A-Za-z0-9_-])"
)
_CHUNK = 500  # ids per statement: far below any driver's limit on bound parameters
_START = re.compile(r"^/start(?:@\w+)?\s+(\S+)\s*$")  # the payload: domain.payload parses it


def redacted(payload: dict[str, Any]) -> dict[str, Any]:
    """The copy of an update that is stored: every invite code and survey token replaced
    by ``REDACTED``; a ``/start`` payload's hash kept under ``REDACTED_KEY`` for recovery."""
    message = payload.get("message")
    command = _START.match(message.get("text") or "") if isinstance(message, dict) else None
    start = parse_payload(command.group(1)) if command is not None else None
    out = _scrub(payload)
    if start is not None:
        out = out if out is not payload else dict(payload)
        out[REDACTED_KEY] = {"kind": start.kind.value, "token_hash": hash_token(start.token)}
    return out


def _scrub(value: Any) -> Any:
    """``value`` with secrets replaced; the very same object when it holds none."""
    if isinstance(value, str):
        return _SECRET.sub(lambda m: f"{m.group(1)}_{REDACTED}", value)
    if isinstance(value, dict):
        items = {k: _scrub(v) for k, v in value.items()}
        return value if all(items[k] is value[k] for k in value) else items
    if isinstance(value, list):
        scrubbed = [_scrub(v) for v in value]
        return value if all(a is b for a, b in zip(scrubbed, value, strict=True)) else scrubbed
    return value


def chat_of(payload: dict[str, Any]) -> int | None:
    """The chat an update belongs to, for per-chat ordering (private chat id == user id)."""
    for key in ("message", "edited_message", "channel_post", "my_chat_member", "chat_member"):
        if key in payload:
            return int(payload[key]["chat"]["id"])
    if "callback_query" in payload:
        query = payload["callback_query"]
        msg = query.get("message")
        return int(msg["chat"]["id"]) if msg else int(query["from"]["id"])
    for value in payload.values():
        if isinstance(value, dict) and "from" in value:
            return int(value["from"]["id"])
    return None


async def store(sessions: SessionFactory, payloads: Sequence[dict[str, Any]]) -> list[int]:
    """Insert new updates (duplicates ignored); returns the ids that were new."""
    if not payloads:
        return []
    now = utcnow()
    rows = [
        {
            "update_id": p["update_id"],
            "chat_id": chat_of(p),
            "payload": redacted(p),  # the caller keeps the original, to handle it now
            "received_at": now,
        }
        for p in payloads
    ]
    # Committed means Telegram may forget these updates: fsynced even on SQLite (db.DURABLE).
    async with _one_statement(sessions, durable=True) as conn:
        # one statement, given the rows as parameter sets: SQLAlchemy sends them as one
        # multi-row INSERT, and compiles the statement once (rows put in ``values()`` made
        # a statement that is never cached: compiled again for every batch)
        stored = await conn.execute(_STORE[conn.dialect.name], rows)
        return sorted(int(i) for i in stored.scalars().all())


@asynccontextmanager
async def _one_statement(
    sessions: SessionFactory, *, durable: bool = False
) -> AsyncIterator[AsyncConnection]:
    """A connection whose statement is its own transaction. On PostgreSQL in autocommit:
    one round trip, where BEGIN, the statement and COMMIT were three (issue 12), and just as
    durable (each statement commits, fsynced as any commit). On SQLite a transaction, whose
    BEGIN travels with the statement anyway (``infra.sqlite_driver``)."""
    engine = sessions.kw["bind"]
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")
        return
    async with engine.connect() as conn:
        if durable:
            await conn.execution_options(**{DURABLE: True})  # read by infra.db's begin hook
        async with conn.begin():
            yield conn


_INBOX: Table = InboxUpdate.__table__  # type: ignore[assignment]
_STORE = {
    name: insert(_INBOX)
    .on_conflict_do_nothing(index_elements=["update_id"])
    .returning(_INBOX.c.update_id)
    for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


async def mark_handled(session: AsyncSession, update_id: int) -> bool:
    """Claim ``update_id`` inside the caller's transaction; False if it was already applied.

    Every update that writes makes this claim, so it is sent as the driver's own SQL
    (``infra.direct_sql``): through an ORM ``update()`` it cost about twice the statement
    itself (issue 12)."""
    claimed = await _CLAIM.execute(session, {"id": update_id, "now": utcnow()})
    return bool(claimed.rowcount)


async def mark_done(sessions: SessionFactory, *update_ids: int) -> None:
    """The handler returned and replied: nothing is owed for these updates any more.

    One statement for the whole batch, without loading the rows (their payload is JSON):
    ``chat.done_marks`` groups the updates of concurrent chats into one commit. A Core
    statement built once: as an ORM ``update()`` it was a tenth of the bot's CPU on a
    survey step (compiling ORM state, synchronizing a session that holds nothing).
    """
    now = utcnow()
    async with _one_statement(sessions) as conn:  # chunks: each its own commit (marks repeat)
        for start in range(0, len(update_ids), _CHUNK):
            await conn.execute(_DONE, {"ids": update_ids[start : start + _CHUNK], "now": now})


async def mark_owed(sessions: SessionFactory, update_id: int) -> None:
    """The handler ran but its reply did not reach the user: handled, not replied.

    Whatever it committed stays applied (and is never applied again); the chat is
    owed the prompt of where it now is, which ``UpdateDispatcher`` re-sends.
    """
    async with sessions.begin() as session:
        await _CLAIM.execute(session, {"id": update_id, "now": utcnow()})


_NOW = bindparam("now", type_=InboxUpdate.handled_at.type)
_DONE = (
    update(_INBOX)
    .where(_INBOX.c.update_id.in_(bindparam("ids", expanding=True)))
    .values(handled_at=func.coalesce(_INBOX.c.handled_at, _NOW), replied_at=_NOW)
)
_CLAIM = Direct(
    update(_INBOX)
    .where(_INBOX.c.update_id == bindparam("id"), _INBOX.c.handled_at.is_(None))
    .values(handled_at=_NOW)
)


async def is_handled(sessions: SessionFactory, update_id: int) -> bool:
    """Whether ``update_id`` was applied (its claim committed), reading only that column."""
    async with sessions() as session:
        handled = await session.scalar(
            select(InboxUpdate.handled_at).where(InboxUpdate.update_id == update_id)
        )
        return handled is not None


async def unhandled(sessions: SessionFactory) -> list[InboxUpdate]:
    async with sessions() as session:
        rows = await session.scalars(
            select(InboxUpdate)
            .where(InboxUpdate.handled_at.is_(None))
            .order_by(InboxUpdate.update_id)
        )
        return list(rows)


async def unreplied(sessions: SessionFactory, chat_id: int | None = None) -> list[InboxUpdate]:
    """Applied but never replied to (a kill, or Telegram unreachable): owed their prompt."""
    query = select(InboxUpdate).where(
        InboxUpdate.handled_at.is_not(None), InboxUpdate.replied_at.is_(None)
    )
    if chat_id is not None:
        query = query.where(InboxUpdate.chat_id == chat_id)
    async with sessions() as session:
        return list(await session.scalars(query.order_by(InboxUpdate.update_id)))


async def prune(sessions: SessionFactory, keep: dt.timedelta = dt.timedelta(days=2)) -> int:
    """Forget finished updates (they carry names and texts) once Telegram cannot resend them."""
    async with sessions.begin() as session:
        result = await session.execute(
            delete(InboxUpdate).where(
                InboxUpdate.replied_at.is_not(None), InboxUpdate.received_at < utcnow() - keep
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
