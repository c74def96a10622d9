"""The bureau's calendar: the notices the working group loaded, over the packages' data.

Every service that computes a deadline asks ``calendar(session)`` for the ``WorkCalendar``
(one small read: a row per loaded year) and, when the deadline falls in a year with no
official schedule, calls ``warn_unofficial``: the working group's admins are told once per
year, in the chat, how to load the State Council's notice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.text import N_, html_format
from infra.models import AuditEntry, OfficialCalendar
from services.access import admin_accounts
from services.audit import audit
from services.calendar_notice import CalendarNotice
from services.notices import DEFAULTS, Localization, translator
from services.outbox import enqueue
from services.workdays import Day, WorkCalendar

EXAMPLE_FILE: Final = "examples/calendar-2026.toml"
WARNED: Final = "calendar.unofficial"  # the audit action recording that the admins were told

UNOFFICIAL = N_(
    "No official holiday schedule for {year} is loaded: the deadline {date} was counted on the statutory holidays alone, without the weekend working days (调休) of the State Council's notice, and may be a day or two off. When the notice for {year} is published, please have it loaded with <code>jixiao calendar import FILE</code> (the format: {example}). This notice is sent once for {year}."
)


async def calendar(session: AsyncSession) -> WorkCalendar:
    """The calendar with every loaded notice laid over the packages' data."""
    days: dict[dt.date, Day] = {}
    years: set[int] = set()
    for row in await session.scalars(select(OfficialCalendar).order_by(OfficialCalendar.year)):
        days |= CalendarNotice.from_json(row.content).days()
        years.add(row.year)
    return WorkCalendar(days, frozenset(years))


async def loaded(session: AsyncSession, year: int) -> OfficialCalendar | None:
    return await session.get(OfficialCalendar, year)


async def import_notice(
    session: AsyncSession, notice: CalendarNotice, *, actor_label: str, now: dt.datetime
) -> bool:
    """Store ``notice`` for its year (replacing one loaded before: True) and audit it."""
    row = await session.get(OfficialCalendar, notice.year)
    replaced = row is not None
    if row is None:
        row = OfficialCalendar(year=notice.year, content={})
        session.add(row)
    row.notice, row.content = notice.notice, notice.to_json()
    row.imported_at, row.imported_by = now, actor_label[:64]
    await audit(
        session,
        "calendar.import",
        actor_label=actor_label,
        object_type="calendar",
        object_id=str(notice.year),
        detail={"replaced": replaced, **notice.to_json()},
        at=now,
    )
    await session.flush()
    return replaced


async def warn_unofficial(
    session: AsyncSession,
    cal: WorkCalendar,
    deadlines: Iterable[dt.datetime | dt.date],
    *,
    admin_ids: frozenset[int] | None = frozenset(),
    local: Localization = DEFAULTS,
) -> int | None:
    """If a deadline falls in a year without an official schedule, tell the working group's
    admins and return that year, else None.

    Once per year: the audit entry ``calendar.unofficial`` says it was done (the outbox's
    dedupe key alone would forget it when finished rows are pruned after 30 days), and the
    dedupe key covers two transactions racing to be first.
    """
    days = [d.astimezone(local.tz).date() if isinstance(d, dt.datetime) else d for d in deadlines]
    year = cal.unofficial_year(days, local.tz)
    if year is None:
        return None
    told = select(AuditEntry.id).where(
        AuditEntry.action == WARNED, AuditEntry.object_id == str(year)
    )
    if await session.scalar(told.limit(1)) is not None:
        return year
    first = min(d for d in days if d.year == year)
    for telegram_id, language in await admin_accounts(session, admin_ids):
        tr = translator(language, local)
        text = html_format(
            tr._(UNOFFICIAL), year=str(year), date=tr.date(first), example=EXAMPLE_FILE
        )
        await enqueue(session, telegram_id, str(text), dedupe_key=f"calendar:{year}:{telegram_id}")
    await audit(
        session,
        WARNED,
        actor_label="calendar",
        object_type="calendar",
        object_id=str(year),
        detail={"deadline": first.isoformat()},
    )
    return year
