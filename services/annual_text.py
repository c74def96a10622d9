"""The annual report in words, the same for every front end (四(一), 六).

``services.annual`` computes the report; this module says it: why a person is flagged,
why someone is excluded from an award, what counts towards the year, the award lists
and the full CSV table. Lines are plain text (the chat escapes them, the CLI prints
them). Section titles keep the catalog's ``<b>…</b>`` around the heading: the chat
sends them as HTML, the CLI drops the tags (``domain.text.unescape``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

from domain.enums import Grade
from domain.labels import GRADE_LABELS
from domain.period import parse_period
from domain.text import html_format
from infra.i18n import N_, Translator
from services import files
from services.annual import AnnualReport, AnnualResult, AwardEntry, Flag, FlagKind
from services.templates import localized

INDIVIDUAL = N_("Advanced individual in emergency management")  # 应急管理先进个人
COLLECTIVE = N_("Advanced collective in emergency management")  # 应急管理先进集体

Section = tuple[str, list[str]]
"""A titled list: the title (``<b>`` marks its heading) and its plain lines."""


def number(value: Decimal | None) -> str:
    """A total to two places, or a dash for none."""
    return "—" if value is None else format(Decimal(value).quantize(Decimal("0.01")), "f")


def weight(value: Decimal) -> str:
    """A weight as written: 40, 37.5."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def grade_label(grade: Grade | None, tr: Translator) -> str:
    return "—" if grade is None else tr._(GRADE_LABELS[grade])


def period_label(period: str, tr: Translator) -> str:
    """A quarter as people write it (2026年第一季度); ``2026`` as the annual assessment of 2026."""
    parsed = parse_period(period)
    if parsed is not None and parsed.quarter is None:
        return tr._("{year} annual assessment").format(year=parsed.year)
    return tr.period(period)


def who(result: AnnualResult, tr: Translator) -> str:
    """A person with their unit, or a unit."""
    if result.is_unit:
        return localized(result.name, tr.locale)
    return tr._("{name} ({unit})").format(name=result.name, unit=localized(result.unit, tr.locale))


def flag_reason(flag: Flag, tr: Translator) -> str:
    """Why a person is flagged, without their name (for the lists and the CSV)."""
    if flag.kind is FlagKind.PRIORITY:
        return tr.ngettext(
            "Excellent {count} year running ({years}): priority in salary increases, promotion and postings (六(一)2, 六(二)1)",
            "Excellent {count} years running ({years}): priority in salary increases, promotion and postings (六(一)2, 六(二)1)",
            len(flag.years),
        ).format(count=len(flag.years), years=tr.join(flag.years))
    evidence = []
    if flag.years:
        evidence.append(
            tr.ngettext(
                "Fail {count} year running ({years})",
                "Fail {count} years running ({years})",
                len(flag.years),
            ).format(count=len(flag.years), years=tr.join(flag.years))
        )
    if flag.quarters:
        evidence.append(
            tr.ngettext(
                "Fail in {count} quarter of the year ({quarters})",
                "Fail in {count} quarters of the year ({quarters})",
                len(flag.quarters),
            ).format(
                count=len(flag.quarters), quarters=tr.join(tr.period(q) for q in flag.quarters)
            )
        )
    return tr._(
        "{evidence}: to be considered for lower pay, demotion or a transfer (六(一)2, 六(二)2)"
    ).format(evidence=("; " if tr.locale == "en" else "；").join(evidence))


def excluded_reason(entry: AwardEntry, tr: Translator) -> str:
    return tr._("excluded: Fail in {periods}, so no award this year (六(四)2)").format(
        periods=tr.join(period_label(p, tr) for p in entry.excluded_by)
    )


def distribution(results: Sequence[AnnualResult], tr: Translator) -> str:
    """``优秀 2、良好 3、…``: how many results have each grade."""
    counts = Counter(r.grade for r in results)
    return tr.join(f"{tr._(GRADE_LABELS[g])} {counts.get(g, 0)}" for g in Grade)


def basis(report: AnnualReport, tr: Translator) -> list[str]:
    """How the year's totals are combined and from which published periods."""
    quarter, annual_weight = report.weights
    lines = [
        tr._(
            "Combined total: the mean of the quarters {quarters}% + the annual assessment {annual}%; the grade by the bands."
        ).format(quarters=weight(quarter), annual=weight(annual_weight))
    ]
    counted = [*report.quarter_periods]
    if report.annual_published:
        counted.append(period_label(str(report.year), tr))
    lines.append(tr._("Counted: {periods}").format(periods=tr.join(counted) or "—"))
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
        lines.append(f"{n}. {who(e.result, tr)} {number(e.result.total)}")
    for e in entries:
        if not e.eligible:
            lines.append(
                "✗ "
                + tr.label(f"{who(e.result, tr)} {number(e.result.total)}", excluded_reason(e, tr))
            )
    return lines


def _flag_lines(report: AnnualReport, kind: FlagKind, tr: Translator) -> list[str]:
    return ["• " + tr.label(who(f.result, tr), flag_reason(f, tr)) for f in report.flags_of(kind)]


def sections(report: AnnualReport, tr: Translator) -> list[Section]:
    """The award lists and the two flag lists, in the order they are shown."""
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
            _flag_lines(report, FlagKind.PRIORITY, tr),
        ),
        (
            tr._("<b>For review: demotion or transfer</b> (repeatedly Fail)"),
            _flag_lines(report, FlagKind.REVIEW, tr),
        ),
    ]


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
                tr._(award) if e.eligible else tr.label(tr._(award), excluded_reason(e, tr))
            )
    header = [
        tr._("Kind"),
        tr._("Employee no."),
        tr._("Name"),
        tr._("Unit"),
        *(period_label(q, tr) for q in quarters),
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
            grade_label(r.grade, tr),
            "" if r.rank_in_unit is None else r.rank_in_unit,
            "" if r.rank_overall is None else r.rank_overall,
            "; ".join(flags.get(r.subject_key, [])),
            awards.get(r.subject_key, ""),
        ]
        for r in report.results
    ]
    return files.csv_bytes(header, rows)  # names and flags made formula-safe
