"""The leadership group's 审定 reaches members who link late, and dies everywhere once decided.

The README's order (import, invites, ``cycle open``, then people link) used to leave the
cycle waiting for ever: the request went only to members linked at the time. Now a member
who links or opens the home screen gets their copy once; when one member decides, every
other copy is edited to say who decided and when, and a tap on a copy not yet edited says
the same and changes nothing. The same holds for the approval of results.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from pathlib import Path

from sqlalchemy import func, select

from domain.enums import CyclePhase, Role
from fakebotapi import FakeBotApi, SimUser
from infra.db import SessionFactory
from infra.models import AuditEntry, Cycle, OutboxMessage, ResultReview, RoleGrant, Staff
from services import cycles, result_review, results
from tests.drivers import approvals, cycle_admin, invite
from tests.drivers import results as results_driver
from tests.drivers.cli import EXAMPLES, jixiao
from tests.factories import bind, fill_all_forms, make_org, open_cycle

ADMIN = 900001


async def _link(server: FakeBotApi, telegram_id: int, code: str) -> SimUser:
    """A person opens their invite link and confirms; returns their chat."""
    user = server.user(telegram_id, language_code="zh-hans")
    prompt = await invite.open_code(user, code)
    await invite.confirm(user, prompt)
    return user


async def _copies(sessions: SessionFactory, chat_id: int, prefix: str) -> int:
    async with sessions() as s:
        return int(
            await s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.chat_id == chat_id,
                    OutboxMessage.dedupe_key.like(f"{prefix}%"),
                )
            )
            or 0
        )


async def test_readme_order_leaders_link_after_open_and_the_cycle_starts(
    server: FakeBotApi, bot, db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    env = {"JIXIAO_DATABASE_URL": db_url, "JIXIAO_BOT_USERNAME": "jixiao_test_bot"}
    imported = await asyncio.to_thread(
        jixiao, "staff", "import", str(EXAMPLES / "staff.csv"), cwd=tmp_path, **env
    )
    assert imported.returncode == 0, imported.stderr
    out = tmp_path / "invites.csv"
    issued = await asyncio.to_thread(
        jixiao, "staff", "invites", "--format", "csv", "--out", str(out), cwd=tmp_path, **env
    )
    assert issued.returncode == 0, issued.stderr
    codes = {
        r["employee_no"]: r["code"]
        for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))
    }
    deadline = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    opened = await asyncio.to_thread(
        jixiao,
        "cycle",
        "open",
        "2026Q4",
        "--template",
        str(EXAMPLES / "template.toml"),
        "--deadline",
        deadline,
        cwd=tmp_path,
        **env,
    )
    assert opened.returncode == 0, opened.stderr
    # nobody of the leadership group is linked yet: said, not left to be found out
    assert "均未绑定" in opened.stdout, opened.stdout
    async with sessions() as s:
        cycle = await s.scalar(select(Cycle))
        assert cycle is not None and cycle.phase == CyclePhase.PREPARING
        names = dict((await s.execute(select(Staff.employee_no, Staff.name))).all())
    # then the leaders link: a deputy first, who gets the request on linking
    deputy = await _link(server, 7002, codes["YJ002"])
    home = await approvals.seen(deputy, "您是绩效评估领导小组")
    assert "指标体系" in (home.text or "") and "待审定" in (home.text or "")
    deputy_copy = await approvals.seen(deputy, "待审定的指标体系")
    deputy.drain()
    # home again (/start, twice): listed on the home screen, but no second copy
    for _ in range(2):
        await deputy.send("/start")
        await deputy.expect_text("您是绩效评估领导小组")
    prefix = f"tpl-approve:{cycle.template_id}:"
    assert await _copies(sessions, 7002, prefix) == 1
    chief = await _link(server, 7001, codes["YJ001"])
    chief_copy = await approvals.seen(chief, "待审定的指标体系")
    chief.drain()
    # the deputy approves: the cycle starts, and the chief's copy says who and when
    await cycle_admin.approve_template(deputy, deputy_copy)
    await deputy.wait_until(
        lambda: any("已开始" in (m.text or "") for m in deputy.messages),
        timeout=120,
    )
    async with sessions() as s:
        assert (await s.get(Cycle, cycle.id)).phase == CyclePhase.COLLECTING  # type: ignore[union-attr]
    edited = await approvals.retired(chief, chief_copy, f"已由{names['YJ002']}于")
    assert "审定通过" in (edited.text or "") and "年" in (edited.text or "")
    # a tap on the stale copy tells the truth and changes nothing
    before = len(chief.callback_answers)
    await cycle_admin.approve_template(chief, chief_copy)
    answer = await approvals.answer_to_tap(chief, before)
    assert f"已由{names['YJ002']}于" in answer and "审定通过" in answer, answer
    async with sessions() as s:
        approvals_logged = await s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "template.approve")
        )
        assert approvals_logged == 1
    # the chief's home no longer lists it
    chief.drain()
    await chief.send("/start")
    home = await chief.expect_text("您好")
    assert "待审定" not in (home.text or "")


async def test_cycle_open_says_how_many_leaders_are_linked(
    db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    env = {"JIXIAO_DATABASE_URL": db_url}
    imported = jixiao("staff", "import", str(EXAMPLES / "staff.csv"), cwd=tmp_path, **env)
    assert imported.returncode == 0, imported.stderr
    async with sessions() as s:
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "YJ001"))
        total = await s.scalar(
            select(func.count(func.distinct(RoleGrant.staff_id))).where(
                RoleGrant.role.in_([Role.LEADER_CHIEF, Role.LEADER_DEPUTY, Role.LEADER_MEMBER])
            )
        )
    await bind(sessions, 7101, int(chief))
    deadline = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    opened = jixiao(
        "cycle",
        "open",
        "2026Q4",
        "--template",
        str(EXAMPLES / "template.toml"),
        "--deadline",
        deadline,
        cwd=tmp_path,
        **env,
    )
    assert opened.returncode == 0, opened.stderr
    assert f"领导小组{total}名成员中已有1名绑定" in opened.stdout, opened.stdout
    assert "注意" not in opened.stdout


async def _in_review(
    sessions: SessionFactory, settings, member_chat: int | None
) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """A scored cycle sent for 审定; the chief (9801) and a member (``member_chat``, if
    given) of the leadership group linked. Returns (cycle, chief, member) staff ids."""
    org = await make_org(sessions, people=4)
    async with sessions.begin() as s:
        s.add(RoleGrant(staff_id=org.head_id, role=Role.LEADER_MEMBER))
        chief = int(await s.scalar(select(Staff.id).where(Staff.employee_no == "L001")))
    await bind(sessions, 9801, chief)
    if member_chat is not None:
        await bind(sessions, member_chat, org.head_id)
    cycle_id = await open_cycle(sessions, peer_count=3)
    await fill_all_forms(sessions, cycle_id)
    now = dt.datetime.now(dt.UTC)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await cycles.close(s, cycle.period, now=now, actor=cycles.Actor("test"))
        await results.score_cycle(s, cycle, tz=settings.tz, now=now)
        await result_review.send_for_review(s, cycle, now=now, actor_label="test")
    return cycle_id, chief, org.head_id


async def test_results_approved_the_other_copy_says_so_and_a_late_tap_tells_the_truth(
    server: FakeBotApi, bot, sessions: SessionFactory, settings
) -> None:  # type: ignore[no-untyped-def]
    cycle_id, _chief, _member = await _in_review(sessions, settings, member_chat=9802)
    chief = server.user(9801, language_code="zh-hans")
    member = server.user(9802, language_code="zh-hans")
    chief_copy = await chief.expect_text("评估结果待审定")
    member_copy = await member.expect_text("评估结果待审定")
    await results_driver.approve(chief, chief_copy)
    await chief.expect_text("公布")
    edited = await approvals.retired(member, member_copy, "已由王建国于")
    assert "评估结果" in (edited.text or "") and "审定通过" in (edited.text or "")
    before = len(member.callback_answers)
    await results_driver.approve(member, member_copy)
    answer = await approvals.answer_to_tap(member, before)
    assert "已由王建国于" in answer and "审定通过" in answer, answer
    async with sessions() as s:
        reviews = await s.scalar(select(func.count()).select_from(ResultReview))
        assert reviews == 1  # the late tap recorded nothing
        assert (await s.get(Cycle, cycle_id)).phase == CyclePhase.APPEALS  # type: ignore[union-attr]


async def test_results_sent_back_every_copy_says_so_and_a_late_leader_gets_the_new_round(
    server: FakeBotApi, bot, sessions: SessionFactory, settings
) -> None:  # type: ignore[no-untyped-def]
    cycle_id, _chief, member_id = await _in_review(sessions, settings, member_chat=None)
    server.user(ADMIN)  # the working group's chat, told of the send-back
    chief = server.user(9801, language_code="zh-hans")
    chief_copy = await chief.expect_text("评估结果待审定")
    # a member links while the results wait: /start hands them their copy, once
    await bind(sessions, 9803, member_id)
    member = server.user(9803, language_code="zh-hans")
    await member.send("/start")
    home = await approvals.seen(member, "待您审定")
    assert "评估结果" in (home.text or "")
    member_copy = await approvals.seen(member, "评估结果待审定")
    member.drain()
    await member.send("/start")
    await member.expect_text("待您审定")
    assert await _copies(sessions, 9803, f"review:{cycle_id}:") == 1
    # the member sends back: both copies (the member's own too) say who, and when
    await results_driver.send_back(member, member_copy)
    await member.expect_text("意见")
    await member.send("请核实互评分数后再报。")
    await member.expect_text("退回")
    await approvals.retired(chief, chief_copy, "已由李明于")
    edited = await approvals.retired(member, member_copy, "已由李明于")
    assert "退回工作小组" in (edited.text or "")
    before = len(chief.callback_answers)
    await results_driver.approve(chief, chief_copy)
    answer = await approvals.answer_to_tap(chief, before)
    assert "已由李明于" in answer and "退回" in answer, answer
    async with sessions() as s:
        assert (await s.get(Cycle, cycle_id)).phase == CyclePhase.SCORING  # type: ignore[union-attr]
