"""Survey statistics for the working group and unit heads (四(二)4): counts, satisfaction rate,
distribution per question, open and overdue rectifications — excluded 差评 never count."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import RectificationStatus, ResponseStatus, Satisfaction
from domain.period import Period
from infra.models import OrgUnit, Rectification, SurveyAnswer, SurveyResponse

SATISFIED = (Satisfaction.VERY_SATISFIED, Satisfaction.SATISFIED, Satisfaction.BASIC)
OPEN_ITEMS = (RectificationStatus.OPEN, RectificationStatus.UNDER_REVIEW)


@dataclass
class UnitStats:
    """One unit's figures for a period."""

    unit: str
    responses: int = 0
    satisfied: int = 0  # responses whose every answer is 基本满意 or better
    per_question: dict[str, Counter[Satisfaction]] = field(default_factory=dict)
    open_items: int = 0
    overdue_items: int = 0

    @property
    def rate(self) -> Decimal | None:
        """Share of 非常满意 + 满意 + 基本满意 responses, in percent with one decimal."""
        if not self.responses:
            return None
        return (Decimal(100) * self.satisfied / self.responses).quantize(
            Decimal("0.1"), ROUND_HALF_UP
        )


def period_bounds(period: Period, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a quarter or year in the bureau's time zone, as UTC instants."""
    return period.utc_bounds(tz)


async def unit_stats(
    session: AsyncSession,
    period: Period,
    *,
    tz: dt.tzinfo,
    now: dt.datetime,
    unit_ids: set[int] | None = None,
) -> list[UnitStats]:
    start, end = period_bounds(period, tz)
    names = dict(
        (await session.execute(select(OrgUnit.id, OrgUnit.name).order_by(OrgUnit.sort_order))).all()
    )
    stats: dict[int, UnitStats] = {}

    def entry(unit_id: int) -> UnitStats:
        return stats.setdefault(unit_id, UnitStats(names.get(unit_id, "?")))

    counted = (
        SurveyResponse.status == ResponseStatus.COMPLETE,
        SurveyResponse.excluded.is_(False),
        SurveyResponse.completed_at >= start,
        SurveyResponse.completed_at < end,
    )
    for unit_id, overall, count in await session.execute(
        select(SurveyResponse.unit_id, SurveyResponse.overall, func.count())
        .where(*counted)
        .group_by(SurveyResponse.unit_id, SurveyResponse.overall)
    ):
        if unit_ids is not None and unit_id not in unit_ids:
            continue
        e = entry(unit_id)
        e.responses += count
        if overall in SATISFIED:
            e.satisfied += count
    for unit_id, question, level, count in await session.execute(
        select(SurveyResponse.unit_id, SurveyAnswer.question, SurveyAnswer.level, func.count())
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .where(*counted)
        .group_by(SurveyResponse.unit_id, SurveyAnswer.question, SurveyAnswer.level)
    ):
        if unit_ids is not None and unit_id not in unit_ids:
            continue
        entry(unit_id).per_question.setdefault(question, Counter())[level] += count
    for unit_id, deadline in await session.execute(
        select(Rectification.unit_id, Rectification.deadline).where(
            Rectification.status.in_(OPEN_ITEMS)
        )
    ):
        if unit_ids is not None and unit_id not in unit_ids:
            continue
        e = entry(unit_id)
        e.open_items += 1
        e.overdue_items += deadline < now
    return sorted(
        stats.values(),
        key=lambda s: list(names.values()).index(s.unit) if s.unit in names.values() else 0,
    )
