"""The home screen's pending things (``services.pending``) as short lines and buttons.

Each kind renders as one group: a line per item up to ``services.pending.SHOWN``, a count
beyond, and a button where there is something to do. The buttons are the acting flows'
own (``ap1:new``, ``tp1:approve``, ``rc1:open`` …), so a tap from home is the same tap as
under the pushed message, checked again by that flow.
"""

from __future__ import annotations

from conversations import appeal, cycle_admin, plan, rectification, result_review
from domain.enums import AppealStatus, CyclePhase, PlanStatus, Role
from domain.text import clip, html_format
from infra.i18n import N_, Translator
from services import pending as pd

Rows = list[list[tuple[str, str]]]
LABEL_LIMIT = 24
"""Characters of a milestone's text on its button (a phone shows about that many)."""

ROLE_LINES = {
    Role.LEADER_CHIEF: N_("You are the leader of the performance evaluation leadership group."),
    Role.LEADER_DEPUTY: N_("You are deputy leader of the performance evaluation leadership group."),
    Role.LEADER_MEMBER: N_("You are a member of the performance evaluation leadership group."),
}
UPCOMING = {
    CyclePhase.PREPARING: N_(
        "Next: the {period} evaluation starts once the leadership group approves its indicator system; you will be notified."
    ),
    CyclePhase.COLLECTING: N_(
        "The {period} evaluation is collecting answers; you have no forms in it."
    ),
    CyclePhase.SCORING: N_(
        "Next: the {period} results are being scored; you will be notified when they are published."
    ),
    CyclePhase.REVIEW: N_(
        "Next: the {period} results are with the leadership group for approval; you will be notified when they are published."
    ),
    CyclePhase.PUBLISHED: N_("The {period} results are published."),
    CyclePhase.APPEALS: N_("The {period} results are published."),
}


def own_lines(found: pd.Pending, tr: Translator) -> tuple[list[str], Rows]:
    """The person's own things after the forms and results: appeals, plans, milestones."""
    lines: list[str] = []
    rows: Rows = []
    for a in found.appeals:
        if a.status == AppealStatus.QUESTION:
            lines.append(
                html_format(
                    tr._(
                        "• The working group asked a question about your appeal ({period}); please answer it."
                    ),
                    period=tr.period(a.period),
                )
            )
            rows.append([(tr._("Answer the question"), appeal.ANSWER.data(a.appeal_id))])
        else:
            lines.append(
                html_format(
                    tr._("• Your appeal ({period}) is being examined by the working group."),
                    period=tr.period(a.period),
                )
            )
    for p in found.plans:
        text = (
            tr._("• Your improvement plan ({period}) was sent back; please revise and resubmit it.")
            if p.status == PlanStatus.RETURNED
            else tr._("• Please write your improvement plan ({period}) and submit it.")
        )
        lines.append(html_format(text, period=tr.period(p.period)))
        rows.append([(tr._("Improvement plan"), plan.OPEN.data(p.plan_id))])
    lines += _milestones(found.milestones, tr, rows)
    lines += _plans_to_approve(found.plans_to_approve, tr, rows)
    return lines, rows


def _milestones(found: pd.Many[pd.Milestone], tr: Translator, rows: Rows) -> list[str]:
    if not found:
        return []
    lines: list[str] = [
        html_format(
            tr.ngettext(
                "<b>Improvement plan</b>: {count} milestone due",
                "<b>Improvement plan</b>: {count} milestones due",
                found.total,
            ),
            count=found.total,
        )
    ]
    for m in found.items:
        line = tr._("• {date} {milestone} (overdue)") if m.overdue else tr._("• {date} {milestone}")
        lines.append(html_format(line, date=tr.date(m.due), milestone=m.text))
        rows.append(
            [
                (
                    tr._("Report progress: {milestone}").format(
                        milestone=clip(m.text, LABEL_LIMIT)
                    ),
                    plan.REPORT.data(m.milestone_id),
                )
            ]
        )
    return lines


def _plans_to_approve(found: pd.Many[pd.PlanToDo], tr: Translator, rows: Rows) -> list[str]:
    if not found:
        return []
    lines: list[str] = [
        html_format(
            tr.ngettext(
                "• {count} improvement plan waits for your approval",
                "• {count} improvement plans wait for your approval",
                found.total,
            ),
            count=found.total,
        )
    ]
    for p in found.items:
        label = tr._("Approve the plan of {name}").format(name=p.author)
        rows.append([(label, plan.OPEN.data(p.plan_id))])
    if found.total > len(found.items):
        lines.append(tr._("• /plans — all plans"))
    return lines


def leadership_lines(found: pd.Pending, tr: Translator) -> tuple[list[str], Rows]:
    """The leadership role, then the approvals (审定) waiting for this member."""
    if found.leadership_role is None:
        return [], []
    lines = [tr._("<b>Leadership group</b>"), tr._(ROLE_LINES[found.leadership_role])]
    rows: Rows = []
    for t in found.template_approvals:
        lines.append(
            html_format(
                tr._(
                    "• The indicator system “{name}” waits for approval; the {periods} evaluation starts once it is approved."
                ),
                name=t.name,
                periods=tr.join(tr.period(p) for p in t.periods),
            )
        )
        rows.append(
            [
                (tr._("✅ Approve"), cycle_admin.APPROVE.data(t.template_id)),
                (tr._("View the indicators"), cycle_admin.VIEW.data(t.template_id)),
            ]
        )
    for c in found.results_approvals:
        lines.append(
            html_format(
                tr._(
                    "• The {period} results wait for your approval (round {round}); the figures are in the request sent to you."
                ),
                period=tr.period(c.period),
                round=c.round,
            )
        )
        rows.append(
            [
                (tr._("✅ Approve"), result_review.APPROVE.data(c.cycle_id, c.round)),
                (
                    tr._("Send back with a comment"),
                    result_review.SEND_BACK.data(c.cycle_id, c.round),
                ),
            ]
        )
    return lines, rows


def rectify_lines(found: pd.Many[pd.Rectify], tr: Translator) -> tuple[list[str], Rows]:
    """Bad reviews (差评) of the person's units waiting for their answer."""
    if not found:
        return [], []
    lines: list[str] = [
        html_format(
            tr.ngettext(
                "• {count} negative rating to answer",
                "• {count} negative ratings to answer",
                found.total,
            ),
            count=found.total,
        )
    ]
    rows: Rows = []
    for r in found.items:
        line = (
            tr._("  #{id} {unit}, due {deadline} (overdue)")
            if r.overdue
            else tr._("  #{id} {unit}, due {deadline}")
        )
        lines.append(html_format(line, id=r.rect_id, unit=r.unit, deadline=tr.date(r.deadline)))
        rows.append(
            [(f"#{r.rect_id} {clip(r.unit, LABEL_LIMIT)}", rectification.OPEN.data(r.rect_id))]
        )
    if found.total > len(found.items):
        rows.append([(tr._("Negative ratings to rectify"), rectification.LIST.data())])
    return lines, rows


def working_group_lines(found: pd.Pending, tr: Translator) -> tuple[list[str], Rows]:
    """Appeals to decide and bad reviews to re-examine."""
    lines: list[str] = []
    rows: Rows = []
    queue = found.appeals_to_decide
    if queue is not None:
        lines.append(
            html_format(
                tr.ngettext(
                    "• {count} appeal to decide, the first due {deadline}",
                    "• {count} appeals to decide, the first due {deadline}",
                    queue.total,
                ),
                count=queue.total,
                deadline=tr.date(queue.earliest) if queue.earliest else "—",
            )
        )
        rows.append([(tr._("Appeals to decide"), appeal.QUEUE.data())])
    if found.reviews_to_decide:
        lines.append(
            html_format(
                tr.ngettext(
                    "• {count} negative rating to re-examine at a unit's request",
                    "• {count} negative ratings to re-examine at units' request",
                    found.reviews_to_decide,
                ),
                count=found.reviews_to_decide,
            )
        )
        rows.append([(tr._("Negative ratings to re-examine"), rectification.REVIEWS.data())])
    return lines, rows


def nothing_lines(found: pd.Pending, tr: Translator) -> list[str]:
    """Nothing to do: say so, and what comes next when a cycle is under way."""
    lines = [tr._("Nothing is waiting for you at the moment.")]
    up = found.upcoming
    if up is not None and up.phase in UPCOMING:
        lines.append(html_format(tr._(UPCOMING[up.phase]), period=tr.period(up.period)))
    else:
        lines.append(tr._("You will be notified when a new evaluation cycle opens."))
    return lines
