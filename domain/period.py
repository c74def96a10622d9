"""Evaluation periods: ``2026Q4`` is a quarter, ``2026`` a year (四(一))."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from domain.enums import CycleKind

_PERIOD = re.compile(r"^(\d{4})(?:[Qq]([1-4]))?$")
# the same period as people write it: 2026年第四季度, 2026年第4季度, 2026年度, Q4 2026
_WRITTEN = (
    re.compile(r"^(\d{4})\s*年\s*第\s*([1-4一二三四])\s*季度?$"),
    re.compile(r"^(\d{4})\s*年度?$"),
    re.compile(r"^[Qq]([1-4])\s+(\d{4})$"),
)
_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4"}


@dataclass(frozen=True, slots=True)
class Period:
    """A quarter or a year; ``str()`` is the canonical form used in the database and commands."""

    year: int
    quarter: int | None = None

    @property
    def kind(self) -> CycleKind:
        return CycleKind.ANNUAL if self.quarter is None else CycleKind.QUARTER

    def __str__(self) -> str:
        return f"{self.year}" if self.quarter is None else f"{self.year}Q{self.quarter}"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 1 if self.quarter is None else 3 * self.quarter - 2, 1)

    @property
    def last_day(self) -> dt.date:
        if self.quarter is None or self.quarter == 4:
            return dt.date(self.year, 12, 31)
        return dt.date(self.year, 3 * self.quarter + 1, 1) - dt.timedelta(days=1)

    def contains(self, day: dt.date) -> bool:
        return self.first_day <= day <= self.last_day

    def utc_bounds(self, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) of the period in the bureau's time zone, as UTC instants."""
        start = dt.datetime.combine(self.first_day, dt.time(), tzinfo=tz)
        end = dt.datetime.combine(self.last_day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def parse_period(text: str) -> Period | None:
    """A period typed as the code (2026Q4, 2026q4, 2026) or as written (2026年第四季度)."""
    text = _code(text.strip())
    match = _PERIOD.match(text)
    if match is None or not 2000 <= int(match.group(1)) <= 2100:
        return None
    return Period(int(match.group(1)), int(match.group(2)) if match.group(2) else None)


def current_quarter(day: dt.date) -> Period:
    return Period(day.year, (day.month - 1) // 3 + 1)


def _code(text: str) -> str:
    """2026年第四季度 → 2026Q4, 2026年度 → 2026, Q4 2026 → 2026Q4; anything else unchanged."""
    quarter, year, english = _WRITTEN
    if found := quarter.match(text):
        return f"{found.group(1)}Q{_DIGITS.get(found.group(2), found.group(2))}"
    if found := year.match(text):
        return found.group(1)
    if found := english.match(text):
        return f"{found.group(2)}Q{found.group(1)}"
    return text
