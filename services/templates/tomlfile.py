"""The template as TOML text (for version control): the same rows as the workbook, as tables.

Numbers are read as exact decimals (``parse_float=Decimal``), never floats. Unknown
keys are refused, since in a text file an unknown key is a typo (``wieght``).
A problem's ``sheet`` is the table (``indicators``, ``scales.五级``, ``goals``,
``survey``, ``survey.points``, ``survey.questions`` …), its ``row`` the 1-based
position in that array (or in ``survey.problems``), its ``field`` the key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from decimal import Decimal

from domain.enums import Satisfaction
from domain.template import Area, TemplateInvalid
from domain.template import TemplateProblem as Problem
from services import files
from services.templates import messages as msg
from services.templates.rows import Draft, Record
from services.templates.vocab import COLUMNS, DAYS_ITEM, PROBLEM_ITEM, REQUIRED_COLUMNS, Sheet

TOP_KEYS = (
    "name",
    "dimension_weights",
    "source_weights",
    "scales",
    "indicators",
    "goals",
    "survey",
)
INDICATOR_KEYS = tuple(COLUMNS[Sheet.INDICATORS])
LEVEL_KEYS = ("label", "points", "label_en")
SURVEY_KEYS = ("questions", "points", "problems", "problems_en", DAYS_ITEM)
QUESTION_KEYS = tuple(COLUMNS[Sheet.SURVEY])
_LINE = re.compile(r"at line (\d+)")


def read_toml(data: bytes) -> Draft:
    """The tables of a TOML template as rows; bad TOML raises at once with its line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TemplateInvalid([Problem(None, None, None, msg.BAD_TOML_ENCODING)]) from exc
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except ValueError as exc:  # TOMLDecodeError, or an integer of more than 4,300 digits
        line = _LINE.search(str(exc))
        row = int(line.group(1)) if line else None
        raise TemplateInvalid(
            [Problem(None, row, None, msg.BAD_TOML, {"error": str(exc)})]
        ) from exc

    raw_scales = doc.get("scales", {})
    scales: dict[str, object] = raw_scales if isinstance(raw_scales, dict) else {}
    draft = Draft(
        area_sheets={
            Area.TEMPLATE: "name",
            Area.DIMENSION_WEIGHTS: "dimension_weights",
            Area.SOURCE_WEIGHTS: "source_weights",
            Area.SCALES: "scales",
            Area.INDICATORS: "indicators",
            Area.GOALS: "goals",
            Area.SURVEY: "survey",
            Area.SURVEY_QUESTIONS: "survey",
            Area.SURVEY_POINTS: "survey.points",
            Area.SURVEY_PROBLEMS: "survey",
        },
        order=[
            "dimension_weights",
            "source_weights",
            "scales",
            *(f"scales.{code}" for code in scales),
            "indicators",
            "goals",
            "survey",
            "survey.points",
            "survey.questions",
        ],
        name_where=(None, None, "name"),
    )
    problems = draft.problems

    def bad_type(sheet: str | None, row: int | None, key: str) -> None:
        problems.append(Problem(sheet, row, key, msg.BAD_TYPE, {"key": key}))

    def unknown(
        sheet: str | None, row: int | None, keys: dict[str, object], known: tuple[str, ...]
    ) -> None:
        for key in keys:
            if key not in known:
                problems.append(Problem(sheet, row, key, msg.UNKNOWN_KEY, {"key": key}))

    unknown(None, None, doc, TOP_KEYS)
    name = doc.get("name", "")
    if isinstance(name, str):
        draft.name = name.strip()
    else:
        bad_type(None, None, "name")

    for table, expect in (("dimension_weights", "dimension"), ("source_weights", "source")):
        weights = doc.get(table, {})
        if not isinstance(weights, dict):
            bad_type(None, None, table)
            continue
        for key, value in weights.items():
            fields = {"item": key, "weight": key}
            values: dict[str, object] = {"item": key, "weight": value}
            draft.weights.append(Record(table, None, values, fields, expect=expect))

    if not isinstance(raw_scales, dict):
        bad_type(None, None, "scales")
    for code, scale in scales.items():
        sheet = f"scales.{code}"
        if not isinstance(scale, dict) or not isinstance(scale.get("levels", []), list):
            bad_type("scales", None, code)
            continue
        unknown(sheet, None, scale, ("levels",))
        for index, level in enumerate(scale.get("levels", []), start=1):
            if not isinstance(level, dict):
                bad_type(sheet, index, "levels")
                continue
            unknown(sheet, index, level, LEVEL_KEYS)
            values = {"scale": code, "label": None, "points": None}
            values |= {k: v for k, v in level.items() if k in LEVEL_KEYS}
            draft.levels.append(Record(sheet, index, values, {k: k for k in LEVEL_KEYS}))

    indicators = doc.get("indicators", [])
    if not isinstance(indicators, list):
        bad_type(None, None, "indicators")
        indicators = []
    fields = {k: k for k in INDICATOR_KEYS}
    for index, item in enumerate(indicators, start=1):
        if not isinstance(item, dict):
            bad_type("indicators", index, "indicators")
            continue
        unknown("indicators", index, item, INDICATOR_KEYS)
        values = dict.fromkeys(REQUIRED_COLUMNS[Sheet.INDICATORS]) | {
            k: v for k, v in item.items() if k in INDICATOR_KEYS
        }
        draft.indicators.append(Record("indicators", index, values, fields))

    goals = doc.get("goals", {})
    if not isinstance(goals, dict):
        bad_type(None, None, "goals")
        goals = {}
    for unit, texts in goals.items():
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list):
            bad_type("goals", None, unit)
            continue
        for index, goal in enumerate(texts, start=1):
            values = {"unit": unit, "goal": goal}
            draft.goals.append(Record("goals", index, values, {"unit": unit, "goal": unit}))

    if "survey" in doc:
        _survey(doc["survey"], draft, bad_type, unknown)
    _check_size(draft)
    return draft


def _check_size(draft: Draft) -> None:
    """A template has dozens of rows per table; a file with thousands is refused unread."""
    counts: dict[str, int] = {}
    for records in (
        draft.weights,
        draft.levels,
        draft.indicators,
        draft.goals,
        draft.survey_questions,
        draft.survey_settings,
    ):
        for rec in records:
            counts[rec.sheet] = counts.get(rec.sheet, 0) + 1
    big = [sheet for sheet, n in counts.items() if n > files.MAX_TEMPLATE_ROWS]
    if big:
        limit = {"max": files.MAX_TEMPLATE_ROWS}
        raise TemplateInvalid(
            [Problem(sheet, None, None, msg.TOO_MANY_ROWS, limit) for sheet in big]
        )


def _survey(
    survey: object,
    draft: Draft,
    bad_type: Callable[[str | None, int | None, str], None],
    unknown: Callable[[str | None, int | None, dict[str, object], tuple[str, ...]], None],
) -> None:
    """[survey]: the same rows as the sheets 问卷 and 问卷设置, from keys and lists."""
    if not isinstance(survey, dict):
        bad_type(None, None, "survey")
        return
    draft.survey = True
    draft.survey_fields = {key: key for key in (*SURVEY_KEYS, *(s.value for s in Satisfaction))}
    unknown("survey", None, survey, SURVEY_KEYS)
    points = survey.get("points", {})
    if not isinstance(points, dict):
        bad_type("survey", None, "points")
        points = {}
    for key, value in points.items():
        values: dict[str, object] = {"item": key, "value": value}
        fields = {"item": key, "value": key}
        draft.survey_settings.append(Record("survey.points", None, values, fields, "points"))
    if DAYS_ITEM in survey:
        values = {"item": DAYS_ITEM, "value": survey[DAYS_ITEM]}
        fields = {"item": DAYS_ITEM, "value": DAYS_ITEM}
        draft.survey_settings.append(Record("survey", None, values, fields, "days"))
    for key, column, expect in (
        ("problems", "value", "problems"),
        ("problems_en", "value_en", "problems_en"),
    ):
        texts = survey.get(key, [])
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list):
            bad_type("survey", None, key)
            continue
        for index, text in enumerate(texts, start=1):
            values = {"item": PROBLEM_ITEM, column: text}
            fields = {"item": key, column: key}
            draft.survey_settings.append(Record("survey", index, values, fields, expect))
    questions = survey.get("questions", [])
    if not isinstance(questions, list):
        bad_type("survey", None, "questions")
        questions = []
    fields = {k: k for k in QUESTION_KEYS}
    for index, item in enumerate(questions, start=1):
        if not isinstance(item, dict):
            bad_type("survey.questions", index, "questions")
            continue
        unknown("survey.questions", index, item, QUESTION_KEYS)
        values = dict.fromkeys(REQUIRED_COLUMNS[Sheet.SURVEY]) | {
            k: v for k, v in item.items() if k in QUESTION_KEYS
        }
        draft.survey_questions.append(Record("survey.questions", index, values, fields))
