"""Telegram accounts, their binding to staff, one-time invites and failed-code throttling."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from infra.models.base import Base, TelegramId, Timestamped


class TelegramAccount(Timestamped, Base):
    """A Telegram user the bot must remember: a bound staff member, or someone who chose a language.

    Citizens get no row unless they pick a language; survey answers never point here.
    """

    __tablename__ = "telegram_account"

    telegram_id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), unique=True
    )
    language: Mapped[str | None] = mapped_column(String(8))
    bound_at: Mapped[dt.datetime | None]
    blocked_at: Mapped[dt.datetime | None]


class Invite(Base):
    """A one-time code that binds a Telegram account to a staff member; only its hash is stored."""

    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    used_by: Mapped[int | None] = mapped_column(TelegramId)
    revoked_at: Mapped[dt.datetime | None]


class CodeAttempt(Base):
    """A wrong invite code; five within ten minutes lock the sender out for a while."""

    __tablename__ = "code_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(TelegramId, index=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
