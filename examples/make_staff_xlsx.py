"""Write examples/staff.xlsx from examples/staff.csv, so the two samples never drift apart.

Run from anywhere: ``python examples/make_staff_xlsx.py``. Every cell is written as
text, as an HR sheet should keep employee numbers (a number cell would lose zeros).
Timestamps are pinned, so the same CSV always gives a byte-identical workbook and
regenerating it leaves no diff.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

HERE = Path(__file__).resolve().parent
FIXED_TIME = dt.datetime(2026, 1, 1)


def build(rows: list[list[str]]) -> Workbook:
    """The roster sheet: bold, frozen header and columns wide enough for Chinese text."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "人员名单"
    for row in rows:
        ws.append(row)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for index in range(len(rows[0])):
        width = max(len(r[index]) if index < len(r) else 0 for r in rows)
        ws.column_dimensions[get_column_letter(index + 1)].width = max(8, 2 * width + 2)
    wb.properties.creator = "jixiao"
    wb.properties.created = wb.properties.modified = FIXED_TIME
    return wb


def reproducible_bytes(wb: Workbook) -> bytes:
    """Save without openpyxl's "modified = now" and with fixed zip entry times."""
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


def main(src: Path = HERE / "staff.csv", dst: Path = HERE / "staff.xlsx") -> None:
    with src.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    dst.write_bytes(reproducible_bytes(build(rows)))
    print(f"wrote {dst} ({len(rows) - 1} rows)")


if __name__ == "__main__":
    main()
