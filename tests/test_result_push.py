"""Publishing a big cycle tells everyone in short transactions, exactly once, even after a crash.

Up to ``result_push.CHUNK`` results are told in the approving transaction; beyond that the
cycle's cursor is set and ``push_pending`` tells the rest chunk by chunk. A crash between two
chunks (here an exception right after a chunk's commit, where ``failpoint("pushed")`` kills the
bot) leaves the cursor after the last committed chunk; the next run finishes the job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from telegram import Bot

import bot.app  # noqa: F401  (registers every flow's callback codec: the sender spells buttons)
from bench.push import _seed
from bot.result_pushes import push_pending
from chat.outbox_sender import OutboxSender
from chat.renderers import register_renderers
from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import Cycle, OutboxMessage, Result
from services import result_push, result_review


class Crash(Exception):
    """Stands for the process dying between two chunks."""


async def _publish(sessions: SessionFactory, people: int) -> int:
    now = dt.datetime.now(dt.UTC)
    cycle_id, _unit = await _seed(sessions, people, now)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await result_review.publish(s, cycle, now=now)
    return cycle_id


async def _queued(sessions: SessionFactory) -> tuple[int, int]:
    """(rows queued, distinct dedupe keys)."""
    async with sessions() as s:
        rows = int(await s.scalar(select(func.count()).select_from(OutboxMessage)) or 0)
        keys = int(await s.scalar(select(func.count(func.distinct(OutboxMessage.dedupe_key)))) or 0)
    return rows, keys


async def test_big_cycle_is_published_at_once_and_told_in_chunks(sessions: SessionFactory) -> None:
    cycle_id = await _publish(sessions, 2 * result_push.CHUNK + 7)
    async with sessions() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None and cycle.push_cursor == 0  # nobody told yet
        unpublished = await s.scalar(
            select(func.count()).select_from(Result).where(Result.published_at.is_(None))
        )
        assert unpublished == 0  # but every result is visible to its person already
    assert await _queued(sessions) == (0, 0)
    told = await push_pending(sessions, size=result_push.CHUNK)
    assert told == 2 * result_push.CHUNK + 7
    assert await _queued(sessions) == (2 * told, 2 * told)  # a chart and a text each, once
    assert await push_pending(sessions) == 0  # nothing left, nothing twice
    async with sessions() as s:
        assert (await s.get(Cycle, cycle_id)).push_cursor is None  # type: ignore[union-attr]


async def test_a_crash_between_chunks_finishes_on_the_next_run(sessions: SessionFactory) -> None:
    people = 3 * 40 + 5
    await _publish(sessions, people)
    commits = 0

    def crash_after_two() -> None:
        nonlocal commits
        commits += 1
        if commits == 2:
            raise Crash

    with pytest.raises(Crash):
        await push_pending(sessions, size=40, wake=crash_after_two)
    assert await _queued(sessions) == (2 * 80, 2 * 80)  # two chunks committed, no more
    assert await push_pending(sessions, size=40) == people - 80
    assert await _queued(sessions) == (2 * people, 2 * people)


async def test_a_chunk_run_twice_queues_nothing_twice(sessions: SessionFactory) -> None:
    """Two pushers at once (a job and a restart): the cursor and the dedupe keys keep one copy."""
    cycle_id = await _publish(sessions, result_push.CHUNK + 1)
    async with sessions() as s:
        summary = await result_push.totals(s, cycle_id)
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        chunk = await result_push.read_chunk(s, cycle, 50)
    assert chunk is not None
    rows = result_push.messages(cycle, chunk, summary, result_push.DEFAULTS)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        assert await result_push.write_chunk(s, cycle, chunk, rows, summary)
    async with sessions.begin() as s:  # the same chunk again, read before the first wrote
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        assert not await result_push.write_chunk(s, cycle, chunk, rows, summary)
    await push_pending(sessions)
    assert await _queued(sessions) == (2 * (result_push.CHUNK + 1),) * 2


@pytest.fixture
async def client(server: FakeBotApi, settings: Settings) -> AsyncIterator[Bot]:
    """A plain Bot API client of the fake server, for an OutboxSender of the test's own."""
    bot = Bot(settings.require_token(), base_url=server.base_url)
    await bot.initialize()
    yield bot
    await bot.shutdown()


async def _charts(sessions: SessionFactory) -> list[OutboxMessage]:
    async with sessions() as s:
        return list(
            await s.scalars(select(OutboxMessage).where(OutboxMessage.method == "sendPhoto"))
        )


async def test_charts_are_drawn_ahead_and_dropped_once_sent(
    sessions: SessionFactory, server: FakeBotApi, client: Bot
) -> None:
    """The sender only uploads: each chart is queued drawn, with its spec to draw it again."""
    register_renderers()  # as the composition root does
    people = result_push.CHUNK + 3
    await _publish(sessions, people)
    users = [server.user(5_000_000 + n, language_code="zh-hans") for n in range(people)]
    assert await push_pending(sessions) == people
    charts = await _charts(sessions)
    assert len(charts) == people
    assert all(c.attachment is not None and c.attachment.startswith(b"\x89PNG") for c in charts)
    assert all("render" in c.payload for c in charts)  # drawn again if the picture is lost
    drawn = {c.chat_id: c.attachment for c in charts}
    sender = OutboxSender(client, sessions, global_rate=1000.0)
    assert await sender.drain() == 2 * people
    for user in users:
        assert [m.kind for m in user.messages] == ["photo", "text"]
        assert user.messages[0].photo == drawn[user.id]  # the picture drawn ahead, as it was
    assert all(c.attachment is None for c in await _charts(sessions))  # dropped once sent
