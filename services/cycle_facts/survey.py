"""The citizen survey of a cycle's period (四(二)4): per unit and question, 满意率, 差评 handled.

Counted as ``services.survey_stats`` counts: complete responses within the period, excluded
ones (after 申诉复核) never, satisfied = an overall level of 基本满意 or better; those given on
the survey page (channel web) also counted apart.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import RectificationStatus, ResponseStatus, Satisfaction
from domain.template import DEFAULT_SURVEY, SurveySpec, Template, survey_of
from domain.template.survey import OVERALL
from infra.models import Rectification, SurveyAnswer, SurveyResponse, TemplateVersion
from services.cycle_facts.model import QuestionStats, RectificationFacts, Unit, UnitSurvey
from services.survey_stats import OPEN_ITEMS, SATISFIED, WEB

_CENT = Decimal("0.01")


async def load_survey(
    session: AsyncSession,
    template: Template,
    units: Mapping[int, Unit],
    bounds: tuple[dt.datetime, dt.datetime],
    now: dt.datetime,
) -> tuple[tuple[UnitSurvey, ...], tuple[QuestionStats, ...], tuple[RectificationFacts, ...]]:
    start, end = bounds
    in_period = (
        SurveyResponse.status == ResponseStatus.COMPLETE,
        SurveyResponse.completed_at >= start,
        SurveyResponse.completed_at < end,
    )
    counted = (*in_period, SurveyResponse.excluded.is_(False))
    responses: dict[int, dict[Satisfaction | None, int]] = defaultdict(dict)
    web: dict[int, int] = defaultdict(int)
    for unit_id, overall, channel, count in await session.execute(
        select(SurveyResponse.unit_id, SurveyResponse.overall, SurveyResponse.channel, func.count())
        .where(*counted)
        .group_by(SurveyResponse.unit_id, SurveyResponse.overall, SurveyResponse.channel)
    ):
        levels = responses[unit_id]
        levels[overall] = levels.get(overall, 0) + count
        web[unit_id] += count if channel == WEB else 0
    excluded = dict(
        (
            await session.execute(
                select(SurveyResponse.unit_id, func.count())
                .where(*in_period, SurveyResponse.excluded.is_(True))
                .group_by(SurveyResponse.unit_id)
            )
        ).all()
    )
    spec = survey_of(template) if template else DEFAULT_SURVEY
    texts: dict[str, tuple[str, str | None]] = {OVERALL: ("", None)}
    texts |= {q.code: (q.text, q.text_en) for q in spec.questions}
    answers: dict[tuple[int, str], dict[Satisfaction, int]] = defaultdict(dict)
    points: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for unit_id, question, level, count, total in await session.execute(
        select(
            SurveyResponse.unit_id,
            SurveyAnswer.question,
            SurveyAnswer.level,
            func.count(),
            func.sum(SurveyAnswer.points),
        )
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .where(*counted)
        .group_by(SurveyResponse.unit_id, SurveyAnswer.question, SurveyAnswer.level)
    ):
        answers[unit_id, question][level] = count
        points[unit_id, question] += Decimal(str(total))
    rects = await _rectifications(session, units, in_period, now, spec)
    order = {u: n for n, u in enumerate(units)}
    surveys = []
    for unit_id in sorted(
        set(responses) | set(excluded) | {r.unit_id for r in rects}, key=lambda u: order.get(u, 0)
    ):
        levels = responses.get(unit_id, {})
        mine = [r for r in rects if r.unit_id == unit_id]
        statuses = {s: sum(1 for r in mine if r.status == s) for s in RectificationStatus}
        surveys.append(
            UnitSurvey(
                unit_id=unit_id,
                unit=units[unit_id].name,
                responses=sum(levels.values()),
                satisfied=sum(n for level, n in levels.items() if level in SATISFIED),
                bad=sum(n for level, n in levels.items() if level is not None and level.is_bad),
                excluded=excluded.get(unit_id, 0),
                rectifications=statuses,
                overdue=sum(1 for r in mine if r.overdue),
                web=web.get(unit_id, 0),
            )
        )
    question_order = {code: n for n, code in enumerate(texts)}
    questions = []
    for (unit_id, code), counts in sorted(
        answers.items(), key=lambda kv: (order.get(kv[0][0], 0), question_order.get(kv[0][1], 99))
    ):
        n = sum(counts.values())
        text, text_en = texts.get(code, (code, None))
        questions.append(
            QuestionStats(
                unit_id=unit_id,
                code=code,
                text=text,
                text_en=text_en,
                counts={level: counts.get(level, 0) for level in Satisfaction},
                mean_points=(points[unit_id, code] / n).quantize(_CENT, ROUND_HALF_UP)
                if n
                else None,
            )
        )
    return tuple(surveys), tuple(questions), rects


async def _rectifications(
    session: AsyncSession,
    units: Mapping[int, Unit],
    in_period: tuple[Any, ...],
    now: dt.datetime,
    spec: SurveySpec,
) -> tuple[RectificationFacts, ...]:
    """The rectification items of the period's 差评, excluded ones included (with that status).

    Problems are named by the survey the citizen answered (its template), else the cycle's.
    """
    specs: dict[int | None, SurveySpec] = {None: spec}
    rows = await session.execute(
        select(Rectification, SurveyResponse)
        .join(SurveyResponse, SurveyResponse.id == Rectification.response_id)
        .where(*in_period)
        .order_by(Rectification.id)
    )
    out = []
    for rect, response in rows:
        if response.template_id not in specs:
            version = await session.get(TemplateVersion, response.template_id)
            specs[response.template_id] = (
                survey_of(Template.from_dict(version.content)) if version else spec
            )
        asked = specs[response.template_id]
        out.append(
            RectificationFacts(
                id=rect.id,
                unit_id=rect.unit_id,
                unit=units[rect.unit_id].name,
                overall=response.overall,
                problems=tuple(
                    (asked.problems[i], _at(asked.problems_en, i))
                    for i in response.problems or ()
                    if isinstance(i, int) and 0 <= i < len(asked.problems)
                ),
                problem_text=response.problem_text,
                opened_at=rect.opened_at,
                deadline=rect.deadline,
                status=rect.status,
                outcome=rect.outcome,
                answered_at=rect.answered_at,
                citizen_rating=rect.citizen_rating,
                review_decision=rect.review_decision,
                overdue=rect.status in OPEN_ITEMS and rect.deadline < now,
            )
        )
    return tuple(out)


def _at(items: tuple[str, ...], index: int) -> str | None:
    return items[index] if index < len(items) else None
