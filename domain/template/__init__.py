"""The indicator system (指标体系, 三): a pure model of templates and the rules they obey.

Imports only the standard library and ``domain``: the loaders (``services.templates``)
parse files into it, scoring computes from it, and the database stores ``to_dict``.
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
    canonical,
    decimal_text,
)
from domain.template.problems import Area, Ref, TemplateInvalid, TemplateProblem
from domain.template.rules import MIN_PERFORMANCE, Locator, Where, default_locator, validate

__all__ = [
    "FORMAT_VERSION",
    "MIN_PERFORMANCE",
    "Area",
    "Indicator",
    "Level",
    "Locator",
    "Ref",
    "Scale",
    "ScaleKind",
    "Target",
    "Template",
    "TemplateInvalid",
    "TemplateProblem",
    "Where",
    "WrittenPart",
    "canonical",
    "decimal_text",
    "default_locator",
    "validate",
]
