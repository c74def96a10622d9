"""Rows to a Template: the one path both readers take, so .xlsx and .toml mean the same.

A reader only finds rows (``Draft``); here cells become values, then
``domain.template.validate`` judges the result with a locator that points each of
its problems back at the row that defined the thing. A row whose dimension or
weight cannot be read is left out, and the sums it would have spoiled are not
reported: one typo is one problem, not five.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import TypeVar

from domain.enums import Dimension, Source
from domain.template import (
    Area,
    Indicator,
    Level,
    Ref,
    Scale,
    ScaleKind,
    Target,
    Template,
    TemplateInvalid,
    TemplateProblem,
    Where,
    decimal_text,
    validate,
)
from domain.template import problems as rule
from services.templates import messages as msg
from services.templates.vocab import (
    DIMENSIONS,
    NAME_ALIASES,
    SCORE_ALIASES,
    SCORE_CODE,
    SOURCES,
    TARGETS,
    norm,
    split_list,
)

E = TypeVar("E", bound=Enum)


@dataclass
class Record:
    """One row (XLSX) or one table (TOML). A key absent from ``values`` means the column is
    missing altogether (already reported once); present but empty means an empty cell.
    """

    sheet: str
    row: int | None
    values: dict[str, object]
    fields: dict[str, str] = dataclasses.field(default_factory=dict)  # key -> header as written
    expect: str | None = None  # TOML weight tables: "dimension" or "source"

    def where(self, key: str | None) -> Where:
        return self.sheet, self.row, self.fields.get(key, key) if key else None


@dataclass
class Draft:
    """What a reader found, before meaning is checked."""

    area_sheets: dict[Area, str]  # where a problem about a whole part points
    order: list[str]  # sheet names in file order, for sorting problems
    name: str = ""
    name_where: Where = (None, None, "name")
    weights: list[Record] = dataclasses.field(default_factory=list)
    levels: list[Record] = dataclasses.field(default_factory=list)
    indicators: list[Record] = dataclasses.field(default_factory=list)
    goals: list[Record] = dataclasses.field(default_factory=list)
    problems: list[TemplateProblem] = dataclasses.field(default_factory=list)
    missing_sheets: set[str] = dataclasses.field(default_factory=set)  # reported already


def build(draft: Draft) -> Template:
    """The template the draft describes, or TemplateInvalid with every problem in sheet order."""
    return _Builder(draft).run()


class _Builder:
    def __init__(self, draft: Draft) -> None:
        self.draft = draft
        self.problems = list(draft.problems)
        self.name, self.name_where = draft.name, draft.name_where
        self.at_weight: dict[str, Record] = {}
        self.at_level: dict[str, list[Record]] = {}
        self.at_indicator: dict[str | None, list[Record]] = {}
        self.at_goal: dict[str, list[Record]] = {}
        self.unread_weights: set[Enum] = set()
        self.unread_sums: set[tuple[str | None, Dimension]] = set()

    def run(self) -> Template:
        dimension_weights, source_weights = self.weights()
        scales = self.scales()
        sets = self.indicators(scales)
        template = Template(
            name=self.name,
            dimension_weights=dimension_weights,
            source_weights=source_weights,
            scales=scales,
            indicators=tuple(sets.pop(None, [])),
            unit_overrides={unit: tuple(items) for unit, items in sets.items() if unit},
            goals=self.goals(),
        )
        found = self.problems + [
            p for p in validate(template, locate=self.locate) if not self.spoiled(p)
        ]
        if found:
            order = {name: n for n, name in enumerate(self.draft.order)}

            def key(p: TemplateProblem) -> tuple[int, int]:
                sheet = -1 if p.sheet is None else order.get(p.sheet, len(order))
                return sheet, p.row or 0

            raise TemplateInvalid(sorted(found, key=key))
        return template

    # --- cells -------------------------------------------------------------------------

    def problem(self, rec: Record, key: str | None, message: str, /, **params: object) -> None:
        self.problems.append(TemplateProblem(*rec.where(key), message, params))

    def text(self, rec: Record, key: str) -> str:
        value = rec.values.get(key)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | Decimal):
            return decimal_text(Decimal(str(value)))
        if isinstance(value, list | dict):
            self.problem(rec, key, msg.BAD_TYPE, key=rec.fields.get(key, key))
            return ""
        return unicodedata.normalize("NFC", str(value)).strip()

    def number(self, rec: Record, key: str, *, percent: bool) -> Decimal | None:
        """A number, or None after reporting why not; "40%" is 40 where ``percent``."""
        value = rec.values.get(key)
        column = rec.fields.get(key, key)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.problem(rec, key, msg.REQUIRED, column=column)
            return None
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(str(value))
        elif isinstance(value, str):
            text = unicodedata.normalize("NFKC", value).strip()
            if percent:
                text = text.removesuffix("%").strip()
            try:
                number = Decimal(text)
            except InvalidOperation:
                number = Decimal("NaN")
        else:
            number = Decimal("NaN")
        if number.is_finite():
            return number
        self.problem(rec, key, msg.BAD_NUMBER, value=value, column=column)
        return None

    def members(
        self, rec: Record, key: str, vocab: Mapping[str, E], bad: str
    ) -> tuple[set[E], bool]:
        """The words of a list cell; the flag says some word was unknown (and reported)."""
        value = rec.values.get(key)
        words: list[str] = []
        if isinstance(value, list):
            for item in value:
                if not isinstance(item, str):
                    self.problem(rec, key, msg.BAD_TYPE, key=rec.fields.get(key, key))
                    return set(), True
                words.extend(split_list(item))
        else:
            words = split_list(self.text(rec, key))
        found: set[E] = set()
        unknown = False
        for word in words:
            member = vocab.get(norm(word))
            if member is None:
                self.problem(rec, key, bad, value=word)
                unknown = True
            else:
                found.add(member)
        return found, unknown

    # --- parts ---------------------------------------------------------------------------

    def weights(self) -> tuple[dict[Dimension, Decimal], dict[Source, Decimal]]:
        dimensions: dict[Dimension, Decimal] = {}
        sources: dict[Source, Decimal] = {}
        for rec in self.draft.weights:
            item = self.text(rec, "item")
            if not item:
                if self.text(rec, "weight"):
                    self.problem(rec, "item", msg.REQUIRED, column=rec.fields.get("item", "item"))
                continue
            word = norm(item)
            if rec.expect is None and word in NAME_ALIASES:
                self.name, self.name_where = self.text(rec, "weight"), rec.where("weight")
                continue
            member: Dimension | Source | None
            if rec.expect == "dimension":
                member, bad = DIMENSIONS.get(word), msg.BAD_DIMENSION
            elif rec.expect == "source":
                member, bad = SOURCES.get(word), msg.BAD_SOURCE
            else:
                member, bad = DIMENSIONS.get(word) or SOURCES.get(word), msg.BAD_ITEM
            if member is None:
                self.problem(rec, "item", bad, value=item)
                continue
            if member.value in self.at_weight:
                self.problem(rec, "item", msg.DUPLICATE_ITEM, value=item)
                continue
            self.at_weight[member.value] = rec
            weight = self.number(rec, "weight", percent=True)
            if weight is None:
                self.unread_weights.add(member)
            elif isinstance(member, Dimension):
                dimensions[member] = weight
            else:
                sources[member] = weight
        return dimensions, sources

    def scales(self) -> dict[str, Scale]:
        levels: dict[str, list[Level]] = {}
        spelling: dict[str, str] = {}  # norm(code) -> the code as first written
        for rec in self.draft.levels:
            code = self.text(rec, "scale")
            if not code:
                if self.text(rec, "label") or self.text(rec, "points"):
                    self.problem(
                        rec, "scale", msg.REQUIRED, column=rec.fields.get("scale", "scale")
                    )
                continue
            if norm(code) in SCORE_ALIASES:
                self.problem(rec, "scale", msg.SCALE_RESERVED, value=code)
                continue
            code = spelling.setdefault(norm(code), code)
            points = self.number(rec, "points", percent=False)
            label_en = self.text(rec, "label_en") or None
            level = Level(
                self.text(rec, "label"), Decimal(0) if points is None else points, label_en
            )
            levels.setdefault(code, []).append(level)
            self.at_level.setdefault(code, []).append(rec)
        scales = {SCORE_CODE: Scale(SCORE_CODE, ScaleKind.SCORE)}
        scales.update(
            {code: Scale(code, ScaleKind.LEVELS, tuple(items)) for code, items in levels.items()}
        )
        return scales

    def indicators(self, scales: Mapping[str, Scale]) -> dict[str | None, list[Indicator]]:
        by_norm = {norm(code): code for code in scales}
        sets: dict[str | None, list[Indicator]] = {}
        for rec in self.draft.indicators:
            unit = self.text(rec, "unit") or None
            dimension = None
            if "dimension" in rec.values:
                word = self.text(rec, "dimension")
                dimension = DIMENSIONS.get(norm(word)) if word else None
                if not word:
                    column = rec.fields.get("dimension", "dimension")
                    self.problem(rec, "dimension", msg.REQUIRED, column=column)
                elif dimension is None:
                    self.problem(rec, "dimension", msg.BAD_DIMENSION, value=word)
            weight = self.number(rec, "weight", percent=True) if "weight" in rec.values else None
            if dimension is None:  # which sums it spoils is unknown: all of its set's
                self.unread_sums.update((unit, d) for d in Dimension)
                continue
            if weight is None:
                self.unread_sums.add((unit, dimension))
                continue
            scale = self.text(rec, "scale")
            if not scale and "scale" in rec.values:
                self.problem(rec, "scale", msg.REQUIRED, column=rec.fields.get("scale", "scale"))
            scale = SCORE_CODE if not scale or norm(scale) in SCORE_ALIASES else scale
            sources, unknown = self.members(rec, "sources", SOURCES, msg.BAD_SOURCE)
            if not sources and (unknown or "sources" not in rec.values):
                sources = {Source.SELF}  # already reported: no second "no source" problem
            targets, _ = self.members(rec, "targets", TARGETS, msg.BAD_TARGET)
            indicator = Indicator(
                code=self.text(rec, "code"),
                dimension=dimension,
                name=self.text(rec, "name"),
                description=self.text(rec, "description"),
                weight=weight,
                scale=by_norm.get(norm(scale), scale),
                sources=frozenset(sources),
                targets=frozenset(targets or {Target.PERSON}),  # empty = 个人
                name_en=self.text(rec, "name_en") or None,
                description_en=self.text(rec, "description_en") or None,
            )
            sets.setdefault(unit, []).append(indicator)
            self.at_indicator.setdefault(unit, []).append(rec)
        return sets

    def goals(self) -> dict[str, tuple[str, ...]]:
        goals: dict[str, list[str]] = {}
        for rec in self.draft.goals:
            unit, goal = self.text(rec, "unit"), self.text(rec, "goal")
            if not (unit or goal):
                continue
            missing = "unit" if not unit else "goal" if not goal else None
            if missing:
                self.problem(rec, missing, msg.REQUIRED, column=rec.fields.get(missing, missing))
                continue
            goals.setdefault(unit, []).append(goal)
            self.at_goal.setdefault(unit, []).append(rec)
        return {unit: tuple(items) for unit, items in goals.items()}

    # --- validation problems back to rows -------------------------------------------------

    def locate(self, ref: Ref, key: str | None) -> Where:
        whole: Where = (self.draft.area_sheets.get(ref.area), None, None)
        records: list[Record] | None = None
        if ref.area is Area.TEMPLATE:
            return self.name_where
        if ref.area in (Area.DIMENSION_WEIGHTS, Area.SOURCE_WEIGHTS):
            if ref.key is None:  # a total: point at the first row of its block
                members = Dimension if ref.area is Area.DIMENSION_WEIGHTS else Source
                found = [self.at_weight[m.value] for m in members if m.value in self.at_weight]
                return found[0].where(key) if found else whole
            rec = self.at_weight.get(ref.key)
            return rec.where(key) if rec else whole
        if ref.area is Area.SCALES:
            records = self.at_level.get(ref.key or "")
        elif ref.area is Area.INDICATORS:
            if ref.index is None and ref.key is not None:  # a dimension with no indicator
                return whole
            records = self.at_indicator.get(ref.unit)
        elif ref.area is Area.GOALS:
            records = self.at_goal.get(ref.key or "")
        if not records:
            return whole
        index = ref.index if ref.index is not None and ref.index < len(records) else 0
        return records[index].where(key)

    def spoiled(self, p: TemplateProblem) -> bool:
        """A sum or a "missing" that an unreadable row or a missing sheet already explains."""
        params = p.params
        if p.sheet in self.draft.missing_sheets:
            return True
        if p.message in (rule.DIMENSION_MISSING, rule.SOURCE_MISSING):
            return params.get("dimension", params.get("source")) in self.unread_weights
        if p.message in (
            rule.INDICATORS_TOTAL,
            rule.INDICATORS_TOTAL_UNIT,
            rule.DIMENSION_EMPTY,
            rule.DIMENSION_EMPTY_UNIT,
        ):
            return (params.get("unit"), params.get("dimension")) in self.unread_sums
        return False
