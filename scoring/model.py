"""What goes into scoring and what comes out: plain, frozen, exact values.

Results are stored as JSON (``to_dict``/``from_dict``) when the working group computes
a cycle (五(三)1) and shown, after the leadership group approves them, to the people
they concern; so a result carries everything its breakdown needs — rounded scores,
effective weights and contributions that add up to the total shown — and notes that
say why a weight moved (a missing source, peers dropped for anonymity, an unrated
indicator), never a rater's identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from typing import Any

from domain.enums import Dimension, Grade, Source
from domain.template.values import freeze
from scoring.numbers import CENT_TEXTS

FORMAT_VERSION = 1  # of ``to_dict``; bump with a reader for the old shape (additions are not)

# 六(一)1: 优秀等级的绩效奖金系数最高，良好、合格、不合格等级依次递减.
DEFAULT_BONUS_COEFFICIENTS: Mapping[Grade, Decimal] = freeze(
    {
        Grade.EXCELLENT: Decimal("1.2"),
        Grade.GOOD: Decimal("1.0"),
        Grade.PASS: Decimal("0.8"),
        Grade.FAIL: Decimal("0.5"),
    }
)


@dataclass(frozen=True)
class Rating:
    """One answer, already in points 0–100: the caller maps level scales (``Scale.points``)
    and citizen levels (``SurveySpec.points_for``) to points.

    ``rater`` is opaque: it only counts distinct raters (the < 3 peers rule) and keeps
    one rater's several answers to one indicator together (a citizen response whose
    three questions all feed T05 is one rater with one, averaged, answer).
    """

    source: Source
    indicator: str
    points: Decimal
    rater: str


@dataclass(frozen=True)
class Adjustment:
    """A value the working group set on appeal (五(四)3), where the dispute was: the points of
    one indicator from one ``source``, or (``source`` None) from every source that rated it.

    The engine puts it in place of those sources' means and computes everything else as
    usual, so the total, dimensions, contributions and grade stay one consistent result.
    """

    indicator: str
    points: Decimal
    source: Source | None = None


@dataclass(frozen=True)
class GradeBands:
    """Lower bounds of the grades of 五(三)2: 优秀 ≥ 90, 良好 80–<90, 合格 60–<80, 不合格 < 60.

    The regulation writes "80–89分" for whole points; with two decimals 89.99 is 良好,
    so each band runs up to, not including, the next bound.
    """

    excellent: Decimal = Decimal(90)
    good: Decimal = Decimal(80)
    passing: Decimal = Decimal(60)

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.passing < self.good < self.excellent <= Decimal(100):
            raise ValueError("grade bands must rise: 0 ≤ passing < good < excellent ≤ 100")


DEFAULT_BANDS = GradeBands()


def _default_bonus() -> Mapping[Grade, Decimal]:
    return DEFAULT_BONUS_COEFFICIENTS


@dataclass(frozen=True)
class ScoringOptions:
    """The knobs the regulation leaves to the bureau.

    ``trim_min_raters``: from this many answers of one source to one indicator on, the
    highest and the lowest are dropped (客观公正, 一(三)2: one outlier cannot swing it).
    ``peer_min_raters``: fewer distinct peers than this and the peer source is dropped,
    so no breakdown can expose a lone rater (同事互评 stays anonymous).
    ``bonus_coefficients``: 六(一)1, highest for 优秀 and strictly decreasing.
    """

    trim_min_raters: int = 5
    peer_min_raters: int = 3
    bands: GradeBands = DEFAULT_BANDS
    bonus_coefficients: Mapping[Grade, Decimal] = field(default_factory=_default_bonus)

    def __post_init__(self) -> None:
        object.__setattr__(self, "bonus_coefficients", freeze(self.bonus_coefficients))
        if self.trim_min_raters < 3:
            raise ValueError("trimming needs at least 3 answers to leave one")
        if self.peer_min_raters < 1:
            raise ValueError("peer_min_raters must be at least 1")
        missing = [g for g in Grade if g not in self.bonus_coefficients]
        if missing:
            raise ValueError(f"bonus coefficients missing for {missing}")
        values = [self.bonus_coefficients[g] for g in Grade]  # best first
        if any(a <= b for a, b in pairwise(values)) or values[-1] < 0:
            raise ValueError("bonus coefficients must decrease from excellent to fail (六(一)1)")


DEFAULT_OPTIONS = ScoringOptions()


class NoteKind:
    """Why a weight moved. Kinds are stable strings (stored in JSON, keys of messages)."""

    SOURCE_MISSING = "source_missing"  # params: source, indicators
    PEER_DROPPED = "peer_dropped"  # params: scope (person|indicator), min_raters, indicators
    INDICATOR_UNRATED = "indicator_unrated"  # params: dimension, indicators
    DIMENSION_UNRATED = "dimension_unrated"  # params: dimension
    RATINGS_IGNORED = "ratings_ignored"  # params: source, indicators
    ADJUSTED = "adjusted"  # params: indicator, source ("" for all its sources)


@dataclass(frozen=True)
class Note:
    """A remark on a breakdown; ``params`` are plain strings (codes joined by ","), and
    never carry a rater's identity or the number of peers.
    """

    kind: str
    params: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", freeze(self.params))


@dataclass(frozen=True)
class SourceScore:
    """One source's view of one indicator.

    ``mean`` is that source's (trimmed) mean; ``weight`` is its effective share of the
    indicator in percent, after renormalising over the sources present; ``contribution``
    is its share of the subject's total, in points. A dropped peer source has no
    ``SourceScore`` at all: no mean, no count.
    """

    source: Source
    mean: Decimal
    raters: int
    trimmed: bool
    weight: Decimal
    contribution: Decimal


@dataclass(frozen=True)
class IndicatorScore:
    """One indicator; ``score`` None when nobody rated it (its weight went to the others)."""

    code: str
    score: Decimal | None
    weight: Decimal
    contribution: Decimal
    sources: tuple[SourceScore, ...] = ()


@dataclass(frozen=True)
class DimensionScore:
    """One of the four dimensions of 三(二); ``weight`` is its effective share of the total."""

    dimension: Dimension
    score: Decimal | None
    weight: Decimal
    contribution: Decimal
    indicators: tuple[IndicatorScore, ...] = ()


@dataclass(frozen=True)
class SubjectScore:
    """A person's or a unit's result (五(三)1–2): total rounded to 2 decimals, its grade,
    the breakdown whose contributions add up exactly to ``total`` at every level.
    """

    total: Decimal
    grade: Grade
    dimensions: tuple[DimensionScore, ...]
    notes: tuple[Note, ...] = ()

    def dimension(self, dimension: Dimension) -> DimensionScore | None:
        return next((d for d in self.dimensions if d.dimension is dimension), None)


def _text(value: Decimal) -> str:
    return CENT_TEXTS.get(id(value)) or format(value, "f")


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else _text(value)


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def to_dict(score: SubjectScore) -> dict[str, Any]:
    """JSON-safe (Decimals as strings such as ``"90.00"``); ``from_dict`` gives it back equal."""
    return {
        "format": FORMAT_VERSION,
        "total": _text(score.total),
        "grade": score.grade.value,
        "dimensions": [
            {
                "dimension": d.dimension.value,
                "score": _opt(d.score),
                "weight": _text(d.weight),
                "contribution": _text(d.contribution),
                "indicators": [
                    {
                        "code": i.code,
                        "score": _opt(i.score),
                        "weight": _text(i.weight),
                        "contribution": _text(i.contribution),
                        "sources": [
                            {
                                "source": s.source.value,
                                "mean": _text(s.mean),
                                "raters": s.raters,
                                "trimmed": s.trimmed,
                                "weight": _text(s.weight),
                                "contribution": _text(s.contribution),
                            }
                            for s in i.sources
                        ],
                    }
                    for i in d.indicators
                ],
            }
            for d in score.dimensions
        ],
        "notes": [{"kind": n.kind, "params": dict(n.params)} for n in score.notes],
    }


def from_dict(data: Mapping[str, Any]) -> SubjectScore:
    """The inverse of ``to_dict``; KeyError/ValueError on a malformed dict."""
    if data.get("format", FORMAT_VERSION) != FORMAT_VERSION:
        raise ValueError(f"unknown score format {data.get('format')!r}")
    return SubjectScore(
        total=Decimal(data["total"]),
        grade=Grade(data["grade"]),
        dimensions=tuple(
            DimensionScore(
                dimension=Dimension(d["dimension"]),
                score=_dec(d["score"]),
                weight=Decimal(d["weight"]),
                contribution=Decimal(d["contribution"]),
                indicators=tuple(
                    IndicatorScore(
                        code=i["code"],
                        score=_dec(i["score"]),
                        weight=Decimal(i["weight"]),
                        contribution=Decimal(i["contribution"]),
                        sources=tuple(
                            SourceScore(
                                source=Source(s["source"]),
                                mean=Decimal(s["mean"]),
                                raters=int(s["raters"]),
                                trimmed=bool(s["trimmed"]),
                                weight=Decimal(s["weight"]),
                                contribution=Decimal(s["contribution"]),
                            )
                            for s in i["sources"]
                        ),
                    )
                    for i in d["indicators"]
                ),
            )
            for d in data["dimensions"]
        ),
        notes=tuple(
            Note(n["kind"], {str(k): str(v) for k, v in n["params"].items()}) for n in data["notes"]
        ),
    )
