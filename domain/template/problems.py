"""Template problems as values: where (sheet, row, field), an English msgid, parameters.

The working group fixes the spreadsheet, not the code, so a problem names the row
as the sheet shows it and says what is wrong in words an office worker can act on.
Messages are msgids marked with ``N_``; the caller translates them, and maps the
enum-valued parameters (``dimension``, ``source``, ``target``: members of
``Dimension``, ``Source``, ``Target``) to names in the reader's language.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from domain.text import N_

# The template as a whole
NAME_REQUIRED = N_("The template has no name.")
TEXT_TOO_LONG = N_("This text is {length} characters long; at most {max} are allowed here.")
# Dimension weights, 三(三)
DIMENSION_MISSING = N_("The weight of the dimension {dimension} is missing.")
DIMENSION_WEIGHT_RANGE = N_(
    "The dimension {dimension} weighs {weight}%; a weight must be between 0% and 100%."
)
DIMENSION_TOTAL = N_("The four dimensions weigh {total}% together, not 100%.")
PERFORMANCE_MIN = N_(
    "The dimension {dimension} weighs {weight}%; the regulation requires at least {min}%."
)
# Source weights, 四(二)
SOURCE_MISSING = N_("The weight of the evaluation source {source} is missing.")
SOURCE_WEIGHT_RANGE = N_(
    "The evaluation source {source} weighs {weight}%; a weight must be between 0% and 100%."
)
SOURCE_TOTAL = N_("The four evaluation sources weigh {total}% together, not 100%.")
# Scales
SCALE_CODE_BAD = N_("The scale code {scale} must be 1 to {max} characters long.")
SCORE_WITH_LEVELS = N_("The scale {scale} is a 0–100 score scale and cannot have levels.")
LEVEL_COUNT = N_("The scale {scale} needs 2 to {max} levels; it has {count}.")
LEVEL_LABEL_EMPTY = N_("Level {level} of the scale {scale} has no label.")
LEVEL_LABEL_DUPLICATE = N_("The scale {scale} has the level {label} more than once.")
LEVEL_POINTS_RANGE = N_(
    "The level {label} of the scale {scale} is worth {points} points; points must be between 0 and 100."
)
# Indicators, 三(二)
CODE_REQUIRED = N_("The indicator {name} has no code.")
CODE_BAD = N_(
    "The indicator code {code} may only contain letters, digits, _, - and . and be at most {max} characters long."
)
CODE_DUPLICATE = N_("The indicator code {code} appears more than once.")
CODE_DUPLICATE_UNIT = N_(
    "The indicator code {code} appears more than once among the indicators of {unit}."
)
INDICATOR_NAME_REQUIRED = N_("The indicator {code} has no name.")
INDICATOR_NAME_TOO_LONG = N_(
    "The name of the indicator {code} is {length} characters long; at most {max} are allowed."
)
INDICATOR_DESCRIPTION_TOO_LONG = N_(
    "The description of the indicator {code} is {length} characters long; at most {max} are allowed."
)
INDICATOR_WEIGHT_RANGE = N_(
    "The indicator {code} weighs {weight}%; an indicator must weigh more than 0% and at most 100%."
)
SCALE_UNKNOWN = N_("The indicator {code} uses the scale {scale}, which is not defined.")
NO_SOURCES = N_("The indicator {code} has no evaluation source; give at least one.")
NO_TARGETS = N_("The indicator {code} applies to no one; give person, unit or both.")
PEER_ON_UNIT = N_(
    "The indicator {code} applies to units and is rated by peers, but colleagues rate persons only; remove one of the two."
)
# Indicator weights per dimension and target, 三(三)
INDICATORS_TOTAL = N_(
    "The weights of the dimension {dimension} for {target} ({codes}) add up to {total}%, not 100%."
)
INDICATORS_TOTAL_UNIT = N_(
    "The weights of the dimension {dimension} for {target} in the indicators of {unit} ({codes}) add up to {total}%, not 100%."
)
DIMENSION_EMPTY = N_(
    "The dimension {dimension} has no indicator for {target}; every dimension needs at least one."
)
DIMENSION_EMPTY_UNIT = N_(
    "The indicators of {unit} have none of the dimension {dimension} for {target}; every dimension needs at least one."
)
# Unit override sets and goals, 二(三)3 and 三(一)
UNIT_NAME_REQUIRED = N_("A unit name is empty.")
OVERRIDE_EMPTY = N_("The unit {unit} has an empty set of indicators.")
OVERRIDE_TARGET_MISSING = N_(
    "The indicators of {unit} include none for {target}, but they replace the bureau-wide ones, which do."
)
GOAL_EMPTY = N_("A goal of {unit} is empty.")
TOO_MANY_GOALS = N_("{unit} may have at most {max} goals; it has {count}.")


class Area(StrEnum):
    """The part of a template a problem is about (and the default ``sheet`` of a problem)."""

    TEMPLATE = "template"
    DIMENSION_WEIGHTS = "dimension_weights"
    SOURCE_WEIGHTS = "source_weights"
    SCALES = "scales"
    INDICATORS = "indicators"
    GOALS = "goals"


@dataclass(frozen=True)
class Ref:
    """What a problem is about, for a loader to turn into the row that defined it.

    ``key``: the dimension/source value, scale code or the goals' unit; ``unit``: the
    override set of an indicator (None = bureau-wide); ``index``: 0-based position in
    that set, in the scale's levels or in the unit's goals (None = the whole thing).
    """

    area: Area
    key: str | None = None
    unit: str | None = None
    index: int | None = None


@dataclass(frozen=True)
class TemplateProblem:
    """One thing wrong. ``sheet``/``row``/``field`` point at it as the file shows it
    (XLSX: the sheet title, the row number with header = 1, the column header as
    written; TOML: the table, the 1-based array index, the key); None = unknown/whole.
    """

    sheet: str | None
    row: int | None
    field: str | None
    message: str
    params: Mapping[str, object] = dataclasses.field(default_factory=dict)

    def text(self, translated: str | None = None) -> str:
        """The message with its parameters, from ``translated`` (the caller's gettext result)."""
        return (translated or self.message).format(**self.params)

    def __str__(self) -> str:
        where = " ".join(
            part
            for part in (
                self.sheet or "",
                f"row {self.row}" if self.row is not None else "",
                f"({self.field})" if self.field else "",
            )
            if part
        )
        return f"{where}: {self.text()}" if where else self.text()


class TemplateInvalid(Exception):
    """A template was refused; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[TemplateProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
