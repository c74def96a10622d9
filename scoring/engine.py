"""The weighted score of one person or unit (五(三)1), exact to the last cent.

Answers → per source a (trimmed) mean → per indicator the sources combined by the
template's source weights (四(二)) → per dimension the indicators by their weights
(三(三)) → the total by the dimension weights → the grade (五(三)2).

Whatever is missing gives its weight to what is present, at the level where it is
missing, and the result says so in a note: a source that did not rate an indicator
(no citizen ever meets back-office staff; the head of the bureau has no superior),
peers dropped for anonymity, an indicator nobody rated, a dimension with no rated
indicator. Dividing by the weights present keeps a person's score on the same 0–100
scale as everyone else's instead of punishing them for a form nobody could fill in.

The arithmetic is exact and integer: every mean, score and contribution of one
subject is an integer numerator over one common denominator (built from the lcm of
the weight sums and rater counts involved), so contributions add up exactly, the
only rounding is the final half-up to cents, and scoring a bureau takes seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from domain.enums import Dimension, Source
from domain.template import Target, Template
from scoring.grades import grade_for
from scoring.model import (
    DEFAULT_OPTIONS,
    Adjustment,
    DimensionScore,
    IndicatorScore,
    Note,
    NoteKind,
    Rating,
    ScoringOptions,
    SourceScore,
    SubjectScore,
)
from scoring.numbers import apportion, from_cents, integer_weights, ratio_cents

_ZERO = from_cents(0)
_WHOLE = 10_000  # 100.00 % in hundredths of a percent


class NothingToScore(ValueError):
    """No rating counts for the subject: there is no score to give, not a score of 0."""


@dataclass(frozen=True)
class _IndicatorPlan:
    code: str
    weight: int  # proportional to the template's weight within the dimension
    sources: tuple[tuple[Source, int], ...]  # sources weighing > 0, in enum order


@dataclass(frozen=True)
class _DimensionPlan:
    dimension: Dimension
    weight: int
    indicators: tuple[_IndicatorPlan, ...]


@dataclass(frozen=True)
class _Plan:
    """What counts for a (unit, target) under a template, derived once and cached."""

    dimensions: tuple[_DimensionPlan, ...]
    asked: frozenset[tuple[Source, str]]  # every (source, indicator) the set asks for
    weighted: frozenset[tuple[Source, str]]  # … of those, the ones whose source weighs > 0
    has_peer: bool


_PLANS: dict[tuple[int, str | None, Target], tuple[Template, _Plan]] = {}
_MAX_PLANS = 512


def _plan_for(template: Template, unit: str | None, target: Target) -> _Plan:
    """The cached plan; keyed by the template's identity (hashing a template costs more
    than scoring a subject), holding the template so its id cannot be reused meanwhile.
    """
    key = (id(template), unit, target)
    hit = _PLANS.get(key)
    if hit is not None and hit[0] is template:
        return hit[1]
    plan = _make_plan(template, unit, target)
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[key] = (template, plan)
    return plan


def _make_plan(template: Template, unit: str | None, target: Target) -> _Plan:
    # The unit's own set if it has one (二(三)3), else the bureau's; of it, the
    # indicators that apply to the target, each with the sources that rate it.
    rated_by: dict[str, set[Source]] = {}
    for source in Source:
        for ind in template.indicators_for(unit=unit, target=target, source=source):
            rated_by.setdefault(ind.code, set()).add(source)
    indicators = [i for i in template.indicator_set(unit) if i.code in rated_by]
    zero = Decimal(0)
    sources, dims = list(Source), list(Dimension)
    source_weight = dict(
        zip(
            sources,
            integer_weights([template.source_weights.get(s, zero) for s in sources]),
            strict=True,
        )
    )
    dim_weight = dict(
        zip(
            dims,
            integer_weights([template.dimension_weights.get(d, zero) for d in dims]),
            strict=True,
        )
    )
    ind_weight = integer_weights([i.weight for i in indicators])
    dimensions = tuple(
        _DimensionPlan(
            dimension,
            dim_weight[dimension],
            tuple(
                _IndicatorPlan(
                    ind.code,
                    weight,
                    tuple(
                        (s, source_weight[s])
                        for s in Source
                        if s in rated_by[ind.code] and source_weight[s] > 0
                    ),
                )
                for ind, weight in zip(indicators, ind_weight, strict=True)
                if ind.dimension is dimension and weight > 0
            ),
        )
        for dimension in Dimension
        if dim_weight[dimension] > 0  # weighs nothing: nothing to spread, nothing to say
    )
    weighted = frozenset(
        (s, i.code) for d in dimensions for i in d.indicators for s, _ in i.sources
    )
    return _Plan(
        dimensions=dimensions,
        asked=frozenset((s, code) for code, sources in rated_by.items() for s in sources),
        weighted=weighted,
        has_peer=any(s is Source.PEER for s, _ in weighted),
    )


@dataclass
class _SourceResult:
    """One source's answers to one indicator: mean = total / (q · count), q the subject's
    common denominator of points; ``numerator`` is filled in once all counts are known.
    """

    source: Source
    weight: int
    total: int
    count: int  # the mean's denominator apart from q (kept raters × their lcm of answers)
    raters: int
    trimmed: bool
    numerator: int = 0  # mean = numerator / (q · lcm of all counts)


@dataclass
class _IndicatorResult:
    plan: _IndicatorPlan
    sources: list[_SourceResult]
    weight_sum: int = 0  # Σ source weights present
    numerator: int = 0  # score = numerator / (weight_sum · q · L)


@dataclass
class _DimensionResult:
    plan: _DimensionPlan
    indicators: list[_IndicatorResult]
    weight_sum: int = 0  # Σ weights of the rated indicators
    numerator: int = 0  # score = numerator / (weight_sum · LV · q · L)


# Points as ratios, by value: a bureau's answers hold a few dozen distinct values. Only
# valid points are kept, and only a bounded number of them.
_RATIOS: dict[Decimal, tuple[int, int]] = {}
_MAX_RATIOS = 4096


def _ratio(points: Decimal) -> tuple[int, int]:
    if isinstance(points, float):  # a float's binary fraction is not the number meant
        raise TypeError(f"points must be a Decimal, not a float: {points!r}")
    try:
        known = _RATIOS.get(points)
    except TypeError:  # unhashable, or a signalling NaN: refused below
        known = None
    if known is not None:
        return known
    ratio = _checked_ratio(points)
    if len(_RATIOS) >= _MAX_RATIOS:
        _RATIOS.clear()
    _RATIOS[points] = ratio
    return ratio


def _checked_ratio(points: Decimal) -> tuple[int, int]:
    try:
        numerator, denominator = points.as_integer_ratio()
    except (ValueError, OverflowError, AttributeError) as exc:
        raise ValueError(f"points must be a finite number: {points!r}") from exc
    if not 0 <= numerator <= 100 * denominator:
        raise ValueError(f"points must be 0–100: {points!r}")
    return numerator, denominator


def _source_mean(
    source: Source, weight: int, per_rater: list[list[int]], trim_min: int
) -> _SourceResult:
    """The mean of one source's answers to one indicator, each rater counted once.

    A rater's several answers to one indicator (a citizen response whose questions all
    feed T05) are averaged first. From ``trim_min`` raters on, the one highest and the
    one lowest answer are dropped (一(三)2 客观公正: one outlier cannot swing it).
    """
    if all(len(v) == 1 for v in per_rater):
        scale, values = 1, [v[0] for v in per_rater]
    else:
        scale = math.lcm(*(len(v) for v in per_rater))
        values = [sum(v) * (scale // len(v)) for v in per_rater]
    raters = len(values)
    trimmed = raters >= trim_min
    if trimmed:
        values.sort()
        values = values[1:-1]
    return _SourceResult(source, weight, sum(values), scale * len(values), raters, trimmed)


def score_subject(
    template: Template,
    *,
    target: Target,
    unit: str | None,
    ratings: Sequence[Rating],
    options: ScoringOptions = DEFAULT_OPTIONS,
    adjustments: Sequence[Adjustment] = (),
) -> SubjectScore:
    """Score a person (``target=PERSON``, ``unit`` = their unit) or a unit (``UNIT``, itself).

    ``unit`` picks the unit's own indicator set (二(三)3) when the template has one;
    None means the bureau-wide set. Ratings of indicators outside that set, or by a
    source that does not rate the indicator, are left out with a ``ratings_ignored``
    note. Raises ``NothingToScore`` when no rating counts, ValueError on points
    outside 0–100. The result depends on the ratings, not on their order.

    ``adjustments`` (appeal decisions, oldest first) replace the means of the sources they
    name with their points; ValueError if one names a source mean that is not there.
    """
    plan = _plan_for(template, unit, target)
    raw: dict[tuple[Source, str], dict[str, list[tuple[int, int]]]] = {}
    ignored: dict[Source, set[str]] = {}
    q = 1  # the common denominator of all points (1 when all are whole)
    for rating in ratings:
        ratio = _ratio(rating.points)
        key = (rating.source, rating.indicator)
        if key in plan.weighted:
            raw.setdefault(key, {}).setdefault(rating.rater, []).append(ratio)
            if ratio[1] != 1:
                q = math.lcm(q, ratio[1])
        elif key not in plan.asked:
            ignored.setdefault(rating.source, set()).add(rating.indicator)
    adjusted = _in_force(adjustments)
    for _numerator, denominator in adjusted.values():
        q = math.lcm(q, denominator)
    answers = {
        key: [[n * (q // d) for n, d in given] for given in by_rater.values()]
        for key, by_rater in raw.items()
    }

    # 同事互评 is anonymous: with fewer than peer_min_raters distinct colleagues the
    # peer source goes for this person altogether, so no mean can be traced to one of
    # them; an indicator that fewer of them answered loses its peer part the same way.
    peer_min = options.peer_min_raters
    peer_dropped_person = plan.has_peer and (
        len({r for (s, _), by in raw.items() if s is Source.PEER for r in by}) < peer_min
    )

    peer_dropped: list[str] = []
    missing: dict[Source, list[str]] = {}
    unrated: dict[Dimension, list[str]] = {}
    dims: list[_DimensionResult] = []
    for dplan in plan.dimensions:
        items: list[_IndicatorResult] = []
        for iplan in dplan.indicators:
            present: list[_SourceResult] = []
            absent: list[Source] = []
            for source, weight in iplan.sources:
                per_rater = answers.get((source, iplan.code))
                if source is Source.PEER and (
                    peer_dropped_person or per_rater is None or len(per_rater) < peer_min
                ):
                    peer_dropped.append(iplan.code)
                elif per_rater is None:
                    absent.append(source)
                else:
                    present.append(_source_mean(source, weight, per_rater, options.trim_min_raters))
            for n, s in enumerate(present):
                own = adjusted.pop((iplan.code, s.source), None)
                value = own or adjusted.get((iplan.code, None))
                if value is not None:  # the appeal's value in place of the raters' mean
                    total = value[0] * (q // value[1])
                    present[n] = _SourceResult(s.source, s.weight, total, 1, s.raters, s.trimmed)
            if present:
                adjusted.pop((iplan.code, None), None)
                for source in absent:
                    missing.setdefault(source, []).append(iplan.code)
            else:
                unrated.setdefault(dplan.dimension, []).append(iplan.code)
            items.append(_IndicatorResult(iplan, present))
        dims.append(_DimensionResult(dplan, items))

    if adjusted:
        raise ValueError(f"nothing to adjust for {sorted(map(str, adjusted))}")

    # One common denominator: L for the means, LV for the indicator weight sums,
    # LW for the dimension weight sums.
    all_sources = [s for d in dims for i in d.indicators for s in i.sources]
    if not all_sources:
        raise NothingToScore("no rating counts for this subject")
    lcm_counts = math.lcm(*(s.count for s in all_sources))
    for s in all_sources:
        s.numerator = s.total * (lcm_counts // s.count)
    for d in dims:
        for i in d.indicators:
            i.weight_sum = sum(s.weight for s in i.sources)
            i.numerator = sum(s.weight * s.numerator for s in i.sources)
    lcm_v = math.lcm(*(i.weight_sum for d in dims for i in d.indicators if i.sources))
    for d in dims:
        rated = [i for i in d.indicators if i.sources]
        d.weight_sum = sum(i.plan.weight for i in rated)
        d.numerator = sum(i.plan.weight * i.numerator * (lcm_v // i.weight_sum) for i in rated)
    rated_dims = [d for d in dims if d.weight_sum]
    lcm_w = math.lcm(*(d.weight_sum for d in rated_dims))
    dim_total = sum(d.plan.weight for d in rated_dims)
    unit_den = q * lcm_counts  # a mean is numerator / unit_den
    denominator = dim_total * lcm_w * lcm_v * unit_den
    numerator = sum(d.plan.weight * d.numerator * (lcm_w // d.weight_sum) for d in rated_dims)
    total_cents = ratio_cents(numerator, denominator)

    dimensions = []
    dim_cents = iter(
        apportion(
            total_cents,
            [100 * d.plan.weight * d.numerator * (lcm_w // d.weight_sum) for d in rated_dims],
            denominator,
        )
    )
    dim_weights = iter(apportion(_WHOLE, [_WHOLE * d.plan.weight for d in rated_dims], dim_total))
    for d in dims:
        if not d.weight_sum:
            dimensions.append(
                DimensionScore(
                    d.plan.dimension,
                    None,
                    _ZERO,
                    _ZERO,
                    tuple(IndicatorScore(i.plan.code, None, _ZERO, _ZERO) for i in d.indicators),
                )
            )
            continue
        # A contribution to the total: numerator × factor / denominator.
        factor = d.plan.weight * (lcm_w // d.weight_sum)
        contribution = next(dim_cents)
        dimensions.append(
            DimensionScore(
                d.plan.dimension,
                from_cents(ratio_cents(d.numerator, d.weight_sum * lcm_v * unit_den)),
                from_cents(next(dim_weights)),
                from_cents(contribution),
                _indicators(d, factor, lcm_v, unit_den, denominator, contribution),
            )
        )

    return SubjectScore(
        total=from_cents(total_cents),
        grade=grade_for(from_cents(total_cents), options.bands),
        dimensions=tuple(dimensions),
        notes=_notes(ignored, peer_dropped, peer_dropped_person, peer_min, missing, unrated, dims)
        + tuple(
            Note(NoteKind.ADJUSTED, {"indicator": code, "source": s.value if s else ""})
            for code, s in _in_force(adjustments)
        ),
    )


def _in_force(
    adjustments: Sequence[Adjustment],
) -> dict[tuple[str, Source | None], tuple[int, int]]:
    """(indicator, source) → points as a ratio; a later decision replaces an earlier one, and
    one on the whole indicator replaces those on its single sources."""
    out: dict[tuple[str, Source | None], tuple[int, int]] = {}
    for a in adjustments:
        if a.source is None:
            out = {k: v for k, v in out.items() if k[0] != a.indicator}
        out[(a.indicator, a.source)] = _ratio(a.points)
    return out


def _indicators(
    d: _DimensionResult, factor: int, lcm_v: int, unit_den: int, denominator: int, cents: int
) -> tuple[IndicatorScore, ...]:
    """The dimension's indicators; contributions add up to the dimension's ``cents``."""
    rated = [i for i in d.indicators if i.sources]
    factors = [factor * i.plan.weight * (lcm_v // i.weight_sum) for i in rated]
    contributions = iter(
        apportion(
            cents, [100 * f * i.numerator for f, i in zip(factors, rated, strict=True)], denominator
        )
    )
    weights = iter(apportion(_WHOLE, [_WHOLE * i.plan.weight for i in rated], d.weight_sum))
    factor_of = iter(factors)
    out = []
    for i in d.indicators:
        if not i.sources:
            out.append(IndicatorScore(i.plan.code, None, _ZERO, _ZERO))
            continue
        contribution = next(contributions)
        out.append(
            IndicatorScore(
                i.plan.code,
                from_cents(ratio_cents(i.numerator, i.weight_sum * unit_den)),
                from_cents(next(weights)),
                from_cents(contribution),
                _sources(i, next(factor_of), unit_den, denominator, contribution),
            )
        )
    return tuple(out)


def _sources(
    i: _IndicatorResult, factor: int, unit_den: int, denominator: int, cents: int
) -> tuple[SourceScore, ...]:
    """The indicator's sources; contributions add up to the indicator's ``cents``."""
    contributions = apportion(
        cents, [100 * factor * s.weight * s.numerator for s in i.sources], denominator
    )
    weights = apportion(_WHOLE, [_WHOLE * s.weight for s in i.sources], i.weight_sum)
    return tuple(
        SourceScore(
            s.source,
            from_cents(ratio_cents(s.numerator, unit_den)),
            s.raters,
            s.trimmed,
            from_cents(w),
            from_cents(c),
        )
        for s, w, c in zip(i.sources, weights, contributions, strict=True)
    )


def _notes(
    ignored: dict[Source, set[str]],
    peer_dropped: list[str],
    peer_dropped_person: bool,
    peer_min: int,
    missing: dict[Source, list[str]],
    unrated: dict[Dimension, list[str]],
    dims: list[_DimensionResult],
) -> tuple[Note, ...]:
    """Why weights moved, in a fixed order; peers are described without a count."""
    notes = [
        Note(NoteKind.RATINGS_IGNORED, {"source": s.value, "indicators": ",".join(sorted(odd))})
        for s in Source
        if (odd := ignored.get(s))
    ]
    if peer_dropped:
        notes.append(
            Note(
                NoteKind.PEER_DROPPED,
                {
                    "scope": "person" if peer_dropped_person else "indicator",
                    "min_raters": str(peer_min),
                    "indicators": ",".join(peer_dropped),
                },
            )
        )
    notes.extend(
        Note(NoteKind.SOURCE_MISSING, {"source": s.value, "indicators": ",".join(codes)})
        for s in Source
        if (codes := missing.get(s))
    )
    rated_dims = {d.plan.dimension for d in dims if d.weight_sum}
    notes.extend(
        Note(NoteKind.INDICATOR_UNRATED, {"dimension": dim.value, "indicators": ",".join(cs)})
        for dim, cs in unrated.items()
        if dim in rated_dims
    )
    notes.extend(
        Note(NoteKind.DIMENSION_UNRATED, {"dimension": d.plan.dimension.value})
        for d in dims
        if not d.weight_sum
    )
    return tuple(notes)
