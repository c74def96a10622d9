"""No raw citizen id, invite code or survey token at rest beyond need (issue 9, item 3).

Refusals tied to a citizen are audited by pseudonym; a reply to a citizen forgets their
chat once sent, and finished outbox rows are pruned; the inbox stores updates with their
codes and tokens redacted, yet an update stored just before a crash is still handled.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.jobs import run_housekeeping
from domain.enums import OutboxStatus, RectificationOutcome, RectificationStatus
from domain.payload import hash_token
from fakebotapi import BotMessage, FakeBotApi, SimUser
from infra.config import Settings
from infra.container import Services
from infra.db import SessionFactory
from infra.inbox import REDACTED_KEY
from infra.models import (
    AuditEntry,
    InboxUpdate,
    OutboxMessage,
    Rectification,
    SurveyLink,
    SurveyResponse,
)
from services import rectification as rc
from services.outbox import enqueue
from tests.drivers import rectification as rect_chat
from tests.drivers import survey
from tests.drivers.survey import complain
from tests.factories import bind, invite_code, make_org, survey_links
from tests.harness import BotProcess, InProcessBot, eventually

HEAD, CITIZEN, STRANGER, NEWCOMER = 6301, 6401, 6402, 6403

IMMEDIATE = RectificationOutcome.IMMEDIATE


async def survey_link(sessions: SessionFactory) -> str:
    [payload] = await survey_links(sessions)
    return payload


async def stored_payloads(sessions: SessionFactory) -> str:
    async with sessions() as s:
        return json.dumps(
            [row.payload for row in await s.scalars(select(InboxUpdate))], ensure_ascii=False
        )


async def test_the_inbox_keeps_only_hashes_of_survey_tokens_and_invite_codes(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    payload = await survey_link(sessions)
    code = await invite_code(sessions, "A003")
    await complain(server.user(CITIZEN, language_code="zh-hans"), payload)
    newcomer = server.user(NEWCOMER, language_code="zh-hans")
    await newcomer.send(f"/start {code}")
    await newcomer.expect_text("请确认")

    stored = await stored_payloads(sessions)
    token, secret = payload.split("_", 1)[1], code.split("_", 1)[1]
    assert token not in stored and secret not in stored
    assert "sv_[redacted]" in stored and "in_[redacted]" in stored
    async with sessions() as s:
        kept = [
            row.payload[REDACTED_KEY]
            for row in await s.scalars(select(InboxUpdate))
            if REDACTED_KEY in row.payload
        ]
    assert {k["token_hash"] for k in kept} == {hash_token(token), hash_token(secret)}


async def _complaint_answered(
    server: FakeBotApi, sessions: SessionFactory
) -> tuple[SimUser, int, BotMessage]:
    """A citizen's 差评 asking for a reply, answered by the unit head: (citizen, item, reply)."""
    org = await make_org(sessions)
    await bind(sessions, HEAD, org.head_id)
    citizen = server.user(CITIZEN, language_code="zh-hans")
    await complain(citizen, await survey_link(sessions))
    async with sessions.begin() as s:
        rect_id = int(await s.scalar(select(Rectification.id)) or 0)
        await rc.answer(
            s, rect_id, "窗口已增配人员。", outcome=IMMEDIATE, reply="已整改。", staff_id=org.head_id,
            now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
    reply = await citizen.expect_text("已整改", timeout=120)
    return citizen, rect_id, reply


async def test_a_reply_to_a_citizen_forgets_their_chat_once_sent(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    citizen, rect_id, reply = await _complaint_answered(server, sessions)

    async def erased() -> bool:
        async with sessions() as s:
            row = await s.scalar(
                select(OutboxMessage).where(OutboxMessage.dedupe_key == f"rect-reply:{rect_id}")
            )
            return row is not None and row.status == OutboxStatus.SENT and row.chat_id is None

    await eventually(erased, timeout=120)
    await rect_chat.rate(citizen, rect_id, reply, "s")  # the citizen still rates, by pseudonym
    await citizen.expect_text("满意")
    async with sessions() as s:
        rect = await s.get(Rectification, rect_id)
        assert rect is not None and rect.status == RectificationStatus.CLOSED
        assert (await s.get(SurveyResponse, rect.response_id)).reply_chat_id is None  # type: ignore[union-attr]
        assert not await s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.chat_id == CITIZEN)
        )


async def test_a_strangers_press_on_a_citizens_button_is_audited_by_pseudonym_only(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    _citizen, rect_id, _reply = await _complaint_answered(server, sessions)
    stranger = server.user(STRANGER, language_code="zh-hans")
    await stranger.send("/start")
    home = await stranger.expect()
    await rect_chat.refused(stranger, rect_chat.RATE, rect_id, "d", on=home)
    async with sessions() as s:
        (denied,) = await s.scalars(select(AuditEntry).where(AuditEntry.action == "access.denied"))
    assert denied.actor_telegram_id is None and denied.actor_label.startswith("citizen:")
    assert str(STRANGER) not in json.dumps(
        [denied.actor_label, denied.object_id, denied.detail], ensure_ascii=False
    )


async def test_finished_outbox_rows_are_pruned_and_pending_ones_stay(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory, bot_settings: Settings
) -> None:
    await _complaint_answered(server, sessions)

    async def sender_idle() -> bool:
        async with sessions() as s:
            return not await s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING)
            )

    await eventually(sender_idle, timeout=120)
    async with sessions.begin() as s:
        await enqueue(s, HEAD, "later", not_before=dt.datetime.now(dt.UTC) + dt.timedelta(days=90))
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    await run_housekeeping(Services(settings=bot_settings, sessions=sessions, clock=lambda: later))
    async with sessions() as s:
        left = list(await s.scalars(select(OutboxMessage)))
    assert [(m.status, m.payload["text"]) for m in left] == [(OutboxStatus.PENDING, "later")]


@pytest.mark.slow
async def test_a_survey_start_stored_just_before_a_crash_is_handled_after_it(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    """The inbox holds only the token's hash; recovery finds the link by it."""
    await make_org(sessions)
    payload = await survey_link(sessions)
    citizen = server.user(CITIZEN, language_code="zh-hans")
    proc = BotProcess(server, bot_settings, tmp_path)
    try:
        await proc.start(failpoints="stored")  # dies right after storing the update
        await citizen.send(f"/start {payload}")
        assert await proc.wait_exit() != 0
        stored = await stored_payloads(sessions)
        assert payload.split("_", 1)[1] not in stored and "sv_[redacted]" in stored
        async with sessions() as s:
            assert not await s.scalar(select(func.count()).select_from(SurveyResponse))
        await proc.start(failpoints="")
        first = await citizen.expect_text("应急指挥中心", timeout=120)
        assert len(survey.levels(first)) == 5
        async with sessions() as s:
            link = await s.scalar(select(SurveyLink))
            assert link is not None and link.claimed_by is not None
    finally:
        await proc.stop()
