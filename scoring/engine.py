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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from domain.enums import Dimension, Source
from domain.template import Target, Template
from scoring.grades import grade_for
from scoring.model import (
    DEFAULT_OPTIONS,
    DimensionScore,
    IndicatorScore,
    Note,
    NoteKind,
    Rating,
    ScoringOptions,
    SourceScore,
    SubjectScore,
)
from scoring.numbers import apportion, cents, exact, from_cents

_ZERO = from_cents(0)
_WHOLE = 10_000  # 100.00 % in hundredths of a percent


class NothingToScore(ValueError):
    """No rating counts for the subject: there is no score to give, not a score of 0."""


@dataclass(frozen=True)
class _IndicatorPlan:
    code: str
    weight: Fraction
    sources: tuple[tuple[Source, Fraction], ...]  # sources with a weight > 0, in enum order


@dataclass(frozen=True)
class _DimensionPlan:
    dimension: Dimension
    weight: Fraction
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
    source_weight = {s: Fraction(template.source_weights.get(s, Decimal(0))) for s in Source}
    dimensions = []
    for dimension in Dimension:
        weight = Fraction(template.dimension_weights.get(dimension, Decimal(0)))
        if weight <= 0:
            continue  # weighs nothing: nothing to spread, nothing to say
        dimensions.append(
            _DimensionPlan(
                dimension,
                weight,
                tuple(
                    _IndicatorPlan(
                        i.code,
                        Fraction(i.weight),
                        tuple(
                            (s, source_weight[s])
                            for s in Source
                            if s in rated_by[i.code] and source_weight[s] > 0
                        ),
                    )
                    for i in indicators
                    if i.dimension is dimension and i.weight > 0
                ),
            )
        )
    asked = frozenset((s, code) for code, sources in rated_by.items() for s in sources)
    weighted = frozenset(
        (s, i.code) for d in dimensions for i in d.indicators for s, _ in i.sources
    )
    return _Plan(
        dimensions=tuple(dimensions),
        asked=asked,
        weighted=weighted,
        has_peer=any(s is Source.PEER for s, _ in weighted),
    )


@dataclass
class _SourceResult:
    source: Source
    weight: Fraction
    mean: Fraction
    raters: int
    trimmed: bool


@dataclass
class _IndicatorResult:
    plan: _IndicatorPlan
    score: Fraction | None
    sources: list[_SourceResult]


def _points(rating: Rating) -> Fraction:
    value = exact(rating.points)
    if not 0 <= value <= 100:
        raise ValueError(f"points must be 0–100: {rating!r}")
    return value


def _mean(per_rater: Iterable[list[Fraction]], trim_min: int) -> tuple[Fraction, int, bool]:
    """The mean of one source's answers to one indicator, each rater counted once.

    A rater's several answers to one indicator (a citizen response whose questions all
    feed T05) are averaged first. From ``trim_min`` raters on, the one highest and the
    one lowest answer are dropped (一(三)2 客观公正: one outlier cannot swing it).
    """
    values = [v[0] if len(v) == 1 else sum(v, Fraction(0)) / len(v) for v in per_rater]
    count = len(values)
    trimmed = count >= trim_min
    if trimmed:
        values.sort()
        values = values[1:-1]
    return sum(values, Fraction(0)) / len(values), count, trimmed


def _weighted(pairs: Sequence[tuple[Fraction, Fraction]]) -> Fraction:
    """Σ weight·value / Σ weight: the weights renormalised over what is present."""
    total = sum((w for w, _ in pairs), Fraction(0))
    return sum((w * v for w, v in pairs), Fraction(0)) / total


def score_subject(
    template: Template,
    *,
    target: Target,
    unit: str | None,
    ratings: Sequence[Rating],
    options: ScoringOptions = DEFAULT_OPTIONS,
) -> SubjectScore:
    """Score a person (``target=PERSON``, ``unit`` = their unit) or a unit (``UNIT``, itself).

    ``unit`` picks the unit's own indicator set (二(三)3) when the template has one;
    None means the bureau-wide set. Ratings of indicators outside that set, or by a
    source that does not rate the indicator, are left out with a ``ratings_ignored``
    note. Raises ``NothingToScore`` when no rating counts, ValueError on points
    outside 0–100. The result depends on the ratings, not on their order.
    """
    plan = _plan_for(template, unit, target)
    answers: dict[tuple[Source, str], dict[str, list[Fraction]]] = {}
    ignored: dict[Source, set[str]] = {}
    for rating in ratings:
        points = _points(rating)
        key = (rating.source, rating.indicator)
        if key in plan.weighted:
            answers.setdefault(key, {}).setdefault(rating.rater, []).append(points)
        elif key not in plan.asked:
            ignored.setdefault(rating.source, set()).add(rating.indicator)

    # 同事互评 is anonymous: with fewer than peer_min_raters distinct colleagues the
    # peer source goes for this person altogether, so no mean can be traced to one of
    # them; an indicator that fewer of them answered loses its peer part the same way.
    peer_min = options.peer_min_raters
    peer_dropped_person = plan.has_peer and (
        len({r for (s, _), by in answers.items() if s is Source.PEER for r in by}) < peer_min
    )

    peer_dropped: list[str] = []
    missing: dict[Source, list[str]] = {}
    unrated: dict[Dimension, list[str]] = {}
    results: list[tuple[_DimensionPlan, list[_IndicatorResult], Fraction | None]] = []
    for dplan in plan.dimensions:
        items: list[_IndicatorResult] = []
        for iplan in dplan.indicators:
            present: list[_SourceResult] = []
            absent: list[Source] = []
            for source, weight in iplan.sources:
                by_rater = answers.get((source, iplan.code))
                if source is Source.PEER and (
                    peer_dropped_person or by_rater is None or len(by_rater) < peer_min
                ):
                    peer_dropped.append(iplan.code)
                elif by_rater is None:
                    absent.append(source)
                else:
                    mean, count, trimmed = _mean(by_rater.values(), options.trim_min_raters)
                    present.append(_SourceResult(source, weight, mean, count, trimmed))
            if present:
                score = _weighted([(s.weight, s.mean) for s in present])
                for source in absent:
                    missing.setdefault(source, []).append(iplan.code)
            else:
                score = None
                unrated.setdefault(dplan.dimension, []).append(iplan.code)
            items.append(_IndicatorResult(iplan, score, present))
        rated = [(i.plan.weight, i.score) for i in items if i.score is not None]
        results.append((dplan, items, _weighted(rated) if rated else None))

    rated_dims = [(d.weight, score) for d, _, score in results if score is not None]
    if not rated_dims:
        raise NothingToScore("no rating counts for this subject")
    total = _weighted(rated_dims)
    total_cents = cents(total)

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
    notes.extend(
        Note(NoteKind.INDICATOR_UNRATED, {"dimension": d.value, "indicators": ",".join(codes)})
        for d, codes in unrated.items()
        if any(score is not None for dp, _, score in results if dp.dimension is d)
    )
    notes.extend(
        Note(NoteKind.DIMENSION_UNRATED, {"dimension": d.dimension.value})
        for d, _, score in results
        if score is None
    )

    return SubjectScore(
        total=from_cents(total_cents),
        grade=grade_for(from_cents(total_cents), options.bands),
        dimensions=_breakdown(results, total_cents),
        notes=tuple(notes),
    )


def _breakdown(
    results: list[tuple[_DimensionPlan, list[_IndicatorResult], Fraction | None]],
    total_cents: int,
) -> tuple[DimensionScore, ...]:
    """Rounded scores, effective weights and contributions; at every level the children's
    contributions add up exactly to their parent's (largest remainder), and the
    effective weights of siblings to exactly 100.00 %.
    """
    dim_total = sum((d.weight for d, _, score in results if score is not None), Fraction(0))
    rated = [(d, items, score) for d, items, score in results if score is not None]
    dim_share = {d.dimension: d.weight / dim_total for d, _, _ in rated}
    dim_cents = dict(
        zip(
            dim_share,
            apportion(total_cents, [dim_share[d.dimension] * s * 100 for d, _, s in rated]),
            strict=True,
        )
    )
    dim_weights = dict(
        zip(dim_share, apportion(_WHOLE, [w * _WHOLE for w in dim_share.values()]), strict=True)
    )
    out = []
    for dplan, items, score in results:
        if score is None:
            out.append(
                DimensionScore(
                    dplan.dimension, None, _ZERO, _ZERO, tuple(_unrated(i) for i in items)
                )
            )
            continue
        share = dim_share[dplan.dimension]
        out.append(
            DimensionScore(
                dplan.dimension,
                from_cents(cents(score)),
                from_cents(dim_weights[dplan.dimension]),
                from_cents(dim_cents[dplan.dimension]),
                _indicators(items, share, dim_cents[dplan.dimension]),
            )
        )
    return tuple(out)


def _unrated(item: _IndicatorResult) -> IndicatorScore:
    return IndicatorScore(item.plan.code, None, _ZERO, _ZERO, ())


def _indicators(
    items: list[_IndicatorResult], dim_share: Fraction, dim_cents: int
) -> tuple[IndicatorScore, ...]:
    rated = [(i, i.score) for i in items if i.score is not None]
    weight_total = sum((i.plan.weight for i, _ in rated), Fraction(0))
    shares = [i.plan.weight / weight_total for i, _ in rated]
    parts = [dim_share * sh * score * 100 for sh, (_, score) in zip(shares, rated, strict=True)]
    keys = [id(i) for i, _ in rated]
    contrib = dict(zip(keys, apportion(dim_cents, parts), strict=True))
    weights = dict(zip(keys, apportion(_WHOLE, [s * _WHOLE for s in shares]), strict=True))
    share_of = dict(zip(keys, shares, strict=True))
    out = []
    for item in items:
        if item.score is None:
            out.append(_unrated(item))
            continue
        key = id(item)
        out.append(
            IndicatorScore(
                item.plan.code,
                from_cents(cents(item.score)),
                from_cents(weights[key]),
                from_cents(contrib[key]),
                _sources(item.sources, dim_share * share_of[key], contrib[key]),
            )
        )
    return tuple(out)


def _sources(
    sources: list[_SourceResult], ind_share: Fraction, ind_cents: int
) -> tuple[SourceScore, ...]:
    weight_total = sum((s.weight for s in sources), Fraction(0))
    shares = [s.weight / weight_total for s in sources]
    contrib = apportion(
        ind_cents, [ind_share * sh * s.mean * 100 for sh, s in zip(shares, sources, strict=True)]
    )
    weights = apportion(_WHOLE, [sh * _WHOLE for sh in shares])
    return tuple(
        SourceScore(
            s.source,
            from_cents(cents(s.mean)),
            s.raters,
            s.trimmed,
            from_cents(w),
            from_cents(c),
        )
        for s, w, c in zip(sources, weights, contrib, strict=True)
    )
