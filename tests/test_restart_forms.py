"""The foundation's three SIGKILL tests, on the self-assessment: same step, every answer once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from domain.enums import Source
from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import Answer, Assignment, InboxUpdate
from tests.drivers import forms
from tests.factories import bind, make_org, open_cycle
from tests.harness import BotProcess, eventually

pytestmark = pytest.mark.slow


async def _setup(server: FakeBotApi, sessions: SessionFactory, proc: BotProcess):  # type: ignore[no-untyped-def]
    org = await make_org(sessions)
    await open_cycle(sessions)
    await bind(sessions, 6101, org.staff_ids[0])
    async with sessions() as s:
        assignment = await s.scalar(
            select(Assignment).where(
                Assignment.rater_staff_id == org.staff_ids[0],
                Assignment.source == Source.SELF,
                Assignment.ratee_staff_id == org.staff_ids[0],
            )
        )
    user = server.user(6101, language_code="zh-hans")
    await proc.start()
    await user.send("/self")
    first = await user.expect(timeout=120)
    await forms.tap(user, first, 0)
    second = await user.expect(timeout=120)
    assert assignment is not None
    await eventually(lambda: _nothing_owed(sessions))  # the bot has finished with that update
    return user, assignment.id, second


async def _nothing_owed(sessions: SessionFactory) -> bool:
    async with sessions() as s:
        return (
            await s.scalar(
                select(func.count())
                .select_from(InboxUpdate)
                .where(InboxUpdate.replied_at.is_(None))
            )
            == 0
        )


async def _answers(sessions: SessionFactory, aid: int) -> list[tuple[str, int | None]]:
    async with sessions() as s:
        return [
            (a.item, a.level)
            for a in await s.scalars(
                select(Answer).where(Answer.assignment_id == aid).order_by(Answer.id)
            )
        ]


async def test_killed_between_two_answers(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    proc = BotProcess(server, bot_settings, tmp_path)
    try:
        user, aid, second = await _setup(server, sessions, proc)
        proc.kill()
        await proc.start()
        await forms.tap(user, second, 1)
        third = await user.expect(timeout=120)
        assert third.text != second.text
        answers = await _answers(sessions, aid)
        assert len(answers) == 2 and answers[1][1] == 1
    finally:
        await proc.stop()


async def test_killed_after_fetching_the_answer(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    proc = BotProcess(server, bot_settings, tmp_path)
    try:
        user, aid, second = await _setup(server, sessions, proc)
        proc.kill()
        await proc.start(failpoints="stored")
        await forms.tap(user, second, 1)
        assert await proc.wait_exit() != 0
        assert len(await _answers(sessions, aid)) == 1
        await proc.start(failpoints="")
        third = await user.expect(timeout=120)
        assert third.text != second.text and forms.is_question(third)
        answers = await _answers(sessions, aid)
        assert len(answers) == 2 and answers[1][1] == 1
    finally:
        await proc.stop()


async def test_killed_after_storing_before_the_reply(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    proc = BotProcess(server, bot_settings, tmp_path)
    try:
        user, aid, second = await _setup(server, sessions, proc)
        proc.kill()
        await proc.start(failpoints="committed")
        await forms.tap(user, second, 1)
        assert await proc.wait_exit() != 0
        assert len(await _answers(sessions, aid)) == 2  # stored, but no reply went out
        await proc.start(failpoints="")
        third = await user.expect(timeout=120)  # the prompt they need: question 3
        assert third.text != second.text and forms.is_question(third)
        await forms.tap(user, third, 0)
        await user.expect(timeout=120)
        answers = await _answers(sessions, aid)
        assert [item for item, _ in answers] == list(
            dict.fromkeys(item for item, _ in answers)
        )  # each once
        await eventually(lambda: _nothing_owed(sessions))
    finally:
        await proc.stop()
