"""The working group's cycle overview (/cycle) and the leadership group's template approval.

Both act through buttons whose data names the object (``cy1:extend:<cycle>:<days>``,
``tp1:approve:<template>``), each format defined once below; the role is checked again on
every press, and every change is audited in the service. The template approval is pushed
by ``services.cycles`` as choices (``template.approve``, ``template.view``).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import select
from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from chat.callbacks import Callbacks
from chat.context import JxContext
from chat.flow import Prompt, answer_query, reply, send_prompt
from conversations.cases import admin_only
from conversations.common import html, keyboard, load_caller, now, pressed
from domain.enums import CyclePhase
from domain.labels import DIMENSION_LABELS, PHASE_LABELS, SOURCE_LABELS
from domain.template import Template
from domain.text import MESSAGE_LIMIT, clip_html, html_format
from infra.i18n import N_, Translator
from infra.models import Cycle, TemplateVersion
from services import cycles, official_calendar
from services.errors import DomainError
from services.notices import Localization
from services.templates import localized

CYCLE = Callbacks("cy1", "cycle_admin")  # under /cycle's overview, for the working group
EXTEND = CYCLE.action("extend", int, int)  # cy1:extend:<cycle id>:<days>
CLOSE = CYCLE.action("close", int)  # cy1:close:<cycle id>: asks first
CLOSE_CONFIRMED = CYCLE.action("close_yes", int)  # cy1:close_yes:<cycle id>
CLOSE_CANCELLED = CYCLE.action("close_no", int)  # cy1:close_no:<cycle id>: back to the overview
REFRESH = CYCLE.action("refresh", int)  # cy1:refresh:<cycle id>
EXTENSIONS: Final = (7, 3)  # the days offered; nothing else is accepted

TEMPLATE = Callbacks("tp1", "template")  # under a request to approve an indicator system
APPROVE = TEMPLATE.action("approve", int)  # tp1:approve:<template version id>
VIEW = TEMPLATE.action("view", int)  # tp1:view:<template version id>
# Requests queued before the actions had names wait in the leaders' chats: still honoured.
OLD_APPROVE = TEMPLATE.action("ok", int)
OLD_VIEW = TEMPLATE.action("v", int)


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
                    period=tr.period(c.period),
                    phase=tr._(PHASE_LABELS[c.phase]),
                    deadline=tr.datetime(c.deadline),
                ),
            ]
            if c.phase == CyclePhase.PREPARING:
                lines.append(
                    tr._("Waiting for the leadership group to approve the indicator system.")
                )
            for unit in await cycles.progress(session, c):
                lines.append(f"• {html(localized(unit.unit, tr.locale))} {unit.figures(tr)}")
            if c.phase == CyclePhase.SCORING:  # closed: scoring is next; extending reopens
                lines.append(
                    html_format(
                        tr._("Answers are closed. Send /score {code} to compute the results."),
                        code=c.period,
                    )
                )
            if c.phase in (CyclePhase.COLLECTING, CyclePhase.SCORING):
                more = (
                    N_("{period}: reopen for 7 days")
                    if c.phase == CyclePhase.SCORING
                    else N_("{period}: +7 days"),
                    N_("{period}: reopen for 3 days")
                    if c.phase == CyclePhase.SCORING
                    else N_("{period}: +3 days"),
                )
                rows.append(
                    [
                        (tr._(label).format(period=tr.period(c.period)), EXTEND.data(c.id, days))
                        for label, days in zip(more, (7, 3), strict=True)
                    ]
                )
            if c.phase == CyclePhase.COLLECTING:
                rows.append(
                    [
                        (
                            tr._("{period}: stop collecting").format(period=tr.period(c.period)),
                            CLOSE.data(c.id),
                        )
                    ]
                )
        if found:
            rows.append([(tr._("🔄 Refresh"), REFRESH.data(found[0].id))])
    text = "\n".join(lines)
    return Prompt(clip_html(text, MESSAGE_LIMIT), keyboard(*rows) if rows else None)


async def cycle_command(update: Update, context: JxContext) -> None:
    actor = await load_caller(update, context)
    tr = await context.tr(update)
    if not actor.is_admin:
        await admin_only(update, context, "cycle")
        return
    prompt = await overview(context, tr)
    await reply(update, prompt.text, prompt.markup)


async def _admin(update: Update, context: JxContext) -> cycles.Actor | None:
    """The working-group member pressing a /cycle button (anyone else: the button expired)."""
    actor = await load_caller(update, context)
    if not actor.is_admin:
        tr = await context.tr(update)
        await answer_query(update, tr._("This button has expired. Here is where you are now."))
        return None
    return cycles.Actor("telegram", actor.telegram_id, actor.staff.id if actor.staff else None)


async def extend(update: Update, context: JxContext) -> None:
    """+7 or +3 days from the later of the deadline and now."""
    cycle_id, days = EXTEND.args(update)
    who = await _admin(update, context)
    if who is None:
        return
    if days not in EXTENSIONS:
        tr = await context.tr(update)
        await answer_query(update, tr._("This button has expired. Here is where you are now."))
        return
    await _change(update, context, cycle_id, who, days=days, edit=True)


async def ask_close(update: Update, context: JxContext) -> None:
    """Stop collecting? Only a question, in place of the overview, with a way back; asked
    outside a transaction, which holds no lock."""
    (cycle_id,) = CLOSE.args(update)
    if await _admin(update, context) is None:
        return
    tr = await context.tr(update)
    async with context.services.reads() as session:
        cycle = await session.get(Cycle, cycle_id)
    await answer_query(update)
    if cycle is not None:
        question = html_format(
            tr._(
                "Stop collecting answers for {period}? Unsubmitted forms can then no longer be submitted."
            ),
            period=tr.period(cycle.period),
        )
        buttons = keyboard(
            [
                (tr._("Yes, stop collecting"), CLOSE_CONFIRMED.data(cycle.id)),
                (tr._("✖ Cancel"), CLOSE_CANCELLED.data(cycle.id)),
            ]
        )
        await send_prompt(update, context, Prompt(question, buttons), edit=True)


async def close(update: Update, context: JxContext) -> None:
    """Stop collecting, confirmed; the question becomes the overview again."""
    (cycle_id,) = CLOSE_CONFIRMED.args(update)
    who = await _admin(update, context)
    if who is None:
        return
    await _change(update, context, cycle_id, who, days=None, edit=True)


async def keep_collecting(update: Update, context: JxContext) -> None:
    """取消: nothing changes; the question becomes the overview again."""
    if await _admin(update, context) is None:
        return
    tr = await context.tr(update)
    await answer_query(update, tr._("Cancelled. Nothing was changed."))
    await send_prompt(update, context, await overview(context, tr), edit=True)


async def refresh(update: Update, context: JxContext) -> None:
    """The overview again, in place."""
    if await _admin(update, context) is None:
        return
    tr = await context.tr(update)
    await answer_query(update)
    await send_prompt(update, context, await overview(context, tr), edit=True)


async def _change(
    update: Update,
    context: JxContext,
    cycle_id: int,
    who: cycles.Actor,
    *,
    days: int | None,
    edit: bool,
) -> None:
    """Extend by ``days``, or (None) stop collecting; then the overview."""
    if not await change(update, context, cycle_id, who, days=days):
        return
    tr = await context.tr(update)
    await answer_query(update, tr._("Done."))
    await send_prompt(update, context, await overview(context, tr), edit=edit)


async def change(
    update: Update, context: JxContext, cycle_id: int, who: cycles.Actor, *, days: int | None
) -> bool:
    """Extend by ``days``, or (None) stop collecting, in the update's transaction; a refusal
    is told in an alert (False). Shared with the console (``conversations.console``)."""
    tr = await context.tr(update)
    try:
        async with context.transaction() as session:
            cycle = await session.get(Cycle, cycle_id)
            if cycle is None:
                raise DomainError("There is no cycle {period}.", period=str(cycle_id))
            if days is not None:
                base, settings = max(cycle.deadline, now(context)), context.services.settings
                cal = await official_calendar.calendar(session)
                await cycles.extend(
                    session,
                    cycle.period,
                    cycles.extended_deadline(base, days, settings.tz, cal),
                    now=now(context),
                    actor=who,
                    local=Localization.of(settings),
                    admin_ids=settings.admin_id_set,
                )
            else:
                await cycles.close(session, cycle.period, now=now(context), actor=who)
    except DomainError as exc:
        await answer_query(update, exc.plain(tr), alert=True)
        return False
    return True


async def view_template(update: Update, context: JxContext) -> None:
    """The indicator system waiting for approval, listed."""
    (template_id,) = pressed(update, VIEW, OLD_VIEW)
    tr = await context.tr(update)
    async with context.services.reads() as session:
        version = await session.get(TemplateVersion, template_id)
    await answer_query(update)
    if version is not None:
        await reply(update, indicator_list(Template.from_dict(version.content), tr))


async def approve_template(update: Update, context: JxContext) -> None:
    """审定: a leadership member approves the indicator system; waiting cycles start collecting."""
    (template_id,) = pressed(update, APPROVE, OLD_APPROVE)
    tr = await context.tr(update)
    actor = await load_caller(update, context)
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
                local=Localization.of(context.services.settings),
            )
    except DomainError as exc:
        await answer_query(update, exc.plain(tr), alert=True)
        return
    context.services.outbox_wake()
    await answer_query(update, tr._("Approved."))
    text = tr._("You approved this indicator system.")
    if started:
        text += "\n" + html_format(
            tr._("Now collecting: {periods}."),
            periods=tr.join(tr.period(c.period) for c in started),
        )
    await send_prompt(update, context, Prompt(text))


def indicator_list(template: Template, tr: Translator) -> str:
    lines = [f"<b>{html(localized(template.name, tr.locale))}</b>"]
    for dim, weight in template.dimension_weights.items():
        lines.append(f"\n<b>{tr._(DIMENSION_LABELS[dim])} {tr.percent(weight)}</b>")
        for ind in template.indicators:
            if ind.dimension == dim:
                sources = tr.paren(tr.join(tr._(SOURCE_LABELS[s]) for s in ind.sources))
                name = html(localized(ind.name, tr.locale, ind.name_en))
                lines.append(f"• {name} {tr.percent(ind.weight)}{sources}")
    text = "\n".join(lines)
    return clip_html(text, MESSAGE_LIMIT)


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("cycle", cycle_command),
        EXTEND.handler(extend),
        CLOSE.handler(ask_close),
        CLOSE_CONFIRMED.handler(close),
        CLOSE_CANCELLED.handler(keep_collecting),
        REFRESH.handler(refresh),
        APPROVE.handler(approve_template),
        VIEW.handler(view_template),
        OLD_APPROVE.handler(approve_template),
        OLD_VIEW.handler(view_template),
    ]
