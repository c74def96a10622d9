"""Cycles: approval by a leader before collecting, reminders, admin overview, the CLI."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.jobs import run_reminders
from conversations.cycle_admin import APPROVE as APPROVE_TEMPLATE
from domain.enums import AssignmentStatus, CyclePhase
from fakebotapi import FakeBotApi
from infra.container import Services
from infra.db import SessionFactory
from infra.models import Assignment, AuditEntry, Cycle, OutboxMessage
from services.workdays import PACKAGED
from tests.drivers import cycle_admin
from tests.drivers.taps import button
from tests.factories import bind, make_org, open_cycle
from tests.harness import InProcessBot

ROOT = Path(__file__).resolve().parent.parent


async def test_a_leader_approves_the_template_before_collecting(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    async with sessions() as s:
        from infra.models import Staff

        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
    await bind(sessions, 5201, chief)  # type: ignore[arg-type]
    await bind(sessions, 5202, org.staff_ids[0])
    await bind(sessions, 5203, org.staff_ids[1])  # a plain staff member tries to approve
    cycle_id = await open_cycle(sessions, approve=False)
    async with sessions() as s:
        assert (await s.get(Cycle, cycle_id)).phase == CyclePhase.PREPARING  # type: ignore[union-attr]
        assert await s.scalar(select(func.count()).select_from(Assignment)) == 0
    leader = server.user(5201, language_code="zh-hans")
    request = await leader.expect_text("审定")
    staff = server.user(5202, language_code="zh-hans")
    await staff.send("/self")
    await staff.expect_text("没有")
    intruder = server.user(5203, language_code="zh-hans")
    await intruder.send("/start")
    own = await intruder.expect()
    # replays the leader's button data
    await intruder.press(button(request, APPROVE_TEMPLATE), own)
    await intruder.wait_until(lambda: bool(intruder.callback_answers))
    assert "领导小组" in intruder.callback_answers[-1]["text"]
    await cycle_admin.approve_template(leader, request)
    await leader.expect_text("2026年第四季度")
    async with sessions() as s:
        assert (await s.get(Cycle, cycle_id)).phase == CyclePhase.COLLECTING  # type: ignore[union-attr]
        assert await s.scalar(select(func.count()).select_from(Assignment)) > 0
        assert (
            await s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "template.approve")
            )
            == 1
        )
    await staff.expect_text("已开始")  # everyone with a task is told, through the outbox
    await staff.send("/self")
    first = await staff.expect()
    assert any(d and d.startswith("fm1:v:") for d in first.button_data())


async def test_reminders_on_the_right_days_once_across_a_restart(
    server: FakeBotApi, bot_settings, sessions: SessionFactory
) -> None:
    t0 = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    clock = [t0]
    org = await make_org(sessions, people=2)
    await open_cycle(sessions, now=t0, deadline=t0 + dt.timedelta(days=10))
    done_id, open_id = org.staff_ids
    await bind(sessions, 5301, done_id)
    await bind(sessions, 5302, open_id)
    async with sessions.begin() as s:  # one person has finished every form
        for a in await s.scalars(select(Assignment).where(Assignment.rater_staff_id == done_id)):
            a.status = AssignmentStatus.SUBMITTED
    services = Services(settings=bot_settings, sessions=sessions, clock=lambda: clock[0])
    finished, pending = server.user(5301), server.user(5302)

    def reminders(user) -> list[str]:  # type: ignore[no-untyped-def]
        return [m.text for m in server.sent_messages(user.id) if "提醒" in (m.text or "")]

    running = InProcessBot(server, bot_settings, clock=lambda: clock[0])
    await running.start()
    try:
        clock[0] = t0 + dt.timedelta(days=6)
        assert await run_reminders(services) == 0  # before 3 days ahead: nothing
        clock[0] = t0 + dt.timedelta(days=7, hours=1)
        assert await run_reminders(services) == 1
        assert await run_reminders(services) == 0  # once only
        await pending.wait_until(lambda: len(reminders(pending)) == 1, timeout=120)
    finally:
        await running.stop()
    running = InProcessBot(server, bot_settings, clock=lambda: clock[0])
    await running.start()
    try:
        assert await run_reminders(services) == 0  # a restart repeats nothing
        clock[0] = t0 + dt.timedelta(days=9, hours=2)
        assert await run_reminders(services) == 1
        await pending.wait_until(lambda: len(reminders(pending)) == 2, timeout=120)
        assert "3" in reminders(pending)[0] and "1" in reminders(pending)[1]
    finally:
        await running.stop()
    assert reminders(finished) == []
    async with sessions() as s:
        assert (
            await s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.dedupe_key.like("remind:%"))
            )
            == 2
        )


async def test_admin_sees_progress_and_extends(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    cycle_id = await open_cycle(sessions)
    admin = server.user(900001, language_code="zh-hans")
    await admin.send("/cycle")
    view = await admin.expect_text("2026年第四季度")
    assert "应急指挥中心" in view.text and "0/" in view.text
    async with sessions() as s:
        before = (await s.get(Cycle, cycle_id)).deadline  # type: ignore[union-attr]
    await cycle_admin.extend(admin, view, days=7)
    await admin.expect()
    async with sessions() as s:
        after = (await s.get(Cycle, cycle_id)).deadline  # type: ignore[union-attr]
    # at least a week later, at the end of a working day (never a weekend or holiday)
    local = after.astimezone(ZoneInfo("Asia/Shanghai"))
    assert after >= before + dt.timedelta(days=7, seconds=-1) and PACKAGED.is_working_day(
        local.date()
    )
    assert (local.hour, local.minute) == (23, 59)
    stranger = server.user(5401, language_code="zh-hans")
    await stranger.send("/cycle")
    await stranger.expect_text("工作小组")


def _cli(*args: str, cwd: Path, db_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env.update(JIXIAO_DATABASE_URL=db_url, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_cycle_commands(db_url: str, sessions: SessionFactory, tmp_path: Path) -> None:
    assert (
        _cli(
            "staff", "import", str(ROOT / "examples" / "staff.csv"), cwd=tmp_path, db_url=db_url
        ).returncode
        == 0
    )
    deadline = (dt.date.today() + dt.timedelta(days=20)).isoformat()
    opened = _cli(
        "cycle",
        "open",
        "2026Q4",
        "--template",
        str(ROOT / "examples" / "template.toml"),
        "--deadline",
        deadline,
        cwd=tmp_path,
        db_url=db_url,
    )
    assert opened.returncode == 0, opened.stderr
    assert "审定" in opened.stdout  # waits for the leadership group
    again = _cli(
        "cycle",
        "open",
        "2026Q4",
        "--template",
        str(ROOT / "examples" / "template.toml"),
        "--deadline",
        deadline,
        cwd=tmp_path,
        db_url=db_url,
    )
    assert again.returncode == 1 and "2026Q4" in again.stderr
    status = _cli("cycle", "status", cwd=tmp_path, db_url=db_url)
    assert status.returncode == 0 and "2026Q4" in status.stdout
    later = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    assert (
        _cli(
            "cycle", "extend", "2026Q4", "--deadline", later, cwd=tmp_path, db_url=db_url
        ).returncode
        == 0
    )
    refused = _cli("cycle", "close", "2026Q4", cwd=tmp_path, db_url=db_url)
    assert refused.returncode == 1  # not collecting yet: still waiting for approval
    bad = _cli(
        "cycle",
        "open",
        "2026Q5",
        "--template",
        str(ROOT / "examples" / "template.toml"),
        "--deadline",
        deadline,
        cwd=tmp_path,
        db_url=db_url,
    )
    assert bad.returncode == 1


async def test_admin_stops_collecting_after_confirming(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    cycle_id = await open_cycle(sessions)
    admin = server.user(900001, language_code="zh-hans")
    await admin.send("/cycle")
    view = await admin.expect_text("2026年第四季度")
    await cycle_admin.stop_collecting(admin, view)
    question = await admin.expect()
    async with sessions() as s:  # asking changed nothing
        assert (await s.get(Cycle, cycle_id)).phase == CyclePhase.COLLECTING  # type: ignore[union-attr]
    await cycle_admin.confirm_stop(admin, question)  # type: ignore[arg-type]
    await admin.expect()
    async with sessions() as s:
        assert (await s.get(Cycle, cycle_id)).phase != CyclePhase.COLLECTING  # type: ignore[union-attr]


async def test_an_approval_request_queued_before_the_actions_had_names_still_works(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:  # type: ignore[no-untyped-def]
    """A request already in a leader's chat carries ``tp1:v``/``tp1:ok`` (spelled on purpose)."""
    await make_org(sessions)
    async with sessions() as s:
        from infra.models import Staff

        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
    await bind(sessions, 5301, chief)  # type: ignore[arg-type]
    cycle_id = await open_cycle(sessions, approve=False)
    leader = server.user(5301, language_code="zh-hans")
    request = await leader.expect_text("审定")
    async with sessions() as s:
        template_id = (await s.get(Cycle, cycle_id)).template_id  # type: ignore[union-attr]
    await leader.press(f"tp1:v:{template_id}", request)
    await leader.expect_text("%")
    await leader.press(f"tp1:ok:{template_id}", request)
    await leader.expect_text("2026年第四季度")
    async with sessions() as s:
        assert (await s.get(Cycle, cycle_id)).phase == CyclePhase.COLLECTING  # type: ignore[union-attr]
