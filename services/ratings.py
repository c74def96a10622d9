"""Everything the scoring engine needs for one cycle, read from the database as plain values.

Forms count only when submitted; citizen answers count when their response arrived
within the cycle's period (the quarter or the year, 四(一)) and was not excluded after
申訴復核. Raters are passed on as opaque ids, never as names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import AssignmentStatus, ResponseStatus, Source
from domain.period import parse_period
from infra.models import Answer, Assignment, Cycle, OrgUnit, Staff, SurveyAnswer, SurveyResponse
from scoring import Rating


@dataclass
class Subject:
    """A person or a unit to score, with its ratings and where it sits in the tree."""

    key: str  # "p:<staff id>" or "u:<unit id>"
    unit_id: int
    unit_name: str
    staff_id: int | None
    name: str
    ratings: list[Rating] = field(default_factory=list)

    @property
    def is_unit(self) -> bool:
        return self.staff_id is None


def period_bounds(cycle: Cycle, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    period = parse_period(cycle.period)
    assert period is not None
    return period.utc_bounds(tz)


async def subjects_of(session: AsyncSession, cycle: Cycle, *, tz: dt.tzinfo) -> dict[str, Subject]:
    """Every person and unit rated in the cycle, with all counted ratings."""
    units = {u.id: u for u in await session.scalars(select(OrgUnit))}
    people = {p.id: p for p in await session.scalars(select(Staff))}
    subjects: dict[str, Subject] = {}

    def subject(key: str) -> Subject:
        if key not in subjects:
            kind, raw = key.split(":")
            if kind == "p":
                person = people[int(raw)]
                unit = units[person.unit_id]
                subjects[key] = Subject(key, unit.id, unit.name, person.id, person.name)
            else:
                unit = units[int(raw)]
                subjects[key] = Subject(key, unit.id, unit.name, None, unit.name)
        return subjects[key]

    assignments = list(
        await session.scalars(
            select(Assignment).where(Assignment.cycle_id == cycle.id, Assignment.active.is_(True))
        )
    )
    for a in assignments:
        subject(a.ratee_key)  # every ratee is scored, even with few answers
    submitted = {a.id: a for a in assignments if a.status == AssignmentStatus.SUBMITTED}
    if submitted:
        rows = await session.execute(  # a join, not IN (ids): 10,000 staff exceed asyncpg's 32,767 parameters
            select(Answer.assignment_id, Answer.item, Answer.points)
            .join(Assignment, Assignment.id == Answer.assignment_id)
            .where(
                Assignment.cycle_id == cycle.id,
                Assignment.active.is_(True),
                Assignment.status == AssignmentStatus.SUBMITTED,
                Answer.points.is_not(None),
            )
        )
        for assignment_id, item, points in rows:
            a = submitted[assignment_id]
            subject(a.ratee_key).ratings.append(
                Rating(
                    source=a.source,
                    indicator=item,
                    points=Decimal(str(points)),
                    rater=f"a{a.rater_staff_id}",
                )
            )
    start, end = period_bounds(cycle, tz)
    survey_rows = await session.execute(
        select(
            SurveyResponse.id,
            SurveyResponse.target_key,
            SurveyAnswer.indicator,
            SurveyAnswer.points,
        )
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .where(
            SurveyResponse.status == ResponseStatus.COMPLETE,
            SurveyResponse.excluded.is_(False),
            SurveyResponse.completed_at >= start,
            SurveyResponse.completed_at < end,
        )
    )
    for response_id, target, indicator, points in survey_rows:
        kind, raw = target.split(":")
        if kind == "s" and int(raw) not in people:
            continue
        # One rating per answer, all with the response as rater: the engine averages a
        # response's answers to one indicator as exact rationals (so 280/3 stays 280/3)
        # and counts the response once, as one respondent, for trimming.
        subject(f"p:{raw}" if kind == "s" else f"u:{raw}").ratings.append(
            Rating(
                source=Source.CITIZEN,
                indicator=indicator,
                points=Decimal(str(points)),
                rater=f"r{response_id}",
            )
        )
    return subjects
