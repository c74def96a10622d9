"""The annual roll-up (四(一)) and what it is used for (六): the year's combined result of
every person and unit, the consecutive-year flags for pay and promotion (六(一)2, 六(二)),
and the award eligibility lists (六(四)).

Only published cycles count (phase published, appeals or closed, with ``published_at``
set): a quarter still in review is nobody's result yet. A year's combined total is
``scoring.annual_total`` — the mean of the quarterly totals the subject has that year,
weighed against the annual assessment (default 40 : 60); a missing side gives its
weight to the other, so before the annual assessment is published the quarters count
fully. The grade comes from the bands; ranks are in the unit (people) and in the bureau
(people among people, units among units), exactly as for a cycle's results.

The rules chosen for what the regulation leaves open:

* **Priority** (六(一)2 连续多年绩效优秀, 六(二)1): the combined annual grade is 优秀 in
  at least ``excellent_years`` (default 2) consecutive years ending with the year asked
  about. A year with no result for the person breaks the run.
* **Review for demotion or transfer** (六(一)2, 六(二)2 连续不合格): the combined annual
  grade is 不合格 in at least ``fail_years`` (default 2) consecutive years ending with
  the year, **or** at least ``fail_quarters`` (default 2) of that year's quarterly
  results are 不合格 (adjacent or not: a person failing Q1 and Q3 failed repeatedly).
  It is a flag for the leadership group to look at, not a decision, so the wider rule
  errs on the side of showing a case; the flag says which years or quarters it rests on.
* Both flags concern people (工作人员); units are not flagged.
* **Awards** (六(四)): 应急管理先进个人 are drawn from the people whose combined annual
  grade is 优秀, 应急管理先进集体 from the units whose combined grade is 优秀. Anyone graded
  不合格 in any quarterly result or in the annual assessment of that year loses the
  year's eligibility (六(四)2) — they stay on the list, marked excluded, with the
  periods that exclude them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import CycleKind, CyclePhase, Grade
from domain.period import parse_period
from infra.models import Cycle, OrgUnit, Result, Staff
from scoring import DEFAULT_OPTIONS, ScoringOptions, annual_total, grade_for, rank

PUBLISHED = (CyclePhase.PUBLISHED, CyclePhase.APPEALS, CyclePhase.CLOSED)
DEFAULT_WEIGHTS: tuple[Decimal | int, Decimal | int] = (40, 60)


@dataclass(frozen=True)
class AnnualResult:
    """One person's (``p:<staff id>``) or unit's (``u:<unit id>``) result for a year.

    ``quarters`` maps the quarter (``2026Q1``) to its published total; ``annual`` is the
    total of the annual assessment (``2026``), None while it is not published.
    People rank in their unit and across the bureau; units rank among units
    (``rank_in_unit`` None), as in a cycle's results.
    """

    subject_key: str
    name: str
    unit: str
    quarters: dict[str, Decimal]
    annual: Decimal | None
    total: Decimal
    grade: Grade
    rank_in_unit: int | None
    rank_overall: int | None
    staff_id: int | None = None
    unit_id: int = 0
    employee_no: str = ""
    quarter_grades: dict[str, Grade] = field(default_factory=dict)
    annual_grade: Grade | None = None
    year: int = 0

    @property
    def is_unit(self) -> bool:
        return self.staff_id is None

    @property
    def failed_periods(self) -> tuple[str, ...]:
        """The year's periods graded 不合格 (quarters, then the annual assessment)."""
        found = [p for p, g in sorted(self.quarter_grades.items()) if g is Grade.FAIL]
        if self.annual_grade is Grade.FAIL:
            found.append(str(self.year))
        return tuple(found)


class FlagKind(StrEnum):
    PRIORITY = "priority"  # 六(一)2, 六(二)1: 连续多年优秀 → priority in pay and promotion
    REVIEW = "review"  # 六(一)2, 六(二)2: repeated 不合格 → review for demotion or transfer


@dataclass(frozen=True)
class Flag:
    """A person flagged for the leadership group, with what the flag rests on."""

    kind: FlagKind
    result: AnnualResult
    years: tuple[int, ...] = ()  # consecutive years of 优秀 (or 不合格), oldest first
    quarters: tuple[str, ...] = ()  # the year's quarters graded 不合格 (REVIEW only)


@dataclass(frozen=True)
class AwardEntry:
    """A candidate for an award: eligible unless graded 不合格 somewhere in the year."""

    result: AnnualResult
    excluded_by: tuple[str, ...] = ()  # periods graded 不合格 that year (六(四)2)

    @property
    def eligible(self) -> bool:
        return not self.excluded_by


@dataclass(frozen=True)
class AnnualReport:
    year: int
    weights: tuple[Decimal, Decimal]
    quarter_periods: tuple[str, ...]  # the year's published quarters, in order
    annual_published: bool
    results: list[AnnualResult]  # people (best first), then units (best first)
    flags: list[Flag]
    individuals: list[AwardEntry]  # 应急管理先进个人 candidates, best first
    collectives: list[AwardEntry]  # 应急管理先进集体 candidates, best first
    excellent_years: int = 2
    fail_years: int = 2
    fail_quarters: int = 2

    @property
    def people(self) -> list[AnnualResult]:
        return [r for r in self.results if not r.is_unit]

    @property
    def units(self) -> list[AnnualResult]:
        return [r for r in self.results if r.is_unit]

    def flags_of(self, kind: FlagKind) -> list[Flag]:
        return [f for f in self.flags if f.kind is kind]


@dataclass(frozen=True)
class HistoryEntry:
    """One published result of a person: a quarter or an annual assessment."""

    period: str
    kind: CycleKind
    total: Decimal
    grade: Grade
    rank_in_unit: int | None
    result_id: int


@dataclass(frozen=True)
class PersonHistory:
    staff_id: int
    entries: list[HistoryEntry]  # oldest first
    years: dict[int, AnnualResult]  # the person's roll-up of each year they have results in
    weights: tuple[Decimal, Decimal]


@dataclass(frozen=True)
class _Row:
    year: int
    period: str
    kind: CycleKind
    result: Result


@dataclass
class _Data:
    rows: list[_Row]
    staff: dict[int, tuple[str, str]]  # id → (name, employee number)
    units: dict[int, str]

    def years(self) -> list[int]:
        return sorted({r.year for r in self.rows})

    def of_year(self, year: int) -> list[_Row]:
        return [r for r in self.rows if r.year == year]


def _weights(weights: tuple[Decimal | int, Decimal | int]) -> tuple[Decimal, Decimal]:
    quarter, annual = (Decimal(w) for w in weights)
    if quarter < 0 or annual < 0 or quarter + annual == 0:
        raise ValueError("weights must not be negative, nor both 0")
    return quarter, annual


async def _load(
    session: AsyncSession, *, until: int | None = None, years: Iterable[int] | None = None
) -> _Data:
    """Every published result of the years up to ``until`` (or of ``years``)."""
    query = (
        select(Cycle, Result)
        .join(Result, Result.cycle_id == Cycle.id)
        .where(Cycle.phase.in_(PUBLISHED), Cycle.published_at.is_not(None))
        .order_by(Cycle.period, Result.id)
    )
    if until is not None:
        query = query.where(Cycle.period < str(until + 1))  # "2026Q4" < "2027"
    wanted = set(years) if years is not None else None
    rows = []
    for cycle, result in await session.execute(query):
        period = parse_period(cycle.period)
        if period is None or (wanted is not None and period.year not in wanted):
            continue
        rows.append(_Row(period.year, str(period), period.kind, result))
    staff_ids = {r.result.staff_id for r in rows if r.result.staff_id is not None}
    unit_ids = {r.result.unit_id for r in rows}
    staff: dict[int, tuple[str, str]] = {}
    if staff_ids:
        for sid, name, no in await session.execute(
            select(Staff.id, Staff.name, Staff.employee_no).where(Staff.id.in_(staff_ids))
        ):
            staff[int(sid)] = (name, no)
    units: dict[int, str] = {}
    if unit_ids:
        units = {
            int(uid): name
            for uid, name in await session.execute(
                select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(unit_ids))
            )
        }
    return _Data(rows, staff, units)


def _roll_up(
    data: _Data, year: int, weights: tuple[Decimal, Decimal], options: ScoringOptions
) -> list[AnnualResult]:
    """The year's combined results, ranked: people best first, then units best first."""
    quarters: dict[str, dict[str, Result]] = {}
    annual: dict[str, Result] = {}
    latest: dict[str, Result] = {}  # the result whose unit a person is ranked in
    for row in sorted(data.of_year(year), key=lambda r: (r.kind is CycleKind.ANNUAL, r.period)):
        key = row.result.subject_key
        if row.kind is CycleKind.ANNUAL:
            annual[key] = row.result
        else:
            quarters.setdefault(key, {})[row.period] = row.result
        latest[key] = row.result
    totals: dict[str, Decimal] = {}
    for key in latest:
        quarter_totals = [r.total for _, r in sorted(quarters.get(key, {}).items())]
        annual_result = annual.get(key)
        totals[key] = annual_total(
            quarter_totals,
            annual_result.total if annual_result is not None else None,
            weights=weights,
        )
    people = {k: t for k, t in totals.items() if latest[k].staff_id is not None}
    units = {k: t for k, t in totals.items() if latest[k].staff_id is None}

    # stable orders: best first, ties by name, so ranks and lists read the same everywhere
    def order(keys: dict[str, Decimal]) -> dict[str, Decimal]:
        return dict(sorted(keys.items(), key=lambda kv: (-kv[1], _name(data, latest[kv[0]]))))

    people, units = order(people), order(units)
    overall = rank(people)
    by_unit: dict[int, dict[str, Decimal]] = {}
    for key, total in people.items():
        by_unit.setdefault(latest[key].unit_id, {})[key] = total
    in_unit = {k: r for group in by_unit.values() for k, r in rank(group).items()}
    unit_rank = rank(units)
    out = []
    for key in [*people, *units]:
        last = latest[key]
        own = quarters.get(key, {})
        annual_result = annual.get(key)
        name, employee_no = (
            data.staff.get(last.staff_id, ("", ""))
            if last.staff_id is not None
            else (data.units.get(last.unit_id, ""), "")
        )
        out.append(
            AnnualResult(
                subject_key=key,
                name=name,
                unit=data.units.get(last.unit_id, ""),
                quarters={p: r.total for p, r in sorted(own.items())},
                annual=annual_result.total if annual_result is not None else None,
                total=totals[key],
                grade=grade_for(totals[key], options.bands),
                rank_in_unit=in_unit.get(key),
                rank_overall=overall.get(key, unit_rank.get(key)),
                staff_id=last.staff_id,
                unit_id=last.unit_id,
                employee_no=employee_no,
                quarter_grades={p: r.grade for p, r in sorted(own.items())},
                annual_grade=annual_result.grade if annual_result is not None else None,
                year=year,
            )
        )
    return out


def _name(data: _Data, result: Result) -> str:
    if result.staff_id is not None:
        return data.staff.get(result.staff_id, ("", ""))[0]
    return data.units.get(result.unit_id, "")


def _run(
    by_year: dict[int, dict[str, AnnualResult]], year: int, key: str, grade: Grade
) -> tuple[int, ...]:
    """The consecutive years ending with ``year`` in which ``key`` was graded ``grade``."""
    years: list[int] = []
    y = year
    while (found := by_year.get(y, {}).get(key)) is not None and found.grade is grade:
        years.append(y)
        y -= 1
    return tuple(reversed(years))


async def annual_results(
    session: AsyncSession,
    year: int,
    *,
    weights: tuple[Decimal | int, Decimal | int] = DEFAULT_WEIGHTS,
    options: ScoringOptions = DEFAULT_OPTIONS,
) -> list[AnnualResult]:
    """Every person and unit with a published result in ``year``: people best first, then units."""
    data = await _load(session, years=[year])
    return _roll_up(data, year, _weights(weights), options)


async def annual_report(
    session: AsyncSession,
    year: int,
    *,
    weights: tuple[Decimal | int, Decimal | int] = DEFAULT_WEIGHTS,
    options: ScoringOptions = DEFAULT_OPTIONS,
    excellent_years: int = 2,
    fail_years: int = 2,
    fail_quarters: int = 2,
) -> AnnualReport:
    """The year's results with the flags (from the past years' roll-ups) and the award lists."""
    if excellent_years < 1 or fail_years < 1 or fail_quarters < 1:
        raise ValueError("the numbers of years and quarters must be at least 1")
    w = _weights(weights)
    data = await _load(session, until=year)
    by_year = {y: {r.subject_key: r for r in _roll_up(data, y, w, options)} for y in data.years()}
    results = list(by_year.get(year, {}).values())
    rows = data.of_year(year)
    quarter_periods = tuple(sorted({r.period for r in rows if r.kind is CycleKind.QUARTER}))
    flags: list[Flag] = []
    for r in results:
        if r.is_unit:
            continue
        excellent = _run(by_year, year, r.subject_key, Grade.EXCELLENT)
        if len(excellent) >= excellent_years:
            flags.append(Flag(FlagKind.PRIORITY, r, years=excellent))
        failed_years = _run(by_year, year, r.subject_key, Grade.FAIL)
        failed_quarters = tuple(p for p, g in r.quarter_grades.items() if g is Grade.FAIL)
        if len(failed_years) >= fail_years or len(failed_quarters) >= fail_quarters:
            flags.append(
                Flag(
                    FlagKind.REVIEW,
                    r,
                    years=failed_years if len(failed_years) >= fail_years else (),
                    quarters=failed_quarters if len(failed_quarters) >= fail_quarters else (),
                )
            )
    return AnnualReport(
        year=year,
        weights=w,
        quarter_periods=quarter_periods,
        annual_published=any(r.kind is CycleKind.ANNUAL for r in rows),
        results=results,
        flags=flags,
        individuals=[
            AwardEntry(r, r.failed_periods)
            for r in results
            if not r.is_unit and r.grade is Grade.EXCELLENT
        ],
        collectives=[
            AwardEntry(r, r.failed_periods)
            for r in results
            if r.is_unit and r.grade is Grade.EXCELLENT
        ],
        excellent_years=excellent_years,
        fail_years=fail_years,
        fail_quarters=fail_quarters,
    )


async def person_history(
    session: AsyncSession,
    staff_id: int,
    *,
    weights: tuple[Decimal | int, Decimal | int] = DEFAULT_WEIGHTS,
    options: ScoringOptions = DEFAULT_OPTIONS,
) -> PersonHistory:
    """Every published result of one person, and their roll-up of each of those years.

    The roll-up needs the whole year (ranks), but only this person's rows leave here.
    """
    w = _weights(weights)
    periods = await session.scalars(
        select(Cycle.period)
        .join(Result, Result.cycle_id == Cycle.id)
        .where(
            Result.staff_id == staff_id,
            Cycle.phase.in_(PUBLISHED),
            Cycle.published_at.is_not(None),
        )
    )
    own_years = {p.year for p in map(parse_period, periods) if p is not None}
    data = await _load(session, years=own_years)
    key = f"p:{staff_id}"
    entries = [
        HistoryEntry(
            r.period, r.kind, r.result.total, r.result.grade, r.result.rank_in_unit, r.result.id
        )
        for r in sorted(data.rows, key=lambda r: (r.year, r.kind is CycleKind.ANNUAL, r.period))
        if r.result.staff_id == staff_id
    ]
    years = {}
    for y in sorted(own_years):
        mine = [r for r in _roll_up(data, y, w, options) if r.subject_key == key]
        if mine:
            years[y] = mine[0]
    return PersonHistory(staff_id, entries, years, w)


async def latest_year(session: AsyncSession) -> int | None:
    """The most recent year with a published cycle."""
    periods = await session.scalars(
        select(Cycle.period).where(Cycle.phase.in_(PUBLISHED), Cycle.published_at.is_not(None))
    )
    years = [p.year for p in map(parse_period, periods) if p is not None]
    return max(years) if years else None
