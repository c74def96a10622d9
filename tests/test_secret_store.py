"""The survey key is generated once per database, shared by every process, and never the token's."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from infra.config import Settings
from infra.db import SessionFactory
from infra.models import AppSecret, SurveyLink, SurveyResponse
from infra.secret_store import LEGACY_MARKER, SURVEY_KEY, with_survey_key
from tests.factories import make_org


async def test_the_key_is_generated_once_and_shared_by_every_process(
    sessions: SessionFactory, settings: Settings
) -> None:
    with pytest.raises(RuntimeError):  # never a silent fallback to the token
        _ = settings.hmac_key
    rotated = settings.model_copy(update={"bot_token": "123456:OTHER-token"})
    first, standby, later = await asyncio.gather(  # two processes starting at once, then one more
        with_survey_key(sessions, settings),
        with_survey_key(sessions, rotated),
        with_survey_key(sessions, settings),
    )
    assert first.hmac_key == standby.hmac_key == later.hmac_key
    assert len(first.hmac_key) >= 32 and b"TEST-token" not in first.hmac_key
    assert first.hmac_keys == (first.hmac_key,)  # a fresh database has nothing older
    async with sessions() as s:
        names = set(await s.scalars(select(AppSecret.name)))
    assert names == {SURVEY_KEY}


async def test_a_configured_key_overrides_the_stored_one(
    sessions: SessionFactory, settings: Settings
) -> None:
    configured = settings.model_copy(update={"secret_key": "from-the-environment"})
    assert (await with_survey_key(sessions, configured)).hmac_key == b"from-the-environment"


async def test_an_upgraded_database_still_recognises_citizens_from_before(
    sessions: SessionFactory, settings: Settings
) -> None:
    """Responses stored under the old token-derived default keep their buttons working
    while that token is in use; new pseudonyms use the stored key only."""
    org = await make_org(sessions)
    now = dt.datetime.now(dt.UTC)
    async with sessions.begin() as s:
        link = SurveyLink(token_hash="0" * 64, unit_id=org.unit_id)
        s.add(link)
        await s.flush()
        s.add(
            SurveyResponse(
                link_id=link.id,
                unit_id=org.unit_id,
                target_key=f"u:{org.unit_id}",
                respondent_key="x" * 64,
                dedupe_key="link:1",
                day=now.date(),
                started_at=now,
            )
        )
    keyed = await with_survey_key(sessions, settings)
    assert keyed.hmac_keys == (keyed.hmac_key, b"jixiao:123456:TEST-token")
    async with sessions() as s:
        marker = await s.get(AppSecret, LEGACY_MARKER)
    assert marker is not None and "TEST-token" not in marker.value  # the token is not stored
