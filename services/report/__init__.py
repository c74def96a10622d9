"""The evaluation report, 绩效评估报告 (五(四)1): drafted by the bot as a PDF for the working group.

``draft`` reads a cycle's facts (``services.cycle_facts``) and writes the document in the
reader's language (``content``, from the report's own sums in ``aggregates``); ``typeset``
sets it as a PDF with its chart (imported on its own: it loads matplotlib and Typst). The CLI (``jixiao report``) and the chat (``/report``) call
these; the chat queues the document and the outbox sender sets it at send time.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import CyclePhase
from domain.period import parse_period
from infra.i18n import N_, Translator
from infra.models import Cycle
from services import cycle_facts
from services.errors import DomainError
from services.report.content import document
from services.report.document import Document

__all__ = [
    "Document",
    "NotScored",
    "UnknownPeriod",
    "draft",
    "latest_scored",
]

UNSCORED = (CyclePhase.PREPARING, CyclePhase.COLLECTING, CyclePhase.SCORING)


class UnknownPeriod(DomainError):
    """No cycle of that period."""


class NotScored(DomainError):
    """The cycle has no results yet: a report of nothing would mislead."""


async def draft(
    session: AsyncSession,
    period: str,
    tr: Translator,
    *,
    now: dt.datetime,
    training_below: Decimal,
) -> Document:
    """The report of ``period``'s cycle as of ``now``; refused before the cycle is scored.
    ``training_below``: ``JIXIAO_TRAINING_THRESHOLD``, the score under which a weakest
    dimension is a training need."""
    parsed = parse_period(period)
    if parsed is None:  # 2026Q5 is a typing mistake, not a cycle that is missing
        raise UnknownPeriod(
            N_("Not a period: {period}. Use 2026Q4 for a quarter or 2026 for a year."),
            period=period,
        )
    cycle = await cycle_facts.cycle_of(session, str(parsed))
    if cycle is None:  # the wording of export's and every command's missing cycle
        raise UnknownPeriod(N_("There is no cycle {period}."), period=str(parsed))
    if cycle.phase in UNSCORED or cycle.scored_at is None:
        raise NotScored(
            N_("{period} has not been scored yet: the report is drafted from its results."),
            period=cycle.period,
        )
    facts = await cycle_facts.load(session, cycle, tz=tr.tz, now=now)
    return document(facts, tr, now=now, training_below=training_below)


async def latest_scored(session: AsyncSession) -> str | None:
    """The period of the cycle scored last (the report ``/report`` drafts unless told), or None."""
    return await session.scalar(
        select(Cycle.period)
        .where(Cycle.scored_at.is_not(None))
        .order_by(Cycle.scored_at.desc(), Cycle.id.desc())
        .limit(1)
    )
