"""The indicator system (指标体系) as values: scales, indicators, weights, goals (三).

A template is what the leadership group approves and a cycle is rated against, so
it is frozen, exact (``Decimal`` everywhere, never float) and serialisable to a
canonical JSON whose hash identifies the version a rating was given under.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from domain.enums import Dimension, Source
from domain.template.survey import SurveySpec, survey_dict, survey_from
from domain.template.values import HUNDRED, canonical, decimal_text, freeze

FORMAT_VERSION = 1  # of ``to_dict``; bump with a reader for the old shape (additions are not)
_SCORE_TEXT = re.compile(r"^\d{1,3}(?:\.\d{1,2})?$")


class ScaleKind(StrEnum):
    """How an indicator is answered: a number 0–100 (百分制) or one of a few labelled levels."""

    SCORE = "score"
    LEVELS = "levels"


class Target(StrEnum):
    """Who an indicator rates: a person, or a unit as a collective (一(二), 六(四))."""

    PERSON = "person"
    UNIT = "unit"


class WrittenPart(StrEnum):
    """The written parts of a self-assessment (四(二)1): 工作成绩 / 存在问题 / 改进措施."""

    ACHIEVEMENTS = "achievements"
    PROBLEMS = "problems"
    MEASURES = "measures"


@dataclass(frozen=True)
class Level:
    """One answer of a level scale: what the rater taps, and what it is worth (0–100)."""

    label: str
    points: Decimal
    label_en: str | None = None


@dataclass(frozen=True)
class Scale:
    """An answer scale. An answer's stored *value* is the score itself (SCORE) or the level's
    0-based index (LEVELS); ``points(value)`` turns either into 0–100 points.
    """

    code: str
    kind: ScaleKind
    levels: tuple[Level, ...] = ()

    def points(self, value: Decimal | int | str) -> Decimal:
        """The 0–100 points of a stored answer value; ValueError when out of range."""
        try:
            number = Decimal(value) if not isinstance(value, Decimal) else value
        except (InvalidOperation, ValueError) as exc:
            raise ValueError(f"not a number: {value!r}") from exc
        if not number.is_finite():
            raise ValueError(f"not a number: {value!r}")
        if self.kind is ScaleKind.SCORE:
            if not 0 <= number <= HUNDRED:
                raise ValueError(f"score {value} is not between 0 and 100")
            return number
        if number != number.to_integral_value() or not 0 <= number < len(self.levels):
            raise ValueError(f"level index {value} is not between 0 and {len(self.levels) - 1}")
        return self.levels[int(number)].points

    def parse(self, text: str) -> Decimal | None:
        """A typed answer as the value to store (see ``points``), or None if it is not one.

        SCORE: "85", "85.5", full-width "８５", "85分". LEVELS: the level's number as
        shown (1..n) or its label (Chinese or English, any case); returns the 0-based index.
        """
        folded = unicodedata.normalize("NFKC", text).strip()
        if self.kind is ScaleKind.SCORE:
            folded = folded.removesuffix("分").strip()
            if not _SCORE_TEXT.match(folded):
                return None
            number = Decimal(folded)
            return canonical(number) if number <= HUNDRED else None
        if folded.isdigit() and 1 <= int(folded) <= len(self.levels):
            return Decimal(int(folded) - 1)
        wanted = folded.casefold()
        for index, level in enumerate(self.levels):
            labels = (level.label, level.label_en or "")
            if any(unicodedata.normalize("NFKC", x).strip().casefold() == wanted for x in labels):
                return Decimal(index)
        return None


@dataclass(frozen=True)
class Indicator:
    """One indicator (指标) of a dimension; ``weight`` is its percent within the dimension."""

    code: str
    dimension: Dimension
    name: str
    description: str
    weight: Decimal
    scale: str  # key into Template.scales
    sources: frozenset[Source]
    targets: frozenset[Target]
    name_en: str | None = None
    description_en: str | None = None


@dataclass(frozen=True)
class Template:
    """A complete indicator system: the bureau-wide set, per-unit replacement sets, goals.

    Dimension weights (三(三)) and source weights (四(二)) are percents of the total.
    A unit listed in ``unit_overrides`` (派出机构 may set their own rules, 二(三)3) is
    rated, with its people, by that set *instead of* the bureau-wide one.
    """

    name: str
    dimension_weights: Mapping[Dimension, Decimal]
    source_weights: Mapping[Source, Decimal]
    scales: Mapping[str, Scale]
    indicators: tuple[Indicator, ...]
    unit_overrides: Mapping[str, tuple[Indicator, ...]] = field(default_factory=dict)
    goals: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    survey: SurveySpec | None = None  # None: citizens answer DEFAULT_SURVEY (see survey_of)

    def __post_init__(self) -> None:
        # Read-only views: a frozen template must not change under a running cycle.
        for name in ("dimension_weights", "source_weights", "scales", "unit_overrides", "goals"):
            object.__setattr__(self, name, freeze(getattr(self, name)))

    def indicator_set(self, unit: str | None) -> tuple[Indicator, ...]:
        """The unit's replacement set if it has one, else the bureau-wide indicators."""
        if unit is not None and unit in self.unit_overrides:
            return self.unit_overrides[unit]
        return self.indicators

    def indicators_for(
        self, *, unit: str | None, target: Target, source: Source
    ) -> tuple[Indicator, ...]:
        """What ``source`` rates about a ``target`` of ``unit`` (None = bureau-wide), in order."""
        return tuple(
            i for i in self.indicator_set(unit) if target in i.targets and source in i.sources
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe and canonical (Decimals as plain strings, sets in enum order).

        ``survey`` is written only when there is one, so a template without it keeps
        the digest it was stored under before surveys existed.
        """
        data: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "name": self.name,
            "dimension_weights": {
                d.value: decimal_text(self.dimension_weights[d])
                for d in Dimension
                if d in self.dimension_weights
            },
            "source_weights": {
                s.value: decimal_text(self.source_weights[s])
                for s in Source
                if s in self.source_weights
            },
            "scales": {code: _scale_dict(scale) for code, scale in self.scales.items()},
            "indicators": [_indicator_dict(i) for i in self.indicators],
            "unit_overrides": {
                unit: [_indicator_dict(i) for i in items]
                for unit, items in self.unit_overrides.items()
            },
            "goals": {unit: list(goals) for unit, goals in self.goals.items()},
        }
        if self.survey is not None:
            data["survey"] = survey_dict(self.survey)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Template:
        """The inverse of ``to_dict``; raises KeyError/ValueError on a malformed dict."""
        if data.get("format", FORMAT_VERSION) != FORMAT_VERSION:
            raise ValueError(f"unknown template format {data.get('format')!r}")
        return cls(
            name=data["name"],
            dimension_weights={
                Dimension(k): Decimal(v) for k, v in data["dimension_weights"].items()
            },
            source_weights={Source(k): Decimal(v) for k, v in data["source_weights"].items()},
            scales={code: _scale_from(code, s) for code, s in data["scales"].items()},
            indicators=tuple(_indicator_from(i) for i in data["indicators"]),
            unit_overrides={
                unit: tuple(_indicator_from(i) for i in items)
                for unit, items in data.get("unit_overrides", {}).items()
            },
            goals={unit: tuple(goals) for unit, goals in data.get("goals", {}).items()},
            survey=survey_from(data["survey"]) if data.get("survey") is not None else None,
        )

    def digest(self) -> str:
        """sha256 of the canonical JSON: the identity of this template version."""
        text = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _scale_dict(scale: Scale) -> dict[str, Any]:
    return {
        "kind": scale.kind.value,
        "levels": [
            {"label": lv.label, "points": decimal_text(lv.points), "label_en": lv.label_en}
            for lv in scale.levels
        ],
    }


def _scale_from(code: str, data: Mapping[str, Any]) -> Scale:
    levels = tuple(
        Level(lv["label"], Decimal(lv["points"]), lv.get("label_en"))
        for lv in data.get("levels", ())
    )
    return Scale(code, ScaleKind(data["kind"]), levels)


def _indicator_dict(i: Indicator) -> dict[str, Any]:
    return {
        "code": i.code,
        "dimension": i.dimension.value,
        "name": i.name,
        "description": i.description,
        "weight": decimal_text(i.weight),
        "scale": i.scale,
        "sources": [s.value for s in Source if s in i.sources],
        "targets": [t.value for t in Target if t in i.targets],
        "name_en": i.name_en,
        "description_en": i.description_en,
    }


def _indicator_from(data: Mapping[str, Any]) -> Indicator:
    return Indicator(
        code=data["code"],
        dimension=Dimension(data["dimension"]),
        name=data["name"],
        description=data.get("description", ""),
        weight=Decimal(data["weight"]),
        scale=data["scale"],
        sources=frozenset(Source(s) for s in data["sources"]),
        targets=frozenset(Target(t) for t in data["targets"]),
        name_en=data.get("name_en"),
        description_en=data.get("description_en"),
    )
