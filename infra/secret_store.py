"""The survey key: generated on first start and kept in the database, never taken from the token.

Respondents are known by an HMAC of their Telegram id (``services.surveys.respondent_key``).
Telegram ids are small numbers, so whoever holds the key can reverse a pseudonym by trying
them all; the key therefore must not be derivable from anything else an operator holds (the
bot token used to be), and must survive a token rotation, or every pending citizen button
and rectification rating would stop recognising its citizen. ``JIXIAO_SECRET_KEY`` may
still set it explicitly; otherwise the first process to start stores a random one and every
process on the same database (a standby included) reads that same row. It is part of the
database, so a database backup keeps it.
"""

from __future__ import annotations

import secrets
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from infra.config import Settings
from infra.db import SessionFactory
from infra.models import AppSecret, SurveyResponse
from infra.models.types import utcnow

SURVEY_KEY: Final = "survey_hmac"
# A marker (never the token itself) that this database has responses from before the key
# was stored, when it was derived from the token: while that token is in use, the old
# derivation still recognises those citizens' buttons, and signs nothing new.
LEGACY_MARKER: Final = "survey_hmac_legacy"
LEGACY_FROM_TOKEN: Final = "derived-from-token"


async def with_survey_key(sessions: SessionFactory, settings: Settings) -> Settings:
    """``settings`` with the survey key resolved: the configured one, else the stored one
    (created now if this database has none)."""
    if settings.secret_key:
        return settings
    async with sessions() as session:  # the usual case: read it, write nothing
        stored = await session.get(AppSecret, SURVEY_KEY)
        legacy = await session.get(AppSecret, LEGACY_MARKER) is not None
    if stored is None:
        stored, legacy = await _create(sessions)
    old = (f"jixiao:{settings.bot_token}",) if legacy and settings.bot_token else ()
    return settings.with_survey_key(stored.value, old_keys=old)


async def _create(sessions: SessionFactory) -> tuple[AppSecret, bool]:
    """Store a new key, or read the one a process starting at the same moment stored."""
    async with sessions.begin() as session:
        if await session.get(AppSecret, SURVEY_KEY) is None and await session.scalar(
            select(func.count()).select_from(SurveyResponse)
        ):
            await _insert(session, LEGACY_MARKER, LEGACY_FROM_TOKEN)
        await _insert(session, SURVEY_KEY, secrets.token_urlsafe(32))
        stored = await session.get(AppSecret, SURVEY_KEY, populate_existing=True)
        legacy = await session.get(AppSecret, LEGACY_MARKER) is not None
    assert stored is not None
    return stored, legacy


async def _insert(session: AsyncSession, name: str, value: str) -> None:
    """Insert unless present: two processes starting at once keep the first one's value."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(AppSecret)
        .values(name=name, value=value, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["name"])
    )
