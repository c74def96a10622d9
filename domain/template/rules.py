"""What makes a template acceptable: the regulation's weights (三(三)) and what the chat can show.

``validate`` is pure and reports every violation, not the first, so the working
group fixes the sheet in one round. A loader passes ``locate`` to point each
problem at the row that defined the thing; without it a problem names the part
of the template and the 1-based position in it. The citizen survey's rules are in
``survey_rules``, the shared limits in ``limits``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from domain.enums import Dimension, Source
from domain.template import problems as msg
from domain.template.limits import (
    CODE,
    MAX_CODE,
    MAX_DESCRIPTION,
    MAX_DESCRIPTION_EN,
    MAX_GOAL,
    MAX_GOALS,
    MAX_LABEL,
    MAX_LABEL_EN,
    MAX_LEVELS,
    MAX_NAME,
    MAX_NAME_EN,
    MAX_SCALE_CODE,
    MAX_TEMPLATE_NAME,
    MAX_UNIT,
    MIN_LEVELS,
)
from domain.template.model import Indicator, ScaleKind, Target, Template
from domain.template.problems import (
    Area,
    Locator,
    Ref,
    Report,
    TemplateProblem,
    Where,
    default_locator,
)
from domain.template.survey_rules import check_survey
from domain.template.values import HUNDRED, canonical

MIN_PERFORMANCE = Decimal(60)  # 三(三): 工作业绩指标权重原则上不低于60%

#: The words of a person's final grade (五(三)2), in both scripts and in English, plus
#: 基本合格, which raters read as one though the regulation has no such grade.
GRADE_WORDS = frozenset(
    {"优秀", "優秀", "良好", "合格", "基本合格", "不合格", "excellent", "good", "pass", "fail"}
)

__all__ = [
    "GRADE_WORDS",
    "MIN_PERFORMANCE",
    "Locator",
    "Where",
    "advise",
    "default_locator",
    "validate",
]


def validate(template: Template, *, locate: Locator | None = None) -> list[TemplateProblem]:
    """Every problem of ``template``; an empty list means it may be approved."""
    report = Report(locate or default_locator)
    top = Ref(Area.TEMPLATE)
    if not template.name.strip():
        report.add(top, "name", msg.NAME_REQUIRED)
    report.length(top, "name", template.name, MAX_TEMPLATE_NAME)
    _weights(report, template)
    _scales(report, template)
    _indicator_set(report, template, None, template.indicators)
    bureau_targets = {t for i in template.indicators for t in i.targets}
    for unit, items in template.unit_overrides.items():
        ref = Ref(Area.INDICATORS, unit=unit)
        if not unit.strip():
            report.add(ref, "unit", msg.UNIT_NAME_REQUIRED)
        report.length(ref, "unit", unit, MAX_UNIT)
        if not items:
            report.add(ref, "unit", msg.OVERRIDE_EMPTY, unit=unit)
            continue
        _indicator_set(report, template, unit, items)
        own = {t for i in items for t in i.targets}
        for target in Target:
            if target in bureau_targets and target not in own:
                report.add(ref, "targets", msg.OVERRIDE_TARGET_MISSING, unit=unit, target=target)
    _goals(report, template)
    check_survey(report, template)
    return report.problems


def _weights(report: Report, template: Template) -> None:
    """Both weight tables are percents of the whole and must each add up to exactly 100."""
    _weight_table(
        report,
        Area.DIMENSION_WEIGHTS,
        {d: template.dimension_weights.get(d) for d in Dimension},
        (msg.DIMENSION_MISSING, msg.DIMENSION_WEIGHT_RANGE, msg.DIMENSION_TOTAL),
        "dimension",
    )
    _weight_table(
        report,
        Area.SOURCE_WEIGHTS,
        {s: template.source_weights.get(s) for s in Source},
        (msg.SOURCE_MISSING, msg.SOURCE_WEIGHT_RANGE, msg.SOURCE_TOTAL),
        "source",
    )
    performance = template.dimension_weights.get(Dimension.PERFORMANCE)
    if performance is not None and performance < MIN_PERFORMANCE:
        report.add(
            Ref(Area.DIMENSION_WEIGHTS, key=Dimension.PERFORMANCE.value),
            "weight",
            msg.PERFORMANCE_MIN,
            dimension=Dimension.PERFORMANCE,
            weight=canonical(performance),
            min=canonical(MIN_PERFORMANCE),
        )


def _weight_table(
    report: Report,
    area: Area,
    weights: Mapping[Dimension | Source, Decimal | None],
    messages: tuple[str, str, str],
    param: str,
) -> None:
    missing_text, range_text, total_text = messages
    for member, weight in weights.items():
        ref = Ref(area, key=member.value)
        if weight is None:
            report.add(ref, "weight", missing_text, **{param: member})
        elif not 0 <= weight <= HUNDRED:
            report.add(ref, "weight", range_text, **{param: member}, weight=canonical(weight))
    if any(w is None for w in weights.values()):
        return  # a missing row already explains why the total is off
    total = sum((w for w in weights.values() if w is not None), Decimal(0))
    if total != HUNDRED:
        report.add(Ref(area), "weight", total_text, total=canonical(total))


def advise(template: Template, *, locate: Locator | None = None) -> list[TemplateProblem]:
    """What is allowed but likely to mislead: level labels that reuse the grade names.

    An indicator rated 优秀…不合格 reads as grading the person, and raters then rate the
    person's standing instead of the indicator; the working group is told, not refused.
    """
    report = Report(locate or default_locator)
    for code, scale in template.scales.items():
        for index, level in enumerate(scale.levels):
            for label in (level.label, level.label_en or ""):
                if label.strip().lower() in GRADE_WORDS:
                    at = Ref(Area.SCALES, key=code, index=index)
                    report.add(at, "label", msg.LEVEL_IS_A_GRADE, scale=code, label=label.strip())
                    break
    return report.problems


def _scales(report: Report, template: Template) -> None:
    for code, scale in template.scales.items():
        ref = Ref(Area.SCALES, key=code)
        if not 1 <= len(code.strip()) <= MAX_SCALE_CODE:
            report.add(ref, "scale", msg.SCALE_CODE_BAD, scale=code, max=MAX_SCALE_CODE)
        if scale.kind is ScaleKind.SCORE:
            if scale.levels:
                report.add(ref, "scale", msg.SCORE_WITH_LEVELS, scale=code)
            continue
        if not MIN_LEVELS <= len(scale.levels) <= MAX_LEVELS:
            report.add(
                ref, "scale", msg.LEVEL_COUNT, scale=code, count=len(scale.levels), max=MAX_LEVELS
            )
        seen: set[str] = set()
        for index, level in enumerate(scale.levels):
            at = Ref(Area.SCALES, key=code, index=index)
            label = level.label.strip()
            if not label:
                report.add(at, "label", msg.LEVEL_LABEL_EMPTY, scale=code, level=index + 1)
            elif label in seen:
                report.add(at, "label", msg.LEVEL_LABEL_DUPLICATE, scale=code, label=label)
            seen.add(label)
            report.length(at, "label", level.label, MAX_LABEL)
            report.length(at, "label_en", level.label_en, MAX_LABEL_EN)
            if not 0 <= level.points <= HUNDRED:
                report.add(
                    at,
                    "points",
                    msg.LEVEL_POINTS_RANGE,
                    scale=code,
                    label=label,
                    points=canonical(level.points),
                )


def _indicator_set(
    report: Report, template: Template, unit: str | None, items: tuple[Indicator, ...]
) -> None:
    """One set on its own: each indicator, then the weights per dimension and target."""
    codes: set[str] = set()
    for index, ind in enumerate(items):
        ref = Ref(Area.INDICATORS, unit=unit, index=index)
        code = ind.code.strip()
        if not code:
            report.add(ref, "code", msg.CODE_REQUIRED, name=ind.name, unit=unit)
        elif not CODE.fullmatch(code) or len(code) > MAX_CODE:
            report.add(ref, "code", msg.CODE_BAD, code=code, max=MAX_CODE, unit=unit)
        elif code in codes:
            if unit is None:
                report.add(ref, "code", msg.CODE_DUPLICATE, code=code, unit=unit)
            else:
                report.add(ref, "code", msg.CODE_DUPLICATE_UNIT, code=code, unit=unit)
        codes.add(code)
        label = {"code": code or ind.name, "unit": unit}
        if not ind.name.strip():
            report.add(ref, "name", msg.INDICATOR_NAME_REQUIRED, **label)
        elif len(ind.name) > MAX_NAME:
            report.add(
                ref,
                "name",
                msg.INDICATOR_NAME_TOO_LONG,
                **label,
                length=len(ind.name),
                max=MAX_NAME,
            )
        if len(ind.description) > MAX_DESCRIPTION:
            report.add(
                ref,
                "description",
                msg.INDICATOR_DESCRIPTION_TOO_LONG,
                **label,
                length=len(ind.description),
                max=MAX_DESCRIPTION,
            )
        report.length(ref, "name_en", ind.name_en, MAX_NAME_EN)
        report.length(ref, "description_en", ind.description_en, MAX_DESCRIPTION_EN)
        if not 0 < ind.weight <= HUNDRED:
            report.add(
                ref, "weight", msg.INDICATOR_WEIGHT_RANGE, **label, weight=canonical(ind.weight)
            )
        if ind.scale not in template.scales:
            report.add(ref, "scale", msg.SCALE_UNKNOWN, **label, scale=ind.scale)
        if not ind.sources:
            report.add(ref, "sources", msg.NO_SOURCES, **label)
        if not ind.targets:
            report.add(ref, "targets", msg.NO_TARGETS, **label)
        if Target.UNIT in ind.targets and Source.PEER in ind.sources:
            report.add(ref, "sources", msg.PEER_ON_UNIT, **label)  # 四(二)3: 同事之间互评
    targets = {t for i in items for t in i.targets}
    for target in (t for t in Target if t in targets):
        for dimension in Dimension:
            group = [
                (n, i)
                for n, i in enumerate(items)
                if i.dimension is dimension and target in i.targets
            ]
            params = {"dimension": dimension, "target": target, "unit": unit}
            if not group:
                empty = msg.DIMENSION_EMPTY if unit is None else msg.DIMENSION_EMPTY_UNIT
                report.add(
                    Ref(Area.INDICATORS, key=dimension.value, unit=unit), None, empty, **params
                )
                continue
            total = sum((i.weight for _, i in group), Decimal(0))
            if total != HUNDRED:
                text = msg.INDICATORS_TOTAL if unit is None else msg.INDICATORS_TOTAL_UNIT
                first = Ref(Area.INDICATORS, key=dimension.value, unit=unit, index=group[0][0])
                listed = ", ".join(i.code for _, i in group)
                report.add(first, "weight", text, **params, codes=listed, total=canonical(total))


def _goals(report: Report, template: Template) -> None:
    for unit, goals in template.goals.items():
        ref = Ref(Area.GOALS, key=unit)
        if not unit.strip():
            report.add(ref, "unit", msg.UNIT_NAME_REQUIRED)
        report.length(ref, "unit", unit, MAX_UNIT)
        if len(goals) > MAX_GOALS:
            report.add(ref, "goal", msg.TOO_MANY_GOALS, unit=unit, count=len(goals), max=MAX_GOALS)
        for index, goal in enumerate(goals):
            at = Ref(Area.GOALS, key=unit, index=index)
            if not goal.strip():
                report.add(at, "goal", msg.GOAL_EMPTY, unit=unit)
            report.length(at, "goal", goal, MAX_GOAL)
