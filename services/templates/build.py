"""Rows to a Template: the one path both readers take, so .xlsx and .toml mean the same.

A reader only finds rows (``Draft``, in ``rows``); here cells become values (the
survey's in ``survey_rows``), then
``domain.template.validate`` judges the result with a locator that points each of
its problems back at the row that defined the thing. A row whose dimension or
weight cannot be read is left out, and the sums it would have spoiled are not
reported: one typo is one problem, not five.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import Enum

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
    validate,
)
from domain.template import problems as rule
from services.templates import messages as msg
from services.templates.rows import Cells, Draft, Record
from services.templates.survey_rows import AREAS as SURVEY_AREAS
from services.templates.survey_rows import SurveyRows
from services.templates.vocab import (
    DIMENSIONS,
    NAME_ALIASES,
    SCORE_ALIASES,
    SCORE_CODE,
    SOURCES,
    TARGETS,
    norm,
)


def build(draft: Draft) -> Template:
    """The template the draft describes, or TemplateInvalid with every problem in sheet order."""
    return _Builder(draft).run()


class _Builder(Cells):
    def __init__(self, draft: Draft) -> None:
        super().__init__(list(draft.problems))
        self.draft = draft
        self.survey_rows = SurveyRows(draft, self.problems)
        self.name, self.name_where = draft.name, draft.name_where
        self.at_weight: dict[str, Record] = {}
        self.at_level: dict[str, list[Record]] = {}
        self.at_indicator: dict[str | None, list[Record]] = {}
        self.at_goal: dict[str, list[Record]] = {}
        self.unread_weights: set[Enum] = set()
        self.unread_sums: set[tuple[str | None, Dimension]] = set()
        self.unread_codes: set[str] = set()  # bureau-wide indicator rows left out
        self.unread_sources: set[str] = set()  # bureau-wide ones whose sources were not all read

    def run(self) -> Template:
        dimension_weights, source_weights = self.weights()
        scales = self.scales()
        sets = self.indicators(scales)
        bureau = tuple(sets.pop(None, []))
        template = Template(
            name=self.name,
            dimension_weights=dimension_weights,
            source_weights=source_weights,
            scales=scales,
            indicators=bureau,
            unit_overrides={unit: tuple(items) for unit, items in sets.items() if unit},
            goals=self.goals(),
            survey=self.survey_rows.spec(bureau),
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
                if unit is None:
                    self.unread_codes.add(self.text(rec, "code"))
                continue
            if weight is None:
                self.unread_sums.add((unit, dimension))
                if unit is None:
                    self.unread_codes.add(self.text(rec, "code"))
                continue
            scale = self.text(rec, "scale")
            if not scale and "scale" in rec.values:
                self.problem(rec, "scale", msg.REQUIRED, column=rec.fields.get("scale", "scale"))
            scale = SCORE_CODE if not scale or norm(scale) in SCORE_ALIASES else scale
            sources, unknown = self.members(rec, "sources", SOURCES, msg.BAD_SOURCE)
            if unit is None and (unknown or "sources" not in rec.values):
                self.unread_sources.add(self.text(rec, "code"))
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
        if ref.area in SURVEY_AREAS:
            return self.survey_rows.locate(ref, key, whole)
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
        return self.survey_rows.spoiled(p, self.unread_codes, self.unread_sources)
