"""Bytes to rows of text: CSV in UTF-8 (BOM or not) or GB18030, or the first sheet of an XLSX.

Excel on Chinese Windows saves "CSV" as GB18030 and turns employee numbers into
numbers; both are undone here so the rules see the text the admin typed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable

from services.staff_import import errors as msg
from services.staff_import.errors import RosterInvalid, RowError

Row = tuple[int, list[str]]  # (row number as the sheet shows it, cells)

_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls


def read_rows(data: bytes, filename: str) -> list[Row]:
    """Every non-blank row with its 1-based number, header included; file-level problems raise."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if not data.strip():
        raise RosterInvalid([RowError(None, None, msg.EMPTY_FILE)])
    if suffix == "xls" or data.startswith(_OLE_MAGIC):
        raise RosterInvalid([RowError(None, None, msg.OLD_XLS)])
    rows: Iterable[Row]
    if suffix in ("xlsx", "xlsm") or data.startswith(_XLSX_MAGIC):
        rows = _xlsx_rows(data)
    else:
        rows = _csv_rows(_decode(data))
    kept = [(n, cells) for n, cells in rows if any(cells)]
    if not kept:
        raise RosterInvalid([RowError(None, None, msg.EMPTY_FILE)])
    return kept


def _decode(data: bytes) -> str:
    """UTF-8 first (strict, so GB18030 bytes cannot pass as mojibake), then GB18030."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterInvalid([RowError(None, None, msg.BAD_ENCODING)])


def _csv_rows(text: str) -> Iterable[Row]:
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for number, cells in enumerate(reader, start=1):
        yield number, [c.strip() for c in cells]


def _xlsx_rows(data: bytes) -> list[Row]:
    from openpyxl import load_workbook  # only XLSX imports pay for openpyxl

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise RosterInvalid([RowError(None, None, msg.BAD_XLSX)]) from exc
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # some writers store a wrong <dimension>; read what is there
        return [
            (number, [_cell_text(v) for v in values])
            for number, values in enumerate(ws.iter_rows(values_only=True), start=1)
        ]
    except (zipfile.BadZipFile, KeyError, ValueError, IndexError) as exc:
        raise RosterInvalid([RowError(None, None, msg.BAD_XLSX)]) from exc
    finally:
        wb.close()


def _cell_text(value: object) -> str:
    """A cell as the admin sees it: 1001.0 is "1001", TRUE is "true", a date is ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()
