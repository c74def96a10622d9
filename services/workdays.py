"""Working days on the official Chinese calendar (法定节假日 and 调休 make-up working days).

Deadlines of the regulation are counted in working days (工作日): public holidays do not
count, and the weekend days that the State Council's yearly notice turns into working days
(调休, e.g. Sunday 2025-09-28 and Saturday 2025-10-11 around 国庆) do count. Every deadline
of the bot (a cycle's, an extension, a rectification's, an appeal's, a plan's milestones) is
computed through one ``WorkCalendar``, which answers each day from, in this order:

1. a notice the working group loaded (``jixiao calendar import``, ``services.official_calendar``);
2. the packages' published schedules (``services.calendar_packages``: ``holidays``, then
   ``chinesecalendar``), for the years the State Council has published;
3. an estimate for any later year: the statutory holidays by rule, with no 调休 (the notice
   for a year comes out in November before it). Such a day is not official, and whoever
   computes a deadline on it says so (``unofficial_year``).

Pure: no clock, no database; the loaded notices come in as values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.calendar_packages import PackagedDay, packaged_day

END_OF_DAY = dt.time(23, 59, 59)


class Source(StrEnum):
    """Where a year's schedule comes from (``WorkCalendar.source``)."""

    NOTICE = "notice"  # loaded by the working group from the State Council's notice
    PACKAGE = "package"  # published in a calendar package
    ESTIMATE = "estimate"  # no official data: statutory holidays by rule, no 调休


@dataclass(frozen=True)
class Day:
    """One day of the calendar: working or not, and the holiday it belongs to ("" if none)."""

    working: bool
    name: str = ""


@dataclass(frozen=True)
class WorkCalendar:
    """The official calendar with the notices loaded into the database laid over the packages'.

    ``days`` are the loaded notices' rest days and 调休 working days; in a year of
    ``notice_years`` any other day is a working day from Monday to Friday, as the notice
    lists every exception of its year.
    """

    days: Mapping[dt.date, Day] = field(default_factory=dict)
    notice_years: frozenset[int] = frozenset()

    def source(self, year: int) -> Source:
        if year in self.notice_years:
            return Source.NOTICE
        return Source.PACKAGE if packaged_day(dt.date(year, 1, 1)).official else Source.ESTIMATE

    def is_official(self, year: int) -> bool:
        return self.source(year) is not Source.ESTIMATE

    def day(self, day: dt.date) -> Day:
        if day in self.days:
            return self.days[day]
        if day.year in self.notice_years:
            return Day(day.weekday() < 5)
        found: PackagedDay = packaged_day(day)
        return Day(found.working, found.name)

    def is_working_day(self, day: dt.date) -> bool:
        return self.day(day).working

    def nth_working_day_after(self, day: dt.date, days: int) -> dt.date:
        """The ``days``-th working day strictly after ``day`` (``days`` = 0: ``day`` itself)."""
        if days < 0:
            raise ValueError("days must not be negative")
        current, counted = day, 0
        while counted < days:
            current += dt.timedelta(days=1)
            if self.is_working_day(current):
                counted += 1
        return current

    def next_working_day(self, day: dt.date) -> dt.date:
        """``day`` if it is a working day, else the first working day after it: a date the bot
        suggests (a deadline, a milestone) never falls on a weekend or a public holiday."""
        return day if self.is_working_day(day) else self.nth_working_day_after(day, 1)

    def add_working_days(self, start: dt.datetime, days: int, tz: ZoneInfo) -> dt.datetime:
        """The end (23:59:59 local) of the N-th working day after ``start``'s local date, in UTC.

        The day of ``start`` itself never counts, whatever the hour: a 差评 received on a
        Friday evening with ``days=1`` is due at the end of the next working day. ``start``
        must be timezone-aware; ``days`` = 0 gives the end of ``start``'s own local day.
        """
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("start must be timezone-aware")
        due = self.nth_working_day_after(start.astimezone(tz).date(), days)
        return end_of_day(due, tz)

    def unofficial_year(self, days: Iterable[dt.date | dt.datetime], tz: ZoneInfo) -> int | None:
        """The first year among ``days`` (dates, or instants read in ``tz``) that has no official
        schedule: a deadline there was counted on an estimate and the admins must be told."""
        years = sorted(
            {(d.astimezone(tz).date() if isinstance(d, dt.datetime) else d).year for d in days}
        )
        return next((y for y in years if not self.is_official(y)), None)


def end_of_day(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """23:59:59 of ``day`` in the bureau's time zone, in UTC: when a deadline ends."""
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=tz).astimezone(dt.UTC)


PACKAGED = WorkCalendar()
"""The packages' calendar alone: for callers with no database (and tests of the packages)."""
