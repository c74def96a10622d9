"""The State Council's yearly notice on public holidays (国务院办公厅关于…年部分节假日安排的通知),
as the small TOML file the working group loads (``jixiao calendar import``).

The file follows the notice: one ``[[holiday]]`` per item, its name, first and last day off
and the weekend days worked instead (调休上班), e.g. "春节：2月15日至23日放假调休，共9天。
2月14日（周六）、2月28日（周六）上班。" (``examples/calendar-2026.toml``). It is checked
strictly, every problem listed at once, before anything is stored.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import tomllib
from dataclasses import dataclass
from typing import Any, Final

from domain.text import N_
from services.errors import DomainError
from services.workdays import Day

MAX_FILE_BYTES: Final = 64 * 1024  # a notice has seven items
MAX_HOLIDAYS: Final = 20
MAX_SPAN_DAYS: Final = 15  # the longest break (春节, 2020's extension aside) is 9 days
MAX_NAME: Final = 16
MAX_NOTICE: Final = 200
YEARS: Final = range(2000, 2101)
_TOP_KEYS: Final = {"year", "notice", "holiday"}
_HOLIDAY_KEYS: Final = {"name", "from", "to", "workdays"}


@dataclass(frozen=True)
class NoticeHoliday:
    name: str
    first: dt.date
    last: dt.date
    workdays: tuple[dt.date, ...]


@dataclass(frozen=True)
class CalendarNotice:
    """One year's schedule: every rest day and 调休 working day outside the plain week."""

    year: int
    notice: str
    holidays: tuple[NoticeHoliday, ...]

    def days(self) -> dict[dt.date, Day]:
        found: dict[dt.date, Day] = {}
        for h in self.holidays:
            for n in range((h.last - h.first).days + 1):
                found[h.first + dt.timedelta(days=n)] = Day(False, h.name)
            found |= {w: Day(True, h.name) for w in h.workdays}
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "notice": self.notice,
            "holidays": [
                {
                    "name": h.name,
                    "from": h.first.isoformat(),
                    "to": h.last.isoformat(),
                    "workdays": [w.isoformat() for w in h.workdays],
                }
                for h in self.holidays
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CalendarNotice:
        return cls(
            int(data["year"]),
            str(data.get("notice", "")),
            tuple(
                NoticeHoliday(
                    h["name"],
                    dt.date.fromisoformat(h["from"]),
                    dt.date.fromisoformat(h["to"]),
                    tuple(dt.date.fromisoformat(w) for w in h["workdays"]),
                )
                for h in data["holidays"]
            ),
        )


class CalendarFileInvalid(DomainError):
    """The file was refused; ``problems`` lists every mistake found."""

    def __init__(self, problems: list[DomainError]) -> None:
        super().__init__(N_("The calendar file was not loaded; nothing was changed."))
        self.problems = problems


def _problem(message: str, **params: Any) -> DomainError:
    return DomainError(message, **params)


_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def _toml_problem(exc: tomllib.TOMLDecodeError) -> DomainError:
    """Where the file is malformed, in the reader's language: tomllib explains in English only."""
    found = _AT.search(str(exc))  # Python 3.11-3.13 give the place only inside the message
    if found is None:
        return _problem(N_("The file is malformed: it ends before an entry is complete."))
    line, column = (int(n) for n in found.groups())
    return _problem(
        N_("The file is malformed at line {line}, column {column}."),
        line=line,
        column=column,
    )


def parse_notice(data: bytes) -> CalendarNotice:
    """The notice in ``data`` (UTF-8 TOML), or ``CalendarFileInvalid`` listing every problem."""
    if len(data) > MAX_FILE_BYTES:
        raise CalendarFileInvalid(
            [_problem(N_("The file is larger than {limit} KB."), limit=MAX_FILE_BYTES // 1024)]
        )
    try:
        raw = tomllib.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise CalendarFileInvalid(
            [_problem(N_("The file is not UTF-8 text (save it as UTF-8)."))]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise CalendarFileInvalid([_toml_problem(exc)]) from None
    problems: list[DomainError] = []
    for key in sorted(set(raw) - _TOP_KEYS):
        problems.append(_problem(N_("Unknown key {key}."), key=key))
    year = raw.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or year not in YEARS:
        problems.append(_problem(N_("year must be a year such as 2027.")))
        year = None
    notice = raw.get("notice", "")
    if not isinstance(notice, str) or len(notice) > MAX_NOTICE:
        problems.append(
            _problem(N_("notice must be text of at most {limit} characters."), limit=MAX_NOTICE)
        )
        notice = ""
    items = raw.get("holiday")
    if not isinstance(items, list) or not items or len(items) > MAX_HOLIDAYS:
        problems.append(
            _problem(
                N_("The file needs between 1 and {limit} [[holiday]] entries."), limit=MAX_HOLIDAYS
            )
        )
        items = []
    found = [h for i, item in enumerate(items, 1) if (h := _holiday(i, item, year, problems))]
    if not problems:
        _check_together(found, problems)
    if problems or year is None:
        raise CalendarFileInvalid(problems)
    return CalendarNotice(year, notice.strip(), tuple(sorted(found, key=lambda h: h.first)))


def _holiday(
    number: int, item: object, year: int | None, problems: list[DomainError]
) -> NoticeHoliday | None:
    """One ``[[holiday]]`` entry, its own problems added to ``problems``."""
    if not isinstance(item, dict):
        problems.append(
            _problem(N_("Holiday {number}: expected a [[holiday]] table."), number=number)
        )
        return None
    before = len(problems)
    for key in sorted(set(item) - _HOLIDAY_KEYS):
        problems.append(
            _problem(N_("Holiday {number}: unknown key {key}."), number=number, key=key)
        )
    name = item.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        problems.append(
            _problem(
                N_("Holiday {number}: name must be text of 1 to {limit} characters, e.g. 春节."),
                number=number,
                limit=MAX_NAME,
            )
        )
    first, last = item.get("from"), item.get("to")
    for key, value in (("from", first), ("to", last)):
        if not _is_date(value):
            problems.append(
                _problem(
                    N_("Holiday {number}: {key} must be a date such as 2027-02-06 (no quotes)."),
                    number=number,
                    key=key,
                )
            )
    workdays = item.get("workdays", [])
    if not isinstance(workdays, list) or not all(_is_date(w) for w in workdays):
        problems.append(
            _problem(
                N_(
                    "Holiday {number}: workdays must be a list of dates such as [2027-02-20], or left out."
                ),
                number=number,
            )
        )
        workdays = []
    if len(problems) > before:
        return None
    assert isinstance(name, str) and isinstance(first, dt.date) and isinstance(last, dt.date)
    label = name.strip()
    if last < first:
        problems.append(
            _problem(
                N_("{name}: the last day off ({last}) is before the first ({first})."),
                name=label,
                first=first,
                last=last,
            )
        )
    elif (last - first).days + 1 > MAX_SPAN_DAYS:
        problems.append(
            _problem(
                N_("{name}: more than {limit} days off in a row; please check the dates."),
                name=label,
                limit=MAX_SPAN_DAYS,
            )
        )
    for day in [first, last, *workdays]:
        if year is not None and not _belongs(day, year):
            problems.append(
                _problem(
                    N_("{name}: {date} is not in {year} (nor in the December before it)."),
                    name=label,
                    date=day,
                    year=str(year),
                )
            )
    for day in workdays:
        if day.weekday() < 5:
            problems.append(
                _problem(
                    N_(
                        "{name}: {date} is a weekday; the working days of 调休 are weekend days made working days."
                    ),
                    name=label,
                    date=day,
                )
            )
    return NoticeHoliday(label, first, last, tuple(sorted(set(workdays))))


def _check_together(found: list[NoticeHoliday], problems: list[DomainError]) -> None:
    """No two holidays overlap, and no working day of 调休 falls in a holiday."""
    ordered = sorted(found, key=lambda h: h.first)
    for a, b in itertools.pairwise(ordered):
        if b.first <= a.last:
            problems.append(_problem(N_("{a} and {b} overlap."), a=a.name, b=b.name))
    seen: set[dt.date] = set()
    for h in ordered:
        for day in h.workdays:
            if day in seen:
                problems.append(_problem(N_("{date} is listed twice as a working day."), date=day))
            seen.add(day)
            holder = next((o for o in ordered if o.first <= day <= o.last), None)
            if holder is not None:
                problems.append(
                    _problem(
                        N_("{name}: the working day {date} falls within {holiday}."),
                        name=h.name,
                        date=day,
                        holiday=holder.name,
                    )
                )


def _is_date(value: object) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _belongs(day: dt.date, year: int) -> bool:
    """A notice covers its year and may start 元旦 in the December before (2018-12-30)."""
    return day.year == year or (day.year == year - 1 and day.month == 12)
