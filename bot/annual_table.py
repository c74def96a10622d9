"""``jixiao annual YEAR`` on a terminal: the year's report as plain-text tables.

The CLI renders its own output from the report (``services.annual``) and the words every
front end shares (``services.annual_text``); the chat renders the same in
``conversations.annual``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from domain.text import unescape
from infra.i18n import Translator
from services.annual import AnnualReport, AnnualResult
from services.annual_text import basis, distribution, grade_label, number, sections


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
    return [number(result.quarters.get(q)) for q in quarters]


def cli_text(report: AnnualReport, tr: Translator) -> str:
    """The whole report as plain text: both tables, the award lists and the flags."""
    quarters = report.quarter_periods
    q_heads = [q[4:] for q in quarters]
    lines = [tr._("Annual results {year}").format(year=report.year), *basis(report, tr), ""]
    lines.append(
        tr.ngettext(
            "{count} person: {distribution}", "{count} people: {distribution}", len(report.people)
        ).format(count=len(report.people), distribution=distribution(report.people, tr))
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
                number(r.annual),
                number(r.total),
                grade_label(r.grade, tr),
                str(r.rank_in_unit or "—"),
                str(r.rank_overall or "—"),
            ]
        )
    lines += _table(people) if report.people else [tr._("(none)")]
    lines += [
        "",
        tr.ngettext(
            "{count} unit: {distribution}", "{count} units: {distribution}", len(report.units)
        ).format(count=len(report.units), distribution=distribution(report.units, tr)),
    ]
    units = [[tr._("Unit"), *q_heads, tr._("Annual"), tr._("Total"), tr._("Grade"), tr._("Rank")]]
    for r in report.units:
        units.append(
            [
                r.name,
                *_quarter_cells(r, quarters),
                number(r.annual),
                number(r.total),
                grade_label(r.grade, tr),
                str(r.rank_overall or "—"),
            ]
        )
    lines += _table(units) if report.units else [tr._("(none)")]
    for title, items in sections(report, tr):
        lines += ["", unescape(title), *(items or [tr._("(none)")])]
    return "\n".join(lines)
