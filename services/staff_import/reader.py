"""Bytes to rows of text: CSV in UTF-8, GB18030, Big5 or UTF-16 (with BOM), or an XLSX's first sheet.

Excel on Chinese Windows saves "CSV" as GB18030 (Simplified) or Big5 (Traditional)
and turns employee numbers into numbers; both are undone here so the rules see the
text the admin typed. The limits of ``services.files`` are applied before and while
reading, so an oversized file is refused without being parsed whole.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections.abc import Generator

from services import files
from services.staff_import import errors as msg
from services.staff_import.columns import HEADERS
from services.staff_import.errors import RosterInvalid, RowError

Row = tuple[int, list[str]]  # (row number as the sheet shows it, cells)

_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls


def read_rows(data: bytes, filename: str) -> list[Row]:
    """Every non-blank row with its 1-based number, header included; file-level problems raise."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if files.too_large(data):
        raise RosterInvalid(
            [RowError.at(None, None, msg.FILE_TOO_LARGE, max=files.mb(files.MAX_FILE_BYTES))]
        )
    if not data.strip():
        raise RosterInvalid([RowError(None, None, msg.EMPTY_FILE)])
    if suffix == "xls" or data.startswith(_OLE_MAGIC):
        raise RosterInvalid([RowError(None, None, msg.OLD_XLS)])
    rows: Generator[Row, None, None]
    if suffix in ("xlsx", "xlsm") or data.startswith(_XLSX_MAGIC):
        rows = _xlsx_rows(data)
    else:
        rows = _csv_rows(_decode(data))
    kept: list[Row] = []
    with contextlib.closing(rows) as stream:
        for n, cells in stream:
            if n > files.MAX_ROSTER_ROWS * files.BLANK_ROWS_FACTOR:
                raise _too_many_rows()
            if any(cells):
                kept.append((n, cells))
                if len(kept) > files.MAX_ROSTER_ROWS:
                    raise _too_many_rows()
    if not kept:
        raise RosterInvalid([RowError(None, None, msg.EMPTY_FILE)])
    return kept


def _too_many_rows() -> RosterInvalid:
    """Reading stops at the first row past the limit: the rest is never parsed."""
    return RosterInvalid([RowError.at(None, None, msg.TOO_MANY_ROWS, max=files.MAX_ROSTER_ROWS)])


_HEADER_WORDS = tuple(w for h in HEADERS.values() for w in (h.zh_hans, h.zh_hant))


def _decode(data: bytes) -> str:
    """UTF-8 (strict, so other bytes cannot pass as mojibake), else GB18030 or Big5,
    whichever reads the roster's headers (or, without Chinese headers, everyday text).
    """
    text = files.decode_text(data, _HEADER_WORDS)
    if text is None:
        raise RosterInvalid([RowError(None, None, msg.BAD_ENCODING)])
    return text


def _csv_rows(text: str) -> Generator[Row, None, None]:
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, [c.strip() for c in cells]
    except csv.Error as exc:  # a NUL byte, or a stray quote swallowing the rest of the file
        raise RosterInvalid([RowError.at(None, None, msg.BAD_CSV, line=number + 1)]) from exc


def _xlsx_rows(data: bytes) -> Generator[Row, None, None]:
    """The first sheet's rows, streamed: ``read_rows`` stops at the row limit."""
    from openpyxl import load_workbook  # only XLSX imports pay for openpyxl

    if files.xlsx_too_large(data):
        raise RosterInvalid(
            [RowError.at(None, None, msg.XLSX_TOO_LARGE, max=files.mb(files.MAX_XLSX_UNPACKED))]
        )
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except files.BROKEN_XLSX as exc:
        raise RosterInvalid([RowError(None, None, msg.BAD_XLSX)]) from exc
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # some writers store a wrong <dimension>; read what is there
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(v) for v in values]
    except files.BROKEN_XLSX as exc:
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
