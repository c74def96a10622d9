"""Working days on the official Chinese calendar (法定节假日 and 调休 make-up working days).

Deadlines of the regulation are counted in working days (工作日): public holidays do not
count, and the weekend days that the State Council's yearly schedule turns into working
days (调休, e.g. Sunday 2025-09-28 and Saturday 2025-10-11 around 国庆) do count. The
schedule comes from the ``chinesecalendar`` package (``chinese_calendar.is_workday``),
which covers the years the State Council has published (2004 to the package's latest
year). For a date outside those years — a schedule not yet published, typically late in
December for the next year — we fall back to Monday–Friday; a new release of the package
fixes such dates without a code change. Pure functions: no clock, no database.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar

END_OF_DAY = dt.time(23, 59, 59)


def is_working_day(day: dt.date) -> bool:
    """True on an official working day; Mon–Fri for years the package does not cover."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # "no available data for year …"
        return day.weekday() < 5


def nth_working_day_after(day: dt.date, days: int) -> dt.date:
    """The ``days``-th working day strictly after ``day`` (``days`` = 0: ``day`` itself)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = day
    counted = 0
    while counted < days:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            counted += 1
    return current


def next_working_day(day: dt.date) -> dt.date:
    """``day`` if it is a working day, else the first working day after it: a date the bot
    suggests (a deadline, a milestone) never falls on a weekend or a public holiday."""
    return day if is_working_day(day) else nth_working_day_after(day, 1)


def add_working_days(start: dt.datetime, days: int, tz: ZoneInfo) -> dt.datetime:
    """The end (23:59:59 local) of the N-th working day after ``start``'s local date, in UTC.

    The day of ``start`` itself never counts, whatever the hour: a 差评 received on a
    Friday evening with ``days=1`` is due at the end of the next working day. ``start``
    must be timezone-aware; ``days`` = 0 gives the end of ``start``'s own local day.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    local_day = start.astimezone(tz).date()
    due = nth_working_day_after(local_day, days)
    return dt.datetime.combine(due, END_OF_DAY, tzinfo=tz).astimezone(dt.UTC)
