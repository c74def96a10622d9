"""Citizen answers reach the score exactly: one response is one rater, its answers averaged
as exact rationals by the engine (五(三)1), never pre-rounded on the way from the database.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from sqlalchemy import select

from domain.enums import AssignmentStatus, Grade, ResponseStatus, Role, Satisfaction, Source
from domain.period import parse_period
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import (
    Assignment,
    Cycle,
    Result,
    RoleGrant,
    SurveyAnswer,
    SurveyLink,
    SurveyResponse,
)
from services import cycles, forms, results
from services.templates import load_template
from tests.factories import make_org

SHANGHAI = dt.timezone(dt.timedelta(hours=8))

# Performance is rated by the person (25 %) and by citizens (75 %), whose three questions
# all feed P1; the other dimensions by the person alone.
TEMPLATE = """
name = "测试指标体系"
[dimension_weights]
performance = 60
ability = 15
attitude = 15
innovation = 10
[source_weights]
self = 25
superior = 0
peer = 0
citizen = 75
[[indicators]]
code = "P1"
dimension = "performance"
name = "业绩"
weight = 100
scale = "百分制"
sources = ["self", "citizen"]
[[indicators]]
code = "A1"
dimension = "ability"
name = "能力"
weight = 100
scale = "百分制"
sources = ["self"]
[[indicators]]
code = "T1"
dimension = "attitude"
name = "态度"
weight = 100
scale = "百分制"
sources = ["self"]
[[indicators]]
code = "I1"
dimension = "innovation"
name = "创新"
weight = 100
scale = "百分制"
sources = ["self"]
[survey]
problems = ["等待时间长"]
[[survey.questions]]
code = "Q1"
text = "服务态度如何？"
indicator = "P1"
[[survey.questions]]
code = "Q2"
text = "办事是否高效？"
indicator = "P1"
[[survey.questions]]
code = "Q3"
text = "问题是否解决？"
indicator = "P1"
"""


async def _cycle(sessions: SessionFactory, person: int, now: dt.datetime) -> tuple[int, int]:
    """A collecting 2026Q4 cycle of TEMPLATE, approved: (cycle, the person's self-assessment)."""
    template = load_template(TEMPLATE.encode(), "template.toml")
    async with sessions.begin() as s:
        actor = cycles.Actor("test")
        version = await cycles.register_template(
            s, template, filename="template.toml", actor=actor, now=now
        )
        period = parse_period("2026Q4")
        assert period is not None
        cycle = await cycles.open_cycle(
            s, period, version, deadline=now + dt.timedelta(days=10), now=now, actor=actor
        )
        chief = await s.scalar(
            select(RoleGrant.staff_id).where(RoleGrant.role == Role.LEADER_CHIEF)
        )
        assert chief is not None
        await cycles.approve_template(s, version.id, staff_id=chief, telegram_id=0, now=now)
        own = await s.scalar(
            select(Assignment.id).where(
                Assignment.cycle_id == cycle.id,
                Assignment.source == Source.SELF,
                Assignment.rater_staff_id == person,
            )
        )
        assert own is not None
        return cycle.id, own


async def _self_assess(
    sessions: SessionFactory, own: int, person: int, now: dt.datetime, scores: dict[str, Decimal]
) -> None:
    """Answer and submit the self-assessment with ``scores`` per indicator code."""
    async with sessions.begin() as s:
        form = await forms.load_form(s, own)
        for item in form.items:
            if item.indicator is not None:
                value = scores[item.indicator.code]
                await forms.save_score(s, form, item.key, value, staff_id=person, now=now)
            else:
                await forms.save_text(s, form, item.key, "按计划完成。", staff_id=person, now=now)
        await forms.submit(s, form, staff_id=person, now=now)


async def _citizen_response(
    sessions: SessionFactory,
    unit_id: int,
    person: int,
    now: dt.datetime,
    answers: list[tuple[str, Satisfaction, int]],
) -> None:
    """One complete survey response about ``person``: (question, level, points) each."""
    async with sessions.begin() as s:
        link = SurveyLink(
            token_hash=secrets.token_hex(32),
            unit_id=unit_id,
            staff_id=person,
            single_use=True,
            created_at=now,
        )
        s.add(link)
        await s.flush()
        response = SurveyResponse(
            link_id=link.id,
            unit_id=unit_id,
            staff_id=person,
            target_key=f"s:{person}",
            respondent_key="citizen",
            dedupe_key=f"link:{link.id}",
            day=now.astimezone(SHANGHAI).date(),
            status=ResponseStatus.COMPLETE,
            cursor="done",
            overall=answers[0][1],
            started_at=now - dt.timedelta(minutes=2),
            completed_at=now,
        )
        s.add(response)
        await s.flush()
        for code, level, points in answers:
            s.add(
                SurveyAnswer(
                    response_id=response.id,
                    question=code,
                    indicator="P1",
                    level=level,
                    points=Decimal(points),
                    answered_at=now,
                )
            )


async def _close_and_score(sessions: SessionFactory, cycle_id: int, now: dt.datetime) -> None:
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await cycles.close(s, cycle.period, now=now, actor=cycles.Actor("test"))
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await results.score_cycle(s, cycle, tz=SHANGHAI, now=now)


async def test_citizen_answers_are_averaged_exactly(
    sessions: SessionFactory, settings: Settings
) -> None:
    """One citizen answers 非常满意, 非常满意, 满意 (100, 100, 80) about a colleague who rated
    their own performance 93.3 and everything else 85. Exactly:
    P1 = ¼·93.3 + ¾·280/3 = 23.325 + 70 = 93.325; total = .6·93.325 + .4·85 = 89.995 → 90.00.
    A mean of the three answers rounded to 28 digits (93.333…3) gives 89.99499… → 89.99.
    """
    org = await make_org(sessions, people=1)
    person = org.staff_ids[0]
    now = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)
    cycle_id, own = await _cycle(sessions, person, now)
    scores = {"P1": Decimal("93.3"), "A1": Decimal(85), "T1": Decimal(85), "I1": Decimal(85)}
    await _self_assess(sessions, own, person, now, scores)
    await _citizen_response(
        sessions,
        org.unit_id,
        person,
        now,
        [
            ("Q1", Satisfaction.VERY_SATISFIED, 100),
            ("Q2", Satisfaction.VERY_SATISFIED, 100),
            ("Q3", Satisfaction.SATISFIED, 80),
        ],
    )
    await _close_and_score(sessions, cycle_id, now)
    async with sessions() as s:
        result = await s.scalar(select(Result).where(Result.staff_id == person))
        assert result is not None
        assert (result.total, result.grade) == (Decimal("90.00"), Grade.EXCELLENT)
        citizen = next(
            src
            for d in result.breakdown["dimensions"]
            for i in d["indicators"]
            for src in i.get("sources", [])
            if src["source"] == "citizen"
        )
        assert citizen["raters"] == 1  # the response, not its three answers
        assert await s.scalar(select(Assignment.status).where(Assignment.id == own)) == (
            AssignmentStatus.SUBMITTED
        )
