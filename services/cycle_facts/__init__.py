"""Everything about one cycle that the working group files and reports: one read model.

``load(session, cycle, tz=…, now=…)`` reads the stored results (as adjusted on appeal),
the survey of the period, appeals, plans, participation and the raw answers into frozen
``CycleFacts``; the Excel workbook (``services.export_xlsx``) and the evaluation report
render it, so the two never disagree. Telegram-free and text-free (labels are the
reader's: ``domain.labels`` and gettext). Peer raters only as pseudonyms (``pseudonyms``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.period import parse_period
from domain.template import Template
from infra.models import Cycle, TemplateVersion
from services.cycle_facts.cases import load_appeals, load_plans
from services.cycle_facts.forms import load_forms
from services.cycle_facts.model import (
    AppealFacts,
    CycleFacts,
    DimensionFigure,
    GradeCounts,
    IndicatorFigure,
    IndicatorInfo,
    MilestoneFacts,
    Participation,
    PersonParticipation,
    PlanFacts,
    QuestionStats,
    RawAnswer,
    RectificationFacts,
    ResultFacts,
    SourceFigure,
    Unit,
    UnitSurvey,
    percent,
)
from services.cycle_facts.results import grade_counts, load_results, load_units
from services.cycle_facts.survey import load_survey

__all__ = [
    "AppealFacts",
    "CycleFacts",
    "DimensionFigure",
    "GradeCounts",
    "IndicatorFigure",
    "IndicatorInfo",
    "MilestoneFacts",
    "Participation",
    "PersonParticipation",
    "PlanFacts",
    "QuestionStats",
    "RawAnswer",
    "RectificationFacts",
    "ResultFacts",
    "SourceFigure",
    "Unit",
    "UnitSurvey",
    "cycle_of",
    "load",
    "percent",
]


async def cycle_of(session: AsyncSession, period: str) -> Cycle | None:
    """The cycle of a period as typed (2026Q4, 2026年第四季度), or None."""
    parsed = parse_period(period)
    if parsed is None:
        return None
    return await session.scalar(select(Cycle).where(Cycle.period == str(parsed)))


async def load(
    session: AsyncSession, cycle: Cycle, *, tz: dt.tzinfo, now: dt.datetime
) -> CycleFacts:
    """The facts of ``cycle`` as of ``now`` (overdue items, milestones past due)."""
    period = parse_period(cycle.period)
    assert period is not None
    version = await session.get(TemplateVersion, cycle.template_id)
    assert version is not None
    template = Template.from_dict(version.content)
    units = await load_units(session)
    by_id = {u.id: u for u in units}
    people, unit_results = await load_results(session, cycle, by_id)
    surveys, questions, rects = await load_survey(
        session, template, by_id, period.utc_bounds(tz), now
    )
    participation, per_person, answers = await load_forms(session, cycle, by_id, template)
    indicators = {
        i.code: IndicatorInfo(i.code, i.dimension, i.name, i.name_en)
        for i in (
            *template.indicators,
            *(i for items in template.unit_overrides.values() for i in items),
        )
    }
    return CycleFacts(
        period=period,
        cycle_id=cycle.id,
        phase=cycle.phase,
        bureau=units[0].name if units else "",
        template_name=template.name,
        deadline=cycle.deadline,
        scored_at=cycle.scored_at,
        published_at=cycle.published_at,
        units=units,
        indicators=indicators,
        people=people,
        unit_results=unit_results,
        grades=grade_counts(people, units),
        survey=surveys,
        questions=questions,
        rectifications=rects,
        appeals=await load_appeals(session, cycle, by_id),
        plans=await load_plans(session, cycle, by_id, now.astimezone(tz).date()),
        participation=participation,
        people_participation=per_person,
        answers=answers,
    )
