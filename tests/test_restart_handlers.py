"""SIGKILL after a non-flow handler committed and before the inbox says "replied": once only.

The working group's commands and buttons (``/reissue``, the cycle overview's "+7 days")
claim their update in the transaction of their writes (``chat.uow``), so a restart finds
the update applied and only re-prompts the chat; it never applies the update again.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import AuditEntry, Cycle, InboxUpdate
from services.cycles import extended_deadline
from services.workdays import PACKAGED
from tests.drivers import cycle_admin
from tests.factories import make_org, open_cycle
from tests.harness import BotProcess, eventually

pytestmark = pytest.mark.slow

ADMIN = 900001


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


async def _audits(sessions: SessionFactory, action: str) -> int:
    async with sessions() as s:
        return int(
            await s.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
            )
            or 0
        )


async def test_extend_button_killed_before_replied_moves_the_deadline_once(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    await make_org(sessions)
    cycle_id = await open_cycle(sessions)
    async with sessions() as s:
        before = (await s.get(Cycle, cycle_id)).deadline  # type: ignore[union-attr]
    proc = BotProcess(server, bot_settings, tmp_path)
    admin = server.user(ADMIN, language_code="zh-hans")
    try:
        await proc.start()
        await admin.send("/cycle")
        view = await admin.expect_text("2026年第四季度", timeout=120)
        await eventually(lambda: _nothing_owed(sessions), timeout=120)
        proc.kill()
        await proc.start(failpoints="replied")  # dies after the handler returned, before "replied"
        await cycle_admin.extend(admin, view, days=7)
        assert await proc.wait_exit() != 0
        async with sessions() as s:
            killed = (await s.get(Cycle, cycle_id)).deadline  # type: ignore[union-attr]
        week = extended_deadline(
            before, 7, bot_settings.tz, PACKAGED
        )  # a week on, at a working day's end
        assert killed == week
        await proc.start(failpoints="")
        await eventually(lambda: _nothing_owed(sessions), timeout=120)  # recovery has run
        async with sessions() as s:
            after = (await s.get(Cycle, cycle_id)).deadline  # type: ignore[union-attr]
        assert after == week  # one tap, seven days: not fourteen
        assert await _audits(sessions, "cycle.extend") == 1
    finally:
        await proc.stop()


async def test_reissue_killed_before_replied_keeps_the_code_the_admin_was_shown(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    await make_org(sessions)
    proc = BotProcess(server, bot_settings, tmp_path)
    admin = server.user(ADMIN, language_code="zh-hans")
    try:
        await proc.start(failpoints="replied")
        await admin.send("/reissue A002")
        shown = await admin.expect_text("in_", timeout=120)
        assert await proc.wait_exit() != 0
        match = re.search(r"in_[A-Za-z0-9_-]+", shown.text or "")
        assert match is not None
        await proc.start(failpoints="")
        await eventually(lambda: _nothing_owed(sessions), timeout=120)  # recovery has run
        assert await _audits(sessions, "invite.reissue") == 1
        user = server.user(6201, language_code="zh-hans")
        await user.send(f"/start {match.group(0)}")
        await user.expect_text("请确认", timeout=120)  # the code the admin handed out works
    finally:
        await proc.stop()
