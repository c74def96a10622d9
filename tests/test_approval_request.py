"""Leaders judge people, not only units; a poor result says in itself that a plan is due
(issue 11, items 18 and 19)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from domain.enums import Grade
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import Cycle, ImprovementPlan, OutboxMessage, Result, Staff
from services import cycles
from tests.drivers import results as results_driver
from tests.factories import bind, fill_all_forms, make_org, open_cycle

ADMIN = 900001  # the working group (conftest's settings)


async def _scored_with_extremes(sessions: SessionFactory) -> tuple[list[int], int]:
    """A closed cycle where one person is rated worst on every level question, the others
    best on all (the same answer everywhere: straight-lining the working group sees)."""
    org = await make_org(sessions, people=4)
    cycle_id = await open_cycle(sessions, peer_count=3)
    worst = org.staff_ids[0]
    await fill_all_forms(
        sessions, cycle_id, level=lambda a, n: 4 if a.ratee_staff_id == worst else 0
    )
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await cycles.close(s, cycle.period, now=dt.datetime.now(dt.UTC), actor=cycles.Actor("t"))
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
    assert chief is not None
    return [org.head_id, *org.staff_ids], chief


async def _graded(sessions: SessionFactory, grade: Grade) -> list[str]:
    async with sessions() as s:
        rows = await s.execute(
            select(Staff.name)
            .join(Result, Result.staff_id == Staff.id)
            .where(Result.grade == grade)
        )
        return [name for (name,) in rows]


async def test_request_names_excellent_and_failing_people_and_integrity_signals_and_the_result_carries_the_plan(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    members, chief = await _scored_with_extremes(sessions)
    await bind(sessions, 9300, chief)
    for n, staff_id in enumerate(members):
        await bind(sessions, 9301 + n, staff_id)
    admin = server.user(ADMIN, language_code="zh-hans")
    await admin.send("/score 2026Q4")
    scored = await admin.expect_text("2026年第四季度")
    excellent, failing = (
        await _graded(sessions, Grade.EXCELLENT),
        await _graded(sessions, Grade.FAIL),
    )
    assert excellent and failing == ["张伟"], (excellent, failing)
    await results_driver.send_for_approval(admin, scored)
    leader = server.user(9300, language_code="zh-hans")
    request = await leader.expect_text("审定")
    # who is 优秀 and who 不合格, by name, and the signals, besides the unit ranking
    assert "不合格（1）：张伟" in request.text, request.text
    assert f"优秀（{len(excellent)}）：" in request.text
    assert all(name in request.text for name in excellent)
    assert "评分异常提示" in request.text and "仅供审定参考" in request.text
    assert "每项评分相同" in request.text or "互评中相互给予最高分" in request.text
    await results_driver.approve(leader, request)
    await leader.expect_text("公布")
    # the person graded 不合格 reads the plan requirement in the result message itself
    poor = server.user(9302, language_code="zh-hans")
    result = await poor.expect_text("总分")
    assert "您需要制定绩效改进计划" in result.text and "不合格" in result.text
    assert any("改进计划" in t for t in result.button_texts())
    async with sessions() as s:
        assert await s.scalar(select(ImprovementPlan.id)) is not None  # the plan is open
        # ... and no separate push says it again (queued in the same transaction if at all)
        queued = list(await s.scalars(select(OutboxMessage.dedupe_key)))
    assert not [k for k in queued if k and k.startswith("plan-open:")], queued
    assert sum("您需要制定绩效改进计划" in (m.text or "") for m in poor.messages) == 1
