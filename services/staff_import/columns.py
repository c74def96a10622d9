"""The roster's columns and cell vocabularies, in Simplified, Traditional Chinese and English.

Admins export the roster from whatever HR sheet they have, so a header or a cell
may be written in any of the three; matching is case-insensitive and ignores
surrounding spaces and full-width forms.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from domain.enums import Role, UnitKind


class Col(StrEnum):
    """A roster column, by the English header name (also the ``RowError.column`` value)."""

    EMPLOYEE_NO = "employee_no"
    NAME = "name"
    UNIT = "unit"
    PARENT_UNIT = "parent_unit"
    UNIT_KIND = "unit_kind"
    POSITION = "position"
    SUPERVISOR_NO = "supervisor_no"
    UNIT_HEAD = "unit_head"
    LEADS_UNITS = "leads_units"
    LEADERSHIP = "leadership"
    ADMIN = "admin"


@dataclass(frozen=True)
class Header:
    """How one column is titled in each catalog's language."""

    zh_hans: str
    zh_hant: str
    en: str

    def label(self, locale: str) -> str:
        """The title a user of ``locale`` would type, so an error points at their own column."""
        if locale == "zh_Hant":
            return self.zh_hant
        if locale == "en":
            return self.en
        return self.zh_hans


HEADERS: dict[Col, Header] = {
    Col.EMPLOYEE_NO: Header("工号", "工號", "employee_no"),
    Col.NAME: Header("姓名", "姓名", "name"),
    Col.UNIT: Header("单位", "單位", "unit"),
    Col.PARENT_UNIT: Header("上级单位", "上級單位", "parent_unit"),
    Col.UNIT_KIND: Header("单位类型", "單位類型", "unit_kind"),
    Col.POSITION: Header("职务", "職務", "position"),
    Col.SUPERVISOR_NO: Header("直接上级工号", "直接上級工號", "supervisor_no"),
    Col.UNIT_HEAD: Header("单位负责人", "單位負責人", "unit_head"),
    Col.LEADS_UNITS: Header("分管单位", "分管單位", "leads_units"),
    Col.LEADERSHIP: Header("领导小组", "領導小組", "leadership"),
    Col.ADMIN: Header("工作小组", "工作小組", "admin"),
}

# Without these a row cannot be placed in the tree; the others default to empty.
REQUIRED: tuple[Col, ...] = (
    Col.EMPLOYEE_NO,
    Col.NAME,
    Col.UNIT,
    Col.PARENT_UNIT,
    Col.UNIT_KIND,
)

# Columns that only make sense for a person: on a unit-only row they mean a forgotten 工号.
PERSON_ONLY: tuple[Col, ...] = (
    Col.POSITION,
    Col.SUPERVISOR_NO,
    Col.UNIT_HEAD,
    Col.LEADS_UNITS,
    Col.LEADERSHIP,
    Col.ADMIN,
)


def norm(text: str) -> str:
    """Fold width, case and spacing: "Employee No", "ｅｍｐｌｏｙｅｅ_ｎｏ", "employee_no" match."""
    folded = unicodedata.normalize("NFKC", text).strip().casefold()
    return "_".join(folded.replace("-", " ").split())


def _index(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {norm(alias): key for key, aliases in table.items() for alias in aliases}


HEADER_INDEX: dict[str, Col] = {
    norm(alias): col for col, h in HEADERS.items() for alias in (h.zh_hans, h.zh_hant, h.en)
}

UNIT_KINDS: dict[str, UnitKind] = {
    alias: UnitKind(key)
    for alias, key in _index(
        {
            UnitKind.BUREAU: ("局", "bureau"),
            UnitKind.SECTION: ("科室", "section"),
            UnitKind.INSTITUTION: ("直属事业单位", "直屬事業單位", "事业单位", "institution"),
            UnitKind.OUTPOST: ("派出机构", "派出機構", "下属派出机构", "下屬派出機構", "outpost"),
        }
    ).items()
}

LEADERSHIP: dict[str, Role] = {
    alias: Role(key)
    for alias, key in _index(
        {
            Role.LEADER_CHIEF: ("组长", "組長", "chief", "leader_chief"),
            Role.LEADER_DEPUTY: ("副组长", "副組長", "deputy", "leader_deputy"),
            Role.LEADER_MEMBER: ("成员", "成員", "member", "leader_member"),
        }
    ).items()
}

BOOLEANS: dict[str, bool] = {
    norm(alias): value
    for value, aliases in (
        (True, ("是", "y", "yes", "true", "1", "√", "✓")),
        (False, ("否", "n", "no", "false", "0")),
    )
    for alias in aliases
}

# 、 is how a Chinese list is written; the others are what people type anyway.
LIST_SEPARATORS = ("、", ";", "；", ",", "，")
