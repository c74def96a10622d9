"""Plumbing tables: durable inbox, conversation positions, PTB data, outbox, audit log, secrets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from domain.enums import OutboxStatus
from infra.models.base import Base, TelegramId, enum_column
from infra.models.types import utcnow


class InboxUpdate(Base):
    """Every update fetched from Telegram, stored before its offset is confirmed.

    ``handled_at`` is set in the same transaction as the handler's effects, so an
    update is applied exactly once; ``replied_at`` tells a restart whom to re-prompt.
    """

    __tablename__ = "inbox_update"

    update_id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(TelegramId)
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[dt.datetime | None]
    replied_at: Mapped[dt.datetime | None]

    __table_args__ = (Index("ix_inbox_update_pending", "handled_at", "replied_at"),)


class ConversationState(Base):
    """Where a chat stands in a flow; written in the transaction that stores the answer."""

    __tablename__ = "conversation_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(TelegramId, index=True)
    state: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ConversationFocus(Base):
    """The one flow a chat is in now (``chat.flow``); its other positions are drafts it left.

    Written in the transaction of the step that enters or ends a flow, so text only ever
    reaches the current step, and a restart brings back the same flow at the same state.
    """

    __tablename__ = "conversation_focus"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PersistedData(Base):
    """python-telegram-bot's user/chat/bot data, as JSON (a cache: the record is in our tables)."""

    __tablename__ = "persisted_data"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutboxMessage(Base):
    """A message the bot pushes on its own initiative, queued in the causing transaction."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL once a row with ``erase_chat_id`` (a reply to a citizen) is no longer pending.
    # Typed ``int``: only pending rows are ever sent, and those always have their chat.
    chat_id: Mapped[int] = mapped_column(TelegramId, index=True, nullable=True)
    erase_chat_id: Mapped[bool] = mapped_column(default=False)
    method: Mapped[str] = mapped_column(String(16), default="sendMessage")
    payload: Mapped[dict[str, Any]]
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    attachment_name: Mapped[str | None] = mapped_column(String(128))
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    telegram_message_id: Mapped[int | None] = mapped_column(TelegramId)
    last_error: Mapped[str | None] = mapped_column(Text)


class AuditEntry(Base):
    """Who did what to which object, and why: admin actions and refused forgeries alike."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_telegram_id: Mapped[int | None] = mapped_column(TelegramId)
    actor_staff_id: Mapped[int | None]
    actor_label: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AppSecret(Base):
    """A secret the program generates on first start and keeps in the database, so every
    process on the database shares it and a backup of the database keeps it (e.g. the key
    that pseudonymises survey respondents, ``infra.secret_store``)."""

    __tablename__ = "app_secret"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
