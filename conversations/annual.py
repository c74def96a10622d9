"""The annual roll-up in the chat and on the command line (四(一), 六).

``/annual [YEAR]`` (working group and leadership group): the grade distribution, the
award lists (应急管理先进个人, 应急管理先进集体, with who is excluded and why) and the
consecutive-year flags, in one message under Telegram's 4,096 characters — long lists
are cut with a count of the rest, and the full table comes as a CSV on a button.
``/history`` (any linked staff member): every published result of the caller's own,
quarterly and annual, with grade and rank in unit, and their roll-up per year. It
never shows anyone else's result. ``jixiao annual YEAR`` prints the same report as
a table (``cli_text``) and writes the CSV (``csv_bytes``).
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

from telegram import InputFile, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from chat.context import JxContext
from chat.flow import answer_query, reply
from conversations.common import audit_actor, html, keyboard, load_caller
from domain.enums import CycleKind, Grade
from domain.labels import GRADE_LABELS
from domain.period import parse_period
from domain.text import Html, clip_html, html_format, html_len
from infra.i18n import N_, Translator
from services import annual, files
from services.annual import AnnualReport, AnnualResult, AwardEntry, Flag, FlagKind, PersonHistory
from services.audit import audit

LIMIT = 4000  # UTF-16 units as Telegram counts them, below its 4,096
CSV_DATA = re.compile(r"^an1:csv:(\d{4})$")
INDIVIDUAL = N_("Advanced individual in emergency management")  # 应急管理先进个人
COLLECTIVE = N_("Advanced collective in emergency management")  # 应急管理先进集体


def _n(value: Decimal | None) -> str:
    return "—" if value is None else format(Decimal(value).quantize(Decimal("0.01")), "f")


def _w(value: Decimal) -> str:
    """A weight as written: 40, 37.5."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _sep(tr: Translator) -> str:
    return ", " if tr.locale == "en" else "、"


def _colon(tr: Translator) -> str:
    return ": " if tr.locale == "en" else "："


def _grade(grade: Grade | None, tr: Translator) -> str:
    return "—" if grade is None else tr._(GRADE_LABELS[grade])


def period_label(period: str, tr: Translator) -> str:
    """``2026Q1`` as is; ``2026`` as the annual assessment of 2026."""
    parsed = parse_period(period)
    if parsed is not None and parsed.quarter is None:
        return tr._("{year} annual assessment").format(year=parsed.year)
    return period


def who(result: AnnualResult, tr: Translator) -> Html:
    """A person with their unit, or a unit (HTML-escaped)."""
    if result.is_unit:
        return html(result.name)
    return html_format(tr._("{name} ({unit})"), name=result.name, unit=result.unit)


def flag_reason(flag: Flag, tr: Translator) -> str:
    """Why a person is flagged, without their name (for the lists and the CSV)."""
    sep = _sep(tr)
    if flag.kind is FlagKind.PRIORITY:
        return tr.ngettext(
            "Excellent {count} year running ({years}): priority in salary increases, promotion and postings (六(一)2, 六(二)1)",
            "Excellent {count} years running ({years}): priority in salary increases, promotion and postings (六(一)2, 六(二)1)",
            len(flag.years),
        ).format(count=len(flag.years), years=sep.join(str(y) for y in flag.years))
    evidence = []
    if flag.years:
        evidence.append(
            tr.ngettext(
                "Fail {count} year running ({years})",
                "Fail {count} years running ({years})",
                len(flag.years),
            ).format(count=len(flag.years), years=sep.join(str(y) for y in flag.years))
        )
    if flag.quarters:
        evidence.append(
            tr.ngettext(
                "Fail in {count} quarter of the year ({quarters})",
                "Fail in {count} quarters of the year ({quarters})",
                len(flag.quarters),
            ).format(count=len(flag.quarters), quarters=sep.join(flag.quarters))
        )
    return tr._(
        "{evidence}: to be considered for lower pay, demotion or a transfer (六(一)2, 六(二)2)"
    ).format(evidence=("; " if tr.locale == "en" else "；").join(evidence))


def excluded_reason(entry: AwardEntry, tr: Translator) -> str:
    return tr._("excluded: Fail in {periods}, so no award this year (六(四)2)").format(
        periods=_sep(tr).join(period_label(p, tr) for p in entry.excluded_by)
    )


def _distribution(results: Sequence[AnnualResult], tr: Translator) -> str:
    counts = Counter(r.grade for r in results)
    return _sep(tr).join(f"{tr._(GRADE_LABELS[g])} {counts.get(g, 0)}" for g in Grade)


def _basis(report: AnnualReport, tr: Translator) -> list[str]:
    quarter, annual_weight = report.weights
    lines = [
        tr._(
            "Combined total: the mean of the quarters {quarters}% + the annual assessment {annual}%; the grade by the bands."
        ).format(quarters=_w(quarter), annual=_w(annual_weight))
    ]
    counted = [*report.quarter_periods]
    if report.annual_published:
        counted.append(period_label(str(report.year), tr))
    lines.append(tr._("Counted: {periods}").format(periods=_sep(tr).join(counted) or "—"))
    if not report.annual_published:
        lines.append(
            tr._(
                "The {year} annual assessment is not published yet: the quarters count fully."
            ).format(year=report.year)
        )
    elif not report.quarter_periods:
        lines.append(
            tr._("No quarter of {year} is published: the annual assessment counts fully.").format(
                year=report.year
            )
        )
    return lines


def _award_lines(entries: list[AwardEntry], tr: Translator) -> list[str]:
    lines = []
    eligible = [e for e in entries if e.eligible]
    for n, e in enumerate(eligible, 1):
        lines.append(f"{n}. {who(e.result, tr)} {_n(e.result.total)}")
    for e in entries:
        if not e.eligible:
            lines.append(
                f"✗ {who(e.result, tr)} {_n(e.result.total)}{_colon(tr)}{excluded_reason(e, tr)}"
            )
    return lines


def _sections(report: AnnualReport, tr: Translator) -> list[tuple[str, list[str]]]:
    return [
        (
            html_format(
                tr._("<b>{award}</b> (from the people graded Excellent for the year)"),
                award=tr._(INDIVIDUAL),
            ),
            _award_lines(report.individuals, tr),
        ),
        (
            html_format(
                tr._("<b>{award}</b> (from the units graded Excellent for the year)"),
                award=tr._(COLLECTIVE),
            ),
            _award_lines(report.collectives, tr),
        ),
        (
            html_format(
                tr._("<b>Priority in pay and promotion</b> (Excellent {count}+ years running)"),
                count=report.excellent_years,
            ),
            [
                f"• {who(f.result, tr)}{_colon(tr)}{flag_reason(f, tr)}"
                for f in report.flags_of(FlagKind.PRIORITY)
            ],
        ),
        (
            tr._("<b>For review: demotion or transfer</b> (repeatedly Fail)"),
            [
                f"• {who(f.result, tr)}{_colon(tr)}{flag_reason(f, tr)}"
                for f in report.flags_of(FlagKind.REVIEW)
            ],
        ),
    ]


def fit(
    head: list[str], sections: list[tuple[str, list[str]]], tr: Translator, limit: int = LIMIT
) -> str:
    """Head and sections in at most ``limit`` characters: long lists lose their tails first,
    each cut list saying how many it leaves out.
    """
    cap = max((len(items) for _, items in sections), default=0)
    while True:
        lines = [*head]
        for title, items in sections:
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
    head = [
        html_format(tr._("<b>Annual results {year}</b>"), year=report.year),
        *_basis(report, tr),
    ]
    head.append(
        html_format(
            tr.ngettext(
                "{count} person: {distribution}",
                "{count} people: {distribution}",
                len(report.people),
            ),
            count=len(report.people),
            distribution=_distribution(report.people, tr),
        )
    )
    head.append(
        html_format(
            tr.ngettext(
                "{count} unit: {distribution}", "{count} units: {distribution}", len(report.units)
            ),
            count=len(report.units),
            distribution=_distribution(report.units, tr),
        )
    )
    return fit(head, _sections(report, tr), tr, limit)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(rows: list[list[str]]) -> list[str]:
    """Columns padded to their widths (a CJK character takes two cells)."""
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    ]


def _quarter_cells(result: AnnualResult, quarters: Sequence[str]) -> list[str]:
    return [_n(result.quarters.get(q)) for q in quarters]


def cli_text(report: AnnualReport, tr: Translator) -> str:
    """The whole report as plain text: both tables, the award lists and the flags."""
    quarters = report.quarter_periods
    q_heads = [q[4:] for q in quarters]
    lines = [tr._("Annual results {year}").format(year=report.year), *_basis(report, tr), ""]
    lines.append(
        tr.ngettext(
            "{count} person: {distribution}", "{count} people: {distribution}", len(report.people)
        ).format(count=len(report.people), distribution=_distribution(report.people, tr))
    )
    people = [
        [
            tr._("Name"),
            tr._("Unit"),
            *q_heads,
            tr._("Annual"),
            tr._("Total"),
            tr._("Grade"),
            tr._("Rank in unit"),
            tr._("Rank in bureau"),
        ]
    ]
    for r in report.people:
        people.append(
            [
                r.name,
                r.unit,
                *_quarter_cells(r, quarters),
                _n(r.annual),
                _n(r.total),
                _grade(r.grade, tr),
                str(r.rank_in_unit or "—"),
                str(r.rank_overall or "—"),
            ]
        )
    lines += _table(people) if report.people else [tr._("(none)")]
    lines += [
        "",
        tr.ngettext(
            "{count} unit: {distribution}", "{count} units: {distribution}", len(report.units)
        ).format(count=len(report.units), distribution=_distribution(report.units, tr)),
    ]
    units = [[tr._("Unit"), *q_heads, tr._("Annual"), tr._("Total"), tr._("Grade"), tr._("Rank")]]
    for r in report.units:
        units.append(
            [
                r.name,
                *_quarter_cells(r, quarters),
                _n(r.annual),
                _n(r.total),
                _grade(r.grade, tr),
                str(r.rank_overall or "—"),
            ]
        )
    lines += _table(units) if report.units else [tr._("(none)")]
    for title, items in _sections(report, tr):
        lines += ["", _plain(title), *(_plain(i) for i in items or [tr._("(none)")])]
    return "\n".join(lines)


def _plain(text: str) -> str:
    return (
        re.sub(r"</?b>", "", text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )


def csv_bytes(report: AnnualReport, tr: Translator) -> bytes:
    """One row per person, then per unit; UTF-8 with BOM so Excel on Chinese Windows reads it."""
    quarters = report.quarter_periods
    flags: dict[str, list[str]] = {}
    for f in report.flags:
        flags.setdefault(f.result.subject_key, []).append(flag_reason(f, tr))
    awards: dict[str, str] = {}
    for entries, award in ((report.individuals, INDIVIDUAL), (report.collectives, COLLECTIVE)):
        for e in entries:
            awards[e.result.subject_key] = (
                tr._(award) if e.eligible else f"{tr._(award)}: {excluded_reason(e, tr)}"
            )
    header = [
        tr._("Kind"),
        tr._("Employee no."),
        tr._("Name"),
        tr._("Unit"),
        *quarters,
        period_label(str(report.year), tr),
        tr._("Total"),
        tr._("Grade"),
        tr._("Rank in unit"),
        tr._("Rank in bureau"),
        tr._("Flags"),
        tr._("Award"),
    ]
    rows = [
        [
            tr._("Unit") if r.is_unit else tr._("Person"),
            r.employee_no,
            r.name,
            r.unit,
            *[str(r.quarters[q]) if q in r.quarters else "" for q in quarters],
            "" if r.annual is None else str(r.annual),
            str(r.total),
            _grade(r.grade, tr),
            "" if r.rank_in_unit is None else r.rank_in_unit,
            "" if r.rank_overall is None else r.rank_overall,
            "; ".join(flags.get(r.subject_key, [])),
            awards.get(r.subject_key, ""),
        ]
        for r in report.results
    ]
    return files.csv_bytes(header, rows)  # names and flags made formula-safe


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
                    total=_n(rolled.total),
                    grade=_grade(rolled.grade, tr),
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
                    quarters=_w(quarter),
                    annual=_w(annual_weight),
                )
            block.append("  " + basis)
        for e in history.entries:
            p = parse_period(e.period)
            if p is None or p.year != year:
                continue
            block.append(
                html_format(
                    tr._("• {period}: {total} ({grade}), rank in unit {rank}"),
                    period=period_label(e.period, tr) if e.kind is CycleKind.ANNUAL else e.period,
                    total=_n(e.total),
                    grade=_grade(e.grade, tr),
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
        keyboard([(tr._("Full table (CSV)"), f"an1:csv:{year}")]),
    )


async def csv_button(update: Update, context: JxContext) -> None:
    query = update.callback_query
    match = CSV_DATA.match(query.data or "") if query else None
    tr = await context.tr(update)
    if match is None:
        await answer_query(update, tr._("This button has expired. Here is where you are now."))
        return
    if not await _may_see_all(update, context, "annual.csv"):
        return
    year = int(match.group(1))
    async with context.services.reads() as session:
        report = await annual.annual_report(session, year)
    await answer_query(update)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(
        InputFile(io.BytesIO(csv_bytes(report, tr)), filename=f"annual-{year}.csv"),
        caption=tr._("Annual results {year}").format(year=year),
    )


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
        CallbackQueryHandler(csv_button, pattern=r"^an1:"),
    ]
