"""/admin: one console for the working group (leaders see the same figures, read-only).

One message: the current cycle's period, phase and deadline, progress by unit, and a
button for each thing to do now. Every press is checked again (the role from the
database, the cycle from the data) and redraws the same message in place
(``editMessageText``): a one-way action asks first, in place of the console, with a way
back. Actions call the same code as their commands (``cycle_admin.change``,
``results.score_period`` and ``send_cycle``, ``result_review.decide``); the entries of
``conversations.console_entries`` start the commands' own flows, whose screens arrive as
new messages below while the console stays where it is. Services audit the changes;
refusals here are audited as ``access.denied``.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from chat.callbacks import Callbacks
from chat.context import JxContext
from chat.flow import Prompt, answer_query, leave_current, send_prompt
from chat.prompt import keep_pressed_message
from conversations import cycle_admin, result_review, results
from conversations.admin import _require_admin
from conversations.common import audit_actor, html, keyboard, load_caller, now
from conversations.console_entries import ENTRIES, allowed, entry
from conversations.menus import sync_chat_commands
from domain.enums import CyclePhase
from domain.labels import PHASE_LABELS
from domain.text import MESSAGE_LIMIT, clip_html, html_format
from infra.i18n import N_, Translator
from infra.models import Cycle
from services import console as cs
from services import cycles
from services.access import Actor
from services.audit import audit
from services.errors import DomainError
from services.notices import Localization
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

ONLY_WORKING_GROUP = N_("Sorry, only the evaluation working group can do this.")
UNITS_SHOWN = 30
"""Units listed by name; the rest are summed in one line (a message holds 4,096 characters)."""


async def admin_command(update: Update, context: JxContext) -> None:
    """/admin: the console for the working group, read-only for the leadership group."""
    await leave_current(update, context)
    actor = await load_caller(update, context)
    if not actor.is_admin and not actor.is_leadership:
        await _require_admin(update, context, "admin")
        return
    tr = await context.tr(update)
    await sync_chat_commands(update, context, actor, tr)
    await send_prompt(update, context, await console(context, actor, tr))


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
    lines: list[str] = [
        html_format(
            tr._("<b>{period}</b>: {phase}, deadline {deadline}"),
            period=tr.period(c.period),
            phase=tr._(PHASE_LABELS[c.phase]),
            deadline=tr.datetime(c.deadline),
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
        return tr._("Waiting for the leadership group to approve the indicator system.")
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


async def _gate(update: Update, context: JxContext, *, readers: bool = False) -> Actor | None:
    """The caller if they may press this (the working group; ``readers``: leaders too); anyone
    else is refused politely and audited, and nothing changes."""
    actor = await load_caller(update, context)
    if actor.is_admin or (readers and actor.is_leadership):
        return actor
    await _refuse(update, context, actor)
    return None


async def _refuse(update: Update, context: JxContext, actor: Actor) -> None:
    data = (update.callback_query.data if update.callback_query else None) or ""
    async with context.transaction() as session:
        await audit(
            session,
            "access.denied",
            **audit_actor(context, actor),
            object_type="console",
            object_id=data[:64],
            detail={"action": "admin"},
        )
    tr = await context.tr(update)
    await answer_query(update, tr._(ONLY_WORKING_GROUP), alert=True)


async def _redraw(
    update: Update, context: JxContext, actor: Actor, notice: list[str] | None = None
) -> None:
    """The console again, in place of the pressed message."""
    tr = await context.tr(update)
    await answer_query(update)  # a no-op when the action answered already
    await send_prompt(update, context, await console(context, actor, tr, notice), edit=True)


def _who(actor: Actor) -> cycles.Actor:
    return cycles.Actor("telegram", actor.telegram_id, actor.staff.id if actor.staff else None)


async def _cycle(context: JxContext, cycle_id: int) -> Cycle | None:
    async with context.services.reads() as session:
        return await session.get(Cycle, cycle_id)


async def _ask(update: Update, context: JxContext, question: str, yes: str, yes_data: str) -> None:
    """A one-way action's question, in place of the console, with the way back."""
    tr = await context.tr(update)
    await answer_query(update)
    buttons = keyboard([(yes, yes_data), (tr._("✖ Cancel"), BACK.data())])
    await send_prompt(update, context, Prompt(question, buttons), edit=True)


async def refresh(update: Update, context: JxContext) -> None:
    """刷新: the figures of now, in place."""
    if (actor := await _gate(update, context, readers=True)) is not None:
        await _redraw(update, context, actor)


async def back(update: Update, context: JxContext) -> None:
    """取消 under a question: nothing changes, the console again."""
    if (actor := await _gate(update, context)) is not None:
        tr = await context.tr(update)
        await answer_query(update, tr._("Cancelled. Nothing was changed."))
        await _redraw(update, context, actor)


async def ask_remind(update: Update, context: JxContext) -> None:
    (cycle_id,) = REMIND.args(update)
    if await _gate(update, context) is None or (cycle := await _cycle(context, cycle_id)) is None:
        return
    tr = await context.tr(update)
    async with context.services.reads() as session:
        found = await cs.console(session, staff_id=None)
    question = html_format(
        tr.ngettext(
            "Remind the {count} person behind with the {period} forms? Each person gets one reminder a day at most.",
            "Remind the {count} people behind with the {period} forms? Each person gets one reminder a day at most.",
            found.reachable,
        ),
        count=found.reachable,
        period=tr.period(cycle.period),
    )
    await _ask(update, context, question, tr._("Yes, remind them"), REMIND_YES.data(cycle_id))


async def remind(update: Update, context: JxContext) -> None:
    """Confirmed: queue the reminders (once a day each, so a double tap sends once)."""
    (cycle_id,) = REMIND_YES.args(update)
    if (actor := await _gate(update, context)) is None:
        return
    tr = await context.tr(update)
    settings = context.services.settings
    try:
        async with context.transaction() as session:
            queued = await cs.remind(
                session,
                cycle_id,
                now=now(context),
                actor=_who(actor),
                local=Localization.of(settings),
            )
    except DomainError as exc:
        await answer_query(update, exc.plain(tr), alert=True)
        return
    context.services.outbox_wake()
    notice = (
        tr.ngettext("Reminded {count} person.", "Reminded {count} people.", queued).format(
            count=queued
        )
        if queued
        else tr._("Everyone behind was already reminded today; nothing more was sent.")
    )
    await _redraw(update, context, actor, [html(notice)])


async def extend(update: Update, context: JxContext) -> None:
    cycle_id, days = EXTEND.args(update)
    if (actor := await _gate(update, context)) is None:
        return
    if days not in cycle_admin.EXTENSIONS:
        tr = await context.tr(update)
        await answer_query(update, tr._("This button has expired. Here is where you are now."))
        await _redraw(update, context, actor)
        return
    if await cycle_admin.change(update, context, cycle_id, _who(actor), days=days):
        tr = await context.tr(update)
        await answer_query(update, tr._("Done."))
        await _redraw(update, context, actor)


async def ask_close(update: Update, context: JxContext) -> None:
    (cycle_id,) = CLOSE.args(update)
    if await _gate(update, context) is None or (cycle := await _cycle(context, cycle_id)) is None:
        return
    tr = await context.tr(update)
    question = html_format(
        tr._(
            "Stop collecting answers for {period}? Unsubmitted forms can then no longer be submitted."
        ),
        period=tr.period(cycle.period),
    )
    await _ask(update, context, question, tr._("Yes, stop collecting"), CLOSE_YES.data(cycle_id))


async def close(update: Update, context: JxContext) -> None:
    (cycle_id,) = CLOSE_YES.args(update)
    if (actor := await _gate(update, context)) is None:
        return
    if await cycle_admin.change(update, context, cycle_id, _who(actor), days=None):
        tr = await context.tr(update)
        await answer_query(update, tr._("Done."))
        await _redraw(update, context, actor)


async def score(update: Update, context: JxContext) -> None:
    """计算成绩: as /score with the cycle's period; the grades arrive below the console."""
    (cycle_id,) = SCORE.args(update)
    if (actor := await _gate(update, context)) is None:
        return
    if (cycle := await _cycle(context, cycle_id)) is not None:
        with keep_pressed_message():
            await results.score_period(update, context, cycle.period)
    await _redraw(update, context, actor)


async def send(update: Update, context: JxContext) -> None:
    """报送审定: as the button under /score's grades."""
    cycle_id, revision = SEND.args(update)
    if (actor := await _gate(update, context)) is None:
        return
    lines = await results.send_cycle(update, context, cycle_id, revision)
    if lines is not None:
        await _redraw(update, context, actor, lines)


async def ask_publish(update: Update, context: JxContext) -> None:
    cycle_id, round_ = PUBLISH.args(update)
    if await _gate(update, context) is None or (cycle := await _cycle(context, cycle_id)) is None:
        return
    tr = await context.tr(update)
    question = html_format(
        tr._(
            "Approve the {period} results? As the group leader's approval, this publishes them: everyone is sent their result at once."
        ),
        period=tr.period(cycle.period),
    )
    await _ask(
        update,
        context,
        question,
        tr._("✅ Approve and publish"),
        PUBLISH_YES.data(cycle_id, round_),
    )


async def publish(update: Update, context: JxContext) -> None:
    """审定 by a leadership member of the working group: the same decision as under the
    request (``conversations.result_review``), which checks the round and the role."""
    cycle_id, round_ = PUBLISH_YES.args(update)
    if (actor := await _gate(update, context)) is None:
        return
    if await result_review.may_decide(update, context, cycle_id, round_):
        with keep_pressed_message():
            await result_review.decide(
                update, context, cycle_id, approve=True, comment="", round_=round_
            )
    await _redraw(update, context, actor)


async def go(update: Update, context: JxContext) -> None:
    """An entry's button: its command's own handler, then the console redrawn."""
    (key,) = GO.args(update)
    found = entry(key)
    actor = await load_caller(update, context)
    if found is None and actor.is_admin:  # an entry removed since the console was drawn
        tr = await context.tr(update)
        await answer_query(update, tr._("This button has expired. Here is where you are now."))
        await _redraw(update, context, actor)
        return
    if found is None or not allowed(
        found, is_admin=actor.is_admin, is_leadership=actor.is_leadership
    ):
        await _refuse(update, context, actor)
        return
    if found.with_period:
        async with context.services.reads() as session:
            cycle = await cs.current_cycle(session)
        context.args = [cycle.period] if cycle is not None else []
    with keep_pressed_message():
        await found.start(update, context)
    tr = await context.tr(update)
    notice = html_format(tr._("Opened below: {entry}"), entry=tr._(found.label))
    await _redraw(update, context, actor, [notice])


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("admin", admin_command),
        REFRESH.handler(refresh),
        BACK.handler(back),
        REMIND.handler(ask_remind),
        REMIND_YES.handler(remind),
        EXTEND.handler(extend),
        CLOSE.handler(ask_close),
        CLOSE_YES.handler(close),
        SCORE.handler(score),
        SEND.handler(send),
        PUBLISH.handler(ask_publish),
        PUBLISH_YES.handler(publish),
        GO.handler(go),
    ]
