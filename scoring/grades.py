"""From totals to what results are used for: grades (五(三)2), ranks, the weakest
dimension (六(三)1), bonus coefficients (六(一)1), an 优秀 quota preview (六(四)), and
the annual roll-up of the quarters (四(一)).

Every comparison is on the total as shown — rounded half up to 2 decimals — so what a
person reads, their grade and their rank never disagree.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction
from typing import Generic, TypeVar

from domain.enums import Dimension, Grade
from scoring.model import DEFAULT_BANDS, DEFAULT_OPTIONS, GradeBands, ScoringOptions, SubjectScore
from scoring.numbers import exact, round2

K = TypeVar("K", bound=Hashable)
G = TypeVar("G", bound=Hashable)

DEFAULT_ANNUAL_WEIGHTS = (Decimal(40), Decimal(60))  # (mean of the quarters, annual assessment)


def grade_for(total: Decimal, bands: GradeBands = DEFAULT_BANDS) -> Grade:
    """The grade of 五(三)2 for ``total`` rounded half up to 2 decimals first:
    89.995 shows as 90.00 and is 优秀; 89.994 shows as 89.99 and is 良好.
    """
    shown = round2(total)
    if shown >= bands.excellent:
        return Grade.EXCELLENT
    if shown >= bands.good:
        return Grade.GOOD
    if shown >= bands.passing:
        return Grade.PASS
    return Grade.FAIL


def bonus_coefficient(grade: Grade, options: ScoringOptions = DEFAULT_OPTIONS) -> Decimal:
    """绩效奖金系数 of 六(一)1: highest for 优秀, decreasing down to 不合格."""
    return options.bonus_coefficients[grade]


def rank(totals: Mapping[K, Decimal]) -> dict[K, int]:
    """Standard competition ranking (1, 2, 2, 4) on the totals as shown (2 decimals, half up).

    Equal shown totals share a rank, so two people who read the same score are never
    told different places. The dict lists best first, ties in input order.
    """
    shown = {key: round2(total) for key, total in totals.items()}
    order = sorted(shown, key=lambda key: -shown[key])  # stable: ties keep input order
    ranks: dict[K, int] = {}
    previous: Decimal | None = None
    place = 0
    for position, key in enumerate(order, start=1):
        if shown[key] != previous:
            place, previous = position, shown[key]
        ranks[key] = place
    return ranks


def rank_within(totals: Mapping[K, Decimal], groups: Mapping[K, G]) -> dict[K, int]:
    """``rank`` separately inside each group (e.g. the unit a person belongs to)."""
    by_group: dict[G, dict[K, Decimal]] = {}
    for key, total in totals.items():
        by_group.setdefault(groups[key], {})[key] = total
    ranks: dict[K, int] = {}
    for members in by_group.values():
        ranks.update(rank(members))
    return {key: ranks[key] for key in totals}


def weakest_dimension(score: SubjectScore) -> Dimension | None:
    """The rated dimension with the lowest shown score: the 能力短板 a personal training plan
    starts from (六(三)1). Ties go to the dimension the regulation lists first (三(二));
    None if no dimension was rated.
    """
    order = list(Dimension)
    rated = [
        (d.score, order.index(d.dimension), d.dimension)
        for d in score.dimensions
        if d.score is not None
    ]
    return min(rated)[2] if rated else None


@dataclass(frozen=True)
class QuotaPreview(Generic[K]):
    """Who is 优秀 by the bands, and who would be if 优秀 were the top ``quota`` (ties in).

    The regulation sets no quota (五(三)2 grades by score alone); the leadership group
    may want to see what one would change before approving results (二(一)).
    Both tuples list best first.
    """

    quota: int
    by_bands: tuple[K, ...]
    by_quota: tuple[K, ...]

    @property
    def only_by_bands(self) -> tuple[K, ...]:
        """优秀 by the bands, but outside the quota."""
        quota = set(self.by_quota)
        return tuple(k for k in self.by_bands if k not in quota)

    @property
    def only_by_quota(self) -> tuple[K, ...]:
        """Inside the quota, but not 优秀 by the bands."""
        bands = set(self.by_bands)
        return tuple(k for k in self.by_quota if k not in bands)


def quota_preview(
    totals: Mapping[K, Decimal],
    share: Decimal = Decimal("0.2"),
    *,
    bands: GradeBands = DEFAULT_BANDS,
) -> QuotaPreview[K]:
    """The top ⌈share·n⌉ by shown total, everyone tied with the last of them included."""
    if not Decimal(0) <= share <= Decimal(1):
        raise ValueError("share must be between 0 and 1")
    shown = {key: round2(total) for key, total in totals.items()}
    order = sorted(shown, key=lambda key: -shown[key])
    quota = int((share * len(order)).to_integral_value(rounding=ROUND_CEILING))
    by_quota: tuple[K, ...] = ()
    if quota:
        cutoff = shown[order[quota - 1]]
        by_quota = tuple(k for k in order if shown[k] >= cutoff)
    by_bands = tuple(k for k in order if grade_for(shown[k], bands) is Grade.EXCELLENT)
    return QuotaPreview(quota, by_bands, by_quota)


def annual_total(
    quarter_totals: Sequence[Decimal],
    annual_total: Decimal | None,
    *,
    weights: tuple[Decimal, Decimal] = DEFAULT_ANNUAL_WEIGHTS,
) -> Decimal:
    """The year's combined total (四(一)): the mean of the quarters that were evaluated,
    weighted against the annual assessment (default 40 : 60), rounded like any total.

    A side that is missing (no quarter evaluated, or no annual assessment yet) gives
    its weight to the other. ValueError when both are missing.
    """
    quarter_weight, annual_weight = (exact(w) for w in weights)
    if quarter_weight < 0 or annual_weight < 0 or quarter_weight + annual_weight == 0:
        raise ValueError("weights must not be negative, nor both 0")
    parts: list[tuple[Fraction, Fraction]] = []
    if quarter_totals:
        mean = sum((exact(t) for t in quarter_totals), Fraction(0)) / len(quarter_totals)
        parts.append((quarter_weight, mean))
    if annual_total is not None:
        parts.append((annual_weight, exact(annual_total)))
    weight = sum((w for w, _ in parts), Fraction(0))
    if not parts:
        raise ValueError("neither a quarter nor an annual total to roll up")
    if weight == 0:  # the only side present weighs 0: it is all there is
        weight = Fraction(len(parts))
        parts = [(Fraction(1), v) for _, v in parts]
    return round2(sum((w * v for w, v in parts), Fraction(0)) / weight)
