"""Indicator templates (指标体系, 三): the shipped default, the loaders' refusals, the model."""

from __future__ import annotations

import ast
import csv
import dataclasses
import io
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from domain.enums import Dimension, Satisfaction, Source
from domain.template import (
    DEFAULT_POINTS,
    DEFAULT_SURVEY,
    Indicator,
    Level,
    Scale,
    ScaleKind,
    SurveyQuestion,
    SurveySpec,
    Target,
    Template,
    TemplateInvalid,
    TemplateProblem,
    advise,
    survey_of,
    validate,
)
from domain.template import problems as rule
from services.templates import (
    dump_xlsx,
    indicator_name,
    level_label,
    load_template,
    localized,
    problem_labels,
    question_text,
    to_traditional,
)
from services.templates import messages as msg

pytestmark = pytest.mark.nodb

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TOML = (EXAMPLES / "template.toml").read_bytes()
XLSX = (EXAMPLES / "template.xlsx").read_bytes()
OUTPOST = "城东应急管理所"


@pytest.fixture(scope="module")
def default() -> Template:
    return load_template(TOML, "template.toml")


def refused(data: bytes, filename: str) -> list[TemplateProblem]:
    with pytest.raises(TemplateInvalid) as info:
        load_template(data, filename)
    assert info.value.problems, "refused without a reason"
    return info.value.problems


def edited(change: Callable[[Any], None]) -> bytes:
    """The default workbook with ``change(workbook)`` applied, as .xlsx bytes."""
    wb = load_workbook(io.BytesIO(XLSX))
    change(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def row_of(ws: Any, first_cell: str, unit: str | None = None) -> int:
    """The row whose column A is ``first_cell`` (and, in 指标, whose 单位 is ``unit``)."""
    for row in ws.iter_rows(min_row=2):
        if row[0].value == first_cell and (ws.title != "指标" or (row[8].value or None) == unit):
            return int(row[0].row)
    raise KeyError(first_cell)


def set_cell(sheet: str, first_cell: str, column: int, value: object) -> Callable[[Any], None]:
    def change(wb: Any) -> None:
        ws = wb[sheet]
        ws.cell(row=row_of(ws, first_cell), column=column, value=value)

    return change


WEIGHT, SCALE, SOURCES, TARGETS = 5, 6, 7, 8  # columns of 指标


# --- the shipped default ---------------------------------------------------------------


def test_default_toml_and_xlsx_load_to_the_same_template(default: Template) -> None:
    from_xlsx = load_template(XLSX, "template.xlsx")
    assert from_xlsx == default
    assert from_xlsx.digest() == default.digest()
    assert Template.from_dict(default.to_dict()) == default
    assert Template.from_dict(json.loads(json.dumps(default.to_dict()))) == default
    assert validate(default) == []


def test_shipped_workbook_is_regenerated_from_the_toml(default: Template) -> None:
    """examples/template.xlsx is exactly what make_template_xlsx.py writes: no drift."""
    assert dump_xlsx(default) == XLSX
    assert dump_xlsx(default) == dump_xlsx(default)


def test_default_follows_the_regulation(default: Template) -> None:
    assert dict(default.dimension_weights) == {
        Dimension.PERFORMANCE: 60,
        Dimension.ABILITY: 15,
        Dimension.ATTITUDE: 15,
        Dimension.INNOVATION: 10,
    }
    assert dict(default.source_weights) == {
        Source.SELF: 20,
        Source.SUPERIOR: 40,
        Source.PEER: 20,
        Source.CITIZEN: 20,
    }
    names = {i.name for i in default.indicators}
    for named in (
        "应急预案制定与演练",
        "应急物资储备管理",
        "突发事件应急处置效果",
        "本单位绩效目标完成情况",
    ):
        assert named in names  # 三(二)1
    assert {"考勤情况", "工作纪律遵守情况", "团队协作", "新技术应用", "工作机制创新"} <= names
    every = [*default.indicators, *(i for s in default.unit_overrides.values() for i in s)]
    assert all(i.name_en for i in every)
    assert default.scales["五级"].levels[0] == Level("好", Decimal(95), "Very good")
    with (EXAMPLES / "staff.csv").open(encoding="utf-8-sig") as fh:
        units = {row["单位"] for row in csv.DictReader(fh)}
    assert set(default.unit_overrides) == {OUTPOST}
    assert 2 <= len(default.goals) <= 3 and set(default.goals) <= units


def test_indicators_for_honours_overrides_and_filters(default: Template) -> None:
    def codes(unit: str | None, target: Target, source: Source) -> list[str]:
        return [i.code for i in default.indicators_for(unit=unit, target=target, source=source)]

    assert codes(None, Target.PERSON, Source.PEER) == ["T03", "T04"]
    assert codes(None, Target.UNIT, Source.PEER) == []
    assert codes(None, Target.UNIT, Source.CITIZEN) == ["P03", "T05"]
    assert codes("办公室", Target.PERSON, Source.SUPERIOR) == codes(
        None, Target.PERSON, Source.SUPERIOR
    )
    outpost = codes(OUTPOST, Target.PERSON, Source.SUPERIOR)
    assert outpost[:5] == ["P11", "P12", "P13", "P14", "P05"] and "P01" not in outpost
    assert codes(OUTPOST, Target.UNIT, Source.SELF)[:5] == ["P11", "P12", "P13", "P14", "P04"]
    assert codes(OUTPOST, Target.PERSON, Source.CITIZEN) == ["P13", "P14", "T05"]


# --- refusals, each with its row -------------------------------------------------------


def only(problems: list[TemplateProblem], message: str) -> TemplateProblem:
    assert [p.message for p in problems] == [message], [str(p) for p in problems]
    return problems[0]


def test_weights_off_by_one_percent() -> None:
    wb = load_workbook(io.BytesIO(XLSX))
    p01 = row_of(wb["指标"], "P01")
    problems = refused(edited(set_cell("指标", "P02", WEIGHT, 21)), "t.xlsx")
    assert [p.message for p in problems] == [rule.INDICATORS_TOTAL] * 2  # persons and units
    person = problems[0]
    assert (person.sheet, person.row, person.field) == ("指标", p01, "权重")
    assert person.params["dimension"] is Dimension.PERFORMANCE
    assert person.params["target"] is Target.PERSON
    assert person.params["total"] == 101 and person.params["codes"] == "P01, P02, P03, P05"
    assert "add up to 101%, not 100%" in str(person)


def test_performance_below_sixty_percent() -> None:
    def change(wb: Any) -> None:
        set_cell("权重", "工作业绩", 2, 59)(wb)
        set_cell("权重", "工作能力", 2, 16)(wb)

    problem = only(refused(edited(change), "t.xlsx"), rule.PERFORMANCE_MIN)
    assert (problem.sheet, problem.row, problem.field) == ("权重", 3, "权重")
    assert problem.params == {"dimension": Dimension.PERFORMANCE, "weight": 59, "min": 60}


def test_missing_dimension() -> None:
    def change(wb: Any) -> None:
        ws = wb["权重"]
        ws.delete_rows(row_of(ws, "创新与发展"))

    problem = only(refused(edited(change), "t.xlsx"), rule.DIMENSION_MISSING)
    assert problem.sheet == "权重" and problem.params["dimension"] is Dimension.INNOVATION


def test_unknown_scale_code() -> None:
    wb = load_workbook(io.BytesIO(XLSX))
    problems = refused(edited(set_cell("指标", "P02", SCALE, "七级")), "t.xlsx")
    problem = only(problems, rule.SCALE_UNKNOWN)
    assert (problem.sheet, problem.row, problem.field) == (
        "指标",
        row_of(wb["指标"], "P02"),
        "量表",
    )
    assert problem.params["scale"] == "七级" and problem.params["code"] == "P02"


def test_level_scale_with_one_level_and_with_points_over_100() -> None:
    def change(wb: Any) -> None:
        wb["量表"].append(["两级", "通过", 100, "Pass"])  # row 7: a scale of one level
        wb["量表"]["C2"] = 120  # 好 worth 120

    problems = refused(edited(change), "t.xlsx")
    assert [(p.message, p.sheet, p.row, p.field) for p in problems] == [
        (rule.LEVEL_POINTS_RANGE, "量表", 2, "分值"),
        (rule.LEVEL_COUNT, "量表", 7, "量表"),
    ]
    assert problems[1].params == {"scale": "两级", "count": 1, "max": 10}


def test_source_weights_adding_up_to_ninety() -> None:
    problems = refused(edited(set_cell("权重", "服务对象评价", 2, 10)), "t.xlsx")
    problem = only(problems, rule.SOURCE_TOTAL)
    assert (problem.sheet, problem.row, problem.params["total"]) == ("权重", 7, 90)


def test_peer_on_a_unit_indicator() -> None:
    def change(wb: Any) -> None:
        set_cell("指标", "T04", TARGETS, "个人、单位")(wb)
        set_cell("指标", "T06", WEIGHT, 25)(wb)  # keep the units' attitude at 100

    wb = load_workbook(io.BytesIO(XLSX))
    problem = only(refused(edited(change), "t.xlsx"), rule.PEER_ON_UNIT)
    assert (problem.sheet, problem.row, problem.field) == (
        "指标",
        row_of(wb["指标"], "T04"),
        "评价来源",
    )


def test_duplicate_code() -> None:
    wb = load_workbook(io.BytesIO(XLSX))
    problem = only(
        refused(edited(set_cell("指标", "P02", 1, "P01")), "t.xlsx"), rule.CODE_DUPLICATE
    )
    assert (problem.row, problem.field, problem.params["code"]) == (
        row_of(wb["指标"], "P02"),
        "编号",
        "P01",
    )


def test_every_problem_is_reported_at_once_in_sheet_order() -> None:
    def change(wb: Any) -> None:
        set_cell("指标", "P02", 1, "P01")(wb)  # duplicate code
        set_cell("指标", "A01", 2, "工作热情")(wb)  # unknown dimension
        set_cell("指标", "T01", WEIGHT, "二十")(wb)  # not a number
        set_cell("指标", "T02", SOURCES, "自评、老板")(wb)  # unknown source
        set_cell("权重", "工作业绩", 2, 55)(wb)  # < 60 and the total is 95
        set_cell("权重", "同事互评", 2, 10)(wb)  # the sources add up to 90

    problems = refused(edited(change), "t.xlsx")
    ws = load_workbook(io.BytesIO(XLSX))["指标"]
    assert [(p.sheet, p.row, p.message) for p in problems] == [
        ("指标", row_of(ws, "P02"), rule.CODE_DUPLICATE),
        ("指标", row_of(ws, "A01"), msg.BAD_DIMENSION),
        ("指标", row_of(ws, "T01"), msg.BAD_NUMBER),
        ("指标", row_of(ws, "T02"), msg.BAD_SOURCE),
        ("权重", 3, rule.DIMENSION_TOTAL),
        ("权重", 3, rule.PERFORMANCE_MIN),
        ("权重", 7, rule.SOURCE_TOTAL),
    ]
    # An unreadable dimension or weight spoils its sums; those are not reported on top.
    assert problems[1].params == {"value": "工作热情"}
    assert problems[2].params == {"value": "二十", "column": "权重"}


def test_toml_problems_name_the_indicator_index_and_key() -> None:
    text = TOML.decode()
    text = text.replace('code = "P02"\n', 'code = "P02"\nwieght = 1\n', 1)
    text = text.replace("weight = 20\n", "weight = 21\n", 1)  # P02, the 2nd indicator
    problems = refused(text.encode(), "t.toml")
    assert [(p.sheet, p.row, p.field, p.message) for p in problems] == [
        ("indicators", 1, "weight", rule.INDICATORS_TOTAL),
        ("indicators", 1, "weight", rule.INDICATORS_TOTAL),
        ("indicators", 2, "wieght", msg.UNKNOWN_KEY),
    ]
    bad = refused(b'name = "x"\n[dimension_weights]\nperformance = \n', "t.toml")
    assert (bad[0].message, bad[0].row) == (msg.BAD_TOML, 3)


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "t.xlsx", msg.EMPTY_FILE),
        (b"PK\x03\x04 not really a zip", "t.xlsx", msg.BAD_XLSX),
        (b"\xd0\xcf\x11\xe0 old", "t.xls", msg.OLD_XLS),
        (b"\xff\xfe n a m e", "t.toml", msg.BAD_TOML_ENCODING),
        (b"%PDF-1.4", "t.pdf", msg.UNKNOWN_FORMAT),
    ],
)
def test_unreadable_files_are_refused_whole(data: bytes, filename: str, message: str) -> None:
    assert [p.message for p in refused(data, filename)] == [message]


def test_missing_sheet_and_column() -> None:
    def change(wb: Any) -> None:
        del wb["权重"]
        wb["指标"].delete_cols(SOURCES)

    problems = refused(edited(change), "t.xlsx")
    assert [(p.sheet, p.row, p.message, dict(p.params)) for p in problems] == [
        (None, None, msg.MISSING_SHEET, {"sheet": "权重"}),
        ("指标", 1, msg.MISSING_COLUMN, {"column": "评价来源"}),
    ]


# --- what the office actually types ----------------------------------------------------


def test_traditional_and_english_headers_and_excel_percents(default: Template) -> None:
    def change(wb: Any) -> None:
        wb["指标"].title, wb["权重"].title, wb["量表"].title = "indicators", "權重", "Scales"
        for cell, header in zip(wb["indicators"][1], ("Code", "維度", "NAME"), strict=False):
            cell.value = header
        wb["indicators"]["G1"] = "評價來源"
        ws = wb["indicators"]
        ws.cell(row_of(ws, "P01"), WEIGHT).value = 0.25  # Excel's 25 %
        ws.cell(row_of(ws, "P01"), WEIGHT).number_format = "0%"
        ws.cell(row_of(ws, "P02"), WEIGHT).value = "２０％"
        ws.cell(row_of(ws, "P02"), SOURCES).value = "self, superior"
        ws.cell(row_of(ws, "P02"), 2).value = "Performance"
        ws.cell(row_of(ws, "P03"), WEIGHT).value = 0.25  # a fraction in a General cell

    assert load_template(edited(change), "t.xlsx") == default


def test_a_stored_template_is_validated_without_a_file() -> None:
    score = Scale("score", ScaleKind.SCORE)
    ind = Indicator(
        "X1",
        Dimension.PERFORMANCE,
        "应急预案制定与演练",
        "",
        Decimal(100),
        "score",
        frozenset({Source.PEER}),
        frozenset({Target.UNIT}),
    )
    template = Template(
        name="t",
        dimension_weights={Dimension.PERFORMANCE: Decimal(100)},
        source_weights={s: Decimal(25) for s in Source},
        scales={"score": score},
        indicators=(ind,),
    )
    problems = validate(template)
    assert {(p.sheet, p.row, p.message) for p in problems} >= {
        ("indicators", 1, rule.PEER_ON_UNIT),
        ("dimension_weights", None, rule.DIMENSION_MISSING),
        ("indicators", None, rule.DIMENSION_EMPTY),
    }
    with pytest.raises(TypeError):
        template.dimension_weights[Dimension.ABILITY] = Decimal(0)  # type: ignore[index]


# --- scales and languages ----------------------------------------------------------------


def test_scale_parse_and_points(default: Template) -> None:
    score, five = default.scales["score"], default.scales["五级"]
    assert score.parse("85") == 85 and score.parse("８５") == 85
    assert score.parse("85.5") == Decimal("85.5") and score.parse(" 90分 ") == 90
    assert [score.parse(t) for t in ("101", "-1", "abc", "85.555", "1e2", "")] == [None] * 6
    assert five.parse("2") == 1 and five.parse("较好") == 1 and five.parse("fairly good") == 1
    assert [five.parse(t) for t in ("0", "6", "优", "")] == [None] * 4
    assert five.points(five.parse("2") or 0) == 85 and score.points(Decimal("85.5")) == Decimal(
        "85.5"
    )
    for scale, value in ((score, 101), (five, 5), (five, "1.5"), (score, "x")):
        with pytest.raises(ValueError):
            scale.points(value)


def test_level_labels_that_reuse_grade_names_are_flagged(default: Template) -> None:
    """Rating an indicator 优秀…不合格 reads as grading the person: allowed, but the working
    group is told, level by level; the sample's 好…差 draws no remark."""
    assert advise(default) == []
    words = [("优秀", None), ("较好", "Good"), ("一般", None), ("基本合格", None), ("差", None)]
    graded = dataclasses.replace(
        default.scales["五级"],
        levels=tuple(Level(w, Decimal(90 - 10 * n), en) for n, (w, en) in enumerate(words)),
    )
    template = dataclasses.replace(default, scales={**default.scales, "五级": graded})
    assert validate(template) == []
    notes = advise(template)
    assert [(p.message, p.params["label"]) for p in notes] == [
        (rule.LEVEL_IS_A_GRADE, "优秀"),
        (rule.LEVEL_IS_A_GRADE, "Good"),
        (rule.LEVEL_IS_A_GRADE, "基本合格"),
    ]


def test_traditional_chinese_and_english(default: Template) -> None:
    assert to_traditional("应急管理局绩效考核") == "應急管理局績效考核"
    assert localized("团队协作", "zh_Hant") == "團隊協作"
    assert localized("团队协作", "zh_Hans", "Teamwork") == "团队协作"
    assert localized("团队协作", "en", "Teamwork") == "Teamwork"
    assert localized("团队协作", "en") == "团队协作"
    p01 = default.indicators[0]
    assert indicator_name(p01, "zh_Hant") == "應急預案制定與演練"
    assert level_label(default.scales["五级"].levels[3], "en") == "Fairly poor"
    assert level_label(default.scales["五级"].levels[1], "zh_Hant") == "較好"


# --- the citizen satisfaction survey (四(二)4) --------------------------------------------

SURVEY, SETTINGS = "问卷", "问卷设置"  # questions: Q1..Q4 on rows 2-5
LEVEL_ROW = {level: n for n, level in enumerate(Satisfaction, start=2)}  # 非常满意 row 2 …
DAYS_ROW, FIRST_PROBLEM_ROW = 7, 8  # 整改时限(工作日), then 问题选项 × 6


def without_survey_toml() -> bytes:
    text = TOML.decode()
    return text[: text.index("\n[survey]")].encode()


def test_example_survey_loads_equally_from_toml_and_xlsx(default: Template) -> None:
    survey = default.survey
    assert survey is not None and survey_of(default) is survey
    assert load_template(XLSX, "template.xlsx").survey == survey
    assert [q.code for q in survey.questions] == ["Q1", "Q2", "Q3", "Q4"]
    assert all(q.text_en for q in survey.questions)
    assert dict(survey.points) == dict(DEFAULT_POINTS)
    assert [survey.points_for(level) for level in Satisfaction] == [100, 80, 60, 40, 20]
    assert 5 <= len(survey.problems) <= 6 and len(survey.problems_en) == len(survey.problems)
    assert "等待时间长" in survey.problems and survey.rectification_working_days == 15
    citizen = {i.code for i in default.indicators if Source.CITIZEN in i.sources}
    assert {q.indicator for q in survey.questions} <= citizen
    assert survey.question("Q4") == survey.questions[3] and survey.question("Q9") is None
    assert question_text(survey.questions[0], "zh_Hant") == "您對工作人員的服務態度是否滿意？"
    assert (
        question_text(survey.questions[0], "en")
        == "How satisfied are you with the staff's attitude?"
    )
    assert problem_labels(survey, "en")[0] == "Long wait"
    assert problem_labels(survey, "zh_Hans") == survey.problems


def test_survey_round_trips_through_dict_and_json(default: Template) -> None:
    data = json.loads(json.dumps(default.to_dict()))
    assert data["survey"]["points"]["basic"] == "60"
    again = Template.from_dict(data)
    assert again == default and again.survey == default.survey
    assert again.digest() == default.digest() and hash(again) == hash(default)
    with pytest.raises(TypeError):
        again.survey.points[Satisfaction.BASIC] = Decimal(0)  # type: ignore[index, union-attr]


def test_a_template_without_a_survey_gets_the_default_one(default: Template) -> None:
    plain = load_template(without_survey_toml(), "t.toml")
    assert plain.survey is None and survey_of(plain) is DEFAULT_SURVEY
    assert validate(plain) == []  # the built-in survey fits the shipped indicators
    # Stored before surveys existed: no "survey" key, and the same digest as then.
    data = plain.to_dict()
    assert "survey" not in data
    assert Template.from_dict(data) == plain
    assert plain.digest() != default.digest()

    def drop(wb: Any) -> None:
        del wb[SURVEY], wb[SETTINGS]

    def blank(wb: Any) -> None:
        wb[SURVEY].delete_rows(2, 10)
        wb[SETTINGS].delete_rows(1, 20)  # not even a header: a wholly blank sheet

    for change in (drop, blank):
        assert load_template(edited(change), "t.xlsx") == plain
    assert load_template(dump_xlsx(plain), "t.xlsx") == plain  # with two empty survey sheets


def test_survey_with_chinese_point_keys_and_defaults(default: Template) -> None:
    text = TOML.decode()
    text = text.replace(
        "points = { very_satisfied = 100, satisfied = 80, basic = 60, dissatisfied = 40, very_dissatisfied = 20 }",
        'points = { "非常满意" = 100, "满意" = 90, "基本满意" = 70, "不满意" = 30, "非常不满意" = 0 }',
    ).replace("rectification_working_days = 15\n", "")
    survey = load_template(text.encode(), "t.toml").survey
    assert survey is not None and survey.rectification_working_days == 15
    assert [survey.points_for(s) for s in Satisfaction] == [100, 90, 70, 30, 0]
    no_points = TOML.decode().replace("points = { very_satisfied", "# points = {", 1)
    assert load_template(no_points.encode(), "t.toml") == default  # the default points


def put(sheet: str, cell: str, value: object) -> Callable[[Any], None]:
    def change(wb: Any) -> None:
        wb[sheet][cell] = value

    return change


def add_question(code: str, text: str, indicator: str) -> Callable[[Any], None]:
    def change(wb: Any) -> None:
        wb[SURVEY].append([code, text, indicator, None])

    return change


@pytest.mark.parametrize(
    ("change", "message", "where", "params"),
    [
        (put(SURVEY, "A3", "Q1"), rule.SURVEY_CODE_DUPLICATE, (SURVEY, 3, "编号"), {"code": "Q1"}),
        (put(SURVEY, "A3", "问题二"), rule.SURVEY_CODE_BAD, (SURVEY, 3, "编号"), {"max": 16}),
        (put(SURVEY, "A3", "Q" * 17), rule.SURVEY_CODE_BAD, (SURVEY, 3, "编号"), {}),
        (put(SURVEY, "A3", None), rule.SURVEY_CODE_REQUIRED, (SURVEY, 3, "编号"), {"number": 2}),
        (put(SURVEY, "B3", " "), rule.SURVEY_TEXT_REQUIRED, (SURVEY, 3, "问题"), {"code": "Q2"}),
        (put(SURVEY, "B3", "很" * 61), rule.TEXT_TOO_LONG, (SURVEY, 3, "问题"), {"max": 60}),
        (put(SURVEY, "D3", "x" * 121), rule.TEXT_TOO_LONG, (SURVEY, 3, "问题(英文)"), {}),
        (
            put(SURVEY, "C5", "X99"),
            rule.SURVEY_INDICATOR_UNKNOWN,
            (SURVEY, 5, "对应指标"),
            {"code": "Q4", "indicator": "X99"},
        ),
        (
            put(SURVEY, "C5", "P11"),  # the outpost's own set is not the bureau-wide one
            rule.SURVEY_INDICATOR_UNKNOWN,
            (SURVEY, 5, "对应指标"),
            {"indicator": "P11"},
        ),
        (
            put(SURVEY, "C5", "p01"),
            rule.SURVEY_INDICATOR_NOT_CITIZEN,
            (SURVEY, 5, "对应指标"),
            {"code": "Q4", "indicator": "P01", "source": Source.CITIZEN},
        ),
        (put(SURVEY, "C5", ""), rule.SURVEY_INDICATOR_REQUIRED, (SURVEY, 5, "对应指标"), {}),
        (
            lambda wb: [add_question(f"Q{n}", "还有什么建议？", "T05")(wb) for n in range(5, 10)],
            rule.SURVEY_QUESTION_COUNT,
            (SURVEY, None, None),
            {"count": 9, "max": 8},
        ),
        (
            lambda wb: wb[SURVEY].delete_rows(2, 4),
            rule.SURVEY_QUESTION_COUNT,
            (SURVEY, None, None),
            {"count": 0},
        ),
        (
            put(SETTINGS, f"B{LEVEL_ROW[Satisfaction.VERY_SATISFIED]}", 120),
            rule.SURVEY_POINTS_RANGE,
            (SETTINGS, 2, "内容"),
            {"level": Satisfaction.VERY_SATISFIED, "points": 120},
        ),
        (
            put(SETTINGS, f"B{LEVEL_ROW[Satisfaction.DISSATISFIED]}", 70),
            rule.SURVEY_POINTS_ORDER,
            (SETTINGS, 5, "内容"),
            {"level": Satisfaction.DISSATISFIED, "points": 70, "better": Satisfaction.BASIC},
        ),
        (
            lambda wb: wb[SETTINGS].delete_rows(LEVEL_ROW[Satisfaction.SATISFIED]),
            rule.SURVEY_POINTS_MISSING,
            (SETTINGS, None, None),
            {"level": Satisfaction.SATISFIED},
        ),
        (
            put(SETTINGS, f"B{FIRST_PROBLEM_ROW + 1}", "等待时间长"),
            rule.SURVEY_PROBLEM_DUPLICATE,
            (SETTINGS, 9, "内容"),
            {"problem": "等待时间长"},
        ),
        (
            put(SETTINGS, f"B{FIRST_PROBLEM_ROW}", "等" * 21),
            rule.TEXT_TOO_LONG,
            (SETTINGS, 8, "内容"),
            {"length": 21, "max": 20},
        ),
        (
            put(SETTINGS, f"B{FIRST_PROBLEM_ROW}", None),
            rule.SURVEY_PROBLEM_EMPTY,
            (SETTINGS, 8, "内容"),
            {"number": 1},
        ),
        (
            put(SETTINGS, f"C{FIRST_PROBLEM_ROW + 2}", None),
            rule.SURVEY_PROBLEM_EN_EMPTY,
            (SETTINGS, 10, "内容(英文)"),
            {"problem": "办事效率低"},
        ),
        (
            lambda wb: [
                wb[SETTINGS].append(["问题选项", f"其他{n}", f"Other {n}"]) for n in range(5)
            ],
            rule.SURVEY_PROBLEM_COUNT,
            (SETTINGS, None, None),
            {"count": 11, "max": 10},
        ),
        (
            lambda wb: wb[SETTINGS].delete_rows(FIRST_PROBLEM_ROW, 6),
            rule.SURVEY_PROBLEM_COUNT,
            (SETTINGS, None, None),
            {"count": 0},
        ),
        (
            put(SETTINGS, f"B{DAYS_ROW}", 0),
            rule.SURVEY_DAYS_RANGE,
            (SETTINGS, 7, "内容"),
            {"days": 0, "max": 60},
        ),
        (put(SETTINGS, f"B{DAYS_ROW}", 61), rule.SURVEY_DAYS_RANGE, (SETTINGS, 7, "内容"), {}),
        (
            put(SETTINGS, f"B{DAYS_ROW}", 7.5),
            msg.BAD_WHOLE_NUMBER,
            (SETTINGS, 7, "内容"),
            {"column": "内容"},
        ),
        (
            put(SETTINGS, f"B{DAYS_ROW}", "十五"),
            msg.BAD_NUMBER,
            (SETTINGS, 7, "内容"),
            {"value": "十五"},
        ),
        (
            put(SETTINGS, f"A{LEVEL_ROW[Satisfaction.BASIC]}", "一般"),
            msg.BAD_SURVEY_ITEM,  # and not "基本满意 is missing" on top
            (SETTINGS, 4, "项目"),
            {"value": "一般"},
        ),
        (
            put(SETTINGS, f"A{DAYS_ROW}", "满意"),
            msg.DUPLICATE_ITEM,
            (SETTINGS, 7, "项目"),
            {"value": "满意"},
        ),
    ],
)
def test_survey_refusals_point_at_the_cell(
    change: Callable[[Any], None],
    message: str,
    where: tuple[str | None, int | None, str | None],
    params: dict[str, object],
) -> None:
    problem = only(refused(edited(change), "t.xlsx"), message)
    assert (problem.sheet, problem.row, problem.field) == where
    assert params.items() <= dict(problem.params).items(), problem.params


def test_survey_refusals_in_toml() -> None:
    text = TOML.decode()
    text = text.replace('    "Problem not solved",\n', "")  # five English for six choices
    text = text.replace("very_satisfied = 100,", "very_satisfied = 100, quite_satisfied = 90,")
    text = text.replace('code = "Q3"', 'code = "Q3"\nweight = 10', 1)
    text = text.replace('indicator = "P03"', 'indicator = "T03"', 1)
    text = text.replace("rectification_working_days = 15", "rectification_working_days = 90")
    problems = refused(text.encode(), "t.toml")
    assert [(p.sheet, p.row, p.field, p.message) for p in problems] == [
        ("survey", None, "problems_en", rule.SURVEY_PROBLEMS_EN_COUNT),
        ("survey", None, "rectification_working_days", rule.SURVEY_DAYS_RANGE),
        ("survey.points", None, "quite_satisfied", msg.BAD_SATISFACTION),
        ("survey.questions", 3, "weight", msg.UNKNOWN_KEY),
        ("survey.questions", 4, "indicator", rule.SURVEY_INDICATOR_NOT_CITIZEN),
    ]
    assert problems[0].params == {"count": 6, "count_en": 5}
    assert "T03" in str(problems[-1]) and "citizen" in str(problems[-1])


def test_without_a_survey_the_default_must_fit_the_indicators() -> None:
    text = without_survey_toml().decode()
    p03 = text.index('code = "P03"')
    text = text[:p03] + text[p03:].replace(
        '["self", "superior", "citizen"]', '["self", "superior"]', 1
    )
    problem = only(refused(text.encode(), "t.toml"), rule.SURVEY_DEFAULT_UNFIT)
    assert (problem.sheet, problem.row) == ("survey", None)
    assert problem.params == {"codes": "P03", "source": Source.CITIZEN}


def test_a_survey_problem_that_a_bad_indicator_row_explains_is_not_repeated() -> None:
    def change(wb: Any) -> None:
        set_cell("指标", "P03", 2, "工作热情")(wb)  # P03 unread: Q4's indicator is not unknown
        set_cell("指标", "T05", SOURCES, "自评、群众")(wb)  # T05's sources half read

    assert [p.message for p in refused(edited(change), "t.xlsx")] == [
        msg.BAD_DIMENSION,
        msg.BAD_SOURCE,
    ]


def test_a_stored_survey_is_validated_without_a_file(default: Template) -> None:
    survey = SurveySpec(
        questions=(SurveyQuestion("Q1", "态度如何？", "T05"), SurveyQuestion("Q1", "", "T01")),
        points=dict(DEFAULT_POINTS) | {Satisfaction.VERY_DISSATISFIED: Decimal(-5)},
        problems=("慢", "慢"),
        problems_en=("Slow",),
        rectification_working_days=0,
    )
    template = Template.from_dict(default.to_dict() | {"survey": None})
    problems = validate(dataclasses.replace(template, survey=survey))
    assert [(p.sheet, p.row, p.field, p.message) for p in problems] == [
        ("survey.questions", 2, "code", rule.SURVEY_CODE_DUPLICATE),
        ("survey.questions", 2, "text", rule.SURVEY_TEXT_REQUIRED),
        ("survey.questions", 2, "indicator", rule.SURVEY_INDICATOR_NOT_CITIZEN),
        ("survey.points", None, "points", rule.SURVEY_POINTS_RANGE),
        ("survey.problems", 2, "problems", rule.SURVEY_PROBLEM_DUPLICATE),
        ("survey.problems", None, "problems_en", rule.SURVEY_PROBLEMS_EN_COUNT),
        ("survey", None, "rectification_working_days", rule.SURVEY_DAYS_RANGE),
    ]
    assert problems[3].params["level"] is Satisfaction.VERY_DISSATISFIED
    with pytest.raises(KeyError):
        SurveySpec((), {}, ()).points_for(Satisfaction.BASIC)


def test_domain_model_stays_pure() -> None:
    """domain/template imports only the standard library and domain (README: architecture)."""
    for path in (ROOT / "domain" / "template").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                top = node.module.split(".")[0]
                assert top in {"domain", "__future__", "collections", "dataclasses"} | {
                    "decimal",
                    "enum",
                    "hashlib",
                    "json",
                    "re",
                    "types",
                    "typing",
                    "unicodedata",
                }, f"{path.name} imports {node.module}"
