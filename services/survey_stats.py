"""Survey statistics for the working group and unit heads (四(二)4): counts, satisfaction rate,
distribution per question, open and overdue rectifications — excluded 差评 never count.

Responses are also counted by channel (the survey page or the chat), so that the working
group sees what share of a unit's evaluations came through the web, where "one person" is
only a cookie and an address (see the README's survey page section)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

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
    web: int = 0  # of ``responses``, those given on the survey page (the rest in the chat)
    per_question: dict[str, Counter[Satisfaction]] = field(default_factory=dict)
    open_items: int = 0
    overdue_items: int = 0

    @property
    def rate(self) -> Decimal | None:
        """Share of 非常满意 + 满意 + 基本满意 responses, in percent with one decimal."""
        return share(self.satisfied, self.responses)

    @property
    def chat(self) -> int:
        """Responses given in the chat (Telegram)."""
        return self.responses - self.web

    @property
    def web_share(self) -> Decimal | None:
        """Share of the responses given on the survey page, in percent with one decimal."""
        return share(self.web, self.responses)


WEB: Final = "web"  # survey_response.channel of the survey page (the chat's is "telegram")


def share(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in percent with one decimal (None of nothing)."""
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"), ROUND_HALF_UP)


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
    for unit_id, overall, channel, count in await session.execute(
        select(SurveyResponse.unit_id, SurveyResponse.overall, SurveyResponse.channel, func.count())
        .where(*counted)
        .group_by(SurveyResponse.unit_id, SurveyResponse.overall, SurveyResponse.channel)
    ):
        if unit_ids is not None and unit_id not in unit_ids:
            continue
        e = entry(unit_id)
        e.responses += count
        e.web += count if channel == WEB else 0
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
