"""The home screen: a bound staff member's tasks and tools, or a citizen's welcome.

Its buttons open a form list (``hm1:self``, ``hm1:review``, ``hm1:peer``); the rating
flow (``conversations.form``) takes them as entry points, through the actions below.
"""

from __future__ import annotations

from sqlalchemy import select
from telegram import InlineKeyboardMarkup, Update

from chat.callbacks import Callbacks
from chat.context import JxContext
from chat.flow import reply
from conversations.common import keyboard, load_caller
from conversations.menus import sync_chat_commands
from domain.enums import Source
from domain.labels import SOURCE_LABELS
from domain.text import html_format
from infra.i18n import Translator
from infra.models import OrgUnit
from services import forms
from services.access import Actor

CB = Callbacks("hm1", "home")
# one action per kind of task, without arguments: the data stays hm1:self as before
OPEN_SELF = CB.action("self")  # 自评
OPEN_REVIEW = CB.action("review")  # 上级评价
OPEN_PEER = CB.action("peer")  # 同事互评
TASKS = {Source.SELF: OPEN_SELF, Source.SUPERIOR: OPEN_REVIEW, Source.PEER: OPEN_PEER}
"""The home button that opens each source's forms."""


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
    """Greeting, this cycle's open tasks with counts (自評 未完成, 互評 3/5), the role's tools."""
    lines: list[str] = []
    buttons: list[list[tuple[str, str]]] = []
    if actor.staff is not None:
        async with context.services.reads() as session:
            unit = await session.scalar(
                select(OrgUnit.name).where(OrgUnit.id == actor.staff.unit_id)
            )
            summaries = await forms.task_summary(session, actor.staff.id)
        lines.append(
            html_format(tr._("Hello, {name} ({unit})."), name=actor.staff.name, unit=unit or "")
        )
        lines.append("")
        lines.append(tr._("<b>Your tasks</b>"))
        if not summaries:
            lines.append(
                tr._(
                    "No evaluation is collecting answers at the moment. You will be notified when a cycle opens."
                )
            )
        for summary in summaries:
            lines += task_lines(summary, tr)
            buttons += task_buttons(summary, tr)
    else:
        lines.append(tr._("Hello. You are signed in as a member of the evaluation working group."))
    if actor.is_unit_head and not actor.is_admin:
        lines.append("")
        lines.append(tr._("<b>Unit head</b>"))
        lines.append(tr._("• /rectify — bad reviews of your unit to handle"))
        lines.append(tr._("• /links, /surveys — survey QR codes and your unit's satisfaction"))
    if actor.is_admin:
        lines.append("")
        lines.append(tr._("<b>Evaluation working group</b>"))
        lines.append(tr._("• Send the staff roster (CSV or XLSX) as a file to import it."))
        lines.append(tr._("• /invites — invite codes for everyone not yet linked"))
        lines.append(tr._("• /reissue &lt;employee no.&gt; — a new code for one person"))
        lines.append(tr._("• /unbind &lt;employee no.&gt; — unlink someone's Telegram account"))
        lines.append(tr._("• /cycle — evaluation cycles, progress, deadlines"))
        lines.append(tr._("• /proxy, /reassign, /reopen — paper forms, absent raters, reopening"))
        lines.append(
            tr._(
                "• /links, /surveys, /reviews — survey QR codes, satisfaction, bad reviews to re-examine"
            )
        )
    return "\n".join(lines), keyboard(*buttons) if buttons else None


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
