"""Evaluation periods: ``2026Q4`` is a quarter, ``2026`` a year (四(一))."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from domain.enums import CycleKind

_PERIOD = re.compile(r"^(\d{4})(?:[Qq]([1-4]))?$")


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
    match = _PERIOD.match(text.strip())
    if match is None or not 2000 <= int(match.group(1)) <= 2100:
        return None
    return Period(int(match.group(1)), int(match.group(2)) if match.group(2) else None)


def current_quarter(day: dt.date) -> Period:
    return Period(day.year, (day.month - 1) // 3 + 1)
