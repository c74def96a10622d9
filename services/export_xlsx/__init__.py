"""The Excel workbook the working group files for a cycle (五(二)3, 二(三)1).

``workbook(facts, tr)`` renders ``services.cycle_facts`` into one sheet per subject, in
the reader's language and script: results, breakdown, grades, the citizen survey, 差评 and
their handling, appeals, plans, participation and the raw answers (peer raters only as
pseudonyms). Telegram-free: the CLI writes the bytes to a file, the chat queues them as a
document in the outbox.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.labels import PHASE_LABELS
from domain.period import parse_period
from domain.text import N_
from infra.i18n import Translator
from infra.models import Cycle
from services import cycle_facts
from services.audit import audit
from services.cycle_facts import CycleFacts
from services.cycles import cycle_by_period
from services.errors import DomainError
from services.export_xlsx.layout import add_sheet
from services.export_xlsx.sheets import SHEETS
from services.templates import localized

__all__ = ["Exported", "export", "filename", "prepare", "workbook", "workbook_in"]


@dataclass(frozen=True)
class Exported:
    facts: CycleFacts
    filename: str
    data: bytes


async def prepare(
    session: AsyncSession,
    period: str | None,
    tr: Translator,
    *,
    now: dt.datetime,
    actor_label: str = "",
    actor_telegram_id: int | None = None,
    actor_staff_id: int | None = None,
) -> CycleFacts:
    """The facts of the cycle of ``period`` (as typed; None: the latest cycle), the export
    audited in the caller's transaction.

    Refused with a ``DomainError`` for a period that is not one, a cycle that does not exist
    and a cycle not yet collecting (nothing to file). Who may export is the caller's check.
    """
    if period is None:
        cycle = await session.scalar(select(Cycle).order_by(Cycle.id.desc()).limit(1))
        if cycle is None:
            raise DomainError(N_("No cycles yet."))
    else:
        parsed = parse_period(period)
        if parsed is None:
            raise DomainError(
                N_("Not a period: {period}. Use 2026Q4 for a quarter or 2026 for a year."),
                period=period,
            )
        cycle = await cycle_by_period(session, str(parsed))
    if cycle.collecting_since is None:
        raise DomainError(
            N_("The cycle {period} has not collected any answers yet."), period=cycle.period
        )
    facts = await cycle_facts.load(session, cycle, tz=tr.tz, now=now)
    await audit(
        session,
        "cycle.export",
        actor_label=actor_label,
        actor_telegram_id=actor_telegram_id,
        actor_staff_id=actor_staff_id,
        object_type="cycle",
        object_id=cycle.period,
        detail={"locale": tr.locale, "people": len(facts.people), "answers": len(facts.answers)},
        at=now,
    )
    return facts


async def export(
    session: AsyncSession,
    period: str | None,
    tr: Translator,
    *,
    now: dt.datetime,
    actor_label: str = "",
    actor_telegram_id: int | None = None,
    actor_staff_id: int | None = None,
) -> Exported:
    """``prepare`` and the workbook, drawn here (the command line has no loop to keep free)."""
    facts = await prepare(
        session,
        period,
        tr,
        now=now,
        actor_label=actor_label,
        actor_telegram_id=actor_telegram_id,
        actor_staff_id=actor_staff_id,
    )
    return Exported(facts, filename(facts), workbook(facts, tr, now=now))


def workbook_in(facts: CycleFacts, locale: str, zone: str, now: dt.datetime) -> bytes:
    """``workbook`` from plain arguments, for a worker process (a translator does not pickle)."""
    return workbook(facts, Translator(locale, ZoneInfo(zone)), now=now)


def filename(facts: CycleFacts) -> str:
    """``jixiao-2026Q4.xlsx``: ASCII, so every mail client and file system keeps it."""
    return f"jixiao-{facts.period}.xlsx"


def workbook(facts: CycleFacts, tr: Translator, *, now: dt.datetime) -> bytes:
    """The whole workbook as .xlsx bytes."""
    book = Workbook()
    book.remove(book.active)
    subtitle = tr._("Indicator system: {template}. Status: {phase}. Exported {time}.").format(
        template=localized(facts.template_name, tr.locale),
        phase=tr._(PHASE_LABELS[facts.phase]),
        time=tr.datetime(now, weekday=False),
    )
    # Excel's page codes put where the reader's words put numbers: 第 &P 页 共 &N 页
    footer = tr._("Page {page} of {pages}").format(page="&P", pages="&N")
    for build in SHEETS:
        sheet = build(facts, tr)
        add_sheet(
            book,
            sheet.name,
            title=tr._("{bureau} performance evaluation, {period}: {sheet}").format(
                bureau=localized(facts.bureau, tr.locale),
                period=tr.period(facts.period),
                sheet=sheet.name,
            ),
            subtitle=subtitle,
            columns=sheet.columns,
            rows=sheet.rows,
            tz=tr.tz,
            footer=footer,
            freeze_columns=sheet.freeze_columns,
        )
    book.properties.title = tr.period(facts.period)
    book.properties.creator = "jixiao"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
