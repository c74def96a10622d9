"""Everything the scoring engine needs for one cycle, read from the database as plain values.

Forms count only when submitted; citizen answers count when their response arrived
within the cycle's period (the quarter or the year, 四(一)) and was not excluded after
申訴復核. Raters are passed on as opaque ids, never as names.

A bureau of 10,000 has some two million answers, so they are read a chunk of subjects at
a time (``services.results``): plain Core rows, no ORM objects, one ``Decimal`` per
distinct value, and no more than one chunk's ratings in memory at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import String, exists, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from domain.enums import AssignmentStatus, ResponseStatus, Source
from domain.period import parse_period
from infra.models import Answer, Assignment, Cycle, OrgUnit, Staff, SurveyAnswer, SurveyResponse
from scoring import Rating

CHUNK = 500  # subjects per read: bounded memory, and well under any driver's parameter limit
_CENT = Decimal("0.01")  # points are stored with 2 decimals (``ExactDecimal(7, 2)``)


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


@dataclass(frozen=True)
class Roster:
    """Who is scored in a cycle, in a stable order, and where each sits; read once per cycle."""

    keys: list[str]  # first the ratees of forms (by first form), then citizens' other targets
    units: dict[int, str]  # unit id → name
    people: dict[int, tuple[int, str]]  # staff id → (unit id, name)
    start: dt.datetime
    end: dt.datetime


def period_bounds(cycle: Cycle, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    period = parse_period(cycle.period)
    assert period is not None
    return period.utc_bounds(tz)


def _counted_forms(cycle: Cycle) -> tuple[ColumnElement[bool], ...]:
    return (
        Assignment.cycle_id == cycle.id,
        Assignment.active.is_(True),
        Assignment.status == AssignmentStatus.SUBMITTED,
    )


def _counted_responses(start: dt.datetime, end: dt.datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        SurveyResponse.status == ResponseStatus.COMPLETE,
        SurveyResponse.excluded.is_(False),
        SurveyResponse.completed_at >= start,
        SurveyResponse.completed_at < end,
    )


class _Points:
    """One ``Decimal`` per distinct stored value: a bureau's two million answers hold a few
    dozen values, and each conversion is the one ``ExactDecimal`` would make."""

    def __init__(self) -> None:
        self._seen: dict[Hashable, Decimal] = {}

    def __call__(self, raw: Hashable) -> Decimal:
        value = self._seen.get(raw)
        if value is None:
            value = self._seen[raw] = Decimal(str(raw)).quantize(_CENT)
        return value


async def roster_of(session: AsyncSession, cycle: Cycle, *, tz: dt.tzinfo) -> Roster:
    """Every subject of the cycle: each ratee of an active form (scored even with few
    answers) and each target of a counted citizen response."""
    units = {uid: name for uid, name in await session.execute(select(OrgUnit.id, OrgUnit.name))}
    people = {
        sid: (uid, name)
        for sid, uid, name in await session.execute(select(Staff.id, Staff.unit_id, Staff.name))
    }
    keys = list(
        await session.scalars(
            select(Assignment.ratee_key)
            .where(Assignment.cycle_id == cycle.id, Assignment.active.is_(True))
            .group_by(Assignment.ratee_key)
            .order_by(func.min(Assignment.id))
        )
    )
    start, end = period_bounds(cycle, tz)
    seen = set(keys)
    for target in await session.scalars(
        select(SurveyResponse.target_key)
        .where(
            *_counted_responses(start, end),
            exists().where(SurveyAnswer.response_id == SurveyResponse.id),
        )
        .group_by(SurveyResponse.target_key)
        .order_by(func.min(SurveyResponse.id))
    ):
        kind, raw = target.split(":")
        if kind == "s" and int(raw) not in people:
            continue  # a person no longer on the roll
        key = f"p:{raw}" if kind == "s" else f"u:{raw}"
        if key not in seen:
            seen.add(key)
            keys.append(key)
    return Roster(keys, units, people, start, end)


def _subject(roster: Roster, key: str) -> Subject:
    kind, raw = key.split(":")
    if kind == "p":
        unit_id, name = roster.people[int(raw)]
        return Subject(key, unit_id, roster.units[unit_id], int(raw), name)
    unit_name = roster.units[int(raw)]
    return Subject(key, int(raw), unit_name, None, unit_name)


async def subjects_for(
    session: AsyncSession, cycle: Cycle, roster: Roster, keys: Sequence[str]
) -> list[Subject]:
    """The subjects ``keys`` (of ``roster``) with every counted rating, in that order."""
    subjects = {key: _subject(roster, key) for key in keys}
    db = await session.connection()  # Core execution: plain rows, no ORM result processing
    points = _Points()
    sources = {s.value: s for s in Source}
    raters: dict[int, str] = {}
    # type_coerce to String: the raw driver value, converted once per distinct value above,
    # instead of a Decimal (and an enum) built by the column type for every row.
    answers = (
        select(
            Assignment.ratee_key,
            type_coerce(Assignment.source, String()),
            Assignment.rater_staff_id,
            Answer.item,
            type_coerce(Answer.points, String()),
        )
        .join(Assignment, Assignment.id == Answer.assignment_id)  # a join, not IN (form ids)
        .where(
            *_counted_forms(cycle),
            Assignment.ratee_key.in_(keys),
            Answer.points.is_not(None),
        )
    )
    for ratee, source, rater, item, raw in (await db.execute(answers)).all():  # one fetchall
        name = raters.get(rater)
        if name is None:
            name = raters[rater] = f"a{rater}"
        subjects[ratee].ratings.append(Rating(sources[source], item, points(raw), name))
    targets = {(f"s:{k[2:]}" if k.startswith("p:") else k): k for k in keys}
    citizens = (
        select(
            SurveyResponse.id,
            SurveyResponse.target_key,
            SurveyAnswer.indicator,
            type_coerce(SurveyAnswer.points, String()),
        )
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .where(
            *_counted_responses(roster.start, roster.end),
            SurveyResponse.target_key.in_(list(targets)),
        )
    )
    for response_id, target, indicator, raw in (await db.execute(citizens)).all():
        # One rating per answer, all with the response as rater: the engine averages a
        # response's answers to one indicator as exact rationals (so 280/3 stays 280/3)
        # and counts the response once, as one respondent, for trimming.
        subjects[targets[target]].ratings.append(
            Rating(Source.CITIZEN, indicator, points(raw), f"r{response_id}")
        )
    return list(subjects.values())


async def subject_of(
    session: AsyncSession, cycle: Cycle, key: str, *, tz: dt.tzinfo
) -> Subject | None:
    """One subject with its ratings (an appeal's result scored again), None if not rated."""
    roster = await roster_of(session, cycle, tz=tz)
    if key not in roster.keys:
        return None
    return (await subjects_for(session, cycle, roster, [key]))[0]
