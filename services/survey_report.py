"""The citizen-satisfaction report: one wording for the chat's ``/surveys`` and the CLI.

Per unit: responses, the satisfaction rate, how many came from the survey page and from the
chat, the answers per question and the open and overdue rectifications. Rendered once, as HTML with every value escaped; the chat clips it
to a message, ``jixiao survey stats`` prints what a reader sees of it (``unescape``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from domain.labels import SATISFACTION_LABELS
from domain.period import Period
from domain.template import DEFAULT_SURVEY, survey_of
from domain.text import Html, html_format
from infra.i18n import Translator
from services import survey_stats, surveys
from services.templates import localized


async def satisfaction_report(
    session: AsyncSession,
    tr: Translator,
    period: Period,
    *,
    tz: dt.tzinfo,
    now: dt.datetime,
    unit_ids: set[int] | None = None,
) -> Html:
    _tid, template = await surveys.current_template(session)
    spec = survey_of(template) if template else DEFAULT_SURVEY
    questions = {surveys.OVERALL: tr._("Overall")}  # the overall level first
    questions |= {q.code: localized(q.text, tr.locale, q.text_en) for q in spec.questions}
    order = {code: n for n, code in enumerate(questions)}
    rows = await survey_stats.unit_stats(session, period, tz=tz, now=now, unit_ids=unit_ids)
    lines: list[str] = [
        html_format(tr._("<b>Citizen satisfaction, {period}</b>"), period=tr.period(period))
    ]
    if not rows:
        lines.append(tr._("No responses yet."))
    for s in rows:
        lines += [
            "",
            html_format(
                tr.ngettext(
                    "<b>{unit}</b>: {count} response, satisfaction {rate}",
                    "<b>{unit}</b>: {count} responses, satisfaction {rate}",
                    s.responses,
                ),
                unit=localized(s.unit, tr.locale),
                count=s.responses,
                rate="—" if s.rate is None else f"{s.rate}%",
            ),
        ]
        if s.responses:
            lines.append(
                html_format(
                    tr._("Survey page {web} ({share}), Telegram {chat}"),
                    web=s.web,
                    share="—" if s.web_share is None else f"{s.web_share}%",
                    chat=s.chat,
                )
            )
        asked = sorted(s.per_question.items(), key=lambda item: order.get(item[0], len(order)))
        for code, counts in asked:
            dist = " ".join(
                f"{tr._(SATISFACTION_LABELS[level])} {counts.get(level, 0)}"
                for level in surveys.LEVELS
            )
            label = tr.label(questions.get(code, code), dist)  # 总体评价：… / Overall: …
            lines.append(html_format("• {line}", line=label))
        if s.open_items:
            lines.append(
                html_format(
                    tr._("Rectification: {open} open, {overdue} overdue"),
                    open=s.open_items,
                    overdue=s.overdue_items,
                )
            )
    return Html("\n".join(lines))
