"""Template problems as values: where (sheet, row, field), an English msgid, parameters.

The working group fixes the spreadsheet, not the code, so a problem names the row
as the sheet shows it and says what is wrong in words an office worker can act on.
Messages are msgids marked with ``N_``; the caller translates them, and maps the
enum-valued parameters (``dimension``, ``source``, ``target``, ``level``, ``better``:
members of ``Dimension``, ``Source``, ``Target``, ``Satisfaction``) to names in the
reader's language.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from domain.text import N_

# The template as a whole
NAME_REQUIRED = N_("The template has no name.")
LEVEL_IS_A_GRADE = N_(
    "Note: scale “{scale}” calls a level “{label}”, which is also a person's final grade. Raters may take rating one indicator for grading the person; labels such as Very good, Fairly good, Fair, Fairly poor and Poor avoid this."
)
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
# The citizen satisfaction survey, 四(二)4 ({level}/{better}: a Satisfaction; {source}: a Source)
SURVEY_QUESTION_COUNT = N_("The survey needs 1 to {max} questions; it has {count}.")
SURVEY_CODE_REQUIRED = N_("Survey question {number} has no code.")
SURVEY_CODE_BAD = N_(
    "The survey question code {code} may only contain letters, digits, _, - and . and be at most {max} characters long."
)
SURVEY_CODE_DUPLICATE = N_("The survey question code {code} appears more than once.")
SURVEY_TEXT_REQUIRED = N_("The survey question {code} has no text.")
SURVEY_INDICATOR_REQUIRED = N_(
    "The survey question {code} names no indicator; give the code of the indicator its answers count for."
)
SURVEY_INDICATOR_UNKNOWN = N_(
    "The survey question {code} counts for the indicator {indicator}, which is not among the bureau-wide indicators."
)
SURVEY_INDICATOR_NOT_CITIZEN = N_(
    "The survey question {code} counts for the indicator {indicator}, which is not rated by {source}; add {source} to its evaluation sources or choose another indicator."
)
SURVEY_DEFAULT_UNFIT = N_(
    "The template has no survey, and the built-in survey counts for the indicators {codes}, which this template lacks or {source} does not rate; add a survey whose questions count for this template's indicators."
)
SURVEY_POINTS_MISSING = N_("The points of the answer {level} are missing.")
SURVEY_POINTS_RANGE = N_(
    "The answer {level} is worth {points} points; points must be between 0 and 100."
)
SURVEY_POINTS_ORDER = N_(
    "The answer {level} is worth {points} points, more than the better answer {better} ({better_points} points); points may not rise from the best answer to the worst."
)
SURVEY_PROBLEM_COUNT = N_("The survey needs 1 to {max} problem choices; it has {count}.")
SURVEY_PROBLEM_EMPTY = N_("Problem choice {number} is empty.")
SURVEY_PROBLEM_DUPLICATE = N_("The problem choice {problem} appears more than once.")
SURVEY_PROBLEMS_EN_COUNT = N_(
    "There are {count} problem choices but {count_en} English ones; give one English text per choice, or none."
)
SURVEY_PROBLEM_EN_EMPTY = N_(
    "The problem choice {problem} has no English text, though others have; give all or none."
)
SURVEY_DAYS_RANGE = N_(
    "The deadline for handling a negative rating is {days} working days; it must be between 1 and {max}."
)


class Area(StrEnum):
    """The part of a template a problem is about (and the default ``sheet`` of a problem)."""

    TEMPLATE = "template"
    DIMENSION_WEIGHTS = "dimension_weights"
    SOURCE_WEIGHTS = "source_weights"
    SCALES = "scales"
    INDICATORS = "indicators"
    GOALS = "goals"
    SURVEY = "survey"  # the survey as a whole, and its rectification deadline
    SURVEY_QUESTIONS = "survey.questions"
    SURVEY_POINTS = "survey.points"  # Ref.key: the Satisfaction value
    SURVEY_PROBLEMS = "survey.problems"


@dataclass(frozen=True)
class Ref:
    """What a problem is about, for a loader to turn into the row that defined it.

    ``key``: the dimension/source value, scale code, the goals' unit or the survey
    answer level; ``unit``: the override set of an indicator (None = bureau-wide);
    ``index``: 0-based position in that set, in the scale's levels, in the unit's goals,
    or in the survey's questions or problem choices (None = the whole thing).
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


Where = tuple[str | None, int | None, str | None]  # sheet, row, field
Locator = Callable[[Ref, str | None], Where]


def default_locator(ref: Ref, field: str | None) -> Where:
    """The part of the template and the 1-based position: good enough for a stored template."""
    return ref.area.value, None if ref.index is None else ref.index + 1, field


class Report:
    """The problems found so far, each pointed at its row by ``locate`` as it is added."""

    def __init__(self, locate: Locator) -> None:
        self.locate = locate
        self.problems: list[TemplateProblem] = []

    def add(self, ref: Ref, field: str | None, message: str, **params: object) -> None:
        sheet, row, where = self.locate(ref, field)
        self.problems.append(TemplateProblem(sheet, row, where, message, params))

    def length(self, ref: Ref, field: str, text: str | None, limit: int) -> None:
        if text is not None and len(text) > limit:
            self.add(ref, field, TEXT_TOO_LONG, length=len(text), max=limit)
