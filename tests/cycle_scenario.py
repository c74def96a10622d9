"""A scored, published cycle with everything the working group files: two units, every form
answered (some texts that look like spreadsheet formulas), citizens' praise and 差评 (one
handled, one open, one excluded after review), an appeal that changed a score and one
upheld, and an improvement plan with a milestone past due. Built through the services."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import (
    AssignmentStatus,
    PlanStatus,
    RectificationOutcome,
    RectificationStatus,
    ResponseStatus,
    Role,
    Satisfaction,
    Source,
    UnitKind,
)
from infra.db import SessionFactory
from infra.models import (
    Answer,
    Assignment,
    Cycle,
    ImprovementPlan,
    OrgUnit,
    PlanMilestone,
    Rectification,
    Result,
    RoleGrant,
    Staff,
    SurveyAnswer,
    SurveyLink,
    SurveyResponse,
    TelegramAccount,
)
from services import appeals, cycles, result_review, results
from services import rectification as rc
from services.access import load_actor
from services.cases import Env
from tests.factories import SHANGHAI, Org, fill_all_forms, make_org, open_cycle

ADMIN, CHIEF = 990001, 990000
# texts a spreadsheet would run as formulas if written as they are
HOSTILE = {
    "~ach": '=HYPERLINK("http://evil.example","点我")',
    "~prb": "+86 10 1234 5678",
    "~msr": "@SUM(A1:A9)",
}
PEER_COMMENT = "-2+3 配合很好"
TAB_TEXT = "\t=1+1"
APPEAL_REASON = "=1+1 演练记录已报送，评分未反映。"


CALLBACK_PHONE = "13912345678"  # left with the open web 差评: never in a workbook or report


@dataclass
class Scenario:
    org: Org
    cycle_id: int
    period: str
    second_unit_id: int
    adjusted_appeal: int
    upheld_appeal: int
    plan_id: int


async def _second_unit(sessions: SessionFactory, org: Org) -> int:
    """防灾减灾科 with a head (who also sits in the working group) and three staff."""
    async with sessions.begin() as s:
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
        unit = OrgUnit(
            name="防灾减灾科", kind=UnitKind.SECTION, parent_id=org.bureau_id, sort_order=2
        )
        s.add(unit)
        await s.flush()
        head = Staff(employee_no="B001", name="孙丽", unit_id=unit.id, position="科长")
        head.supervisor_id = chief
        s.add(head)
        await s.flush()
        unit.head_staff_id, unit.leader_staff_id = head.id, chief
        for n, name in enumerate(("钱进", "郑爽", "冯刚"), 2):
            s.add(
                Staff(
                    employee_no=f"B{n:03d}",
                    name=name,
                    unit_id=unit.id,
                    position="科员",
                    supervisor_id=head.id,
                )
            )
        s.add(RoleGrant(staff_id=head.id, role=Role.ADMIN))
        return unit.id


async def _response(
    sessions: SessionFactory,
    org: Org,
    overall: Satisfaction,
    levels: tuple[Satisfaction, Satisfaction],
    at: dt.datetime,
    channel: str = "telegram",
    callback_phone: str | None = None,
) -> SurveyResponse:
    async with sessions.begin() as s:
        link = SurveyLink(
            token_hash=secrets.token_hex(32),
            unit_id=org.unit_id,
            staff_id=org.staff_ids[0],
            created_at=at,
        )
        s.add(link)
        await s.flush()
        response = SurveyResponse(
            link_id=link.id,
            unit_id=org.unit_id,
            staff_id=org.staff_ids[0],
            target_key=f"s:{org.staff_ids[0]}",
            respondent_key=secrets.token_hex(16),
            dedupe_key=f"link:{link.id}",
            day=at.astimezone(SHANGHAI).date(),
            status=ResponseStatus.COMPLETE,
            cursor="done",
            overall=overall,
            problems=[0, 1] if overall.is_bad else [],
            problem_text="=cmd|' /C calc'!A0" if overall.is_bad else None,
            wants_reply=False,
            started_at=at - dt.timedelta(minutes=3),
            completed_at=at,
            channel=channel,
            callback_phone=callback_phone,
        )
        s.add(response)
        await s.flush()
        points = {
            Satisfaction.VERY_SATISFIED: 100,
            Satisfaction.SATISFIED: 85,
            Satisfaction.BASIC: 70,
            Satisfaction.DISSATISFIED: 40,
            Satisfaction.VERY_DISSATISFIED: 20,
        }
        for code, level in (("~all", overall), ("Q1", levels[0]), ("Q2", levels[1])):
            s.add(
                SurveyAnswer(
                    response_id=response.id,
                    question=code,
                    indicator="T05",
                    level=level,
                    points=Decimal(points[level]),
                    answered_at=at,
                )
            )
        return response


async def _citizens(sessions: SessionFactory, org: Org, now: dt.datetime) -> None:
    """Two praises, a 差评 handled at once, one still open, one excluded after review; the
    open 差评 (with a number for the 回访) and the excluded one came from the survey page
    (1 of 4 counted: 25.0%)."""
    good = (Satisfaction.SATISFIED, Satisfaction.VERY_SATISFIED)
    await _response(sessions, org, Satisfaction.VERY_SATISFIED, good, now - dt.timedelta(hours=9))
    await _response(sessions, org, Satisfaction.BASIC, good, now - dt.timedelta(hours=8))
    bad = (Satisfaction.DISSATISFIED, Satisfaction.VERY_DISSATISFIED)
    rect_ids = []
    for hours in (7, 6, 5):
        response = await _response(
            sessions,
            org,
            Satisfaction.DISSATISFIED,
            bad,
            now - dt.timedelta(hours=hours),
            "telegram" if hours == 7 else "web",
            CALLBACK_PHONE if hours == 6 else None,
        )
        async with sessions.begin() as s:
            response = await s.get(SurveyResponse, response.id)  # type: ignore[assignment]
            rect = await rc.open_for_response(s, response, now=now, env=Env())
            rect_ids.append(rect.id)
    async with sessions.begin() as s:
        await rc.answer(
            s,
            rect_ids[0],
            "已当场向群众说明并调整午间值班安排。",
            outcome=RectificationOutcome.IMMEDIATE,
            staff_id=org.head_id,
            now=now,
        )
    async with sessions.begin() as s:  # as 申诉复核 leaves it: excluded, no longer counted
        excluded = await s.get(SurveyResponse, (await _response_of(s, rect_ids[2])))
        assert excluded is not None
        excluded.excluded = True
        rect = await s.get(Rectification, rect_ids[2])
        assert rect is not None
        rect.status, rect.review_decision = RectificationStatus.EXCLUDED, "excluded"


async def _response_of(s: AsyncSession, rect_id: int) -> int:
    rect = await s.get(Rectification, rect_id)
    assert rect is not None
    return rect.response_id


async def _hostile_texts(sessions: SessionFactory, cycle_id: int, staff_id: int) -> None:
    """Written parts and a peer comment that start like formulas (the forms are submitted)."""
    async with sessions.begin() as s:
        own = await s.scalar(
            select(Assignment).where(
                Assignment.cycle_id == cycle_id,
                Assignment.source == Source.SELF,
                Assignment.rater_staff_id == staff_id,
            )
        )
        assert own is not None
        for item, text in HOSTILE.items():
            answer = await s.scalar(
                select(Answer).where(Answer.assignment_id == own.id, Answer.item == item)
            )
            assert answer is not None
            answer.text = text
        peer = await s.scalar(
            select(Assignment)
            .where(Assignment.cycle_id == cycle_id, Assignment.source == Source.PEER)
            .order_by(Assignment.id)
        )
        assert peer is not None and peer.status == AssignmentStatus.SUBMITTED
        comment = await s.scalar(
            select(Answer).where(Answer.assignment_id == peer.id, Answer.item == "~cmt")
        )
        assert comment is not None
        comment.text = PEER_COMMENT
        superior = await s.scalar(
            select(Answer)
            .join(Assignment, Assignment.id == Answer.assignment_id)
            .where(
                Assignment.cycle_id == cycle_id,
                Assignment.source == Source.SUPERIOR,
                Answer.item == "~cmt",
            )
        )
        assert superior is not None
        superior.text = TAB_TEXT


async def build(sessions: SessionFactory, *, period: str = "2026Q4") -> Scenario:
    """The whole cycle; ``now`` is the real clock, which lies in 2026Q4 while this suite is
    young: the citizens' answers are dated hours before it, inside the period."""
    now = dt.datetime.now(dt.UTC)
    org = await make_org(sessions, people=6)
    second = await _second_unit(sessions, org)
    cycle_id = await open_cycle(sessions, period=period, peer_count=3)
    await fill_all_forms(sessions, cycle_id, level=lambda a, n: (a.id + n) % 4)
    await _hostile_texts(sessions, cycle_id, org.staff_ids[0])
    await _citizens(sessions, org, now)
    async with sessions.begin() as s:
        s.add(TelegramAccount(telegram_id=ADMIN, language="zh_Hans"))
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
        s.add(TelegramAccount(telegram_id=CHIEF, staff_id=chief, bound_at=now))
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await cycles.close(s, cycle.period, now=now, actor=cycles.Actor("test"))
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await results.score_cycle(s, cycle, tz=SHANGHAI, now=now)
        await result_review.send_for_review(s, cycle, now=now, actor_label="test")
        await result_review.publish(s, cycle, now=now)
    env = Env(frozenset({ADMIN}))
    ids = []
    for staff_id in org.staff_ids[:2]:
        async with sessions.begin() as s:
            result_id = await s.scalar(select(Result.id).where(Result.staff_id == staff_id))
            assert result_id is not None
            filed = await appeals.file_appeal(
                s,
                result_id,
                staff_id=staff_id,
                target="ind:P01",
                reason=APPEAL_REASON,
                evidence=[],
                now=now,
                tz=SHANGHAI,
                env=env,
            )
            ids.append(filed.id)
    async with sessions.begin() as s:
        admin = await load_actor(s, ADMIN, frozenset({ADMIN}))
        await appeals.adjust_score(
            s, ids[0], "经核实记录齐全，P01 调整。", indicator="P01", points="95",
            actor=admin, now=now, env=env,
        )  # fmt: skip
    async with sessions.begin() as s:
        await appeals.uphold(s, ids[1], "评分有据，维持原结果。", actor=admin, now=now, env=env)
    async with sessions.begin() as s:
        plan = ImprovementPlan(
            cycle_id=cycle_id,
            subject_key=f"p:{org.staff_ids[2]}",
            author_staff_id=org.staff_ids[2],
            approver_staff_id=org.head_id,
            status=PlanStatus.APPROVED,
            goals="@提高应急值守质量",
            measures="参加值班规范培训；每周复盘。",
            responsible="陈静",
            submitted_at=now,
            approved_at=now,
        )
        s.add(plan)
        await s.flush()
        today = now.astimezone(SHANGHAI).date()
        s.add(PlanMilestone(plan_id=plan.id, due=today - dt.timedelta(days=3), text="完成培训"))
        s.add(
            PlanMilestone(
                plan_id=plan.id,
                due=today + dt.timedelta(days=30),
                text="复盘报告",
                progress="已起草",
                done_at=now,
            )
        )
        plan_id = plan.id
    return Scenario(org, cycle_id, period, second, ids[0], ids[1], plan_id)
