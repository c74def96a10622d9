"""The annual roll-up in the chat and on the command line (四(一), 六).

``/annual [YEAR]`` (working group and leadership group): the grade distribution, the
award lists (应急管理先进个人, 应急管理先进集体, with who is excluded and why) and the
consecutive-year flags, in one message under Telegram's 4,096 characters — long lists
are cut with a count of the rest, and the full table comes as a CSV on a button.
``/history`` (any linked staff member): every published result of the caller's own,
quarterly and annual, with grade and rank in unit, and their roll-up per year. It
never shows anyone else's result. The words shared with the CLI (``jixiao annual YEAR``,
``bot.annual_table``) and the CSV are in ``services.annual_text``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from telegram import InputFile, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from chat.callbacks import Callbacks
from chat.context import JxContext
from chat.flow import answer_query, reply
from conversations.common import audit_actor, keyboard, load_caller
from domain.period import parse_period
from domain.text import clip_html, escape, html_format, html_len
from infra.i18n import Translator
from services import annual
from services.annual import AnnualReport, PersonHistory
from services.annual_text import (
    basis,
    csv_bytes,
    distribution,
    grade_label,
    number,
    period_label,
    sections,
    weight,
)
from services.audit import audit

LIMIT = 4000  # UTF-16 units as Telegram counts them, below its 4,096

CB = Callbacks("an1", "annual")
CSV = CB.action("csv", int)  # an1:csv:<year>: the year's full table as a CSV file


def _html_sections(report: AnnualReport, tr: Translator) -> list[tuple[str, list[str]]]:
    return [(title, [escape(i) for i in items]) for title, items in sections(report, tr)]


def fit(
    head: list[str], parts: list[tuple[str, list[str]]], tr: Translator, limit: int = LIMIT
) -> str:
    """Head and sections in at most ``limit`` characters: long lists lose their tails first,
    each cut list saying how many it leaves out.
    """
    cap = max((len(items) for _, items in parts), default=0)
    while True:
        lines = [*head]
        for title, items in parts:
            lines += ["", title]
            if not items:
                lines.append(tr._("(none)"))
            lines += items[:cap]
            if len(items) > cap:
                rest = len(items) - cap
                lines.append(
                    html_format(
                        tr.ngettext("… and {count} more", "… and {count} more", rest), count=rest
                    )
                )
        text = "\n".join(lines)
        if html_len(text) <= limit or cap == 0:
            return clip_html(text, limit)
        cap = min(cap - 1, cap * 3 // 4)


def summary_text(report: AnnualReport, tr: Translator, limit: int = LIMIT) -> str:
    """The chat summary for the working group and the leadership group (HTML)."""
    head: list[str] = [
        html_format(tr._("<b>Annual results {year}</b>"), year=report.year),
        *(escape(line) for line in basis(report, tr)),
    ]
    head.append(
        html_format(
            tr.ngettext(
                "{count} person: {distribution}",
                "{count} people: {distribution}",
                len(report.people),
            ),
            count=len(report.people),
            distribution=distribution(report.people, tr),
        )
    )
    head.append(
        html_format(
            tr.ngettext(
                "{count} unit: {distribution}", "{count} units: {distribution}", len(report.units)
            ),
            count=len(report.units),
            distribution=distribution(report.units, tr),
        )
    )
    return fit(head, _html_sections(report, tr), tr, limit)


def history_text(
    history: PersonHistory, tr: Translator, *, name: str = "", limit: int = LIMIT
) -> str:
    """A person's own published results, newest year first, with the year's roll-up."""
    title = (
        html_format(tr._("<b>{name}, your results</b>"), name=name)
        if name
        else tr._("<b>Your results</b>")
    )
    if not history.entries:
        return title + "\n" + tr._("You have no published results yet.")
    quarter, annual_weight = history.weights
    blocks: list[list[str]] = []
    years = sorted({p.year for e in history.entries if (p := parse_period(e.period))}, reverse=True)
    for year in years:
        block = ["", f"<b>{year}</b>"]
        rolled = history.years.get(year)
        if rolled is not None:
            block.append(
                html_format(
                    tr._("Year: {total} ({grade}), rank in unit {rank}"),
                    total=number(rolled.total),
                    grade=grade_label(rolled.grade, tr),
                    rank=rolled.rank_in_unit or "—",
                )
            )
            if rolled.annual is None:
                basis = tr._("quarters only: the annual assessment is not published yet")
            elif not rolled.quarters:
                basis = tr._("the annual assessment only")
            else:
                basis = html_format(
                    tr._("mean of the quarters {quarters}% + annual assessment {annual}%"),
                    quarters=weight(quarter),
                    annual=weight(annual_weight),
                )
            block.append("  " + basis)
        for e in history.entries:
            p = parse_period(e.period)
            if p is None or p.year != year:
                continue
            block.append(
                html_format(
                    tr._("• {period}: {total} ({grade}), rank in unit {rank}"),
                    period=period_label(e.period, tr),
                    total=number(e.total),
                    grade=grade_label(e.grade, tr),
                    rank=e.rank_in_unit or "—",
                )
            )
        blocks.append(block)
    lines = [title]
    for n, block in enumerate(blocks):
        if html_len("\n".join([*lines, *block])) > limit - 100:
            lines.append("")
            lines.append(
                html_format(
                    tr.ngettext(
                        "{count} earlier year is not shown.",
                        "{count} earlier years are not shown.",
                        len(blocks) - n,
                    ),
                    count=len(blocks) - n,
                )
            )
            break
        lines += block
    return "\n".join(lines)


async def _may_see_all(update: Update, context: JxContext, action: str) -> bool:
    """The working group and the leadership group; anyone else is refused and audited."""
    actor = await load_caller(update, context)
    if actor.is_admin or actor.is_leadership:
        return True
    async with context.transaction() as session:
        await audit(
            session,
            "access.denied",
            **audit_actor(context, actor),
            detail={"action": action},
        )
    tr = await context.tr(update)
    text = tr._(
        "Sorry, only the evaluation working group and the leadership group can see the annual results."
    )
    if update.callback_query:
        await answer_query(update, text, alert=True)
    else:
        await reply(update, text)
    return False


def _year_arg(args: Sequence[str] | None) -> int | None:
    """The year given, or None when none is; ValueError for anything but a year."""
    if not args:
        return None
    period = parse_period(args[0])
    if period is None or period.quarter is not None:
        raise ValueError(args[0])
    return period.year


async def annual_command(update: Update, context: JxContext) -> None:
    """/annual [YEAR]: the year's summary; default the latest year with published results."""
    if not await _may_see_all(update, context, "annual"):
        return
    tr = await context.tr(update)
    try:
        year = _year_arg(context.args)
    except ValueError:
        await reply(update, tr._("Please give the year, e.g. /annual 2026"))
        return
    async with context.services.reads() as session:
        if year is None:
            year = await annual.latest_year(session)
        if year is None:
            await reply(update, tr._("No results have been published yet."))
            return
        report = await annual.annual_report(session, year)
    if not report.results:
        await reply(
            update, html_format(tr._("No results of {year} have been published yet."), year=year)
        )
        return
    await reply(
        update,
        summary_text(report, tr),
        keyboard([(tr._("Full table (CSV)"), CSV.data(year))]),
    )


async def send_csv(update: Update, context: JxContext) -> None:
    """The year's full table as a CSV document; who may see it is checked again."""
    (year,) = CSV.args(update)
    if not 1000 <= year <= 9999:
        await stale_button(update, context)
        return
    if not await _may_see_all(update, context, "annual.csv"):
        return
    tr = await context.tr(update)
    async with context.services.reads() as session:
        report = await annual.annual_report(session, year)
    await answer_query(update)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(
        InputFile(io.BytesIO(csv_bytes(report, tr)), filename=f"annual-{year}.csv"),
        caption=tr._("Annual results {year}").format(year=year),
    )


async def stale_button(update: Update, context: JxContext) -> None:
    """An ``an1:`` button of another format (an older version's): expired."""
    tr = await context.tr(update)
    await answer_query(update, tr._("This button has expired. Here is where you are now."))


async def history_command(update: Update, context: JxContext) -> None:
    """/history: the caller's own published results — never anyone else's."""
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    if actor.staff is None:
        await reply(
            update,
            tr._(
                "This is for bureau staff with a linked account. Open the invite link from the evaluation working group first."
            ),
        )
        return
    async with context.services.reads() as session:
        found = await annual.person_history(session, actor.staff.id)
    await reply(update, history_text(found, tr, name=actor.staff.name))


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("annual", annual_command),
        CommandHandler("history", history_command),
        CSV.handler(send_csv),
        CallbackQueryHandler(stale_button, pattern=f"^{CB.prefix}:"),
    ]
