"""What each outcome of a send does to the database: the outbox row, the chat's queue, the account.

The sender commits the outcomes straight after Telegram answers, those that arrived together
in one short transaction (``chat.outbox_recorder``; the duplicate window of
``chat.outbox_sender``). This is that transaction's content: sent messages are marked SENT in
one statement for the whole batch (``record_sent``) and prove their users no longer block
the bot; a rate-limited one waits
without spending an attempt; a deferred one spends an attempt and waits its back-off; a failed
one is marked FAILED (and a malformed one is told to the working group, never a silent row); a
blocked chat has its whole queue dropped; a migrated group is followed. Every update is guarded
by the row still being PENDING, so two senders cannot undo each other.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, case, literal, null, update
from sqlalchemy.ext.asyncio import AsyncSession

from chat.outbox_policy import Outcome, malformed
from chat.outbox_rows import Queued
from domain.enums import OutboxStatus
from infra.models import OutboxMessage, TelegramAccount
from services.notices import Localization, notify_refused_push
from services.outbox import erase_finished_chats

# The sender's log lines keep the logger name they have always had.
log = logging.getLogger("chat.outbox_sender")


async def apply_outcome(
    session: AsyncSession,
    row: Queued,
    outcome: Outcome,
    *,
    now: dt.datetime,
    admin_ids: frozenset[int] | None,
    local: Localization,
) -> None:
    """Write ``outcome`` of sending ``row`` at ``now``; ``admin_ids`` and ``local`` address the
    working group's notice of a malformed message."""
    this = (OutboxMessage.id == row.id) & (OutboxMessage.status == OutboxStatus.PENDING)
    if outcome.kind == "sent":
        await record_sent(session, [(row, outcome)], now=now)
        return
    if outcome.kind == "rate_limited":  # not a failure: attempts stay as they are
        await session.execute(
            update(OutboxMessage)
            .where(this)
            .values(
                next_attempt_at=now + dt.timedelta(seconds=outcome.delay), last_error=outcome.error
            )
        )
    elif outcome.kind == "deferred":
        await session.execute(
            update(OutboxMessage)
            .where(this)
            .values(
                attempts=OutboxMessage.attempts + 1,
                next_attempt_at=now + dt.timedelta(seconds=outcome.delay),
                last_error=outcome.error,
            )
        )
    elif outcome.kind == "failed":
        await session.execute(
            update(OutboxMessage)
            .where(this)
            .values(
                status=OutboxStatus.FAILED,
                attempts=OutboxMessage.attempts + 1,
                last_error=outcome.error,
            )
        )
        if outcome.error and malformed(outcome.error):  # never a silent FAILED row
            await notify_refused_push(
                session,
                message_id=row.id,
                chat_id=row.chat_id,
                error=outcome.error,
                admin_ids=admin_ids,
                local=local,
            )
    elif outcome.kind == "blocked":
        # Everything still queued for this chat is dropped with it: no request per message.
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.chat_id == row.chat_id,
                OutboxMessage.status == OutboxStatus.PENDING,
            )
            .values(status=OutboxStatus.BLOCKED, last_error=outcome.error)
        )
        await session.execute(
            update(TelegramAccount)
            .where(
                TelegramAccount.telegram_id == row.chat_id,
                TelegramAccount.blocked_at.is_(None),
            )
            .values(blocked_at=now)
        )
    elif outcome.kind == "migrated":  # a group became a supergroup: follow it
        log.warning("outbox: chat %d moved to %s", row.chat_id, outcome.new_chat_id)
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.chat_id == row.chat_id,
                OutboxMessage.status == OutboxStatus.PENDING,
            )
            .values(chat_id=outcome.new_chat_id)
        )
    await session.execute(erase_finished_chats([row.chat_id]))  # a citizen's, once done


async def record_sent(
    session: AsyncSession, sent: Sequence[tuple[Queued, Outcome]], *, now: dt.datetime
) -> None:
    """Mark ``sent`` (each row with its "sent" outcome) SENT at ``now``, each with its
    Telegram message id, dropping the pictures drawn ahead (``chat.draw_ahead``): three
    statements for the whole batch, whatever its size."""
    ids = [row.id for row, _ in sent]
    chats = sorted({row.chat_id for row, _ in sent})
    message_ids = {
        row.id: literal(outcome.message_id, BigInteger) for row, outcome in sent
    }  # typed: PostgreSQL cannot guess the type of a bare CASE parameter
    values: dict[str, Any] = {
        "status": OutboxStatus.SENT,
        "sent_at": now,
        "telegram_message_id": case(message_ids, value=OutboxMessage.id),
    }
    # a picture drawn ahead from a spec is dropped once sent: the spec can draw it again
    drawn = [row.id for row, _ in sent if row.has_attachment and "render" in row.payload]
    if drawn:
        values["attachment"] = case(
            (OutboxMessage.id.in_(drawn), null()), else_=OutboxMessage.attachment
        )
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.PENDING)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    missed = len(ids) - int(result.rowcount)  # type: ignore[attr-defined]
    if missed:
        log.warning("outbox: %d message(s) were sent but are no longer pending", missed)
    # A delivered message proves the user no longer blocks the bot.
    await session.execute(
        update(TelegramAccount)
        .where(TelegramAccount.telegram_id.in_(chats), TelegramAccount.blocked_at.is_not(None))
        .values(blocked_at=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(erase_finished_chats(chats))  # citizens', once done
