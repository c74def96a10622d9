"""SIGKILL at the worst moments: a new process continues at the right step, nothing twice.

Each test runs ``python -m bot.cli run`` as a child process against the local Bot
API server and the test's database; ``JIXIAO_FAILPOINTS`` makes it kill itself
at an exact point (``infra.failpoints``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import AuditEntry, ConversationState, InboxUpdate, TelegramAccount
from tests.factories import invite_code, make_org
from tests.harness import BotProcess, eventually

pytestmark = pytest.mark.slow


async def _binds(sessions: SessionFactory) -> int:
    async with sessions() as s:
        return int(
            await s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "account.bind")
            )
            or 0
        )


async def _at_confirmation(server: FakeBotApi, proc: BotProcess, sessions: SessionFactory):  # type: ignore[no-untyped-def]
    await make_org(sessions)
    code = await invite_code(sessions, "A002")
    user = server.user(6001, language_code="zh-hans")
    await proc.start()
    await user.send(f"/start {code}")
    await user.expect_text("请确认", timeout=120)

    async def nothing_owed() -> bool:
        async with sessions() as s:
            return (
                await s.scalar(
                    select(func.count())
                    .select_from(InboxUpdate)
                    .where(InboxUpdate.replied_at.is_(None))
                )
                == 0
            )

    await eventually(nothing_owed)  # the bot has finished with that update
    return user


async def test_killed_between_two_messages(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    proc = BotProcess(server, bot_settings, tmp_path)
    try:
        user = await _at_confirmation(server, proc, sessions)
        proc.kill()
        await proc.start()
        await user.press_button("是我本人")
        await user.expect_text("绑定成功", timeout=120)
        async with sessions() as s:
            assert (await s.get(TelegramAccount, 6001)).staff_id is not None  # type: ignore[union-attr]
        assert await _binds(sessions) == 1
    finally:
        await proc.stop()


async def test_killed_after_fetching_before_handling(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    proc = BotProcess(server, bot_settings, tmp_path)
    try:
        user = await _at_confirmation(server, proc, sessions)
        proc.kill()
        await proc.start(failpoints="stored")  # dies right after storing the next batch
        await user.press_button("是我本人")
        assert await proc.wait_exit() != 0
        async with sessions() as s:
            assert await s.get(TelegramAccount, 6001) is None  # stored, not yet handled
            assert (
                await s.scalar(
                    select(func.count())
                    .select_from(InboxUpdate)
                    .where(InboxUpdate.handled_at.is_(None))
                )
                == 1
            )
        await proc.start(failpoints="")
        await user.expect_text("绑定成功", timeout=120)
        await user.expect_text("张伟", timeout=120)
        assert await _binds(sessions) == 1
        assert [m.text for m in user.messages].count(
            next(m.text for m in user.messages if "绑定成功" in (m.text or ""))
        ) == 1
    finally:
        await proc.stop()


async def test_killed_after_storing_before_replying(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    proc = BotProcess(server, bot_settings, tmp_path)
    try:
        user = await _at_confirmation(server, proc, sessions)
        proc.kill()
        await proc.start(failpoints="committed")  # dies right after the binding commits
        user.drain()
        await user.press_button("是我本人")
        assert await proc.wait_exit() != 0
        async with sessions() as s:
            assert (await s.get(TelegramAccount, 6001)).staff_id is not None  # type: ignore[union-attr]
            assert await s.scalar(select(func.count()).select_from(ConversationState)) == 0
        assert not any(
            "绑定" in (m.text or "")
            for m in user.messages
            if not m.edited and m.text and "请确认" not in m.text
        )
        await proc.start(failpoints="")
        home = await user.expect_text(
            "张伟", timeout=120
        )  # the prompt they need: their home screen
        assert "应急指挥中心" in home.text
        assert await _binds(sessions) == 1

        async def nothing_owed() -> bool:
            async with sessions() as s:
                return (
                    await s.scalar(
                        select(func.count())
                        .select_from(InboxUpdate)
                        .where(InboxUpdate.replied_at.is_(None))
                    )
                    == 0
                )

        await eventually(nothing_owed)
    finally:
        await proc.stop()


async def test_language_choice_survives_a_kill(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    proc = BotProcess(server, bot_settings, tmp_path)
    user = server.user(6002, language_code="zh-hans")
    try:
        await proc.start()
        await user.send("/language")
        await user.expect_text("语言", timeout=120)
        proc.kill()
        await proc.start()
        await user.press_button("繁體中文")
        await user.expect_text("繁體中文", timeout=120)
        async with sessions() as s:
            assert (await s.get(TelegramAccount, 6002)).language == "zh_Hant"  # type: ignore[union-attr]
    finally:
        await proc.stop()
