"""One printable sheet: a title row, a subtitle, frozen headers, formats, widths, print setup.

Made to be printed and filed: A4, fit to the page width (as many pages down as it takes),
the header row repeated on every page, page numbers in the footer. Text is written as
text whatever it begins with (``=``, ``+``, ``-``, ``@``, a tab or CR would otherwise be
read as a formula, or be one once someone edits the cell): its type is string and it
carries Excel's quote prefix, so it shows and stays exactly as typed.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Final

from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
SHEET_NAME_MAX: Final = 31  # Excel's limit
_FORBIDDEN: Final = str.maketrans({c: "_" for c in "[]:*?/\\"})
HEADER_ROW: Final = 3  # row 1 the title, row 2 the subtitle
MAX_WIDTH: Final = 60  # wider text wraps
_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="E8EEF4")


class Kind(Enum):
    """How a column's values are written and shown."""

    TEXT = "@"
    INT = "0"
    SCORE = "0.00"  # scores and means: two decimals
    PERCENT = "0.0%"  # a percent figure such as 66.7 is written as 0.667
    DATETIME = "yyyy-mm-dd hh:mm"  # in the bureau's time zone
    DATE = "yyyy-mm-dd"


@dataclass(frozen=True)
class Column:
    header: str  # already translated
    kind: Kind = Kind.TEXT


Value = str | int | Decimal | dt.datetime | dt.date | None


def display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet font: CJK (wide and full-width) characters two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def sheet_name(name: str) -> str:
    """A valid sheet name: no ``[]:*?/\\``, at most 31 characters."""
    return name.translate(_FORBIDDEN)[:SHEET_NAME_MAX]


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def _shown(value: Value, kind: Kind) -> str:
    """How wide a value is as shown, for the column width."""
    if value is None:
        return ""
    if kind is Kind.SCORE:
        return f"{Decimal(str(value)):.2f}"
    if kind is Kind.PERCENT:
        return f"{Decimal(str(value)):.1f}%"
    if kind is Kind.DATETIME:
        return "2026-12-31 23:59"
    if kind is Kind.DATE:
        return "2026-12-31"
    return str(value)


def _cell_value(value: Value, kind: Kind, tz: dt.tzinfo) -> Value:
    if value is None:
        return None
    if kind is Kind.PERCENT:
        return Decimal(str(value)) / 100
    if kind is Kind.DATETIME and isinstance(value, dt.datetime):
        # Excel has no time zones: the bureau's wall-clock time, as the reader reads it
        return value.astimezone(tz).replace(tzinfo=None, microsecond=0)
    return value


def add_sheet(
    book: Workbook,
    name: str,
    *,
    title: str,
    subtitle: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Value]],
    tz: dt.tzinfo,
    footer: str,
    freeze_columns: int = 0,
) -> Worksheet:
    """Write one sheet; ``rows`` hold plain values in the columns' order; ``footer`` is the
    page footer in Excel's codes (``&P`` the page, ``&N`` the pages), in the reader's words."""
    ws = book.create_sheet(sheet_name(name))
    last = get_column_letter(len(columns))
    ws.append([title])
    ws.append([subtitle])
    ws.merge_cells(f"A1:{last}1")
    ws.merge_cells(f"A2:{last}2")
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws["A2"].alignment = Alignment(horizontal="left")
    ws.row_dimensions[1].height = 24
    for col, column in enumerate(columns, 1):
        cell = ws.cell(HEADER_ROW, col)
        _put_text(cell, column.header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    widths = [display_width(c.header) for c in columns]
    for r, row in enumerate(rows, HEADER_ROW + 1):
        for col, (column, value) in enumerate(zip(columns, row, strict=True), 1):
            cell = ws.cell(r, col)
            if column.kind is Kind.TEXT or isinstance(value, str):
                _put_text(cell, "" if value is None else str(value))
                long = display_width(str(value or "")) > MAX_WIDTH
                cell.alignment = Alignment(vertical="top", wrap_text=long)
            else:
                cell.value = _cell_value(value, column.kind, tz)
                cell.number_format = column.kind.value
                cell.alignment = Alignment(vertical="top")
            cell.border = _BORDER
            lines = _shown(value, column.kind).splitlines() or [""]
            widths[col - 1] = max(widths[col - 1], *(display_width(x) for x in lines))
    for col, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(col)].width = min(width, MAX_WIDTH) + 2
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, freeze_columns + 1)
    _print_setup(ws, last, HEADER_ROW + len(rows), sum(min(w, MAX_WIDTH) + 2 for w in widths))
    ws.oddFooter.center.text = footer
    return ws


def _put_text(cell: Cell, text: str) -> None:
    """A string cell, never a formula: typed as text, quote-prefixed when it looks like one."""
    cell.value = text
    cell.data_type = "s"  # openpyxl made "=…" a formula
    if is_formula_like(text):
        cell.quotePrefix = True


def _print_setup(ws: Worksheet, last: str, last_row: int, width: int) -> None:
    ws.print_area = f"A1:{last}{max(last_row, HEADER_ROW)}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if width > 100 else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as the rows need
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
