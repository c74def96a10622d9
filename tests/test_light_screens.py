"""Fewer, lighter screens (issue 11, item 19): a one-way question has a way back, and the
card it asks about is changed in place rather than sent again."""

from __future__ import annotations

from domain.enums import CyclePhase
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import Cycle
from tests.drivers import cycle_admin
from tests.factories import make_org, open_cycle

ADMIN = 900001  # the working group (conftest's settings)


async def test_stop_collecting_can_be_cancelled_in_place(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    cycle_id = await open_cycle(sessions)
    admin = server.user(ADMIN, language_code="zh-hans")
    await admin.send("/cycle")
    view = await admin.expect_text("2026年第四季度")
    await cycle_admin.stop_collecting(admin, view)
    question = await admin.expect()
    assert question.edited and question.message_id == view.message_id  # the card, changed
    assert "确定停止收集" in question.text and "取消" in " ".join(question.button_texts())
    await cycle_admin.cancel_stop(admin, question)
    back = await admin.expect()
    assert back.message_id == view.message_id and "停止收集" in " ".join(back.button_texts())
    assert "确定停止收集" not in back.text
    async with sessions() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None and cycle.phase == CyclePhase.COLLECTING
    # asked again and confirmed, the same card shows the stopped cycle
    await cycle_admin.stop_collecting(admin, back)
    question = await admin.expect()
    await cycle_admin.confirm_stop(admin, question)
    done = await admin.expect()
    assert done.message_id == view.message_id and len(admin.messages) == 1
    async with sessions() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None and cycle.phase != CyclePhase.COLLECTING
    # stopped: the card says what comes next, and 延期 says that it reopens collection
    assert "/score 2026Q4" in done.text, done.text
    labels = " ".join(done.button_texts())
    assert "重新开放收集7天" in labels and "停止收集" not in labels
