"""One year of the calendar as the working group checks it against the notice
(``jixiao calendar show``): its breaks, its 调休 working weekends, working days per month.

Computed from the ``WorkCalendar`` itself, so it shows what deadlines are counted on,
whatever the source. Pure.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from services.workdays import Source, WorkCalendar


@dataclass(frozen=True)
class Break:
    """Consecutive days off around a holiday, as the notice writes them (2月15日至23日，共9天)."""

    name: str
    first: dt.date
    last: dt.date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class YearView:
    year: int
    source: Source
    breaks: tuple[Break, ...]
    workdays: tuple[tuple[dt.date, str], ...]  # weekend days worked (调休上班), their holiday or ""
    per_month: tuple[int, ...]  # working days, January first

    @property
    def total(self) -> int:
        return sum(self.per_month)


def year_view(cal: WorkCalendar, year: int) -> YearView:
    days = [dt.date(year, 1, 1) + dt.timedelta(days=n) for n in range(_length(year))]
    entries = {d: cal.day(d) for d in days}
    breaks: list[Break] = []
    run: list[dt.date] = []
    for d in [*days, None]:
        if d is not None and not entries[d].working:
            run.append(d)
            continue
        names = Counter(entries[r].name for r in run if entries[r].name)
        if names:
            breaks.append(Break(names.most_common(1)[0][0], run[0], run[-1]))
        run = []
    # the packages do not say which holiday a 调休 day belongs to; a guess could be wrong
    # (Sunday 2026-09-20 is nearer 中秋 but belongs to 国庆), so only a notice names it
    worked = tuple((d, entries[d].name) for d in days if d.weekday() >= 5 and entries[d].working)
    per_month = tuple(
        sum(1 for d in days if d.month == m and entries[d].working) for m in range(1, 13)
    )
    return YearView(year, cal.source(year), tuple(breaks), worked, per_month)


def _length(year: int) -> int:
    return (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days
