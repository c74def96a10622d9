"""The working group's cycle overview (/cycle) and the leadership group's template approval.

Both act through buttons whose data names the object (``cy1:ext:<cycle>:<days>``,
``tp1:ok:<template>``); the role is checked again on every press, and every
change is audited in the service.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from chat.context import JxContext
from chat.flow import Prompt, answer_query, reply, send_prompt
from conversations.common import html, keyboard, load_caller, now
from domain.enums import CyclePhase
from domain.labels import DIMENSION_LABELS, PHASE_LABELS, SOURCE_LABELS
from domain.template import Template
from domain.text import MESSAGE_LIMIT, clip_html, html_format
from infra.i18n import Translator
from infra.models import Cycle, TemplateVersion
from services import cycles
from services.errors import DomainError
from services.templates import localized

CY = re.compile(r"^cy1:(ext|cls|cls!|rf):(\d{1,9})(?::(\d{1,2}))?$")
TP = re.compile(r"^tp1:(ok|v):(\d{1,9})$")


async def overview(context: JxContext, tr: Translator) -> Prompt:
    async with context.services.reads() as session:
        found = list(await session.scalars(select(Cycle).order_by(Cycle.id.desc()).limit(4)))
        lines = [tr._("<b>Evaluation cycles</b>")]
        rows: list[list[tuple[str, str]]] = []
        if not found:
            lines.append(
                tr._("No cycles yet. Open one with “jixiao cycle open” or send a template file.")
            )
        for c in found:
            lines += [
                "",
                html_format(
                    tr._("<b>{period}</b>: {phase}, deadline {deadline}"),
                    period=c.period,
                    phase=tr._(PHASE_LABELS[c.phase]),
                    deadline=tr.datetime(c.deadline, "short"),
                ),
            ]
            if c.phase == CyclePhase.PREPARING:
                lines.append(
                    tr._("Waiting for the leadership group to approve the indicator system.")
                )
            for unit in await cycles.progress(session, c):
                parts = " ".join(
                    f"{tr._(SOURCE_LABELS[s])} {unit.done.get(s, 0)}/{n}"
                    for s, n in unit.total.items()
                )
                lines.append(
                    f"• {html(unit.unit)} {unit.done_all}/{unit.total_all}（{parts}）"
                    if tr.locale != "en"
                    else f"• {html(unit.unit)} {unit.done_all}/{unit.total_all} ({parts})"
                )
            if c.phase in (CyclePhase.COLLECTING, CyclePhase.SCORING):
                rows.append(
                    [
                        (tr._("{period}: +7 days").format(period=c.period), f"cy1:ext:{c.id}:7"),
                        (tr._("{period}: +3 days").format(period=c.period), f"cy1:ext:{c.id}:3"),
                    ]
                )
            if c.phase == CyclePhase.COLLECTING:
                rows.append(
                    [(tr._("{period}: stop collecting").format(period=c.period), f"cy1:cls:{c.id}")]
                )
        if found:
            rows.append([(tr._("🔄 Refresh"), f"cy1:rf:{found[0].id}")])
    text = "\n".join(lines)
    return Prompt(clip_html(text, MESSAGE_LIMIT), keyboard(*rows) if rows else None)


async def cycle_command(update: Update, context: JxContext) -> None:
    actor = await load_caller(update, context)
    tr = await context.tr(update)
    if not actor.is_admin:
        from conversations.admin import _require_admin

        await _require_admin(update, context, "cycle")
        return
    prompt = await overview(context, tr)
    await reply(update, prompt.text, prompt.markup)


async def cycle_button(update: Update, context: JxContext) -> None:
    tr = await context.tr(update)
    match = CY.match(update.callback_query.data or "") if update.callback_query else None
    actor = await load_caller(update, context)
    if match is None or not actor.is_admin:
        await answer_query(update, tr._("This button has expired. Here is where you are now."))
        return
    action, cycle_id, days = match.groups()
    who = cycles.Actor("telegram", actor.telegram_id, actor.staff.id if actor.staff else None)
    if action == "cls":  # only a question: asked outside the transaction, which holds no lock
        async with context.services.reads() as session:
            cycle = await session.get(Cycle, int(cycle_id))
        await answer_query(update)
        if cycle is not None:
            await reply(
                update,
                html_format(
                    tr._(
                        "Stop collecting answers for {period}? Unsubmitted forms can then no longer be submitted."
                    ),
                    period=cycle.period,
                ),
                keyboard([(tr._("Yes, stop collecting"), f"cy1:cls!:{cycle.id}")]),
            )
        return
    try:
        async with context.transaction() as session:
            cycle = await session.get(Cycle, int(cycle_id))
            if cycle is None:
                raise DomainError("There is no cycle {period}.", period=cycle_id)
            if action == "ext":
                base = max(cycle.deadline, now(context))
                await cycles.extend(
                    session,
                    cycle.period,
                    base + dt.timedelta(days=int(days or 7)),
                    now=now(context),
                    actor=who,
                )
            elif action == "cls!":
                await cycles.close(session, cycle.period, now=now(context), actor=who)
    except DomainError as exc:
        await answer_query(update, exc.plain(tr), alert=True)
        return
    await answer_query(update, tr._("Done.") if action != "rf" else None)
    await send_prompt(update, context, await overview(context, tr), edit=action in ("ext", "rf"))


async def template_button(update: Update, context: JxContext) -> None:
    """审定: a leadership member approves the indicator system; waiting cycles start collecting."""
    tr = await context.tr(update)
    match = TP.match(update.callback_query.data or "") if update.callback_query else None
    if match is None:
        await answer_query(update, tr._("This button has expired. Here is where you are now."))
        return
    action, template_id = match.group(1), int(match.group(2))
    actor = await load_caller(update, context)
    if action == "v":
        async with context.services.reads() as session:
            version = await session.get(TemplateVersion, template_id)
        await answer_query(update)
        if version is not None:
            await reply(update, indicator_list(Template.from_dict(version.content), tr))
        return
    if actor.staff is None:
        await answer_query(
            update,
            tr._("Only members of the leadership group can approve indicator systems."),
            alert=True,
        )
        return
    try:
        async with context.transaction() as session:
            started = await cycles.approve_template(
                session,
                template_id,
                staff_id=actor.staff.id,
                telegram_id=actor.telegram_id,
                now=now(context),
            )
    except DomainError as exc:
        await answer_query(update, exc.plain(tr), alert=True)
        return
    context.services.outbox_wake()
    await answer_query(update, tr._("Approved."))
    text = tr._("You approved this indicator system.")
    if started:
        text += "\n" + html_format(
            tr._("Now collecting: {periods}."), periods="、".join(c.period for c in started)
        )
    await send_prompt(update, context, Prompt(text))


def indicator_list(template: Template, tr: Translator) -> str:
    lines = [f"<b>{html(template.name)}</b>"]
    for dim, weight in template.dimension_weights.items():
        lines.append(f"\n<b>{tr._(DIMENSION_LABELS[dim])} {weight}%</b>")
        for ind in template.indicators:
            if ind.dimension == dim:
                sources = "、".join(tr._(SOURCE_LABELS[s]) for s in ind.sources)
                lines.append(
                    f"• {html(localized(ind.name, tr.locale, ind.name_en))} {ind.weight}%（{sources}）"
                )
    text = "\n".join(lines)
    return clip_html(text, MESSAGE_LIMIT)


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("cycle", cycle_command),
        CallbackQueryHandler(cycle_button, pattern=r"^cy1:"),
        CallbackQueryHandler(template_button, pattern=r"^tp1:"),
    ]
