"""績效改進計劃 (七(一)): plans open at publishing for 不合格, the author drafts them in the chat,
the supervising leader returns or approves, milestones are reminded once each and progress
is reported to the end; only the author edits and only the approver (or an admin) decides."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.jobs import run_plan_reminders
from chat.callbacks import encode
from domain.enums import CyclePhase, Grade, PlanStatus
from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.container import Services
from infra.db import SessionFactory
from infra.i18n import Translator
from infra.models import (
    AuditEntry,
    Cycle,
    ImprovementPlan,
    OutboxMessage,
    PlanMilestone,
    Result,
    Staff,
)
from infra.models.types import utcnow
from services import plan_view, plans
from services.access import load_actor
from services.cases import Env
from services.errors import DomainError
from tests.drivers import plan as drive
from tests.factories import Org, bind, make_org, open_cycle
from tests.harness import InProcessBot

SHANGHAI = ZoneInfo("Asia/Shanghai")
ENV = Env(admin_ids=frozenset({900001}))
PERSON, HEAD, CHIEF, COLLEAGUE, ADMIN = 7101, 7102, 7103, 7104, 900001


@dataclass
class Published:
    org: Org
    chief_id: int
    cycle_id: int
    person_result: int
    unit_result: int
    person_plan: int
    unit_plan: int


async def published(sessions: SessionFactory, *, bound: bool = True) -> Published:
    """A published cycle: one person and the unit graded 不合格, a colleague 合格."""
    org = await make_org(sessions, people=3)
    now = utcnow()
    cycle_id = await open_cycle(sessions, now=now - dt.timedelta(days=30), deadline=now)
    async with sessions() as s:
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
        assert chief is not None
        chief_id = int(chief)
    if bound:
        await bind(sessions, PERSON, org.staff_ids[0])
        await bind(sessions, HEAD, org.head_id)
        await bind(sessions, CHIEF, chief_id)
        await bind(sessions, COLLEAGUE, org.staff_ids[1])
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        cycle.phase, cycle.published_at = CyclePhase.APPEALS, now

        def result(staff_id: int | None, total: str, grade: Grade) -> Result:
            key = f"p:{staff_id}" if staff_id is not None else f"u:{org.unit_id}"
            return Result(
                cycle_id=cycle_id,
                subject_key=key,
                staff_id=staff_id,
                unit_id=org.unit_id,
                total=Decimal(total),
                grade=grade,
                breakdown={},
                published_at=now,
            )

        results = [
            result(org.staff_ids[0], "52.50", Grade.FAIL),
            result(org.staff_ids[1], "75.00", Grade.PASS),
            result(None, "58.00", Grade.FAIL),  # the unit
        ]
        s.add_all(results)
        await s.flush()
        assert await plans.open_plans_for(s, cycle, results, now=now) == 2
        assert await plans.open_plans_for(s, cycle, results, now=now) == 0  # idempotent
        by_key = {
            p.subject_key: p.id
            for p in await s.scalars(
                select(ImprovementPlan).where(ImprovementPlan.cycle_id == cycle_id)
            )
        }
        return Published(
            org,
            chief_id,
            cycle_id,
            results[0].id,
            results[2].id,
            by_key[f"p:{org.staff_ids[0]}"],
            by_key[f"u:{org.unit_id}"],
        )


def local_today() -> dt.date:
    return utcnow().astimezone(SHANGHAI).date()


async def audits(sessions: SessionFactory, action: str) -> list[AuditEntry]:
    async with sessions() as s:
        return list(
            await s.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


async def get_plan(sessions: SessionFactory, plan_id: int) -> ImprovementPlan:
    async with sessions() as s:
        plan = await s.get(ImprovementPlan, plan_id)
        assert plan is not None
        return plan


async def approve_directly(
    sessions: SessionFactory, plan_id: int, author: int, dues: list[dt.date]
) -> list[int]:
    """An approved plan with milestones on ``dues``, written through the services."""
    async with sessions.begin() as s:
        actor = await load_actor(s, author, frozenset())
        for field in (plan_view.GOALS, plan_view.MEASURES, plan_view.RESPONSIBLE):
            await plans.save_field(s, plan_id, field, "内容", actor=actor, now=utcnow())
        plan = await s.get(ImprovementPlan, plan_id)
        assert plan is not None
        plan.status = PlanStatus.APPROVED
        plan.approved_at = utcnow()
        rows = [
            PlanMilestone(plan_id=plan_id, due=d, text=f"节点{i}") for i, d in enumerate(dues, 1)
        ]
        s.add_all(rows)
        await s.flush()
        return [r.id for r in rows]


async def submit_directly(sessions: SessionFactory, plan_id: int, author: int) -> None:
    """A plan written and submitted through the services, one milestone in 30 days."""
    async with sessions.begin() as s:
        actor = await load_actor(s, author, frozenset())
        for field in (plan_view.GOALS, plan_view.MEASURES, plan_view.RESPONSIBLE):
            await plans.save_field(s, plan_id, field, "原内容", actor=actor, now=utcnow())
        due = local_today() + dt.timedelta(days=30)
        await plans.save_milestones(
            s, plan_id, [(due, "复盘")], actor=actor, today=local_today(), now=utcnow()
        )
        await plans.submit(s, plan_id, actor=actor, today=local_today(), now=utcnow(), env=ENV)


# --- rules without the chat ---------------------------------------------------------------


@pytest.mark.nodb
def test_milestones_are_dated_lines_in_the_future_and_in_order() -> None:
    today = dt.date(2026, 12, 20)
    assert plans.parse_milestones(
        "2027-01-15 完成预案修订\n\n2027/2/1：组织演练\n2027年3月1日 总结评估", today
    ) == [
        (dt.date(2027, 1, 15), "完成预案修订"),
        (dt.date(2027, 2, 1), "组织演练"),
        (dt.date(2027, 3, 1), "总结评估"),
    ]
    for text, problem in [
        ("", "at least one"),
        ("下个月完成", "Line 1: please start with a date"),
        ("2027-02-30 修订", "does not exist"),
        ("2027-01-15", "what is to be done"),
        ("2026-12-20 今天", "not in the future"),
        ("2027-03-01 后\n2027-01-01 前", "Line 2: the dates must be in order"),
        ("2027-01-15 " + "长" * 201, "at most 200"),
        ("\n".join(f"2027-01-{d:02d} 第{d}步" for d in range(1, 14)), "At most 12"),
    ]:
        with pytest.raises(DomainError) as info:
            plans.parse_milestones(text, today)
        assert problem in str(info.value), (text, str(info.value))


async def test_authors_approvers_and_a_threshold(sessions: SessionFactory) -> None:
    setup = await published(sessions, bound=False)
    person = await get_plan(sessions, setup.person_plan)
    unit = await get_plan(sessions, setup.unit_plan)
    assert (person.author_staff_id, person.approver_staff_id) == (
        setup.org.staff_ids[0],
        setup.org.head_id,  # the person's supervisor
    )
    assert (unit.author_staff_id, unit.approver_staff_id) == (
        setup.org.head_id,  # the unit head writes the unit's plan
        setup.chief_id,  # the leader in charge approves it
    )
    assert person.status == unit.status == PlanStatus.DRAFT
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, setup.cycle_id)
        assert cycle is not None
        results = list(await s.scalars(select(Result).where(Result.cycle_id == setup.cycle_id)))
        # a bureau threshold of 80 also takes in the 合格 colleague (75), once
        assert (
            await plans.open_plans_for(s, cycle, results, now=utcnow(), threshold=Decimal(80)) == 1
        )
        assert (
            await plans.open_plans_for(s, cycle, results, now=utcnow(), threshold=Decimal(80)) == 0
        )
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(ImprovementPlan)) == 3
        # nobody is bound: nothing could be pushed, and nothing was queued
        assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert len(await audits(sessions, "plan.open")) == 3


# --- the chat ------------------------------------------------------------------------------


async def test_person_drafts_step_by_step_and_submits_to_the_supervisor(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    setup = await published(sessions)
    pid = setup.person_plan
    person = server.user(PERSON, language_code="zh-hans")
    head = server.user(HEAD, language_code="zh-hans")
    notice = await person.expect_text("您需要制定绩效改进计划", timeout=120)
    assert "张伟" in notice.text and "不合格" in notice.text and "李明" in notice.text
    assert drive.has(notice, drive.OPEN, pid)
    await drive.open(person, pid, notice)
    await person.expect_text("请写改进目标")
    await person.send("本季度应急值守差错降为零，预案演练参与率达到100%。")
    await person.expect_text("请写改进措施")
    await person.send("每周复盘值守记录；参加两次专项演练；向主任汇报。")
    await person.expect_text("由谁负责")
    await person.send("张伟")
    await person.expect_text("请写时间节点")
    first, second = local_today() + dt.timedelta(days=20), local_today() + dt.timedelta(days=40)
    await person.send("下个月完成修订")
    await person.expect_text("第1行")
    await person.send(f"{local_today().isoformat()} 今天就做")
    await person.expect_text("不在今天之后")
    await person.send(f"{second.isoformat()} 演练\n{first.isoformat()} 修订")
    await person.expect_text("先后顺序")
    await person.send(
        f"{first.isoformat()} 完成值守制度修订\n{second.isoformat()} 参加专项演练并总结"
    )
    check = await person.expect_text("请核对时间节点")
    written = f"{first.year}年{first.month}月{first.day}日"  # as the bot writes a date
    assert written in check.text and "参加专项演练并总结" in check.text
    await drive.confirm_milestones(person, pid, check)
    summary = await person.expect_text("提交审批")
    assert "每周复盘值守记录" in summary.text and "完成值守制度修订" in summary.text
    await drive.submit(person, pid, summary)
    await person.expect_text("已提交李明审批")
    assert (await get_plan(sessions, pid)).status == PlanStatus.SUBMITTED
    async with sessions() as s:
        query = select(PlanMilestone.due).where(PlanMilestone.plan_id == pid)
        assert sorted(await s.scalars(query)) == [first, second]

    request = await head.expect_text("待您审批的绩效改进计划", timeout=120)
    assert "每周复盘值守记录" in request.text
    assert drive.buttons(request) == [("approve", (pid, 1)), ("send_back", (pid, 1))]
    assert len(await audits(sessions, "plan.submit")) == 1


async def test_a_returned_plan_is_revised_and_only_the_latest_round_can_be_approved(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    setup = await published(sessions)
    pid = setup.person_plan
    await submit_directly(sessions, pid, PERSON)
    person = server.user(PERSON, language_code="zh-hans")
    head = server.user(HEAD, language_code="zh-hans")
    request = await head.expect_text("待您审批的绩效改进计划", timeout=120)
    await drive.decide(head, pid, 1, request, approve=False)
    await head.expect_text("退回意见")
    await head.send("措施不够具体，请写明演练的时间和内容。")
    await head.expect_text("已连同您的意见退回")
    plan = await get_plan(sessions, pid)
    assert plan.status == PlanStatus.RETURNED
    assert plan.comment == "措施不够具体，请写明演练的时间和内容。"

    returned = await person.expect_text("被退回修改", timeout=120)
    assert "措施不够具体" in returned.text
    await drive.open(person, pid, returned)
    summary = await person.expect_text("提交审批")
    assert "退回意见" in summary.text and "措施不够具体" in summary.text
    await drive.edit(person, pid, plan_view.MEASURES, summary)
    await person.expect_text("请写改进措施")
    await person.send("每周复盘值守记录；1月参加防汛专项演练，2月参加森林防火演练。")
    summary = await person.expect_text("提交审批")
    await drive.submit(person, pid, summary)
    await person.expect_text("已提交李明审批")

    answered = len(head.callback_answers)
    await drive.decide(head, pid, 1, request, approve=True)  # the first round's button: stale now
    await head.wait_until(lambda: len(head.callback_answers) > answered)
    assert "已审批过" in head.callback_answers[-1]["text"]
    assert (await get_plan(sessions, pid)).status == PlanStatus.SUBMITTED
    request = await head.expect_text("待您审批的绩效改进计划", timeout=120)
    assert "防汛专项演练" in request.text
    await drive.decide(head, pid, 2, request, approve=True)
    await head.expect_text("已批准，已通知制定人")
    await person.expect_text("已获批准", timeout=120)

    plan = await get_plan(sessions, pid)
    assert plan.status == PlanStatus.APPROVED and plan.approved_at is not None
    assert plan.measures.startswith("每周复盘值守记录；1月")
    assert [
        len(await audits(sessions, a)) for a in ("plan.submit", "plan.return", "plan.approve")
    ] == [2, 1, 1]
    assert await audits(sessions, "access.denied") == []


async def test_a_milestone_is_reminded_on_its_date_and_once_overdue_across_a_restart(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory
) -> None:
    setup = await published(sessions)
    m1, _m2 = await approve_directly(
        sessions, setup.person_plan, PERSON, [dt.date(2031, 3, 10), dt.date(2031, 4, 10)]
    )
    clock = [dt.datetime(2031, 3, 9, 10, tzinfo=SHANGHAI)]
    services = Services(settings=bot_settings, sessions=sessions, clock=lambda: clock[0])
    person = server.user(PERSON, language_code="zh-hans")

    def reminders() -> list[str]:
        return [
            m.text or ""
            for m in server.sent_messages(PERSON)
            if "到期" in (m.text or "") or "逾期" in (m.text or "")
        ]

    running = InProcessBot(server, bot_settings)
    await running.start()
    try:
        assert await run_plan_reminders(services) == 0  # the day before: nothing
        clock[0] = dt.datetime(2031, 3, 10, 0, 30, tzinfo=SHANGHAI)  # still 9 March in UTC
        assert await run_plan_reminders(services) == 1
        assert await run_plan_reminders(services) == 0  # once only
        await person.wait_until(lambda: len(reminders()) == 1, timeout=120)
    finally:
        await running.stop()
    running = InProcessBot(server, bot_settings)
    await running.start()
    try:
        assert await run_plan_reminders(services) == 0  # a restart repeats nothing
        clock[0] = dt.datetime(2031, 3, 11, 9, tzinfo=SHANGHAI)
        assert await run_plan_reminders(services) == 1  # overdue: once more
        assert await run_plan_reminders(services) == 0
        clock[0] = dt.datetime(2031, 3, 20, 9, tzinfo=SHANGHAI)
        assert await run_plan_reminders(services) == 0  # and never again
        await person.wait_until(lambda: len(reminders()) == 2, timeout=120)
    finally:
        await running.stop()
    due, overdue = reminders()
    assert "今天到期" in due and "节点1" in due
    assert "已逾期" in overdue and "节点1" in overdue
    reminder = next(m for m in person.messages if "已逾期" in (m.text or ""))
    assert drive.buttons(reminder) == [("report", (m1,))]
    async with sessions() as s:
        query = select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.like("plan-%due:%"))
        assert sorted(await s.scalars(query)) == [f"plan-due:{m1}", f"plan-overdue:{m1}"]


async def test_progress_is_reported_until_every_milestone_is_done_and_the_approver_told(
    server: FakeBotApi, bot: InProcessBot, bot_settings: Settings, sessions: SessionFactory
) -> None:
    setup = await published(sessions)
    pid = setup.person_plan
    m1, m2 = await approve_directly(
        sessions, pid, PERSON, [dt.date(2031, 3, 10), dt.date(2031, 4, 10)]
    )
    person = server.user(PERSON, language_code="zh-hans")
    await person.send("/plan")
    view = await person.expect_text("点击时间节点汇报进展")
    assert drive.buttons(view) == [("report", (m1,)), ("report", (m2,))]
    await drive.report(person, m1, view)
    await person.expect_text("请汇报该时间节点的进展")
    await person.send("值守制度修订稿已印发。")
    mark = await person.expect_text("是否已完成")
    assert "值守制度修订稿已印发" in mark.text
    await drive.mark(person, m1, mark, done=True)
    await person.expect_text("该时间节点已标记完成")
    assert (await get_plan(sessions, pid)).status == PlanStatus.APPROVED
    # the second milestone: "not yet" first, then done
    await person.send("/plan")
    view = await person.expect_text("点击时间节点汇报进展")
    assert drive.buttons(view) == [("report", (m2,))]
    await drive.report(person, m2, view)
    await person.expect_text("请汇报该时间节点的进展")
    await person.send("演练方案已定稿。")
    mark = await person.expect_text("是否已完成")
    await drive.mark(person, m2, mark, done=False)
    await person.expect_text("仍未完成")
    answered = len(person.callback_answers)
    await drive.mark(person, m2, mark, done=True)  # the old MARK button: stale, changes nothing
    await person.wait_until(lambda: len(person.callback_answers) > answered)
    assert (await get_plan(sessions, pid)).status == PlanStatus.APPROVED
    await drive.report(person, m2, view)
    await person.expect_text("请汇报该时间节点的进展")
    await person.send("演练已完成并总结。")
    mark = await person.expect_text("是否已完成")
    await drive.mark(person, m2, mark, done=True)
    await person.expect_text("计划已完成")
    head = server.user(HEAD, language_code="zh-hans")
    await head.expect_text("绩效改进计划（2026年第四季度）已完成", timeout=120)
    assert (await get_plan(sessions, pid)).status == PlanStatus.DONE
    async with sessions() as s:
        second = await s.get(PlanMilestone, m2)
        assert second is not None and second.done_at is not None
        assert second.progress is not None and "演练方案已定稿" in second.progress
        assert "演练已完成并总结" in second.progress
    clock = dt.datetime(2031, 4, 12, 9, tzinfo=SHANGHAI)
    services = Services(settings=bot_settings, sessions=sessions, clock=lambda: clock)
    assert await run_plan_reminders(services) == 0  # a done plan is not reminded


async def test_unit_plan_by_the_head_approved_by_the_leader_in_charge(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    setup = await published(sessions)
    pid = setup.unit_plan
    head = server.user(HEAD, language_code="zh-hans")
    chief = server.user(CHIEF, language_code="zh-hans")
    notice = await head.expect_text("您需要制定绩效改进计划", timeout=120)
    assert "应急指挥中心（单位）" in notice.text and "王建国" in notice.text
    await head.send("/plan")  # the only plan of the head: opened at once
    await head.expect_text("请写改进目标")
    await head.send("单位群众满意度提升到90%以上。")
    await head.expect_text("请写改进措施")
    await head.send("窗口午间轮班；每月通报差评整改。")
    await head.expect_text("由谁负责")
    await head.send("李明")
    await head.expect_text("请写时间节点")
    due = local_today() + dt.timedelta(days=60)
    await head.send(f"{due.isoformat()} 满意度复测")
    check = await head.expect_text("请核对时间节点")
    await drive.confirm_milestones(head, pid, check)
    summary = await head.expect_text("提交审批")
    await drive.submit(head, pid, summary)
    await head.expect_text("已提交王建国审批")
    request = await chief.expect_text("待您审批的绩效改进计划", timeout=120)
    assert "应急指挥中心（单位）" in request.text
    await drive.decide(chief, pid, 1, request, approve=True)
    await chief.expect_text("已批准")
    await head.expect_text("已获批准", timeout=120)
    plan = await get_plan(sessions, pid)
    assert plan.status == PlanStatus.APPROVED
    assert (plan.author_staff_id, plan.approver_staff_id) == (setup.org.head_id, setup.chief_id)
    await chief.send("/plans")
    listing = await chief.expect_text("由您审批的改进计划")
    assert "应急指挥中心（单位）" in listing.text and "按计划推进" in listing.text


async def test_only_the_author_edits_and_only_the_approver_decides(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    setup = await published(sessions)
    pid = setup.person_plan
    await submit_directly(sessions, pid, PERSON)
    async with sessions.begin() as s:
        actor = await load_actor(s, PERSON, frozenset())
        # services refuse too, whatever the chat does
        other = await load_actor(s, COLLEAGUE, frozenset())
        with pytest.raises(plans.Refused):
            await plans.approve(s, pid, 1, actor=other, now=utcnow(), env=ENV)
        with pytest.raises(plans.Refused):
            await plans.approve(s, pid, 1, actor=actor, now=utcnow(), env=ENV)  # not one's own plan
    colleague = server.user(COLLEAGUE, language_code="zh-hans")
    person = server.user(PERSON, language_code="zh-hans")
    head = server.user(HEAD, language_code="zh-hans")
    await colleague.send("/plans")
    anchor = await colleague.expect_text("您没有需要审批的改进计划")
    forged = [
        lambda: drive.edit(colleague, pid, plan_view.GOALS, anchor),
        lambda: drive.submit(colleague, pid, anchor),
        lambda: drive.decide(colleague, pid, 1, anchor, approve=True),
        lambda: drive.decide(colleague, pid, 1, anchor, approve=False),
        lambda: drive.open(colleague, pid, anchor),
        lambda: drive.open_from_result(colleague, setup.person_result, anchor),
        lambda: drive.open(colleague, 999999, anchor),
    ]
    for n, press in enumerate(forged, 1):
        await press()
        await colleague.wait_until(lambda n=n: len(colleague.callback_answers) >= n)  # type: ignore[misc]
        assert "不适用于您" in colleague.callback_answers[-1]["text"], n
    await person.send("/start")
    mine = await person.expect()
    await drive.decide(
        person, pid, 1, mine, approve=True
    )  # the author cannot approve their own plan
    await person.wait_until(lambda: bool(person.callback_answers))
    assert "不适用于您" in person.callback_answers[-1]["text"]
    request = await head.expect_text("待您审批的绩效改进计划", timeout=120)
    await drive.edit(head, pid, plan_view.GOALS, request)  # the approver does not edit
    await head.wait_until(lambda: bool(head.callback_answers))
    assert "不适用于您" in head.callback_answers[-1]["text"]
    denied = await audits(sessions, "access.denied")
    assert [(d.actor_telegram_id, d.object_type) for d in denied] == [
        *[(COLLEAGUE, "improvement_plan")] * len(forged),
        (PERSON, "improvement_plan"),
        (HEAD, "improvement_plan"),
    ]
    plan = await get_plan(sessions, pid)
    assert plan.status == PlanStatus.SUBMITTED and plan.goals == "原内容"

    admin = server.user(ADMIN, language_code="zh-hans")
    await admin.send("/plans")
    overview = await admin.expect_text("绩效改进计划")
    assert "应急指挥中心" in overview.text
    assert "张伟 · 待审批" in overview.text and "应急指挥中心（单位） · 制定中" in overview.text
    await drive.decide(admin, pid, 1, overview, approve=True)  # the working group may decide
    await admin.expect_text("已批准")
    assert (await get_plan(sessions, pid)).status == PlanStatus.APPROVED
    await admin.send("/plans")
    overview = await admin.expect_text("绩效改进计划")
    assert "张伟 · 按计划推进 0/1" in overview.text


async def test_buttons_queued_by_earlier_versions_still_open_the_plan_others_are_expired(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    setup = await published(sessions)
    person = server.user(PERSON, language_code="zh-hans")
    notice = await person.expect_text("您需要制定绩效改进计划", timeout=120)
    await person.press(f"ip1:o:{setup.person_plan}", notice)  # single-letter, as queued before
    await person.expect_text("改进目标")
    answered = len(person.callback_answers)
    await person.press(f"ip1:z:{setup.person_plan}", notice)  # never a plan button
    await person.wait_until(lambda: len(person.callback_answers) > answered)
    assert "已失效" in person.callback_answers[-1]["text"]
    assert await audits(sessions, "access.denied") == []
    assert (await get_plan(sessions, setup.person_plan)).status == PlanStatus.DRAFT


async def test_a_draft_resumes_at_its_step_after_a_restart_and_after_cancel(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory
) -> None:
    setup = await published(sessions)
    pid = setup.person_plan
    person = server.user(PERSON, language_code="zh-hans")
    running = InProcessBot(server, bot_settings)
    await running.start()
    try:
        await person.send("/plan")
        await person.expect_text("请写改进目标")
        await person.send("目标一")
        await person.expect_text("请写改进措施")
    finally:
        await running.stop()
    running = InProcessBot(server, bot_settings)
    await running.start()
    try:
        await person.send("措施一")  # taken by the stored step after the restart
        await person.expect_text("由谁负责")
        await person.send("/cancel")
        await person.expect_text("已取消")
        await person.send("张伟")  # no step is open: not taken as an answer
        await person.expect()
        assert (await get_plan(sessions, pid)).responsible == ""
        await person.send("/plan")  # drafting continues at the first empty part
        await person.expect_text("由谁负责")
        await person.send("张伟")
        await person.expect_text("请写时间节点")
        # the result's 改进计划 button leads to the same plan
        await drive.open_from_result(person, setup.person_result, person.last_message)
        await person.expect_text("请写时间节点")
    finally:
        await running.stop()
    plan = await get_plan(sessions, pid)
    assert (plan.goals, plan.measures, plan.responsible) == ("目标一", "措施一", "张伟")
    assert plan.status == PlanStatus.DRAFT


@pytest.mark.nodb
def test_every_button_the_table_queues_is_an_action_of_the_plan_flow() -> None:
    """Notices carry named choices; each must be one the plan codec (ip1) can put on a button."""
    step = SimpleNamespace(case=SimpleNamespace(id=12), round=2, params={"milestone": 34})
    tr = Translator("zh_Hans")
    queued = [
        choice
        for t in plans.PLAN.transitions
        for notice in t.notices
        if notice.choices is not None
        for line in notice.choices(tr, step)  # type: ignore[arg-type]
        for choice in line
    ]
    assert {c.action for c in queued} == {
        "plan.open",
        "plan.approve",
        "plan.send_back",
        "plan.report",
    }
    assert [encode(c) for c in queued if c.action != "plan.open"] == [
        "ip1:approve:12:2",
        "ip1:send_back:12:2",
        "ip1:report:34",
        "ip1:report:34",
    ]
