"""The template workbook: read its sheets into a Draft, or write a Template as one.

Reading is lenient about what Excel does to numbers: a percent-formatted cell holds
0.4 for 40 %, so a weight cell formatted as percent, or any weight below 1, is a
fraction; "40", "40%" and 40 are 40 %. Writing is deterministic (fixed timestamps),
so the same template always gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from domain.enums import Dimension, Satisfaction, Source
from domain.template import (
    Area,
    Indicator,
    ScaleKind,
    SurveySpec,
    Target,
    Template,
    TemplateInvalid,
)
from domain.template import TemplateProblem as Problem
from services import files
from services.templates import messages as msg
from services.templates.rows import Draft, Record
from services.templates.vocab import (
    COLUMNS,
    DAYS_ITEM,
    DIMENSION_WORDS,
    HEADER_INDEX,
    NAME_WORDS,
    PROBLEM_ITEM,
    REQUIRED_COLUMNS,
    SATISFACTION_WORDS,
    SCORE_CODE,
    SCORE_WORDS,
    SHEET_INDEX,
    SHEETS,
    SOURCE_WORDS,
    SURVEY_ITEM_WORDS,
    TARGET_WORDS,
    Sheet,
    norm,
)

FIXED_TIME = dt.datetime(2026, 1, 1)
_QUOTED = re.compile(r'"[^"]*"')
_WIDTHS = {"code": 8, "dimension": 12, "name": 28, "description": 48, "weight": 8, "scale": 10}
_WIDTHS |= {"sources": 30, "targets": 12, "unit": 18, "name_en": 36, "description_en": 48}
_WIDTHS |= {"item": 14, "label": 12, "points": 8, "label_en": 20, "goal": 80}
_WIDTHS |= {"text": 44, "indicator": 10, "text_en": 52, "value": 24, "value_en": 36}
_SURVEY_SHEETS = (Sheet.SURVEY, Sheet.SURVEY_SETTINGS)  # optional; wholly blank = absent


def read_xlsx(data: bytes) -> Draft:
    """Every row of the template's sheets; a file that is not a workbook raises at once."""
    from openpyxl import load_workbook  # only template imports pay for openpyxl

    if files.xlsx_too_large(data):
        limit = {"max": files.mb(files.MAX_XLSX_UNPACKED)}
        raise TemplateInvalid([Problem(None, None, None, msg.XLSX_TOO_LARGE, limit)])
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except files.BROKEN_XLSX as exc:
        raise TemplateInvalid([Problem(None, None, None, msg.BAD_XLSX)]) from exc
    try:
        found: dict[Sheet, Any] = {}
        for ws in wb.worksheets:
            sheet = SHEET_INDEX.get(norm(ws.title))
            if sheet is not None and sheet not in found:
                found[sheet] = ws

        def title(sheet: Sheet) -> str:
            return str(found[sheet].title) if sheet in found else SHEETS[sheet][0]

        weights = title(Sheet.WEIGHTS)
        survey, settings = title(Sheet.SURVEY), title(Sheet.SURVEY_SETTINGS)
        draft = Draft(
            area_sheets={
                Area.TEMPLATE: weights,
                Area.DIMENSION_WEIGHTS: weights,
                Area.SOURCE_WEIGHTS: weights,
                Area.SCALES: title(Sheet.SCALES),
                Area.INDICATORS: title(Sheet.INDICATORS),
                Area.GOALS: title(Sheet.GOALS),
                Area.SURVEY: survey,
                Area.SURVEY_QUESTIONS: survey,
                Area.SURVEY_POINTS: settings,
                Area.SURVEY_PROBLEMS: settings,
            },
            order=[str(ws.title) for ws in wb.worksheets],
            name_where=(weights, None, None),
        )
        for sheet in (Sheet.INDICATORS, Sheet.WEIGHTS):
            if sheet not in found:
                draft.missing_sheets.add(SHEETS[sheet][0])
                draft.problems.append(
                    Problem(None, None, None, msg.MISSING_SHEET, {"sheet": SHEETS[sheet][0]})
                )
        lists = {
            Sheet.INDICATORS: draft.indicators,
            Sheet.WEIGHTS: draft.weights,
            Sheet.SCALES: draft.levels,
            Sheet.GOALS: draft.goals,
            Sheet.SURVEY: draft.survey_questions,
            Sheet.SURVEY_SETTINGS: draft.survey_settings,
        }
        for sheet, ws in found.items():
            lists[sheet].extend(_records(ws, sheet, draft.problems))
        draft.survey = bool(draft.survey_questions or draft.survey_settings)
        return draft
    except files.BROKEN_XLSX as exc:
        raise TemplateInvalid([Problem(None, None, None, msg.BAD_XLSX)]) from exc
    finally:
        wb.close()


def _records(ws: Any, sheet: Sheet, problems: list[Problem]) -> Iterable[Record]:
    ws.reset_dimensions()  # some writers store a wrong <dimension>; read what is there
    title = str(ws.title)
    columns: dict[str, int] | None = None
    fields: dict[str, str] = {}
    kept = 0
    for number, cells in enumerate(ws.iter_rows(), start=1):
        if number > files.MAX_TEMPLATE_ROWS * files.BLANK_ROWS_FACTOR:
            raise _too_many_rows(title)
        if all(_blank(c.value) for c in cells):
            continue
        kept += 1
        if kept > files.MAX_TEMPLATE_ROWS:
            raise _too_many_rows(title)
        if columns is None:  # the first non-blank row is the header
            columns = {}
            for index, cell in enumerate(cells):
                header = "" if cell.value is None else str(cell.value).strip()
                key = HEADER_INDEX[sheet].get(norm(header))
                if key is None:
                    continue  # notes columns are the office's business
                if key in columns:
                    problems.append(
                        Problem(title, number, header, msg.DUPLICATE_COLUMN, {"column": header})
                    )
                    continue
                columns[key], fields[key] = index, header
            for key in REQUIRED_COLUMNS[sheet]:
                if key not in columns:
                    label = COLUMNS[sheet][key][0]
                    problems.append(
                        Problem(title, number, None, msg.MISSING_COLUMN, {"column": label})
                    )
            continue
        values = {
            key: _value(cells[index], percent=key == "weight") if index < len(cells) else None
            for key, index in columns.items()
        }
        yield Record(title, number, values, fields)
    if columns is None and sheet not in _SURVEY_SHEETS:
        for key in REQUIRED_COLUMNS[sheet]:
            label = COLUMNS[sheet][key][0]
            problems.append(Problem(title, None, None, msg.MISSING_COLUMN, {"column": label}))


def _too_many_rows(sheet: str) -> TemplateInvalid:
    """Streaming stops here: the rest of a 300,000-row sheet is never parsed."""
    limit = {"max": files.MAX_TEMPLATE_ROWS}
    return TemplateInvalid([Problem(sheet, None, None, msg.TOO_MANY_ROWS, limit)])


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _value(cell: Any, *, percent: bool) -> object:
    value = cell.value
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        number = Decimal(str(value))
        formatted = "%" in _QUOTED.sub("", str(cell.number_format or ""))
        if percent and (formatted or 0 < number < 1):
            number *= 100
        return number
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def dump_xlsx(template: Template) -> bytes:
    """The template as the workbook the working group edits (reads back to an equal Template)."""
    from openpyxl import Workbook  # openpyxl loads only when a file is made (see ``load``)
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    default = wb.active
    if default is not None:
        wb.remove(default)
    level_codes = [c for c, s in template.scales.items() if s.kind is ScaleKind.LEVELS]
    rows: dict[Sheet, list[list[Any]]] = {
        Sheet.INDICATORS: [_indicator_row(i, None) for i in template.indicators]
        + [_indicator_row(i, u) for u, items in template.unit_overrides.items() for i in items],
        Sheet.WEIGHTS: [[NAME_WORDS[0], template.name]]
        + [[DIMENSION_WORDS[d][0], w] for d, w in _ordered(template.dimension_weights, Dimension)]
        + [[SOURCE_WORDS[s][0], w] for s, w in _ordered(template.source_weights, Source)],
        Sheet.SCALES: [
            [code, lv.label, lv.points, lv.label_en or ""]
            for code in level_codes
            for lv in template.scales[code].levels
        ],
        Sheet.GOALS: [[unit, goal] for unit, goals in template.goals.items() for goal in goals],
        **_survey_rows(template.survey),
    }
    for sheet, body in rows.items():
        ws = wb.create_sheet(SHEETS[sheet][0])
        keys = list(COLUMNS[sheet])
        ws.append([COLUMNS[sheet][k][0] for k in keys])
        for row in body:
            ws.append(row)
        for cells in ws.iter_rows(min_row=2):
            for cell in cells:
                files.text_cell(cell)  # a name such as "=…" stays text, not a formula
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        for index, key in enumerate(keys, start=1):
            ws.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(key, 12)
            if key in ("description", "description_en", "goal"):
                for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
        if sheet is Sheet.INDICATORS:
            choices = {
                "dimension": [DIMENSION_WORDS[d][0] for d in Dimension],
                "scale": [SCORE_WORDS[0], *level_codes],
                "targets": [
                    TARGET_WORDS[Target.PERSON][0],
                    TARGET_WORDS[Target.UNIT][0],
                    "、".join(TARGET_WORDS[t][0] for t in Target),
                ],
            }
            for key, options in choices.items():
                _choices(ws, keys.index(key) + 1, options)
        if sheet is Sheet.SURVEY:
            citizen = [i.code for i in template.indicators if Source.CITIZEN in i.sources]
            if citizen:
                _choices(ws, keys.index("indicator") + 1, citizen)
        if sheet is Sheet.SURVEY_SETTINGS:
            items = [SATISFACTION_WORDS[s][0] for s in Satisfaction]
            items += [SURVEY_ITEM_WORDS[DAYS_ITEM][0], SURVEY_ITEM_WORDS[PROBLEM_ITEM][0]]
            _choices(ws, keys.index("item") + 1, items)
    wb.properties.creator = "jixiao"
    wb.properties.created = wb.properties.modified = FIXED_TIME
    return _reproducible(wb)


def _survey_rows(survey: SurveySpec | None) -> dict[Sheet, list[list[Any]]]:
    """问卷: one row per question. 问卷设置: the five levels' points, the deadline, then one
    row per problem choice with its English. No survey: the two sheets with headers only.
    """
    if survey is None:
        return {Sheet.SURVEY: [], Sheet.SURVEY_SETTINGS: []}
    english = survey.problems_en or ("",) * len(survey.problems)
    return {
        Sheet.SURVEY: [[q.code, q.text, q.indicator, q.text_en or ""] for q in survey.questions],
        Sheet.SURVEY_SETTINGS: [
            [SATISFACTION_WORDS[s][0], p, ""] for s, p in _ordered(survey.points, Satisfaction)
        ]
        + [[SURVEY_ITEM_WORDS[DAYS_ITEM][0], survey.rectification_working_days, ""]]
        + [
            [SURVEY_ITEM_WORDS[PROBLEM_ITEM][0], problem, en]
            for problem, en in zip(survey.problems, english, strict=False)
        ],
    }


def _choices(ws: Any, column: int, options: list[str]) -> None:
    """A drop-down on ``column`` below the header (Excel still accepts other text)."""
    # openpyxl loads only when a file is made (see ``load``)
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    letter = get_column_letter(column)
    check = DataValidation(type="list", formula1='"' + ",".join(options) + '"')
    check.add(f"{letter}2:{letter}1000")
    ws.add_data_validation(check)


def _ordered(weights: Any, members: Iterable[Any]) -> list[tuple[Any, Decimal]]:
    return [(m, weights[m]) for m in members if m in weights]


def _indicator_row(i: Indicator, unit: str | None) -> list[Any]:
    return [
        i.code,
        DIMENSION_WORDS[i.dimension][0],
        i.name,
        i.description,
        i.weight,
        SCORE_WORDS[0] if i.scale == SCORE_CODE else i.scale,
        "、".join(SOURCE_WORDS[s][0] for s in Source if s in i.sources),
        "、".join(TARGET_WORDS[t][0] for t in Target if t in i.targets),
        unit or "",
        i.name_en or "",
        i.description_en or "",
    ]


def _reproducible(wb: Any) -> bytes:
    """Save without openpyxl's "modified = now" and with fixed zip entry times."""
    from openpyxl.writer.excel import ExcelWriter  # only when a file is made (see ``load``)

    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()
