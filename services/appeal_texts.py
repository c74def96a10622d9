"""What the appeal workflow says: the case as the working group reads it, and its notices —
HTML in the reader's language, cut as Telegram counts; free text escaped; no rater named."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from domain.enums import AppealStatus, Grade
from domain.labels import GRADE_LABELS
from domain.text import MESSAGE_LIMIT, Html, clip, clip_html, escape, html_format, html_len, share
from infra.i18n import N_, Translator
from infra.models import Appeal, Cycle, Result
from services.appeal_targets import (
    IndicatorNames,
    adjusted_label,
    hides_old,
    num,
    target_detail,
    target_label,
)
from services.cases import Step
from services.templates import localized

Status = AppealStatus
UPHELD: Final = "upheld"
ADJUSTED: Final = "adjusted"

STATUS_LABELS: Final = {
    Status.OPEN: N_("open"),
    Status.QUESTION: N_("waiting for the appellant's answer"),
    Status.DECIDED: N_("decided"),
}


@dataclass(frozen=True)
class AppealView:
    """An appeal with what the working group needs to judge it — never a rater."""

    appeal: Appeal
    result: Result
    cycle: Cycle
    name: str
    unit: str
    names: IndicatorNames

    def target_label(self, tr: Translator) -> str:
        return target_label(tr, self.appeal.target, self.names)


def case_text(
    tr: Translator, view: AppealView, *, at: dt.datetime, limit: int = MESSAGE_LIMIT
) -> Html:
    """The case as the working group sees it: who, what, the disputed breakdown, why, Q&A.

    However long the appellant's and the working group's texts are (2,000 characters each,
    emoji count twice), the case opens: the texts share the room the rest leaves of ``limit``.
    """
    a = view.appeal
    texts = [a.reason, a.question or "", a.answer or "", a.decision_reason or ""]
    fixed = html_len(_case_text(tr, view, at, ["", "", "", ""]))
    return clip_html(_case_text(tr, view, at, share(limit - fixed, texts)), limit)


def _case_text(tr: Translator, view: AppealView, at: dt.datetime, texts: list[str]) -> str:
    a, (reason, question, answer, decision_reason) = view.appeal, texts
    head = tr._("<b>Appeal #{id}</b> · {period} · {status}")
    status = tr._(STATUS_LABELS[a.status])
    name, unit = view.name, localized(view.unit, tr.locale)  # a name as stored
    overdue = " " + tr._("⚠️ overdue") if is_overdue(a, at) else ""
    lines = [
        html_format(head, id=a.id, period=tr.period(view.cycle.period), status=status),
        html_format(tr._("Appellant: {name} ({unit})"), name=name, unit=unit),
        html_format(tr._("Filed: {date}"), date=tr.date(a.created_at)),
        html_format(tr._("Decide by: end of {date}"), date=tr.date(a.deadline)) + overdue,
        "",
        html_format(tr._("<b>Disputed:</b> {target}"), target=view.target_label(tr)),
        *target_detail(tr, view.result, a.target, view.names, full=True),
        "",
        html_format(tr._("<b>Reason:</b> {text}"), text=reason),
        _evidence(tr, a),
    ]
    if a.question:
        lines += ["", html_format(tr._("<b>Question:</b> {text}"), text=question)]
        if a.answer:
            lines.append(html_format(tr._("<b>Answer:</b> {text}"), text=answer))
        else:
            lines.append(tr._("(no answer yet)"))
    if a.status == Status.DECIDED:
        decision = tr._("score adjusted") if a.decision == ADJUSTED else tr._("result upheld")
        text = tr._("<b>Decision:</b> {decision} — {reason}")
        lines += ["", html_format(text, decision=decision, reason=decision_reason)]
    return "\n".join(lines)


def is_overdue(appeal: Appeal, now: dt.datetime) -> bool:
    return appeal.status != Status.DECIDED and appeal.deadline < now


def _who(tr: Translator, view: AppealView) -> Html:
    return html_format(
        "{name}{unit}",
        name=view.name,  # a person's name is shown as stored
        unit=tr.paren(localized(view.unit, tr.locale)),
    )


def _evidence(tr: Translator, a: Appeal) -> Html:
    n = len(a.evidence)
    return html_format(
        tr.ngettext("Evidence: {count} file.", "Evidence: {count} files.", n), count=n
    )


def new_text(tr: Translator, s: Step[AppealView]) -> str:
    a, period = s.view.appeal, tr.period(s.view.cycle.period)
    disputes = tr._("{who} disputes: {target}.")
    lines = [
        html_format(tr._("<b>New appeal #{id}</b> · {period}"), id=a.id, period=period),
        html_format(disputes, who=_who(tr, s.view), target=s.view.target_label(tr)),
        html_format(tr._("Reason: {reason}"), reason=escape(clip(a.reason, 300))),
        _evidence(tr, a),
        html_format(tr._("Please decide by the end of {date}."), date=tr.date(a.deadline)),
    ]
    return clip_html("\n".join(lines))


def question_text(tr: Translator, s: Step[AppealView]) -> str:
    head = html_format(
        tr._("<b>A question about your appeal #{id}</b> ({period})"),
        id=s.case.id,
        period=tr.period(s.view.cycle.period),
    )
    ask = tr._("Please tap “Answer” and write your reply.")
    return clip_html(f"{head}\n\n{escape(s.params['text'])}\n\n{ask}")


def answered_text(tr: Translator, s: Step[AppealView]) -> str:
    head = html_format(
        tr._("<b>Appeal #{id}</b>: {who} answered your question."),
        id=s.case.id,
        who=_who(tr, s.view),
    )
    text = escape(clip(s.params["text"], 1500))
    return clip_html(f"{head}\n" + html_format(tr._("<b>Answer:</b> {text}"), text=text))


def decision_text(tr: Translator, s: Step[AppealView]) -> str:
    a, result = s.view.appeal, s.view.result
    grade = tr._(GRADE_LABELS[Grade(result.grade)])
    if a.decision == ADJUSTED and s.params.get("change") and hides_old(s.params["change"]):
        body = html_format(
            tr._(
                "The working group set {what} to {new}. Your total is now {total} (grade: {grade}); before it was {before}. The updated result follows."
            ),
            what=adjusted_label(tr, s.params["change"]),
            new=num(s.params["change"].get("points")),
            total=num(result.total),
            grade=grade,
            before=num(s.params.get("old_total")),
        )
    elif a.decision == ADJUSTED and s.params.get("change"):
        change = s.params["change"]
        body = html_format(
            tr._(
                "The working group changed {what} from {old} to {new}. Your total is now {total} (grade: {grade}); before it was {before}. The updated result follows."
            ),
            what=adjusted_label(tr, change),
            old=num(change.get("old")),
            new=num(change.get("points")),
            total=num(result.total),
            grade=grade,
            before=num(s.params.get("old_total")),
        )
    else:
        body = html_format(
            tr._("The working group upheld your result: {total} (grade: {grade})."),
            total=num(result.total),
            grade=grade,
        )
    head = html_format(
        tr._("<b>Decision on your appeal #{id}</b> ({period})"),
        id=a.id,
        period=tr.period(s.view.cycle.period),
    )
    reason = html_format(tr._("Reason: {reason}"), reason=a.decision_reason or "")
    return clip_html(f"{head}\n{body}\n{reason}")


def reminder_text(tr: Translator, s: Step[AppealView]) -> str:
    a, who = s.view.appeal, _who(tr, s.view)
    params = {"id": a.id, "who": who, "period": s.view.cycle.period, "date": tr.date(a.deadline)}
    if a.deadline < s.at:
        return html_format(
            tr._(
                "⚠️ Overdue: appeal #{id} of {who} ({period}) was due for a decision by the end of {date} and is still open."
            ),
            **params,
        )
    return html_format(
        tr._("Reminder: appeal #{id} of {who} ({period}) must be decided by the end of {date}."),
        **params,
    )
