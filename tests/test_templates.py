"""Indicator templates (指标体系, 三): the shipped default, the loaders' refusals, the model."""

from __future__ import annotations

import ast
import csv
import io
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from domain.enums import Dimension, Source
from domain.template import (
    Indicator,
    Level,
    Scale,
    ScaleKind,
    Target,
    Template,
    TemplateInvalid,
    TemplateProblem,
    validate,
)
from domain.template import problems as rule
from services.templates import (
    dump_xlsx,
    indicator_name,
    level_label,
    load_template,
    localized,
    to_traditional,
)
from services.templates import messages as msg

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
    assert default.scales["五级"].levels[0] == Level("优秀", Decimal(95), "Excellent")
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
        wb["量表"]["C2"] = 120  # 优秀 worth 120

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
    assert five.parse("2") == 1 and five.parse("良好") == 1 and five.parse("good") == 1
    assert [five.parse(t) for t in ("0", "6", "优", "")] == [None] * 4
    assert five.points(five.parse("2") or 0) == 85 and score.points(Decimal("85.5")) == Decimal(
        "85.5"
    )
    for scale, value in ((score, 101), (five, 5), (five, "1.5"), (score, "x")):
        with pytest.raises(ValueError):
            scale.points(value)


def test_traditional_chinese_and_english(default: Template) -> None:
    assert to_traditional("应急管理局绩效考核") == "應急管理局績效考核"
    assert localized("团队协作", "zh_Hant") == "團隊協作"
    assert localized("团队协作", "zh_Hans", "Teamwork") == "团队协作"
    assert localized("团队协作", "en", "Teamwork") == "Teamwork"
    assert localized("团队协作", "en") == "团队协作"
    p01 = default.indicators[0]
    assert indicator_name(p01, "zh_Hant") == "應急預案制定與演練"
    assert level_label(default.scales["五级"].levels[3], "en") == "Barely satisfactory"


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
