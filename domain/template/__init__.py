"""The indicator system (指标体系, 三): a pure model of templates and the rules they obey.

Imports only the standard library and ``domain``: the loaders (``services.templates``)
parse files into it, scoring computes from it, and the database stores ``to_dict``.
A template may carry its citizen satisfaction survey (``SurveySpec``, 四(二)4);
``survey_of`` gives the one citizens answer, the template's or ``DEFAULT_SURVEY``.
"""

from domain.template.model import (
    FORMAT_VERSION,
    Indicator,
    Level,
    Scale,
    ScaleKind,
    Target,
    Template,
    WrittenPart,
)
from domain.template.problems import (
    Area,
    Locator,
    Ref,
    TemplateInvalid,
    TemplateProblem,
    Where,
    default_locator,
)
from domain.template.rules import MIN_PERFORMANCE, advise, validate
from domain.template.survey import (
    DEFAULT_POINTS,
    DEFAULT_SURVEY,
    SurveyQuestion,
    SurveySpec,
    survey_of,
)
from domain.template.values import canonical, decimal_text

__all__ = [
    "DEFAULT_POINTS",
    "DEFAULT_SURVEY",
    "FORMAT_VERSION",
    "MIN_PERFORMANCE",
    "Area",
    "Indicator",
    "Level",
    "Locator",
    "Ref",
    "Scale",
    "ScaleKind",
    "SurveyQuestion",
    "SurveySpec",
    "Target",
    "Template",
    "TemplateInvalid",
    "TemplateProblem",
    "Where",
    "WrittenPart",
    "advise",
    "canonical",
    "decimal_text",
    "default_locator",
    "survey_of",
    "validate",
]
