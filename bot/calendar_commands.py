"""``jixiao calendar …``: load the State Council's holiday notice for a year, show a year.

Deadlines count working days on this calendar (``services.workdays``); a year the packages
do not hold is estimated until its notice is loaded here.
"""

from __future__ import annotations

import argparse
import datetime as dt

from babel.dates import format_date

from bot.cli_errors import CliFailure
from bot.commands import open_database
from infra.config import Settings
from infra.db import make_sessions
from infra.i18n import Translator
from infra.models.types import utcnow
from services import official_calendar
from services.calendar_notice import CalendarFileInvalid, parse_notice
from services.calendar_packages import PACKAGES, PUBLISHED_THROUGH
from services.calendar_view import YearView, year_view
from services.files import read_limited
from services.official_calendar import EXAMPLE_FILE
from services.templates import localized
from services.workdays import Source, WorkCalendar


def unofficial_note(cal: WorkCalendar, day: dt.date, tr: Translator) -> str | None:
    """What the CLI says beside a deadline counted on an estimated year, else None."""
    if cal.is_official(day.year):
        return None
    return tr._(
        "Note: there is no official holiday schedule for {year} yet, so working days there are estimated (statutory holidays, no weekend working days of 调休). Load the State Council's notice with: jixiao calendar import FILE (format: {example})."
    ).format(year=day.year, example=EXAMPLE_FILE)


async def calendar(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    engine = await open_database(settings, tr)
    sessions = make_sessions(engine)
    try:
        if args.calendar_command == "import":
            try:
                notice = parse_notice(read_limited(args.file))
            except CalendarFileInvalid as exc:
                lines = [exc.plain(tr), *(f"  {p.plain(tr)}" for p in exc.problems)]
                raise CliFailure("\n".join(lines)) from None
            async with sessions.begin() as session:
                replaced = await official_calendar.import_notice(
                    session, notice, actor_label="cli", now=utcnow()
                )
                cal = await official_calendar.calendar(session)
            message = (
                tr._("The holiday schedule of {year} was replaced.")
                if replaced
                else tr._("The holiday schedule of {year} was loaded.")
            )
            print(message.format(year=notice.year))
            print(show(year_view(cal, notice.year), tr, notice.notice))
            return 0
        year = _year(args.year, tr)
        async with sessions() as session:
            cal = await official_calendar.calendar(session)
            row = await official_calendar.loaded(session, year)
        print(
            show(
                year_view(cal, year),
                tr,
                row.notice if row else "",
                row.imported_at if row else None,
            )
        )
        return 0
    finally:
        await engine.dispose()


def _year(text: str, tr: Translator) -> int:
    if not text.isdigit() or not 1901 <= int(text) <= 2099:
        raise CliFailure(tr._("Not a year: {text}. Write it like 2027.").format(text=text))
    return int(text)


def show(
    view: YearView, tr: Translator, notice: str = "", imported: dt.datetime | None = None
) -> str:
    """The year as the notice reads: source, breaks, 调休 working weekends, days per month."""
    if view.source is Source.NOTICE:
        source = tr._("the State Council's notice loaded with jixiao calendar import")
        if imported is not None:
            source += tr.paren(tr.date(imported))
        if notice:
            source = tr.label(source, notice)
    elif view.source is Source.PACKAGE:
        source = tr._("the State Council's notices as published in {packages}").format(
            packages=tr.join(PACKAGES)
        )
    else:
        source = tr._(
            "no official data (the packages hold the notices to {year}): statutory holidays estimated, without the weekend working days of 调休; load the notice with jixiao calendar import FILE"
        ).format(year=PUBLISHED_THROUGH)
    lines = [
        tr._("Working calendar {year}").format(year=view.year),
        tr.label(tr._("Data source"), source),
        "",
        tr.label(tr._("Days off"), "").rstrip(),
    ]
    for b in view.breaks:
        span = tr.ngettext(
            "{first} to {last}, {count} day", "{first} to {last}, {count} days", b.days
        )
        lines.append(
            f"  {localized(b.name, tr.locale)}  "
            + span.format(first=tr.date(b.first), last=tr.date(b.last), count=b.days)
        )
    worked = tr.label(tr._("Weekend days worked (调休)"), "" if view.workdays else tr._("none"))
    lines += ["", worked.rstrip()]
    for day, name in view.workdays:
        lines.append(
            f"  {tr.date(day, weekday=True)}"
            + (tr.paren(localized(name, tr.locale)) if name else "")
        )
    lines += ["", tr.label(tr._("Working days by month"), "").rstrip()]
    for month, count in enumerate(view.per_month, 1):
        name = format_date(dt.date(view.year, month, 1), "LLLL", locale=tr.locale)
        lines.append(f"  {tr.label(name, count)}")
    lines.append(
        tr.label(
            tr._("The whole year"),
            tr.ngettext("{count} working day", "{count} working days", view.total).format(
                count=view.total
            ),
        )
    )
    return "\n".join(lines)
