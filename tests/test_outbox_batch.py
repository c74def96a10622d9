"""The outbox sender's batches: rows read together and outcomes committed together still fail,
and succeed, one message at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from telegram import Bot

import bot.app  # registers every flow's callback codec (plain text here, but as the bot runs)
from chat.outbox_policy import Outcome
from chat.outbox_recorder import OutcomeRecorder
from chat.outbox_rows import Queued
from chat.outbox_sender import OutboxSender
from domain.enums import OutboxStatus
from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import OutboxMessage
from services.notices import DEFAULTS
from services.outbox import enqueue


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi()
    await api.start()
    api.add_bot(settings.require_token(), username="jixiao_test_bot")
    yield api
    await api.stop()


@pytest.fixture
async def bot(server: FakeBotApi, settings: Settings) -> AsyncIterator[Bot]:
    client = Bot(
        settings.require_token(), base_url=server.base_url, base_file_url=server.base_file_url
    )
    await client.initialize()
    yield client
    await client.shutdown()


async def rows(sessions: SessionFactory) -> list[OutboxMessage]:
    async with sessions() as s:
        return list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


@pytest.mark.malformed_markup  # refused on purpose
async def test_one_message_failing_for_good_leaves_the_others_of_its_batch_sent(
    sessions: SessionFactory, server: FakeBotApi, bot: Bot
) -> None:
    users = [server.user(20_000 + i, first_name=f"U{i}") for i in range(12)]
    gone = 29_999  # never talked to the bot: "chat not found"
    async with sessions.begin() as s:
        await enqueue(s, users[0].id, "<b>broken markup")  # refused: can't parse entities
        for n in range(2):
            for user in users:
                await enqueue(s, user.id, f"{n} for {user.id}")
        await enqueue(s, gone, "to nobody")

    sender = OutboxSender(bot, sessions, global_rate=1000, per_chat_interval=0.05)
    assert await sender.drain() == 24

    for user in users:  # each once, in order; the refused one did not hold its chat back
        assert [m.text for m in server.sent_messages(user.id)] == [
            f"{n} for {user.id}" for n in range(2)
        ]
    failed = {r.payload["text"]: r for r in await rows(sessions) if r.chat_id != 900001}
    assert failed.pop("<b>broken markup").status == OutboxStatus.FAILED
    assert failed.pop("to nobody").status == OutboxStatus.FAILED
    assert {r.status for r in failed.values()} == {OutboxStatus.SENT}
    assert all(r.telegram_message_id for r in failed.values())
    # every request was a delivery or one of the two refusals: nothing was sent twice
    assert server.stats.requests["sendMessage"] == 24 + 2


async def test_a_batch_the_database_refuses_is_recorded_one_by_one(
    sessions: SessionFactory,
) -> None:
    """One outcome that cannot be written does not keep the others of its batch unrecorded
    (they would be sent again): the batch is retried message by message."""
    async with sessions.begin() as s:
        for n in range(5):
            await enqueue(s, 31_000 + n, f"message {n}")
    queued = [
        Queued(r.id, r.chat_id, r.method, r.payload, None, False, 0, r.next_attempt_at, False)
        for r in await rows(sessions)
    ]
    recorder = OutcomeRecorder(
        sessions, now=lambda: queued[0].next_attempt_at, admin_ids=None, local=DEFAULTS, watch=None
    )
    poison = Outcome("migrated", new_chat_id=2**70)  # no database stores this chat id
    outcomes = [Outcome("sent", message_id=100 + n) for n in range(4)] + [poison]
    results = await asyncio.gather(
        *(recorder.record(row, outcome) for row, outcome in zip(queued, outcomes, strict=True)),
        return_exceptions=True,
    )
    assert results[:4] == [None] * 4 and isinstance(results[4], Exception)
    stored = await rows(sessions)
    assert [(r.status, r.telegram_message_id) for r in stored[:4]] == [
        (OutboxStatus.SENT, 100 + n) for n in range(4)
    ]
    assert stored[4].status == OutboxStatus.PENDING and stored[4].chat_id == 31_004
