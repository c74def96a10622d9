"""Stored results of a cycle as ``ResultFacts``, and the grade distribution (五(三)2)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import Dimension, Grade, Source
from infra.models import Cycle, OrgUnit, Result, Staff
from services.cycle_facts.model import (
    DimensionFigure,
    GradeCounts,
    IndicatorFigure,
    ResultFacts,
    SourceFigure,
    Unit,
)
from services.peer_view import source_means


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _figures(
    breakdown: Mapping[str, Any],
) -> tuple[tuple[DimensionFigure, ...], tuple[IndicatorFigure, ...]]:
    dims, inds = [], []
    for d in breakdown.get("dimensions") or []:
        dimension = Dimension(d["dimension"])
        dims.append(
            DimensionFigure(
                dimension, _dec(d.get("score")), Decimal(d["weight"]), Decimal(d["contribution"])
            )
        )
        for i in d.get("indicators") or []:
            sources = tuple(
                SourceFigure(
                    Source(s["source"]),
                    Decimal(s["mean"]),
                    int(s.get("raters") or 0),
                    Decimal(s["weight"]),
                    Decimal(s["contribution"]),
                )
                for s in i.get("sources") or []
            )
            inds.append(
                IndicatorFigure(
                    i["code"],
                    dimension,
                    _dec(i.get("score")),
                    Decimal(i["weight"]),
                    Decimal(i["contribution"]),
                    sources,
                )
            )
    return tuple(dims), tuple(inds)


async def load_results(
    session: AsyncSession, cycle: Cycle, units: Mapping[int, Unit]
) -> tuple[tuple[ResultFacts, ...], tuple[ResultFacts, ...]]:
    """(people by rank overall, units by rank); nothing before the cycle is scored."""
    rows = (
        await session.execute(
            select(Result, Staff)
            .outerjoin(Staff, Staff.id == Result.staff_id)
            .where(Result.cycle_id == cycle.id)
        )
    ).all()
    people: list[ResultFacts] = []
    unit_results: list[ResultFacts] = []
    for result, person in rows:
        breakdown = result.breakdown or {}
        dims, inds = _figures(breakdown)
        unit = units[result.unit_id]
        facts = ResultFacts(
            key=result.subject_key,
            staff_id=result.staff_id,
            employee_no=person.employee_no if person else None,
            name=person.name if person else unit.name,
            position=person.position if person else "",
            unit_id=unit.id,
            unit=unit.name,
            total=Decimal(result.total),
            grade=result.grade,
            rank_in_unit=result.rank_in_unit,
            rank_overall=result.rank_overall,
            bonus_coefficient=_dec(result.bonus_coefficient),
            weakest=result.weakest,
            dimensions=dims,
            indicators=inds,
            source_means=source_means(breakdown),
            adjusted=bool(breakdown.get("adjustments")),
            published_at=result.published_at,
        )
        (people if person else unit_results).append(facts)

    def order(r: ResultFacts) -> tuple[int, str]:
        return (r.rank_overall or 10**9, r.employee_no or r.name)

    return tuple(sorted(people, key=order)), tuple(sorted(unit_results, key=order))


def grade_counts(
    people: tuple[ResultFacts, ...], units: tuple[Unit, ...]
) -> tuple[GradeCounts, ...]:
    """The bureau's distribution first, then each unit's (roster order) that has people scored."""

    def counts(rows: list[ResultFacts]) -> dict[Grade, int]:
        return {g: sum(1 for r in rows if r.grade == g) for g in Grade}

    out = [GradeCounts(None, units[0].name if units else "", counts(list(people)))]
    for unit in units:
        mine = [r for r in people if r.unit_id == unit.id]
        if mine:
            out.append(GradeCounts(unit.id, unit.name, counts(mine)))
    return tuple(out)


async def load_units(session: AsyncSession) -> tuple[Unit, ...]:
    """Every unit in the roster's order, the bureau (the root) first."""
    rows = await session.scalars(select(OrgUnit).order_by(OrgUnit.sort_order, OrgUnit.id))
    units = [Unit(u.id, u.name, u.kind, u.parent_id) for u in rows]
    return tuple(sorted(units, key=lambda u: u.parent_id is not None))
