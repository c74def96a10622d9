"""What /admin shows: the console's text and buttons, and its callback codec.

Drawn from ``services.console`` alone, for whoever looks: the working group gets the
buttons of the cycle's phase and the console's entries, the leadership group the same
figures without buttons (``conversations.console`` checks every press again).
"""

from __future__ import annotations

from chat.callbacks import Callbacks
from chat.context import JxContext
from chat.flow import Prompt
from conversations import cycle_admin
from conversations.common import keyboard
from conversations.console_entries import ENTRIES, allowed
from domain.enums import CyclePhase
from domain.labels import PHASE_LABELS
from domain.text import MESSAGE_LIMIT, clip_html, html_format
from infra.i18n import N_, Translator
from services import console as cs
from services.access import Actor
from services.templates import localized

CB = Callbacks("ac1", "console")
REFRESH = CB.action("refresh")  # ac1:refresh: the console again (anyone who may see it)
REMIND = CB.action("remind", int)  # ac1:remind:<cycle>: asks first
REMIND_YES = CB.action("remind_yes", int)
EXTEND = CB.action("extend", int, int)  # ac1:extend:<cycle>:<days of cycle_admin.EXTENSIONS>
CLOSE = CB.action("close", int)  # asks first
CLOSE_YES = CB.action("close_yes", int)
SCORE = CB.action("score", int)
SEND = CB.action("send", int, int)  # ac1:send:<cycle>:<scored revision>: to 审定
PUBLISH = CB.action("publish", int, int)  # ac1:publish:<cycle>:<review round>: asks first
PUBLISH_YES = CB.action("publish_yes", int, int)
BACK = CB.action("back")  # a question answered "no": nothing changes
GO = CB.action("go", str)  # ac1:go:<console entry key>

UNITS_SHOWN = 30
"""Units listed by name; the rest are summed in one line (a message holds 4,096 characters)."""


async def console(
    context: JxContext, actor: Actor, tr: Translator, notice: list[str] | None = None
) -> Prompt:
    """The console as ``actor`` may see it, ``notice`` (what was just done) on top."""
    staff_id = actor.staff.id if actor.staff is not None else None
    async with context.services.reads() as session:
        found = await cs.console(session, staff_id=staff_id)
    lines = [*(notice or []), *([""] if notice else []), tr._("<b>Evaluation console</b>")]
    lines += _cycle_lines(found, tr)
    rows = _action_rows(found, tr) if actor.is_admin else []
    shown = [
        (tr._(e.label), GO.data(e.key))
        for e in ENTRIES
        if allowed(e, is_admin=actor.is_admin, is_leadership=actor.is_leadership)
    ]
    rows += [shown[i : i + 2] for i in range(0, len(shown), 2)]
    if rows:  # the leaders' view has no buttons unless an entry is theirs
        rows.append([(tr._("🔄 Refresh"), REFRESH.data())])
    return Prompt(clip_html("\n".join(lines), MESSAGE_LIMIT), keyboard(*rows) if rows else None)


def _cycle_lines(found: cs.Console, tr: Translator) -> list[str]:
    c = found.cycle
    if c is None:
        return [tr._("No cycles yet. Send an indicator system file to open one.")]
    # the heading names no deadline: the one stored is the collection's, which the phase
    # line gives while it matters (an appeals deadline beside it would read as two)
    lines: list[str] = [
        html_format(
            tr._("<b>{period}</b>: {phase}"),
            period=tr.period(c.period),
            phase=tr._(PHASE_LABELS[c.phase]),
        )
    ]
    if found.units:
        lines.append(tr._("Forms submitted of expected, by the raters' unit:"))
    for u in found.units[:UNITS_SHOWN]:
        line = (
            tr.ngettext(
                "• {unit} {submitted}/{expected}, {behind} person behind",
                "• {unit} {submitted}/{expected}, {behind} people behind",
                u.behind,
            )
            if u.behind
            else tr._("• {unit} {submitted}/{expected}, all done")
        )
        lines.append(
            html_format(
                line,
                unit=localized(u.unit, tr.locale),
                submitted=u.submitted,
                expected=u.expected,
                behind=u.behind,
            )
        )
    if len(found.units) > UNITS_SHOWN:
        lines.append(
            html_format(tr._("• {count} more units"), count=len(found.units) - UNITS_SHOWN)
        )
    if found.behind:
        lines.append(
            html_format(
                tr.ngettext(
                    "{behind} person is behind; {reachable} of them have linked and can be reminded.",
                    "{behind} people are behind; {reachable} of them have linked and can be reminded.",
                    found.behind,
                ),
                behind=found.behind,
                reachable=found.reachable,
            )
        )
    lines.append(_phase_line(found, tr))
    return lines


def _phase_line(found: cs.Console, tr: Translator) -> str:
    c = found.cycle
    assert c is not None
    if c.phase == CyclePhase.PREPARING:
        return html_format(
            tr._(
                "Waiting for the leadership group to approve the indicator system; ratings are then collected until {deadline}."
            ),
            deadline=tr.datetime(c.deadline),
        )
    if c.phase == CyclePhase.COLLECTING:
        return html_format(
            tr._("Ratings are being collected; the rating deadline is {deadline}."),
            deadline=tr.datetime(c.deadline),
        )
    if c.phase == CyclePhase.SCORING and c.scored_revision is None:
        return tr._("Answers are closed. Compute the results next.")
    if c.phase == CyclePhase.SCORING:
        return tr._("The results are computed. Send them to the leadership group for approval.")
    if c.phase == CyclePhase.REVIEW:
        return tr._(
            "The results are with the leadership group for approval; they are published once the group leader approves."
        )
    if c.phase in (CyclePhase.APPEALS, CyclePhase.PUBLISHED) and c.appeals_until is not None:
        return html_format(
            tr._("The results are published. Appeals are open until {deadline}."),
            deadline=tr.datetime(c.appeals_until),
        )
    return tr._("The results are published.")


def _action_rows(found: cs.Console, tr: Translator) -> list[list[tuple[str, str]]]:
    """The buttons of what can be done with the cycle in its phase (the working group's)."""
    c = found.cycle
    if c is None:
        return []
    rows: list[list[tuple[str, str]]] = []
    if c.phase == CyclePhase.COLLECTING and found.reachable:
        label = tr._("🔔 Remind those behind ({count})").format(count=found.reachable)
        rows.append([(label, REMIND.data(c.id))])
    if c.phase in (CyclePhase.COLLECTING, CyclePhase.SCORING):
        more = (
            (N_("{period}: reopen for 7 days"), N_("{period}: reopen for 3 days"))
            if c.phase == CyclePhase.SCORING
            else (N_("{period}: +7 days"), N_("{period}: +3 days"))
        )
        rows.append(
            [
                (tr._(label).format(period=tr.period(c.period)), EXTEND.data(c.id, days))
                for label, days in zip(more, cycle_admin.EXTENSIONS, strict=True)
            ]
        )
    if c.phase == CyclePhase.COLLECTING:
        label = tr._("{period}: stop collecting").format(period=tr.period(c.period))
        rows.append([(label, CLOSE.data(c.id))])
    if c.phase == CyclePhase.SCORING:
        rows.append([(tr._("Compute the results"), SCORE.data(c.id))])
        if c.scored_revision is not None:
            label = tr._("Send to the leadership group for approval")
            rows.append([(label, SEND.data(c.id, c.scored_revision))])
    if c.phase == CyclePhase.REVIEW and found.awaits_caller:
        label = tr._("✅ Approve and publish")
        rows.append([(label, PUBLISH.data(c.id, c.review_round))])
    return rows
