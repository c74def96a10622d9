"""The outbox rows the sender works on, read in one Core query per batch instead of one ORM load each.

A pass of the sender reads the next ``limit`` pending rows with what sending them needs (the
payload, the method, the attempts so far) as plain values, so the per-message cost is the Bot
API call and nothing else; a row's payload is read and decoded once, however often the
sender reads the queue. The attachment bytes stay in the database until the one message
that has them is about to go (``attachment``, read in its send slot): a batch of pictures
drawn ahead and uploaded files would otherwise sit in memory for nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import OutboxStatus
from infra.models import OutboxMessage


@dataclass
class Queued:
    """One pending row as the sender needs it; ``attachment`` is filled just before sending."""

    id: int
    chat_id: int
    method: str
    payload: dict[str, Any]
    attachment_name: str | None
    has_attachment: bool
    attempts: int
    next_attempt_at: dt.datetime
    tried: bool  # waiting for a retry: it holds back the later messages of its chat
    attachment: bytes | None = None
    read_no: int = 0  # the sender's read of the queue it comes from


async def due(
    session: AsyncSession,
    horizon: dt.datetime,
    limit: int,
    known: Mapping[int, Queued],
    *,
    after: int = 0,
) -> list[Queued]:
    """The first ``limit`` pending rows in id order after id ``after`` that are due by
    ``horizon`` or are waiting for a retry (those hold their chat back, however far away the
    retry is).

    Two queries: the scheduling columns of those rows, then the payloads of the rows not in
    ``known`` (the previous read, whose payloads cannot have changed): a sender that reads
    the table every second while busy decodes each payload once.
    """
    result = await session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.chat_id,
            OutboxMessage.attempts,
            OutboxMessage.next_attempt_at,
            OutboxMessage.last_error.is_not(None),
        )
        .where(
            OutboxMessage.id > after,
            OutboxMessage.status == OutboxStatus.PENDING,
            or_(OutboxMessage.next_attempt_at <= horizon, OutboxMessage.last_error.is_not(None)),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    heads = result.all()
    fresh = [r[0] for r in heads if r[0] not in known]
    bodies = {}
    if fresh:
        bodies = {
            r[0]: r
            for r in await session.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.method,
                    OutboxMessage.payload,
                    OutboxMessage.attachment_name,
                    OutboxMessage.attachment.is_not(None),
                ).where(OutboxMessage.id.in_(fresh))
            )
        }
    rows: list[Queued] = []
    for row_id, chat_id, attempts, next_attempt_at, tried in heads:
        old = known.get(row_id)
        if old is not None:
            method, payload, name, has_attachment = (
                old.method,
                old.payload,
                old.attachment_name,
                old.has_attachment,
            )
        elif row_id in bodies:
            _, method, payload, name, has_attachment = bodies[row_id]
        else:
            continue  # finished between the two queries
        rows.append(
            Queued(
                id=row_id,
                chat_id=chat_id,
                method=method,
                payload=payload,
                attachment_name=name,
                has_attachment=bool(has_attachment),
                attempts=attempts,
                next_attempt_at=next_attempt_at,
                tried=bool(tried),
            )
        )
    return rows


async def attachment(session: AsyncSession, row_id: int) -> bytes | None:
    """The stored attachment of a row (None once it is no longer pending)."""
    found: bytes | None = await session.scalar(
        select(OutboxMessage.attachment).where(
            OutboxMessage.id == row_id, OutboxMessage.status == OutboxStatus.PENDING
        )
    )
    return found
