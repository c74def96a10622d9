"""What the report adds up from a cycle's facts (五(四)1, 六(三)1), as pure functions.

Only what the report needs and the workbook does not: dimension and indicator averages by
unit, each unit's weakest dimension and indicators, and the training each person needs (their
weakest dimension). Averages are over the people of a unit (a unit's own result is its
collective score, not the people's), in Decimal with two decimals, half up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from domain.enums import Dimension, Source
from services.cycle_facts import (
    AppealFacts,
    CycleFacts,
    Participation,
    PlanFacts,
    RectificationFacts,
    ResultFacts,
    percent,
)
from services.survey_stats import OPEN_ITEMS

_CENT = Decimal("0.01")
WEAK_INDICATORS = 3  # indicators listed per unit as its weakest
BUREAU = None  # the unit id of the bureau-wide row


def mean(values: Iterable[Decimal]) -> Decimal | None:
    """Two decimals, half up; None for no values."""
    items = list(values)
    if not items:
        return None
    return (sum(items, Decimal(0)) / len(items)).quantize(_CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class UnitDimensions:
    """A unit's people averaged per dimension (``unit_id`` None: the whole bureau)."""

    unit_id: int | None
    unit: str
    people: int
    averages: dict[Dimension, Decimal | None]
    total: Decimal | None

    @property
    def weakest(self) -> Dimension | None:
        """The dimension with the lowest average (the first in the regulation's order on a tie)."""
        scored = [(v, n, d) for n, (d, v) in enumerate(self.averages.items()) if v is not None]
        return min(scored)[2] if scored else None


def dimension_averages(facts: CycleFacts) -> list[UnitDimensions]:
    """The bureau first, then each unit (roster order) with people scored."""
    rows = [_dimensions(BUREAU, facts.bureau, facts.people)]
    for unit in facts.units:
        mine = [p for p in facts.people if p.unit_id == unit.id]
        if mine:
            rows.append(_dimensions(unit.id, unit.name, mine))
    return rows


def _dimensions(unit_id: int | None, name: str, people: Sequence[ResultFacts]) -> UnitDimensions:
    averages = {
        d: mean(f.score for p in people if (f := p.dimension(d)) and f.score is not None)
        for d in Dimension
    }
    return UnitDimensions(unit_id, name, len(people), averages, mean(p.total for p in people))


@dataclass(frozen=True)
class IndicatorAverage:
    code: str
    dimension: Dimension
    average: Decimal
    people: int  # how many people had a score on it


def weakest_indicators(
    facts: CycleFacts, unit_id: int, limit: int = WEAK_INDICATORS
) -> list[IndicatorAverage]:
    """A unit's indicators with the lowest averages over its people, lowest first."""
    scores: dict[str, list[Decimal]] = defaultdict(list)
    dims: dict[str, Dimension] = {}
    for person in facts.people:
        if person.unit_id != unit_id:
            continue
        for figure in person.indicators:
            if figure.score is not None:
                scores[figure.code].append(figure.score)
                dims[figure.code] = figure.dimension
    averages = [
        IndicatorAverage(code, dims[code], avg, len(values))
        for code, values in scores.items()
        if (avg := mean(values)) is not None
    ]
    return sorted(averages, key=lambda a: (a.average, a.code))[:limit]


def weakest_dimension(person: ResultFacts) -> Dimension | None:
    """A person's lowest-scored dimension (the regulation's order on a tie): their training need."""
    scored = [
        (f.score, n, f.dimension)
        for n, d in enumerate(Dimension)
        if (f := person.dimension(d)) is not None and f.score is not None
    ]
    return min(scored)[2] if scored else person.weakest


@dataclass(frozen=True)
class TrainingNeed:
    """Who in a unit needs training in one dimension, weakest first (六(三)1)."""

    unit_id: int
    unit: str
    dimension: Dimension
    people: tuple[tuple[str, Decimal], ...]  # (name, their score in that dimension)


def training_needs(facts: CycleFacts, below: Decimal) -> list[TrainingNeed]:
    """Each person's weakest dimension scored below ``below`` (``JIXIAO_TRAINING_THRESHOLD``,
    by default 良好's lower bound, 80), grouped by unit (roster order) and dimension.

    Only people, never raters: the list says who should be trained in what, from their
    own result; it is for the working group and the units (names are theirs to know).
    """
    groups: dict[tuple[int, Dimension], list[tuple[str, Decimal]]] = defaultdict(list)
    for person in facts.people:
        dimension = weakest_dimension(person)
        if dimension is None:
            continue
        figure = person.dimension(dimension)
        score = figure.score if figure and figure.score is not None else person.total
        if score >= below:
            continue
        groups[person.unit_id, dimension].append((person.name, score))
    out = []
    for unit in facts.units:
        for dimension in Dimension:
            people = groups.get((unit.id, dimension))
            if people:
                people.sort(key=lambda p: (p[1], p[0]))
                out.append(TrainingNeed(unit.id, unit.name, dimension, tuple(people)))
    return out


@dataclass(frozen=True)
class SourceParticipation:
    """Forms of one source across the bureau: assigned, submitted, submitted by the deadline."""

    source: Source
    assigned: int
    submitted: int
    on_time: int

    @property
    def rate(self) -> Decimal | None:
        return percent(self.submitted, self.assigned)

    @property
    def on_time_rate(self) -> Decimal | None:
        return percent(self.on_time, self.assigned)


def participation_by_source(rows: Iterable[Participation]) -> list[SourceParticipation]:
    """The bureau's forms per source (regulation order), from the per-unit figures."""
    totals: dict[Source, list[int]] = {s: [0, 0, 0] for s in Source}
    for row in rows:
        t = totals[row.source]
        t[0], t[1], t[2] = t[0] + row.assigned, t[1] + row.submitted, t[2] + row.on_time
    return [SourceParticipation(s, *t) for s, t in totals.items() if t[0]]


def unit_participation(rows: Iterable[Participation]) -> dict[int, tuple[int, int, int]]:
    """(assigned, submitted, on time) per unit over all sources."""
    out: dict[int, tuple[int, int, int]] = {}
    for row in rows:
        a, s, o = out.get(row.unit_id, (0, 0, 0))
        out[row.unit_id] = (a + row.assigned, s + row.submitted, o + row.on_time)
    return out


def open_rectifications(facts: CycleFacts) -> list[RectificationFacts]:
    """差评 still being handled (to handle, or under review), overdue ones first."""
    items = [r for r in facts.rectifications if r.status in OPEN_ITEMS]
    return sorted(items, key=lambda r: (not r.overdue, r.deadline, r.id))


def overdue_plans(facts: CycleFacts) -> list[PlanFacts]:
    """Improvement plans with a milestone past due and not done."""
    return [p for p in facts.plans if any(m.overdue for m in p.milestones)]


def appeal_outcomes(appeals: Iterable[AppealFacts]) -> dict[str, int]:
    """Appeals counted by outcome: ``adjusted``, ``upheld`` (the result stands), ``pending``."""
    out = {"adjusted": 0, "upheld": 0, "pending": 0}
    for appeal in appeals:
        key = appeal.decision if appeal.decision in ("adjusted", "upheld") else "pending"
        out[key] += 1
    return out
