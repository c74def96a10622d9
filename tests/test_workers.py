"""``jixiao run --workers 2``: chats shared between two processes, every promise kept.

The bot runs as a real process with a worker process beside it (``chat.shards``); the
citizens are strangers whose chat ids fall on both shards.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from domain.enums import ResponseStatus
from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import InboxUpdate, SurveyAnswer, SurveyResponse
from tests.drivers.survey import VERY_DISSATISFIED, complain, open_link, rate, rate_all
from tests.factories import bind, make_org, survey_links
from tests.harness import BotProcess, eventually, wait_for

pytestmark = pytest.mark.slow

HEAD = 8100  # the unit's head: told of every 差评, by the outbox sender of the main process
CITIZENS = range(8201, 8207)  # three even, three odd: both shards


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


async def _counts(sessions: SessionFactory) -> tuple[int, int, int]:
    """Complete responses, their answers, and updates not yet handled and replied to."""
    async with sessions() as s:
        complete = await s.scalar(
            select(func.count())
            .select_from(SurveyResponse)
            .where(SurveyResponse.status == ResponseStatus.COMPLETE)
        )
        answers = await s.scalar(select(func.count()).select_from(SurveyAnswer))
        open_ = await s.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.replied_at.is_(None))
        )
    return int(complete or 0), int(answers or 0), int(open_ or 0)


async def test_two_workers_share_the_chats_and_keep_every_answer(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    org = await make_org(sessions)
    await bind(sessions, HEAD, org.head_id)
    head = server.user(HEAD, language_code="zh-hans")
    links = await survey_links(sessions, count=len(CITIZENS))
    proc = BotProcess(server, bot_settings, tmp_path, args=("--workers", "2"))
    await proc.start()
    try:
        citizens = [server.user(c, language_code="zh-hans") for c in CITIZENS]
        await asyncio.gather(
            *(
                complain(c, link, f"窗口无人 {n}")
                for n, (c, link) in enumerate(zip(citizens, links, strict=True))
            )
        )
        for _ in CITIZENS:  # each 差评 reaches the head: a worker's wake reaches the sender
            await head.expect(timeout=120)
        complete, answers, _ = await _counts(sessions)
        assert complete == len(CITIZENS)
        async with sessions() as s:
            texts = set(await s.scalars(select(SurveyResponse.problem_text)))
        assert texts == {f"窗口无人 {n}" for n in range(len(CITIZENS))}
        [worker] = proc.children()
        assert "worker 1 is handling its chats" in proc.output()
        assert proc.proc is not None
        for pid in (proc.proc.pid, worker):  # as systemd stops a unit: every process at once
            os.kill(pid, signal.SIGTERM)
        assert await proc.wait_exit() == 0, proc.output()[-3000:]
    finally:
        await proc.stop()
    assert not _alive(worker)
    assert (await _counts(sessions))[1:] == (answers, 0)  # nothing left owed, nothing twice


async def test_a_killed_worker_stops_the_bot_and_the_restart_finishes_its_chats(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    await make_org(sessions)
    [link] = await survey_links(sessions)
    citizen = server.user(8301, language_code="zh-hans")  # odd: worker 1's chat
    proc = BotProcess(server, bot_settings, tmp_path, args=("--workers", "2"))
    await proc.start()
    try:
        second = await rate(citizen, await open_link(citizen, link, 120), VERY_DISSATISFIED, 120)
        [worker] = proc.children()
        os.kill(worker, signal.SIGKILL)
        assert await proc.wait_exit() == 1  # loudly: the supervisor restarts it
        assert "worker 1" in proc.output() and "stopped unexpectedly" in proc.output()
        await proc.start()
        tags = await rate_all(citizen, second, VERY_DISSATISFIED, 120)
        await citizen.send("窗口无人")
        ask = await citizen.expect(120)
        assert ask.button_data()
    finally:
        await proc.stop()
    async with sessions() as s:
        response = await s.scalar(select(SurveyResponse))
        assert response is not None and response.problem_text == "窗口无人"
        questions = list(await s.scalars(select(SurveyAnswer.question)))
    assert len(questions) == len(set(questions)) and tags.text


async def test_killing_the_bot_takes_its_workers_with_it(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    await make_org(sessions)
    proc = BotProcess(server, bot_settings, tmp_path, args=("--workers", "3"))
    await proc.start()
    try:
        await wait_for(lambda: "jixiao is running" in proc.output(), 120)
        workers = proc.children()
        assert len(workers) == 2
        proc.kill()
        await wait_for(lambda: not any(_alive(w) for w in workers), 30)
    finally:
        await proc.stop()


async def test_recovery_runs_before_the_workers_take_their_chats(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    """An update stored by a single process that was killed before handling it is handled
    once by the next start, which has workers: then the chat goes on in its worker."""
    await make_org(sessions)
    [link] = await survey_links(sessions)
    citizen = server.user(8401, language_code="zh-hans")
    proc = BotProcess(server, bot_settings, tmp_path, failpoints="stored")
    await proc.start()
    await citizen.send(f"/start {link}")
    assert await proc.wait_exit() != 0  # killed at the failpoint, the update stored
    workers = BotProcess(server, bot_settings, tmp_path, args=("--workers", "2"))
    await workers.start()
    try:
        first = await citizen.expect(120)
        await rate(citizen, first, VERY_DISSATISFIED, 120)

        async def settled() -> bool:
            return (await _counts(sessions))[1:] == (1, 0)

        await eventually(settled)
    finally:
        await workers.stop()


async def test_a_hung_worker_stops_the_bot_instead_of_leaving_its_chats_unanswered(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    await make_org(sessions)
    proc = BotProcess(server, bot_settings, tmp_path, args=("--workers", "2"))
    await proc.start()
    try:
        await wait_for(lambda: "jixiao is running" in proc.output(), 120)
        [worker] = proc.children()
        os.kill(worker, signal.SIGSTOP)  # its event loop no longer runs: no "alive" lines
        assert await proc.wait_exit() == 1
        assert "worker 1 silent" in proc.output()
        await wait_for(lambda: not _alive(worker), 30)
    finally:
        await proc.stop()
