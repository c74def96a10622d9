"""A template problem as one line in the reader's language: where, then what."""

from __future__ import annotations

from enum import Enum

from domain.enums import Dimension, Satisfaction, Source
from domain.labels import DIMENSION_LABELS, SOURCE_LABELS
from domain.template import Target, TemplateProblem
from domain.text import N_
from infra.i18n import Translator

TARGET_LABELS = {Target.PERSON: N_("persons"), Target.UNIT: N_("units")}
SATISFACTION_LABELS = {  # the five levels of 好差评, as a survey shows them
    Satisfaction.VERY_SATISFIED: N_("Very satisfied"),  # 非常满意
    Satisfaction.SATISFIED: N_("Satisfied"),  # 满意
    Satisfaction.BASIC: N_("Fairly satisfied"),  # 基本满意
    Satisfaction.DISSATISFIED: N_("Dissatisfied"),  # 不满意
    Satisfaction.VERY_DISSATISFIED: N_("Very dissatisfied"),  # 非常不满意
}


def _param(value: object, tr: Translator) -> object:
    if isinstance(value, Dimension):
        return tr._(DIMENSION_LABELS[value])
    if isinstance(value, Source):
        return tr._(SOURCE_LABELS[value])
    if isinstance(value, Target):
        return tr._(TARGET_LABELS[value])
    if isinstance(value, Satisfaction):
        return tr._(SATISFACTION_LABELS[value])
    if isinstance(value, Enum):
        return value.value
    return "" if value is None else value


def render_problem(problem: TemplateProblem, tr: Translator) -> str:
    params = {k: _param(v, tr) for k, v in problem.params.items()}
    what = tr._(problem.message).format(**params)
    if problem.sheet and problem.row is not None and problem.field:
        where = tr._("{sheet}, row {row} ({column})").format(
            sheet=problem.sheet, row=problem.row, column=problem.field
        )
    elif problem.sheet and problem.row is not None:
        where = tr._("{sheet}, row {row}").format(sheet=problem.sheet, row=problem.row)
    elif problem.sheet:
        where = problem.sheet
    else:
        return what
    return tr.label(where, what)
