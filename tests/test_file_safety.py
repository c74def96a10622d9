"""Files in Chinese encodings are read as written; files we write never run a formula.

A Big5 roster (Excel on Traditional Chinese Windows) decodes as GB18030 without an
error, into mojibake: it must be read as Big5. A cell that begins with = + - @ is a
formula to Excel: names and units come from users, so every CSV and XLSX the project
writes keeps such a cell as text.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import opencc
import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.i18n import Translator
from infra.models import OrgUnit, Staff
from services import files
from services.staff_import import RosterInvalid, parse_roster
from services.templates import dump_xlsx, load_template
from tests.factories import make_org

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ADMIN = 900001
INJECTIONS = ['=HYPERLINK("http://x","点我")', "+1+2", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1"]


def _traditional() -> str:
    return opencc.OpenCC("s2tw").convert((EXAMPLES / "staff.csv").read_text(encoding="utf-8-sig"))


def test_a_big5_roster_is_read_as_traditional_chinese() -> None:
    text = _traditional()
    roster = parse_roster(text.encode("cp950"), "staff.csv")
    expected = parse_roster(text.encode("utf-8"), "staff.csv")
    assert roster == expected and roster.people[0].name == "張建國"
    # with English headers the text alone must tell Big5 from GB18030
    english = "employee_no,name,unit,parent_unit,unit_kind,position,supervisor_no,unit_head,"
    english += "leads_units,leadership,admin"
    body = english + "\n" + text.split("\n", 1)[1]
    assert parse_roster(body.encode("cp950"), "staff.csv") == parse_roster(body.encode(), "s.csv")
    # GB18030 is still GB18030, in Simplified or Traditional characters
    simplified = (EXAMPLES / "staff.csv").read_text(encoding="utf-8-sig")
    assert parse_roster(simplified.encode("gb18030"), "staff.csv").people[0].name == "张建国"
    assert parse_roster(text.encode("gb18030"), "staff.csv") == expected
    # and Excel's "Unicode text": UTF-16 with BOM, tab-separated
    assert parse_roster(text.replace(",", "\t").encode("utf-16"), "staff.txt") == expected


def test_text_in_no_chinese_encoding_is_refused_with_a_clear_message() -> None:
    with pytest.raises(RosterInvalid) as refused:
        parse_roster(b"\xff\xfe\x00\xd8" * 50, "staff.csv")
    assert "Big5" in refused.value.errors[0].render(Translator("zh_Hans"))


@pytest.mark.parametrize("value", INJECTIONS)
def test_formula_cells_are_written_as_text(value: str) -> None:
    data = files.csv_bytes(["name", "total", "delta"], [[value, "85.50", "-5"]])
    row = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[1]
    assert row == ["'" + value, "85.50", "-5"]  # plain numbers stay numbers


async def test_invite_lists_never_carry_a_formula(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:  # type: ignore[no-untyped-def]
    org = await make_org(sessions, people=len(INJECTIONS))
    async with sessions.begin() as s:
        for staff_id, value in zip(org.staff_ids, INJECTIONS, strict=True):
            await s.execute(update(Staff).where(Staff.id == staff_id).values(name=value))
        await s.execute(update(OrgUnit).where(OrgUnit.id == org.unit_id).values(name="=1+1"))
    admin = server.user(ADMIN, language_code="zh-hans")
    await admin.send("/invites")
    doc = await admin.expect()
    assert doc.document is not None
    rows = list(csv.DictReader(io.StringIO(doc.document.decode("utf-8-sig"))))
    names = {r["name"] for r in rows}
    assert {"'" + v for v in INJECTIONS} <= names
    assert all(r["unit"] != "=1+1" for r in rows) and "'=1+1" in {r["unit"] for r in rows}
    risky = [c for r in rows for c in r.values() if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert risky == []


def test_a_template_workbook_keeps_formula_text_as_text() -> None:
    source = (EXAMPLES / "template.toml").read_text(encoding="utf-8")
    hostile = source.replace('name = "应急预案制定与演练"', 'name = "=1+2 应急预案"', 1)
    hostile = hostile.replace(
        'name_en = "Emergency plans: drafting and drills"', 'name_en = "@x"', 1
    )
    template = load_template(hostile.encode(), "template.toml")
    data = dump_xlsx(template)
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [c for row in sheet.iter_rows() for c in row if c.value in ("=1+2 应急预案", "@x")]
    assert len(cells) == 2 and all(c.data_type == "s" and c.quotePrefix for c in cells)
    assert load_template(data, "template.xlsx") == template  # and reads back the same
