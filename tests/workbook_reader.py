"""Reading an exported workbook back in tests: each sheet as header → value rows."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import openpyxl
from openpyxl.workbook import Workbook

HEADER_ROW = 3


def load(data: bytes) -> Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def records(book: Workbook, sheet: str) -> list[dict[str, Any]]:
    """The data rows of ``sheet`` as {header: value}."""
    ws = book[sheet]
    rows = list(ws.iter_rows(min_row=HEADER_ROW, values_only=True))
    headers = [str(h) for h in rows[0]]
    return [dict(zip(headers, row, strict=True)) for row in rows[1:]]


def dec(value: Any) -> Decimal | None:
    """A number cell as an exact Decimal (openpyxl reads floats back)."""
    return None if value is None else Decimal(str(value))


def pct(value: Any) -> Decimal | None:
    """A percent cell (0.667) as the percent figure it shows (66.7)."""
    return None if value is None else (Decimal(str(value)) * 100).quantize(Decimal("0.1"))
