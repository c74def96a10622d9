"""What the improvement-plan flow shows: its states, and the prompt of each, from the database.

Buttons are named choices (``domain.choice``) of the ``plan`` codec (``conversations.plan``),
rendered with ``chat.callbacks.markup``, so this module never spells callback data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from enum import StrEnum

from telegram import InlineKeyboardMarkup

from chat.callbacks import markup
from chat.flow import CANCELLED_HINT, Position, Prompt
from conversations.cases import cut, label
from conversations.common import html
from domain.choice import Choice, rows
from domain.enums import PlanStatus as Status
from domain.text import clip, html_format
from infra.i18n import N_, Translator
from services import plan_view as pv
from services import plans
from services.access import Actor


class State(StrEnum):
    """Stored positions (``conversation_state.state``): keep the values across deploys."""

    GOALS = pv.GOALS
    MEASURES = pv.MEASURES
    RESPONSIBLE = pv.RESPONSIBLE
    TIMELINE = pv.TIMELINE
    MS_CONFIRM = "ms_confirm"
    SUMMARY = "summary"
    COMMENT = "comment"
    PROGRESS = "progress"
    MARK = "mark"


ASK = {
    State.GOALS: N_(
        "Please write the improvement goals: what is to be better, and how it is measured (up to {limit} characters)."
    ),
    State.MEASURES: N_(
        "Please write the improvement measures: what will be done, and how (up to {limit} characters)."
    ),
    State.RESPONSIBLE: N_(
        "Who is responsible for carrying out the plan? Please write the name (up to {limit} characters)."
    ),
}
EDIT_LABELS = {
    pv.GOALS: N_("✏️ Goals"),
    pv.MEASURES: N_("✏️ Measures"),
    pv.RESPONSIBLE: N_("✏️ Responsible person"),
    pv.TIMELINE: N_("✏️ Milestones"),
}
GONE = N_("This improvement plan no longer exists. Send /cancel to stop.")


# --- the prompt of every state, from the database ---------------------------------------------


def _c(text: str, action: str, *args: int | str) -> Choice:
    """A button of this flow: ``action`` is one of ``conversations.plan``'s codec actions."""
    return Choice(text, f"plan.{action}", args)


def _keys(*lines: list[Choice]) -> InlineKeyboardMarkup | None:
    return markup(rows(*lines))


def _head(view: pv.PlanView, tr: Translator, *, returned: bool = False) -> str:
    head: str = html_format(
        tr._("<b>Improvement plan</b> · {subject} · {period}"),
        subject=view.subject_name,
        period=tr.period(view.period),
    )
    if returned and view.plan.status == Status.RETURNED and view.plan.comment:
        head += "\n" + html_format(tr._("<b>Returned:</b> {comment}"), comment=view.plan.comment)
    return head


def _asking(tr: Translator, lines: list[str], back: pv.PlanView | None = None) -> Prompt:
    """A text step's question (the last bold line) and how to stop; a draft whose every part is
    written has « Back to the summary."""
    text = "\n".join([*lines, tr._(CANCELLED_HINT)])
    if back is None or back.plan.status not in pv.EDITABLE or back.next_field() is not None:
        return Prompt(text)
    return Prompt(text, _keys([_c(tr._("« Back to the summary"), "summary", back.id)]))


def _field(view: pv.PlanView, tr: Translator, pos: Position, today: dt.date) -> Prompt:
    state = State(pos.state)
    current = getattr(view.plan, state)
    now_ = [html_format(tr._("Now: {text}"), text=clip(current, 1500)), ""] if current else []
    ask = html_format(tr._(ASK[state]), limit=pv.LIMITS[state])
    return _asking(tr, [_head(view, tr, returned=True), "", *now_, f"<b>{ask}</b>"], view)


def _timeline(view: pv.PlanView, tr: Translator, pos: Position, today: dt.date) -> Prompt:
    items = [(m.due, m.text) for m in view.milestones]
    now_ = [tr._("Now:"), pv.milestones_text(items, tr), ""] if items else []
    example = tr._(
        "Please write the milestones, one per line: a date, then what is done by then. For example:"
    )
    # suggested dates fall on working days: a milestone is not due on a holiday
    first = view.calendar.next_working_day(today + dt.timedelta(days=30))
    second = view.calendar.next_working_day(today + dt.timedelta(days=75))
    lines = [_head(view, tr, returned=True), "", *now_, f"<b>{example}</b>"]
    lines.append(html_format(tr._("{date} Revise the unit's emergency plan"), date=tr.date(first)))
    lines.append(html_format(tr._("{date} Hold a drill and review it"), date=tr.date(second)))
    return _asking(tr, [*lines, tr._("At least one; dates in the future, earliest first.")], view)


def _confirm(view: pv.PlanView, tr: Translator, pos: Position, today: dt.date) -> Prompt:
    items = [(dt.date.fromisoformat(d), t) for d, t in pos.data.get("ms", [])]
    check = tr._("<b>Please check the milestones:</b>")
    return Prompt(
        "\n".join([_head(view, tr), "", check, pv.milestones_text(items, tr)]),
        _keys(
            [_c(tr._("✅ Confirm"), "confirm", view.id)],
            [_c(tr._("✏️ Write them again"), "rewrite", view.id)],
        ),
    )


def summary(view: pv.PlanView, tr: Translator, pos: Position | None, today: dt.date) -> Prompt:
    """The whole draft, a button per part, and submit once nothing is missing."""
    text = pv.plan_text(view, tr, today=today)
    if view.plan.status not in pv.EDITABLE:
        return Prompt(text)
    edits = [_c(tr._(EDIT_LABELS[f]), "edit", view.id, f) for f in pv.FIELDS]
    lines = [edits[:2], edits[2:]]
    if missing := view.missing():
        parts = tr.join(tr._(pv.FIELD_LABELS[f]) for f in missing)
        text += "\n\n" + html_format(tr._("Still to write: {parts}"), parts=parts)
    else:
        text += "\n\n" + tr._("Check the plan; change any part, then submit it for approval.")
        lines.append([_c(tr._("📤 Submit for approval"), "submit", view.id)])
    return Prompt(text, _keys(*lines))


def _comment(view: pv.PlanView, tr: Translator, pos: Position, today: dt.date) -> Prompt:
    ask = html_format(
        tr._(
            "What should be changed? Please write your comment for the author (required, up to {limit} characters)."
        ),
        limit=pv.MAX_COMMENT,
    )
    return _asking(tr, [pv.plan_text(view, tr, today=today), "", f"<b>{ask}</b>"])


def _milestone(view: pv.PlanView, tr: Translator, pos: Position, today: dt.date) -> Prompt:
    """PROGRESS asks for the report; MARK asks whether the milestone is done."""
    found = next((m for m in view.milestones if m.id == int(pos.data.get("mid", 0))), None)
    if found is None:
        return Prompt(tr._(GONE))
    lines = [_head(view, tr), "", pv.milestone_line(found, tr, today)]
    if found.progress:
        lines.append(tr._("Reported so far:") + "\n" + html(clip(found.progress, 1500)))
    if pos.state == State.PROGRESS:
        ask = html_format(
            tr._("Please write the progress on this milestone (up to {limit} characters)."),
            limit=pv.MAX_PROGRESS,
        )
        return _asking(tr, [*lines, "", f"<b>{ask}</b>"])
    lines += ["", "<b>" + tr._("Is this milestone done?") + "</b>"]
    done, not_yet = _c(tr._("✅ Done"), "done", found.id), _c(tr._("Not yet"), "not_yet", found.id)
    return Prompt("\n".join(lines), _keys([done], [not_yet]))


Show = Callable[[pv.PlanView, Translator, Position, dt.date], Prompt]
PROMPTS: dict[State, Show] = dict.fromkeys((State.GOALS, State.MEASURES, State.RESPONSIBLE), _field)
PROMPTS |= {State.TIMELINE: _timeline, State.MS_CONFIRM: _confirm, State.SUMMARY: summary}
PROMPTS |= {State.COMMENT: _comment, State.PROGRESS: _milestone, State.MARK: _milestone}


def view_prompt(
    view: pv.PlanView, actor: Actor, tr: Translator, round_: int, today: dt.date
) -> Prompt:
    """A plan as its author (tracking), its approver or the working group sees it."""
    plan = view.plan
    text = pv.plan_text(view, tr, today=today, progress=True)
    buttons = None
    if plans.AUTHOR.allows(actor, plan):
        notes = {
            Status.SUBMITTED: N_("Submitted; waiting for approval."),
            Status.APPROVED: N_("Tap a milestone to report progress on it."),
            Status.DONE: N_("Every milestone is done. Well done! 👍"),
        }
        if plan.status in notes:
            text += "\n\n" + tr._(notes[plan.status])
        if plan.status == Status.APPROVED:
            buttons = _keys(
                *([_c(f"📝 {tr.date(m.due)} {label(m.text, 24)}", "report", m.id)]
                  for m in view.milestones if m.done_at is None)
            )  # fmt: skip
    elif plans.DECIDERS.allows(actor, plan) and plan.status == Status.SUBMITTED:
        buttons = markup(plans.decision_choices(tr, plan.id, round_))
    return Prompt(text, buttons)


def list_prompt(
    views: list[pv.PlanView], tr: Translator, today: dt.date, title: str, empty: str
) -> Prompt:
    """Plans grouped by cycle and unit, each with its status, and a button to open it."""
    if not views:
        return Prompt(empty)
    lines = [f"<b>{title}</b>"]
    buttons: list[list[Choice]] = []
    for period, unit, group in pv.by_unit(views):
        lines += ["", f"<b>{html(tr.period(period))} · {html(unit)}</b>"]
        for view in group:
            lines.append(pv.overview_line(view, tr, today))
            if len(buttons) < 40:
                name = f"{tr.period(view.period)} {label(view.subject_name, 24)}"
                buttons.append([_c(name, "open", view.id)])
    return Prompt(cut("\n".join(lines)), _keys(*buttons))
