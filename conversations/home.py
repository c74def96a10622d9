"""The home screen: everything waiting for a bound staff member, their roles' tools, or a
citizen's welcome. What waits comes from ``services.pending``, drawn by
``conversations.home_pending``.

Its form buttons open a form list (``hm1:self``, ``hm1:review``, ``hm1:peer``); the rating
flow (``conversations.form``) takes them as entry points, through the actions below.
"""

from __future__ import annotations

from sqlalchemy import select
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler

from chat.callbacks import Callbacks, markup
from chat.context import JxContext
from chat.flow import answer_query, reply
from conversations import appeal
from conversations import home_pending as hp
from conversations.common import keyboard, load_caller, now
from conversations.home_pending import Rows
from conversations.menus import sync_chat_commands
from domain.enums import Source
from domain.labels import GRADE_LABELS, SOURCE_LABELS
from domain.text import MESSAGE_LIMIT, clip_html, html_format
from infra.i18n import Translator
from infra.models import OrgUnit
from services import forms, leadership, pending, result_views
from services.access import Actor
from services.errors import DomainError
from services.notices import Localization
from services.result_notices import plan_required, result_choices, result_text
from services.templates import localized

CB = Callbacks("hm1", "home")
# one action per kind of task, without arguments: the data stays hm1:self as before
OPEN_SELF = CB.action("self")  # 自评
OPEN_REVIEW = CB.action("review")  # 上级评价
OPEN_PEER = CB.action("peer")  # 同事互评
TASKS = {Source.SELF: OPEN_SELF, Source.SUPERIOR: OPEN_REVIEW, Source.PEER: OPEN_PEER}
"""The home button that opens each source's forms."""
OPEN_RESULT = CB.action("result", int)  # hm1:result:<result id>: the person's own, opened


async def show_home(update: Update, context: JxContext) -> None:
    """``/start`` without a code; also what a chat sees when nothing else is open."""
    actor = await load_caller(update, context)
    tr = await context.tr(update)
    await sync_chat_commands(update, context, actor, tr)
    if actor.staff is None and not actor.is_admin:
        await reply(update, citizen_welcome(tr))
        return
    text, markup = await staff_home(context, actor, tr)
    await reply(update, text, markup)


def citizen_welcome(tr: Translator) -> str:
    return "\n\n".join(
        [
            tr._(
                "Hello! This is the performance service assistant of the Emergency Management Bureau."
            ),
            tr._(
                "If you received a service from us, please scan the QR code shown at the service window or by our staff to rate it. It takes about a minute, and we do not ask for your name or phone number."
            ),
            tr._(
                "Bureau staff: open the invite link the evaluation working group sent you to link your account."
            ),
            tr._("Send /language to change the language, /help for help."),
        ]
    )


async def staff_home(
    context: JxContext, actor: Actor, tr: Translator
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Greeting, everything waiting for the person (forms with counts, results and their
    appeal deadline, plans, approvals, appeals, bad reviews), grouped by role, with buttons."""
    lines: list[str] = []
    buttons: list[list[tuple[str, str]]] = []
    settings = context.services.settings
    if actor.staff is not None and actor.is_leadership:
        await deliver_missing_requests(context, actor, tr)
    async with context.services.reads() as session:
        found = await pending.pending_for(session, actor, now=now(context), tz=settings.tz)
        unit = None
        if actor.staff is not None:
            unit = await session.scalar(
                select(OrgUnit.name).where(OrgUnit.id == actor.staff.unit_id)
            )

    def section(more: tuple[list[str], list[list[tuple[str, str]]]]) -> None:
        lines.extend(more[0])
        buttons.extend(more[1])

    if actor.staff is not None:
        lines.append(
            html_format(
                tr._("Hello, {name} ({unit})."),
                name=actor.staff.name,
                unit=localized(unit or "", tr.locale),
            )
        )
        mine: list[str] = []
        for summary in found.forms:
            mine += task_lines(summary, tr)
            buttons += task_buttons(summary, tr)
        for more in (result_lines(found, tr), hp.own_lines(found, tr)):
            mine += more[0]
            buttons += more[1]
        if found.empty:
            mine += hp.nothing_lines(found, tr)
        if mine:  # a leader whose only task is an approval reads it under the role
            lines += ["", tr._("<b>Your tasks</b>"), *mine]
    else:
        lines.append(tr._("Hello. You are signed in as a member of the evaluation working group."))
    led = hp.leadership_lines(found, tr)
    if led[0]:
        lines.append("")
        section(led)
    if actor.is_unit_head and not actor.is_admin:
        lines.append("")
        lines.append(tr._("<b>Unit head</b>"))
        section(hp.rectify_lines(found.rectify, tr))
        lines.append(tr._("• /rectify — negative ratings of your unit to handle"))
        lines.append(tr._("• /links, /surveys — survey QR codes and your unit's satisfaction"))
    if actor.is_admin:
        lines.append("")
        lines.append(tr._("<b>Evaluation working group</b>"))
        section(hp.working_group_lines(found, tr))
        if actor.is_unit_head:
            section(hp.rectify_lines(found.rectify, tr))
        lines.append(tr._("• Send the staff roster (CSV or XLSX) as a file to import it."))
        lines.append(tr._("• /invites — invite codes for everyone not yet linked"))
        lines.append(tr._("• /reissue &lt;employee no.&gt; — a new code for one person"))
        lines.append(tr._("• /unbind &lt;employee no.&gt; — unlink someone's Telegram account"))
        lines.append(tr._("• /cycle — evaluation cycles, progress, deadlines"))
        lines.append(tr._("• /proxy, /reassign, /reopen — paper forms, absent raters, reopening"))
        lines.append(
            tr._(
                "• /links, /surveys, /reviews — survey QR codes, satisfaction, negative ratings to re-examine"
            )
        )
    text = clip_html("\n".join(lines), MESSAGE_LIMIT)
    return text, keyboard(*buttons) if buttons else None


def result_lines(found: pending.Pending, tr: Translator) -> tuple[list[str], Rows]:
    """Results new to the person (🆕) or open to appeal, with the appeal deadline (申诉)."""
    lines: list[str] = []
    rows: Rows = []
    many = len(found.results) > 1
    for r in found.results:
        lines.append(
            ("" if r.viewed else "🆕 ")
            + html_format(
                tr._("<b>{period} results published</b>: {total}, {grade}"),
                period=tr.period(r.period),
                total=format(r.total, "f"),
                grade=tr._(GRADE_LABELS[r.grade]),
            )
        )
        suffix = tr.paren(tr.period(r.period)) if many else ""
        row = [(tr._("View the result") + suffix, OPEN_RESULT.data(r.result_id))]
        if r.appeals_until is not None:
            lines.append(
                html_format(
                    tr._("• If you disagree with the result, you may appeal until {deadline}."),
                    deadline=tr.datetime(r.appeals_until),
                )
            )
            row.append((tr._("Appeal") + suffix, appeal.NEW.data(r.result_id)))
        rows.append(row)
    return lines, rows


async def deliver_missing_requests(context: JxContext, actor: Actor, tr: Translator) -> None:
    """A leader who linked after a 审定 request was sent gets their copy now, once (the home
    screen lists the request; the copy carries its buttons)."""
    assert actor.staff is not None
    settings = context.services.settings
    async with context.services.reads() as session:
        items = await leadership.awaiting(session, actor.staff.id)
        lacking = await leadership.missing(session, items, actor.telegram_id)
    if not lacking:  # rare (linking hands copies over itself): a write only then
        return
    async with context.transaction() as session:
        await leadership.deliver(
            session,
            lacking,
            actor.telegram_id,
            tr.locale,
            quota=settings.excellent_quota,
            local=Localization.of(settings),
        )
    context.services.outbox_wake()


def task_lines(summary: forms.TaskSummary, tr: Translator) -> list[str]:
    lines: list[str] = [
        html_format(
            tr._("<b>{period} evaluation</b> (closes {deadline})"),
            period=tr.period(summary.cycle.period),
            deadline=tr.datetime(summary.cycle.deadline),
        )
    ]
    order = list(Source)
    for (source, is_unit), (done, total) in sorted(
        summary.counts.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])
    ):
        if source == Source.SELF and is_unit:
            label = tr._("Unit self-assessment")
        elif is_unit:  # a unit rated besides people: two lines that must not read alike
            label = tr._("{task} of units").format(task=tr._(SOURCE_LABELS[source]))
        else:
            label = tr._(SOURCE_LABELS[source])
        if source == Source.SELF:
            state = tr._("submitted") if done == total else tr._("not finished")
        else:
            state = f"{done}/{total}"
        lines.append(html_format(tr._("• {task}: {state}"), task=label, state=state))
    return lines


def task_buttons(summary: forms.TaskSummary, tr: Translator) -> list[list[tuple[str, str]]]:
    rows = []
    for source, action in TASKS.items():
        done = sum(d for (s, _), (d, _t) in summary.counts.items() if s == source)
        total = sum(t for (s, _), (_d, t) in summary.counts.items() if s == source)
        if total and done < total:
            rows.append([(tr._(SOURCE_LABELS[source]) + tr.paren(total - done), action.data())])
    return rows


async def open_result(update: Update, context: JxContext) -> None:
    """查看结果: the person's result message again (its buttons too), noted as seen."""
    (result_id,) = OPEN_RESULT.args(update)
    actor = await load_caller(update, context)
    tr = await context.tr(update)
    try:
        async with context.transaction() as session:
            staff_id = actor.staff.id if actor.staff else None
            own = await result_views.open_own(session, result_id, staff_id=staff_id)
            text = result_text(own.cycle, own.result, tr, name=own.name)
            choices = result_choices(own.result, tr, plan_required=plan_required(own.result))
    except DomainError as exc:
        await answer_query(update, exc.plain(tr), alert=True)
        return
    await answer_query(update)
    await reply(update, text, markup(choices))


def build_handlers() -> list[BaseHandler]:
    return [OPEN_RESULT.handler(open_result)]
