"""The official schedule as the calendar packages publish it, and an estimate beyond it.

Two packages carry the State Council's yearly notices: ``holidays`` (its China calendar,
released monthly, with the 调休 working weekends as ``weekend_workdays``) and
``chinesecalendar``. Compared on holidays 0.108 and chinesecalendar 1.11.0: both hold the
notices through 2026 and agree on every day of 2004–2026 but 2005-12-31 (``tests/test_calendar.py``).
For a day the one publishing the newer year is asked first (``holidays`` on a tie: it names
the holidays in Chinese), then the other. Past both, ``holidays`` still computes the
statutory holidays by rule (春节 from the lunar calendar, a holiday on a weekend moved to
the next weekday) but knows no 调休: that is an estimate, ``official`` False, far better
than Monday–Friday (it keeps 春节 out of a deadline) but not the notice.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import chinese_calendar
import holidays
from holidays.countries.china import China, ChinaStaticHolidays


@dataclass(frozen=True)
class PackagedDay:
    working: bool
    name: str  # the holiday it belongs to, "" if none or unknown
    official: bool  # from a published notice, not an estimate


HOLIDAYS_THROUGH: Final = max(ChinaStaticHolidays.special_public_holidays)
CHINESECALENDAR_THROUGH: Final = max(day.year for day in chinese_calendar.holidays)
CHINESECALENDAR_FROM: Final = min(day.year for day in chinese_calendar.holidays)
HOLIDAYS_FROM: Final = 2001  # its notes: checked against the notices from 2001 on
PUBLISHED_THROUGH: Final = max(HOLIDAYS_THROUGH, CHINESECALENDAR_THROUGH)
PACKAGES: Final = (
    f"holidays {holidays.__version__}",
    f"chinesecalendar {getattr(chinese_calendar, '__version__', '')}".strip(),
)
_SUFFIX = re.compile(r"（[^）]*）$")  # 春节（补假）→ 春节; 休息日（由 … 调休）→ 休息日
_SWAPPED = "休息日"  # a weekday made a rest day by 调休: named after its holiday by the caller


@lru_cache(maxsize=64)
def _china(year: int) -> holidays.HolidayBase:
    return China(years=year, language="zh_CN")


def _holiday_name(year: int, day: dt.date) -> str:
    names = [_SUFFIX.sub("", n) for n in _china(year).get_list(day)]
    return next((n for n in names if n != _SWAPPED), "")


def _from_holidays(day: dt.date, official: bool) -> PackagedDay:
    calendar = _china(day.year)
    return PackagedDay(calendar.is_working_day(day), _holiday_name(day.year, day), official)


def packaged_day(day: dt.date) -> PackagedDay:
    """``day`` as the packages know it: published data first, else the estimate."""
    in_holidays = HOLIDAYS_FROM <= day.year <= HOLIDAYS_THROUGH
    in_chinesecalendar = CHINESECALENDAR_FROM <= day.year <= CHINESECALENDAR_THROUGH
    if in_holidays and (HOLIDAYS_THROUGH >= CHINESECALENDAR_THROUGH or not in_chinesecalendar):
        return _from_holidays(day, official=True)
    if in_chinesecalendar:
        working = bool(chinese_calendar.is_workday(day))
        return PackagedDay(working, _holiday_name(day.year, day), True)
    return _from_holidays(day, official=False)
