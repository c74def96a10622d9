"""Indicator templates (指标体系, 三) from the working group's files: .xlsx or .toml.

``load_template`` parses either format into the same ``domain.template.Template``
through the same checks and raises ``TemplateInvalid`` listing *every* problem with
its sheet, row (header = row 1) and column, or for TOML its table, index and key.
Nothing is stored here: the caller keeps the template (``to_dict``) in the database.

Workbook (headers in 简体, 繁體 or English; the first non-blank row is the header):

- sheet 指标 (indicators), one row per indicator: 编号 code · 维度 dimension
  (工作业绩/工作能力/工作态度/创新与发展 or performance/ability/attitude/innovation) ·
  指标 name · 说明 description · 权重 weight (percent within the dimension: 40, "40%",
  or 0.4 as Excel stores a percent) · 量表 scale (百分制/score, or a level scale's
  code) · 评价来源 sources (自评、上级评估、同事互评、服务对象评价 or
  self/superior/peer/citizen, separated by 、 , ;) · 适用对象 targets (个人/单位 or
  person/unit; empty = 个人) · 单位 unit (empty = bureau-wide; a unit name puts the
  row in that unit's replacement set) · 指标(英文) name_en · 说明(英文) description_en.
- sheet 权重 (weights): columns 项目 item and 权重 weight; a row 名称 (name) whose
  权重 cell is the template's name, one row per dimension and per evaluation source.
- sheet 量表 (scales, optional): 量表 code · 等级 label · 分值 points (0–100) ·
  等级(英文) label_en; one row per level, best first. 百分制 (0–100) is built in.
- sheet 目标 (goals, optional): 单位 unit · 目标 goal; one row per goal (三(一)).
- sheet 问卷 (the citizen satisfaction survey, optional, 四(二)4): one row per question,
  1 to 8: 编号 code (Q1: letters, digits, _ - ., at most 16) · 问题 text (at most 60
  characters) · 对应指标 indicator (the code of a bureau-wide indicator that
  服务对象评价 rates; the answers count for it) · 问题(英文) text_en.
- sheet 问卷设置 (survey settings, optional): 项目 item · 内容 value · 内容(英文)
  value_en, one setting per row: 非常满意 / 满意 / 基本满意 / 不满意 / 非常不满意 with
  the points (0–100, never more for a worse answer; all five, or none for
  100/80/60/40/20); 整改时限(工作日) with the working days a unit head has to handle a
  bad review (1–60, default 15); and one row 问题选项 per "what went wrong" choice a
  citizen taps after a bad review (1 to 10, at most 20 characters), its English in
  内容(英文). A workbook with neither sheet (or both blank) has no survey of its own:
  citizens then answer ``domain.template.DEFAULT_SURVEY``.

TOML: top-level ``name``; tables ``[dimension_weights]`` and ``[source_weights]``
(key = dimension/source, value = percent); ``[scales.<code>]`` with
``levels = [{label, points, label_en}, …]``; ``[[indicators]]`` with the keys
code, dimension, name, description, weight, scale, sources (a list), targets
(a list, default ["person"]), unit, name_en, description_en; ``[goals]`` with
unit = [goal, …]; ``[survey]`` with ``points = {very_satisfied = 100, …}`` (or the
quoted Chinese keys "非常满意" …), ``rectification_working_days``, ``problems = [...]``,
``problems_en = [...]`` and ``[[survey.questions]]`` with code, text, indicator,
text_en. ``examples/template.toml`` is a commented example.
"""

from __future__ import annotations

from domain.template import Template, TemplateInvalid, TemplateProblem
from services import files
from services.templates import messages as msg
from services.templates.build import build
from services.templates.chinese import (
    OPENCC_CONFIG,
    indicator_description,
    indicator_name,
    level_label,
    localized,
    problem_labels,
    question_text,
    to_traditional,
)
from services.templates.render import render_problem
from services.templates.tomlfile import read_toml
from services.templates.xlsx import dump_xlsx, read_xlsx

_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls

__all__ = [
    "OPENCC_CONFIG",
    "dump_xlsx",
    "indicator_description",
    "indicator_name",
    "level_label",
    "load_template",
    "localized",
    "problem_labels",
    "question_text",
    "render_problem",
    "to_traditional",
]


def load_template(data: bytes, filename: str) -> Template:
    """Parse and check a template file; TemplateInvalid lists every problem found.

    CPU-bound on a large workbook: callers on the event loop run it in a worker thread.
    """
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if files.too_large(data):
        limit = {"max": files.mb(files.MAX_FILE_BYTES)}
        raise TemplateInvalid([TemplateProblem(None, None, None, msg.FILE_TOO_LARGE, limit)])
    if not data.strip():
        raise TemplateInvalid([TemplateProblem(None, None, None, msg.EMPTY_FILE)])
    if suffix == "xls" or data.startswith(_OLE_MAGIC):
        raise TemplateInvalid([TemplateProblem(None, None, None, msg.OLD_XLS)])
    if suffix in ("xlsx", "xlsm") or data.startswith(_XLSX_MAGIC):
        return build(read_xlsx(data))
    if suffix in ("toml", "txt", ""):
        return build(read_toml(data))
    raise TemplateInvalid([TemplateProblem(None, None, None, msg.UNKNOWN_FORMAT)])
