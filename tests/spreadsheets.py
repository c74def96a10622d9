"""Workbooks written straight as XML, so a test can build 300,000 rows in a moment."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{title}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)


def xlsx(rows: Iterable[Sequence[str]], *, title: str = "Sheet1", refs: bool = True) -> bytes:
    """A one-sheet workbook of inline strings, deflated. Without ``refs`` (cell and row
    references are optional in the format) identical rows shrink about a thousandfold.
    """
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    ]
    for r, row in enumerate(rows, start=1):
        cells = "".join(
            (f'<c r="{get_column_letter(c)}{r}" t="inlineStr">' if refs else '<c t="inlineStr">')
            + f"<is><t>{escape(v)}</t></is></c>"
            for c, v in enumerate(row, start=1)
        )
        parts.append(f'<row r="{r}">{cells}</row>' if refs else f"<row>{cells}</row>")
    parts.append("</sheetData></worksheet>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK.format(title=escape(title)))
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", "".join(parts))
    return out.getvalue()


HEADER = ["工号", "姓名", "单位", "上级单位", "单位类型"]


def roster_rows(people: int) -> list[list[str]]:
    """A valid roster: the bureau and ``people`` staff in one section."""
    rows = [HEADER, ["", "", "应急管理局", "", "局"], ["", "", "办公室", "应急管理局", "科室"]]
    rows += [[f"E{n:06d}", "张伟", "办公室", "", ""] for n in range(people)]
    return rows
