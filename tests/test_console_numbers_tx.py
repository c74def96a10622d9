"""The console's employee-number entry and the command it runs are one transaction: no
"second transaction" warning, and a SIGKILL inside it applies both the answer and the
effect, or neither (``Flow.handing_over``, ``infra.failpoints``)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fakebotapi import FakeBotApi, SimUser
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import AuditEntry, ConversationState, InboxUpdate, Invite, Staff
from tests.drivers import console as desk
from tests.factories import bind, make_org, open_cycle
from tests.harness import BotProcess, eventually

ADMIN = 900001  # in the settings' JIXIAO_ADMIN_IDS
QUESTION = "重新发放邀请码人员的工号"
SECOND = "second transaction"


async def _count(sessions: SessionFactory, action: str) -> int:
    async with sessions() as s:
        found = await s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        )
    return int(found or 0)


async def _invites_of(sessions: SessionFactory, number: str) -> int:
    async with sessions() as s:
        found = await s.scalar(
            select(func.count())
            .select_from(Invite)
            .join(Staff, Staff.id == Invite.staff_id)
            .where(Staff.employee_no == number)
        )
    return int(found or 0)


async def _asking(sessions: SessionFactory) -> bool:
    async with sessions() as s:
        row = await s.scalar(
            select(ConversationState).where(ConversationState.name == "staff_number")
        )
    return row is not None


async def _nothing_owed(sessions: SessionFactory) -> bool:
    async with sessions() as s:
        owed = await s.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.replied_at.is_(None))
        )
    return owed == 0


async def test_each_entry_writes_in_one_transaction(
    server: FakeBotApi, bot, sessions: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    org = await make_org(sessions)
    await open_cycle(sessions)
    await bind(sessions, 6101, org.staff_ids[0])  # 张伟, A002
    admin = server.user(ADMIN, language_code="zh-hans")
    view = await desk.open_console(admin)
    with caplog.at_level(logging.WARNING, logger="chat.uow"):
        await desk.go(admin, view, "reissue")
        await admin.expect_text(QUESTION)
        await admin.send("A003")
        await admin.expect_text("的新邀请码")
        await desk.go(admin, view, "unbind")
        await admin.expect_text("解除 Telegram 账号绑定人员的工号")
        await admin.send("A002")
        await admin.expect_text("已解除绑定")
        # the command's own refusal (paper forms need the admin's linked staff account),
        # which commits nothing of the command's: the question is closed on its own
        await desk.go(admin, view, "proxy")
        await admin.expect_text("代录纸质评估表所属人员的工号")
        await admin.send("A002")
        await admin.expect_text("需要使用已绑定的工作人员账号")
        await eventually(lambda: _nothing_owed(sessions))
    assert not [r for r in caplog.records if SECOND in r.getMessage()]
    assert await _count(sessions, "invite.reissue") == 1
    assert await _count(sessions, "account.unbind") == 1
    assert not await _asking(sessions)
    await admin.send("A004")  # no question is open: not taken as a number
    assert await _count(sessions, "invite.reissue") == 1


async def _asked(admin: SimUser, view, sessions: SessionFactory) -> None:  # type: ignore[no-untyped-def]
    await desk.go(admin, view, "reissue")
    await admin.expect_text(QUESTION, timeout=120)
    await eventually(lambda: _nothing_owed(sessions))


@pytest.mark.slow
async def test_a_kill_inside_the_entry_applies_both_or_neither(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    await make_org(sessions)
    admin = server.user(ADMIN, language_code="zh-hans")
    proc = BotProcess(server, bot_settings, tmp_path)
    try:
        await proc.start()
        await admin.send("/admin")
        view = await admin.expect_text("工作台", timeout=120)
        await _asked(admin, view, sessions)
        proc.kill()

        # killed after the question is closed, before the invite is issued: neither
        await proc.start(failpoints="carried")
        await admin.send("A003")
        assert await proc.wait_exit() != 0
        assert await _invites_of(sessions, "A003") == 0
        assert await _asking(sessions)  # still asked: the answer was not kept either
        assert await _count(sessions, "invite.reissue") == 0
        await proc.start(failpoints="")  # the stored answer is applied, once
        issued = await admin.expect_text("的新邀请码", timeout=120)
        assert "刘芳" in (issued.text or "")
        await eventually(lambda: _nothing_owed(sessions))
        assert await _invites_of(sessions, "A003") == 1
        assert not await _asking(sessions)

        # killed right after the commit, before the reply: both, and not again on restart
        await _asked(admin, view, sessions)
        proc.kill()
        await proc.start(failpoints="committed")
        await admin.send("A004")
        assert await proc.wait_exit() != 0
        assert await _invites_of(sessions, "A004") == 1
        assert not await _asking(sessions)
        await proc.start(failpoints="")
        await eventually(lambda: _nothing_owed(sessions))
        assert await _invites_of(sessions, "A004") == 1
        assert await _count(sessions, "invite.reissue") == 2
    finally:
        await proc.stop()
    assert SECOND not in proc.output()
