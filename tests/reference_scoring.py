"""The straightforward way to score a cycle, kept to check the fast one against.

ORM objects, one ``Decimal`` per answer, every subject in memory, each scored person by
person through the pure engine: what ``services.results.score_cycle`` did before it read
and wrote in chunks (issue 12, item 4). Its rows must be the fast path's, to the byte.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import AssignmentStatus, ResponseStatus, Source
from domain.template import Target
from infra.models import Answer, Assignment, Cycle, OrgUnit, Staff, SurveyAnswer, SurveyResponse
from scoring import (
    Adjustment,
    NothingToScore,
    Rating,
    ScoringOptions,
    SubjectScore,
    rank,
    rank_within,
    score_subject,
    to_dict,
    weakest_dimension,
)
from services.ratings import Subject, period_bounds
from services.results import template_of


async def subjects(session: AsyncSession, cycle: Cycle, *, tz: dt.tzinfo) -> dict[str, Subject]:
    """Every person and unit rated in the cycle, with all counted ratings."""
    units = {u.id: u for u in await session.scalars(select(OrgUnit))}
    people = {p.id: p for p in await session.scalars(select(Staff))}
    found: dict[str, Subject] = {}

    def subject(key: str) -> Subject:
        if key not in found:
            kind, raw = key.split(":")
            if kind == "p":
                person = people[int(raw)]
                unit = units[person.unit_id]
                found[key] = Subject(key, unit.id, unit.name, person.id, person.name)
            else:
                unit = units[int(raw)]
                found[key] = Subject(key, unit.id, unit.name, None, unit.name)
        return found[key]

    forms = list(
        await session.scalars(
            select(Assignment).where(Assignment.cycle_id == cycle.id, Assignment.active.is_(True))
        )
    )
    for form in forms:
        subject(form.ratee_key)
    for form in forms:
        if form.status != AssignmentStatus.SUBMITTED:
            continue
        for answer in await session.scalars(
            select(Answer).where(Answer.assignment_id == form.id, Answer.points.is_not(None))
        ):
            subject(form.ratee_key).ratings.append(
                Rating(
                    form.source, answer.item, Decimal(str(answer.points)), f"a{form.rater_staff_id}"
                )
            )
    start, end = period_bounds(cycle, tz)
    for response in await session.scalars(
        select(SurveyResponse).where(
            SurveyResponse.status == ResponseStatus.COMPLETE,
            SurveyResponse.excluded.is_(False),
            SurveyResponse.completed_at >= start,
            SurveyResponse.completed_at < end,
        )
    ):
        kind, raw = response.target_key.split(":")
        if kind == "s" and int(raw) not in people:
            continue
        for given in await session.scalars(
            select(SurveyAnswer).where(SurveyAnswer.response_id == response.id)
        ):
            subject(f"p:{raw}" if kind == "s" else f"u:{raw}").ratings.append(
                Rating(Source.CITIZEN, given.indicator, given.points, f"r{response.id}")
            )
    return found


async def rows(
    session: AsyncSession,
    cycle: Cycle,
    *,
    tz: dt.tzinfo,
    options: ScoringOptions | None = None,
    adjustments: dict[str, list[Adjustment]] | None = None,
) -> dict[str, dict[str, Any]]:
    """The result rows the cycle's answers give, by subject key, with ranks."""
    options = options or ScoringOptions()
    template = await template_of(session, cycle)
    scored: dict[str, tuple[Subject, SubjectScore]] = {}
    for key, subject in (await subjects(session, cycle, tz=tz)).items():
        try:
            score = score_subject(
                template,
                target=Target.UNIT if subject.is_unit else Target.PERSON,
                unit=subject.unit_name,
                ratings=subject.ratings,
                options=options,
                adjustments=(adjustments or {}).get(key, ()),
            )
        except NothingToScore:
            continue
        scored[key] = (subject, score)
    people = {k: s.total for k, (_, s) in scored.items() if k.startswith("p:")}
    overall = rank(people)
    in_unit = rank_within(people, {k: scored[k][0].unit_id for k in people})
    unit_rank = rank({k: s.total for k, (_, s) in scored.items() if k.startswith("u:")})
    out = {}
    for key, (subject, score) in scored.items():
        out[key] = {
            "staff_id": subject.staff_id,
            "unit_id": subject.unit_id,
            "total": score.total,
            "grade": score.grade,
            "rank_in_unit": in_unit.get(key),
            "rank_overall": overall.get(key, unit_rank.get(key)),
            "bonus_coefficient": None
            if subject.is_unit
            else options.bonus_coefficients[score.grade],
            "weakest": weakest_dimension(score),
            "breakdown": to_dict(score),
        }
    return out
