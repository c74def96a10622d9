"""Sheet titles, column headers and cell words of a template file, in 简体, 繁體 and English.

The working group writes the sheet in whichever script its Office uses, so every
title, header and word is matched case-, width- and space-insensitively. The
first alias of each entry is what ``dump_xlsx`` writes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from enum import StrEnum

from domain.enums import Dimension, Satisfaction, Source
from domain.template import Target

SCORE_CODE = "score"  # the built-in 0–100 scale (百分制); level scales are defined on 量表
NAME_ITEM = "name"  # the row of the 权重 sheet that names the template


def norm(text: str) -> str:
    """Fold width, case and spacing: "指标（英文）", "指标(英文)" and "指标 (英文)" match."""
    folded = unicodedata.normalize("NFKC", text).strip().casefold()
    return "".join(folded.replace("-", "_").split())


def _index(table: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    return {norm(alias): key for key, aliases in table.items() for alias in aliases}


class Sheet(StrEnum):
    """The sheets of a template workbook (and the tables of a TOML template)."""

    INDICATORS = "indicators"
    WEIGHTS = "weights"
    SCALES = "scales"
    GOALS = "goals"
    SURVEY = "survey"  # the survey's questions
    SURVEY_SETTINGS = "survey_settings"  # its points, deadline and problem choices


SHEETS: dict[Sheet, tuple[str, ...]] = {
    Sheet.INDICATORS: ("指标", "指標", "indicators"),
    Sheet.WEIGHTS: ("权重", "權重", "weights"),
    Sheet.SCALES: ("量表", "量表", "scales"),
    Sheet.GOALS: ("目标", "目標", "goals"),
    Sheet.SURVEY: ("问卷", "問卷", "survey", "questionnaire"),
    Sheet.SURVEY_SETTINGS: ("问卷设置", "問卷設置", "survey_settings", "survey settings"),
}
SHEET_INDEX = {norm(a): sheet for sheet, aliases in SHEETS.items() for a in aliases}

# Per sheet: key -> header aliases. Keys are the model's field names (and TOML's keys).
COLUMNS: dict[Sheet, dict[str, tuple[str, ...]]] = {
    Sheet.INDICATORS: {
        "code": ("编号", "編號", "code", "指标编号", "指標編號"),
        "dimension": ("维度", "維度", "dimension"),
        "name": ("指标", "指標", "name", "指标名称", "指標名稱"),
        "description": ("说明", "說明", "description"),
        "weight": ("权重", "權重", "weight", "权重(%)", "權重(%)", "weight(%)"),
        "scale": ("量表", "量表", "scale"),
        "sources": ("评价来源", "評價來源", "sources", "source", "评估方式", "評估方式"),
        "targets": ("适用对象", "適用對象", "targets", "target"),
        "unit": ("单位", "單位", "unit"),
        "name_en": ("指标(英文)", "指標(英文)", "name_en"),
        "description_en": ("说明(英文)", "說明(英文)", "description_en"),
    },
    Sheet.WEIGHTS: {
        "item": ("项目", "項目", "item"),
        "weight": ("权重", "權重", "weight", "权重(%)", "權重(%)", "weight(%)"),
    },
    Sheet.SCALES: {
        "scale": ("量表", "量表", "scale"),
        "label": ("等级", "等級", "label", "level"),
        "points": ("分值", "分值", "points"),
        "label_en": ("等级(英文)", "等級(英文)", "label_en"),
    },
    Sheet.GOALS: {
        "unit": ("单位", "單位", "unit"),
        "goal": ("目标", "目標", "goal"),
    },
    Sheet.SURVEY: {
        "code": ("编号", "編號", "code", "问题编号", "問題編號"),
        "text": ("问题", "問題", "text", "question"),
        "indicator": ("对应指标", "對應指標", "indicator", "指标编号", "指標編號"),
        "text_en": ("问题(英文)", "問題(英文)", "text_en", "question_en"),
    },
    Sheet.SURVEY_SETTINGS: {
        "item": ("项目", "項目", "item"),
        "value": ("内容", "內容", "value"),
        "value_en": ("内容(英文)", "內容(英文)", "value_en"),
    },
}
REQUIRED_COLUMNS: dict[Sheet, tuple[str, ...]] = {
    Sheet.INDICATORS: ("code", "dimension", "name", "weight", "scale", "sources"),
    Sheet.WEIGHTS: ("item", "weight"),
    Sheet.SCALES: ("scale", "label", "points"),
    Sheet.GOALS: ("unit", "goal"),
    Sheet.SURVEY: ("code", "text", "indicator"),
    Sheet.SURVEY_SETTINGS: ("item", "value"),
}
HEADER_INDEX: dict[Sheet, dict[str, str]] = {
    area: _index(columns) for area, columns in COLUMNS.items()
}

DIMENSION_WORDS: dict[Dimension, tuple[str, ...]] = {
    Dimension.PERFORMANCE: ("工作业绩", "工作業績", "业绩", "業績", "performance"),
    Dimension.ABILITY: ("工作能力", "工作能力", "能力", "ability"),
    Dimension.ATTITUDE: ("工作态度", "工作態度", "态度", "態度", "attitude"),
    Dimension.INNOVATION: ("创新与发展", "創新與發展", "创新", "創新", "innovation"),
}
SOURCE_WORDS: dict[Source, tuple[str, ...]] = {
    Source.SELF: ("自评", "自評", "自我评价", "自我評價", "self"),
    Source.SUPERIOR: ("上级评估", "上級評估", "上级评价", "上級評價", "上级", "上級", "superior"),
    Source.PEER: ("同事互评", "同事互評", "互评", "互評", "同事评价", "同事評價", "peer"),
    Source.CITIZEN: (
        "服务对象评价",
        "服務對象評價",
        "服务对象",
        "服務對象",
        "群众评价",
        "群眾評價",
        "citizen",
    ),
}
TARGET_WORDS: dict[Target, tuple[str, ...]] = {
    Target.PERSON: ("个人", "個人", "person", "人员", "人員"),
    Target.UNIT: ("单位", "單位", "unit", "集体", "集體"),
}
# The rows of 问卷设置: the five answer levels (好差评, best first), then the deadline and
# the problem choices. TOML's [survey] uses the same words as keys of ``points``.
SATISFACTION_WORDS: dict[Satisfaction, tuple[str, ...]] = {
    Satisfaction.VERY_SATISFIED: ("非常满意", "非常滿意", "very_satisfied", "very satisfied"),
    Satisfaction.SATISFIED: ("满意", "滿意", "satisfied"),
    Satisfaction.BASIC: ("基本满意", "基本滿意", "basic", "basically satisfied"),
    Satisfaction.DISSATISFIED: ("不满意", "不滿意", "dissatisfied"),
    Satisfaction.VERY_DISSATISFIED: (
        "非常不满意",
        "非常不滿意",
        "very_dissatisfied",
        "very dissatisfied",
    ),
}
DAYS_ITEM, PROBLEM_ITEM = "rectification_working_days", "problems"
SURVEY_ITEM_WORDS: dict[str, tuple[str, ...]] = {
    DAYS_ITEM: (
        "整改时限(工作日)",
        "整改時限(工作日)",
        DAYS_ITEM,
        "整改时限",
        "整改時限",
        "整改期限",
        "整改期限(工作日)",
    ),
    PROBLEM_ITEM: ("问题选项", "問題選項", PROBLEM_ITEM, "problem", "差评原因", "差評原因"),
}
SCORE_WORDS = ("百分制", "百分制", SCORE_CODE, "百分")
NAME_WORDS = ("名称", "名稱", NAME_ITEM, "指标体系名称", "指標體系名稱")

DIMENSIONS = {norm(a): d for d, aliases in DIMENSION_WORDS.items() for a in aliases}
SOURCES = {norm(a): s for s, aliases in SOURCE_WORDS.items() for a in aliases}
TARGETS = {norm(a): t for t, aliases in TARGET_WORDS.items() for a in aliases}
SCORE_ALIASES = frozenset(norm(a) for a in SCORE_WORDS)
NAME_ALIASES = frozenset(norm(a) for a in NAME_WORDS)
SATISFACTIONS = {norm(a): s for s, aliases in SATISFACTION_WORDS.items() for a in aliases}
SURVEY_ITEMS: dict[str, Satisfaction | str] = {
    norm(a): item for item, aliases in SURVEY_ITEM_WORDS.items() for a in aliases
} | SATISFACTIONS

# 、 is how a Chinese list is written; the others are what people type anyway.
_LIST_SPLIT = re.compile(r"[、,;，；/／\s]+")


def split_list(text: str) -> list[str]:
    """ "自评、上级评估" / "self, superior" -> the words, empty pieces dropped."""
    return [part for part in _LIST_SPLIT.split(text.strip()) if part]
