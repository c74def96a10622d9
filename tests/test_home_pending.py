"""The home screen after the forms: every pending thing of a person and their roles, with the
button that acts on it (issue 11, item 5). One test per kind of pending thing, driving the bot."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select

from conversations import appeal, cycle_admin, plan, rectification, result_review, results
from conversations.home import OPEN_RESULT
from domain.enums import (
    AppealStatus,
    CyclePhase,
    PlanStatus,
    RectificationStatus,
    ResponseStatus,
    Role,
    Satisfaction,
)
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import (
    Appeal,
    Cycle,
    ImprovementPlan,
    PlanMilestone,
    Rectification,
    RoleGrant,
    Staff,
    SurveyLink,
    SurveyResponse,
    TelegramAccount,
)
from infra.models.types import utcnow
from tests.drivers import home
from tests.drivers.taps import forge, offered
from tests.factories import SHANGHAI, Org, bind, make_org, open_cycle, published_cycle
from tests.harness import eventually

PERSON, HEAD, CHIEF, MEMBER, ADMIN = 7301, 7302, 7303, 7304, 900001


async def chief_id(sessions: SessionFactory) -> int:
    async with sessions() as s:
        found = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
    assert found is not None
    return int(found)


async def english(sessions: SessionFactory, telegram_id: int) -> None:
    async with sessions.begin() as s:
        account = await s.get(TelegramAccount, telegram_id)
        assert account is not None
        account.language = "en"


async def test_a_published_result_shows_its_appeal_deadline_and_opens_the_appeal(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    pub = await published_cycle(sessions)
    async with sessions() as s:
        cycle = await s.get(Cycle, pub.cycle_id)
        assert cycle is not None and cycle.appeals_until is not None
        deadline = cycle.appeals_until.astimezone(SHANGHAI)
    await bind(sessions, PERSON, pub.org.staff_ids[0])
    user = server.user(PERSON, language_code="zh-hans")
    screen = await home.open_home(user, "结果已公布")
    assert "2026年第四季度绩效评估结果已公布" in screen.text and "总分78.00，合格" in screen.text
    assert f"如对结果有异议，可在{deadline.year}年{deadline.month}月{deadline.day}日" in screen.text
    assert "目前没有" not in screen.text and "没有正在进行" not in screen.text
    assert "🆕" in screen.text  # pushed, but not opened here yet
    assert offered(screen, OPEN_RESULT) and offered(screen, appeal.NEW)
    picker = await home.act(user, screen, appeal.NEW)
    assert picker.buttons  # the appeal flow asks what is disputed


async def test_a_result_not_yet_opened_is_listed_until_its_person_opens_it(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    pub = await published_cycle(sessions)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, pub.cycle_id)
        assert cycle is not None
        cycle.phase = CyclePhase.CLOSED  # the appeal window is over: only "not opened" keeps it
    await bind(sessions, PERSON, pub.org.staff_ids[0])
    user = server.user(PERSON, language_code="zh-hans")
    screen = await home.open_home(user, "结果已公布")
    assert "🆕" in screen.text and "申诉" not in screen.text
    assert not offered(screen, appeal.NEW)
    shown = await home.act(user, screen, OPEN_RESULT)
    assert "总分" in shown.text and offered(shown, results.WHY)
    again = await home.open_home(user, "待办")
    assert "结果已公布" not in again.text and "目前没有您的待办事项。" in again.text
    answered = len(user.callback_answers)
    await forge(user, again, OPEN_RESULT, pub.theirs)  # someone else's result: refused
    await user.wait_until(lambda: len(user.callback_answers) > answered)
    assert "这不是您的评估结果" in user.callback_answers[-1]["text"]


async def test_a_person_with_an_appeal_under_way_answers_the_question_from_home(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    pub = await published_cycle(sessions)
    async with sessions.begin() as s:
        s.add(
            Appeal(
                cycle_id=pub.cycle_id,
                staff_id=pub.org.staff_ids[0],
                result_id=pub.mine,
                target="total",
                reason="互评样本太少",
                status=AppealStatus.QUESTION,
                question="请提供加班记录。",
                deadline=utcnow() + dt.timedelta(days=5),
            )
        )
    await bind(sessions, PERSON, pub.org.staff_ids[0])
    user = server.user(PERSON, language_code="zh-hans")
    screen = await home.open_home(user, "申诉")
    assert "评估工作小组就您的申诉（2026年第四季度）提出了问题" in screen.text
    assert not offered(screen, appeal.NEW)  # appealed already: no second appeal offered
    prompt = await home.act(user, screen, appeal.ANSWER)
    assert prompt.text


async def test_a_plan_to_write_and_milestones_due_are_listed_with_their_buttons(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    cycle_id = await open_cycle(sessions)
    today = utcnow().astimezone(SHANGHAI).date()
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        cycle.phase = CyclePhase.CLOSED
        draft = ImprovementPlan(
            cycle_id=cycle_id, subject_key=f"p:{org.staff_ids[0]}", author_staff_id=org.staff_ids[0]
        )
        approved = ImprovementPlan(
            cycle_id=cycle_id,
            subject_key=f"p:{org.staff_ids[1]}",
            author_staff_id=org.staff_ids[1],
            approver_staff_id=org.head_id,
            status=PlanStatus.APPROVED,
            goals="目标",
            measures="措施",
            responsible="本人",
        )
        s.add_all([draft, approved])
        await s.flush()
        s.add_all(
            [
                PlanMilestone(
                    plan_id=approved.id, due=today - dt.timedelta(days=2), text="完成预案复盘"
                ),
                PlanMilestone(
                    plan_id=approved.id, due=today + dt.timedelta(days=3), text="参加演练"
                ),
                PlanMilestone(
                    plan_id=approved.id, due=today + dt.timedelta(days=40), text="年终总结"
                ),
            ]
        )
    await bind(sessions, PERSON, org.staff_ids[0])
    await bind(sessions, MEMBER, org.staff_ids[1])

    writer = server.user(PERSON, language_code="zh-hans")
    screen = await home.open_home(writer, "改进计划")
    assert "请制定并提交绩效改进计划（2026年第四季度）" in screen.text
    first = await home.act(writer, screen, plan.OPEN)
    assert first.text

    doer = server.user(MEMBER, language_code="zh-hans")
    screen = await home.open_home(doer, "时间节点")
    assert "2个时间节点待完成" in screen.text  # the one in 40 days is not due yet
    assert "完成预案复盘（已逾期）" in screen.text and "参加演练" in screen.text
    assert "年终总结" not in screen.text
    assert len(offered(screen, plan.REPORT)) == 2
    asked = await home.act(doer, screen, plan.REPORT)
    assert "进展" in asked.text


async def test_the_supervisor_sees_the_plan_waiting_for_approval(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    cycle_id = await open_cycle(sessions)
    async with sessions.begin() as s:
        s.add(
            ImprovementPlan(
                cycle_id=cycle_id,
                subject_key=f"p:{org.staff_ids[0]}",
                author_staff_id=org.staff_ids[0],
                approver_staff_id=org.head_id,
                status=PlanStatus.SUBMITTED,
                goals="目标",
                measures="措施",
                responsible="本人",
                submitted_at=utcnow(),
            )
        )
    await bind(sessions, HEAD, org.head_id)
    head = server.user(HEAD, language_code="zh-hans")
    screen = await home.open_home(head, "待您审批")
    assert "1份绩效改进计划待您审批" in screen.text
    assert "审批张伟的改进计划" in screen.button_texts()
    view = await home.act(head, screen, plan.OPEN)
    assert "张伟" in view.text


async def test_the_chief_sees_the_leadership_role_and_the_indicator_system_to_approve(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    cycle_id = await open_cycle(sessions, approve=False)
    await bind(sessions, CHIEF, await chief_id(sessions))
    chief = server.user(CHIEF, language_code="zh-hans")
    screen = await home.open_home(chief, "领导小组组长")
    assert "您是绩效评估领导小组组长。" in screen.text
    assert "待审定，审定通过后2026年第四季度绩效评估即开始" in screen.text
    assert offered(screen, cycle_admin.VIEW)
    await home.tap(chief, screen, cycle_admin.APPROVE)

    async def collecting() -> bool:
        async with sessions() as s:
            cycle = await s.get(Cycle, cycle_id)
            return cycle is not None and cycle.phase == CyclePhase.COLLECTING

    await eventually(collecting)
    chief.drain()
    again = await home.open_home(chief, "领导小组组长")
    assert "待审定" not in again.text
    assert not offered(again, cycle_admin.APPROVE)


async def test_a_leader_sees_results_waiting_for_approval_and_can_send_them_back(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    cycle_id = await open_cycle(sessions)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        cycle.phase, cycle.review_round = CyclePhase.REVIEW, 2
        s.add(RoleGrant(staff_id=org.head_id, role=Role.LEADER_MEMBER))
    await bind(sessions, MEMBER, org.head_id)
    member = server.user(MEMBER, language_code="zh-hans")
    # opening home also hands the member their copy of the request, through the outbox, so the
    # two messages come in either order; both are taken before the tap
    await member.send("/start")
    first, second = await member.expect(), await member.expect()
    screen, copy = (first, second) if "领导小组成员" in first.text else (second, first)
    assert "您是绩效评估领导小组成员。" in screen.text
    assert "2026年第四季度绩效评估结果待您审定（第2轮）" in screen.text
    assert offered(screen, result_review.APPROVE) == [result_review.APPROVE.data(cycle_id, 2)]
    assert "2026年第四季度评估结果待审定（第2轮）" in copy.text
    assert offered(copy, result_review.SEND_BACK) == [result_review.SEND_BACK.data(cycle_id, 2)]
    asked = await home.act(member, screen, result_review.SEND_BACK)
    assert "退回" in asked.text


async def test_the_working_group_sees_appeals_to_decide_and_opens_the_queue(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    pub = await published_cycle(sessions)
    async with sessions.begin() as s:
        for staff_id, result_id, days in (
            (pub.org.staff_ids[0], pub.mine, 3),
            (pub.org.staff_ids[1], pub.theirs, 5),
        ):
            s.add(
                Appeal(
                    cycle_id=pub.cycle_id,
                    staff_id=staff_id,
                    result_id=result_id,
                    target="total",
                    reason="理由",
                    deadline=utcnow() + dt.timedelta(days=days),
                )
            )
    admin = server.user(ADMIN, language_code="zh-hans")
    screen = await home.open_home(admin, "评估工作小组")
    assert "2件申诉待处理，最早一件办理时限" in screen.text
    queue = await home.act(admin, screen, appeal.QUEUE)
    assert "张伟" in queue.text and "刘芳" in queue.text


async def bad_review_item(
    sessions: SessionFactory, org: Org, status: RectificationStatus, deadline: dt.datetime
) -> int:
    """A citizen's 差评 of the unit as the survey leaves it, and its rectification item."""
    now = utcnow()
    async with sessions.begin() as s:
        link = SurveyLink(token_hash=secrets.token_hex(32), unit_id=org.unit_id, created_at=now)
        s.add(link)
        await s.flush()
        response = SurveyResponse(
            link_id=link.id,
            unit_id=org.unit_id,
            target_key=f"u:{org.unit_id}",
            respondent_key=secrets.token_hex(32),
            dedupe_key=f"link:{link.id}",
            day=now.astimezone(SHANGHAI).date(),
            status=ResponseStatus.COMPLETE,
            overall=Satisfaction.VERY_DISSATISFIED,
            completed_at=now,
        )
        s.add(response)
        await s.flush()
        rect = Rectification(
            response_id=response.id,
            unit_id=org.unit_id,
            status=status,
            opened_at=now - dt.timedelta(days=20),
            deadline=deadline,
            review_requested_at=now if status == RectificationStatus.UNDER_REVIEW else None,
        )
        s.add(rect)
        await s.flush()
        return rect.id


async def test_a_unit_head_sees_bad_reviews_to_answer_and_opens_one(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    rect_id = await bad_review_item(
        sessions, org, RectificationStatus.OPEN, utcnow() - dt.timedelta(days=1)
    )
    for _ in range(3):
        await bad_review_item(
            sessions, org, RectificationStatus.OPEN, utcnow() + dt.timedelta(days=10)
        )
    await bad_review_item(  # waiting for the working group, not for the head
        sessions, org, RectificationStatus.UNDER_REVIEW, utcnow() + dt.timedelta(days=3)
    )
    await bind(sessions, HEAD, org.head_id)
    head = server.user(HEAD, language_code="zh-hans")
    screen = await home.open_home(head, "差评")
    assert "4条差评待处理" in screen.text  # many: the first three, then the whole list
    assert f"#{rect_id} 应急指挥中心，整改期限" in screen.text
    assert screen.text.count("已逾期）") == 1
    assert len(offered(screen, rectification.OPEN)) == 3 and offered(screen, rectification.LIST)
    item = await home.act(head, screen, rectification.OPEN)
    assert f"#{rect_id}" in item.text

    admin = server.user(ADMIN, language_code="zh-hans")
    screen = await home.open_home(admin, "评估工作小组")
    assert "1条差评经单位申请待复核" in screen.text
    requests = await home.act(admin, screen, rectification.REVIEWS)
    assert "应急指挥中心" in requests.text


async def test_nothing_pending_says_so_and_what_comes_next(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    cycle_id = await open_cycle(sessions)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        cycle.phase = CyclePhase.SCORING
    await bind(sessions, PERSON, org.staff_ids[0])
    user = server.user(PERSON, language_code="zh-hans")
    screen = await home.open_home(user, "待办")
    assert "目前没有您的待办事项。" in screen.text
    assert "2026年第四季度绩效评估结果正在核算，公布后将通知您。" in screen.text
    assert not screen.buttons


async def test_english_home_reads_as_english(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    pub = await published_cycle(sessions)
    await bind(sessions, PERSON, pub.org.staff_ids[0])
    await english(sessions, PERSON)
    user = server.user(PERSON, language_code="en")
    screen = await home.open_home(user, "results published")
    assert "Q4 2026 results published" in screen.text
    assert "you may appeal until" in screen.text
    assert not any(ch in screen.text for ch in "、：【】（）")


async def test_the_chief_with_nothing_to_approve_still_sees_the_role(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    await bind(sessions, CHIEF, await chief_id(sessions))
    chief = server.user(CHIEF, language_code="zh-hans")
    screen = await home.open_home(chief, "领导小组")
    assert "您是绩效评估领导小组组长。" in screen.text
    assert "新一期绩效评估开始时将通知您。" in screen.text
