"""A working-group admin sends an indicator template file and opens a cycle with it.

States: PERIOD (which cycle), DEADLINE (buttons or a typed date), CONFIRM. The file
stays on Telegram (``file_id`` + SHA-256 in the position), as with the roster import.
The cycle then waits for a leadership-group member to approve the template (二(一)).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.context import JxContext
from chat.flow import END, Flow, Position, Prompt, answer_query, reply, send_prompt
from conversations.common import audit_actor, html, keyboard, load_caller, now
from domain.labels import DIMENSION_LABELS, SOURCE_LABELS
from domain.period import Period, current_quarter, parse_period
from domain.template import Template, TemplateInvalid
from domain.text import MESSAGE_LIMIT, clip_html, html_format
from infra.i18n import N_, Translator
from services import cycles, files
from services.audit import audit
from services.errors import DomainError
from services.notices import Localization
from services.templates import load_template, render_problem

PERIOD, DEADLINE, CONFIRM = "period", "deadline", "confirm"
DATA = re.compile(r"^tu1:(p|d|ok|no):([0-9A-Za-z-]{1,12})$")


class _TemplateFile(F.MessageFilter):
    """A .toml file, or an .xlsx whose name says it is an indicator template."""

    def filter(self, message: Message) -> bool:
        name = (message.document.file_name or "").lower() if message.document else ""
        return name.endswith(".toml") or (
            name.endswith(".xlsx") and any(k in name for k in ("template", "指标", "指標", "模板"))
        )


TEMPLATE_FILE = _TemplateFile()


def summary(template: Template, tr: Translator) -> str:
    dims = "、".join(
        f"{tr._(DIMENSION_LABELS[d])} {w}%" for d, w in template.dimension_weights.items()
    )
    srcs = "、".join(f"{tr._(SOURCE_LABELS[s])} {w}%" for s, w in template.source_weights.items())
    return "\n".join(
        [
            html_format(tr._("Indicator system “{name}” is valid."), name=template.name),
            html_format(tr._("Dimensions: {weights}"), weights=dims),
            html_format(tr._("Sources: {weights}"), weights=srcs),
            html_format(
                tr.ngettext("{count} indicator.", "{count} indicators.", len(template.indicators)),
                count=len(template.indicators),
            ),
        ]
    )


def _periods(today: dt.date) -> list[Period]:
    quarter = current_quarter(today)
    following = Period(
        quarter.year + (quarter.quarter == 4),
        1 if quarter.quarter == 4 else (quarter.quarter or 0) + 1,
    )
    return [quarter, following, Period(today.year)]


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    text = pos.data["summary"]
    if pos.state == PERIOD:
        today = dt.date.fromisoformat(pos.data["today"])
        rows = [
            [
                (
                    tr._("Quarter {period}").format(period=p)
                    if p.quarter
                    else tr._("Year {period}").format(period=p),
                    f"tu1:p:{p}",
                )
            ]
            for p in _periods(today)
        ]
        rows.append([(tr._("✖ Cancel"), "tu1:no:x")])
        return Prompt(
            text + "\n\n" + tr._("Which evaluation cycle should use it?"), keyboard(*rows)
        )
    period = parse_period(pos.data["period"])
    assert period is not None
    if pos.state == DEADLINE:
        suggestions = [period.last_day + dt.timedelta(days=d) for d in (10, 15, 20)]
        rows = [
            [(s.isoformat(), f"tu1:d:{s.isoformat()}") for s in suggestions],
            [(tr._("✖ Cancel"), "tu1:no:x")],
        ]
        return Prompt(
            text
            + "\n\n"
            + html_format(
                tr._(
                    "Deadline for {period}: choose a date or type one (YYYY-MM-DD). Answers are accepted until the end of that day."
                ),
                period=period,
            ),
            keyboard(*rows),
        )
    return Prompt(
        text
        + "\n\n"
        + html_format(
            tr._(
                "Open the cycle {period} with this indicator system, deadline {deadline}? It starts collecting once a member of the leadership group approves the indicator system."
            ),
            period=period,
            deadline=pos.data["deadline"],
        ),
        keyboard([(tr._("✅ Open the cycle"), "tu1:ok:1"), (tr._("✖ Cancel"), "tu1:no:x")]),
    )


flow = Flow("template_upload", N_("cycle opening"), render, prefix="tu1:")


async def _download(context: JxContext, file_id: str) -> bytes:
    return bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())


@flow.step
async def on_document(update: Update, context: JxContext) -> object:
    message = update.message
    assert message is not None and message.document is not None
    actor = await load_caller(update, context)
    tr = await context.tr(update)
    if not actor.is_admin:
        async with context.transaction() as session:
            await audit(
                session,
                "access.denied",
                **audit_actor(context, actor),
                detail={"action": "template.upload"},
            )
        await reply(update, tr._("Sorry, only the evaluation working group can do this."))
        return END
    doc = message.document
    if (doc.file_size or 0) > files.MAX_FILE_BYTES:
        limit = files.mb(files.MAX_FILE_BYTES)
        await reply(update, tr._("This file is too large (at most {max} MB).").format(max=limit))
        return END
    data = await _download(context, doc.file_id)
    try:
        # parsed in a worker thread, so a large workbook never stalls other chats
        template = await asyncio.to_thread(load_template, data, doc.file_name or "template")
    except TemplateInvalid as exc:
        lines = [f"• {html(render_problem(p, tr))}" for p in exc.problems[:30]]
        more = len(exc.problems) - len(lines)
        text = (
            tr._(
                "The indicator system was refused; nothing was saved. Please correct these problems and send it again:"
            )
            + "\n"
            + "\n".join(lines)
        )
        if more > 0:
            text += "\n" + html_format(tr._("… and {count} more."), count=more)
        await reply(update, clip_html(text, MESSAGE_LIMIT))
        return END
    today = now(context).astimezone(context.services.settings.tz).date()
    async with flow.tx(update, context) as tx:
        tx.goto(
            PERIOD,
            file_id=doc.file_id,
            name=doc.file_name or "template",
            sha256=hashlib.sha256(data).hexdigest(),
            summary=summary(template, tr),
            today=today.isoformat(),
        )
    await flow.show(update, context)
    return tx.state


@flow.step
async def on_button(update: Update, context: JxContext) -> object:
    match = DATA.match(update.callback_query.data or "") if update.callback_query else None
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    if match is None or pos is None:
        return await flow._stale_button(update, context)
    action, value = match.groups()
    tr = await context.tr(update)
    if action == "no":
        async with flow.tx(update, context) as tx:
            tx.end()
        await answer_query(update)
        await send_prompt(update, context, Prompt(tr._("Cancelled. Nothing was changed.")))
        return END
    if action == "p" and pos.state == PERIOD and parse_period(value) is not None:
        async with flow.tx(update, context) as tx:
            tx.goto(DEADLINE, **{**pos.data, "period": value})
    elif action == "d" and pos.state == DEADLINE:
        return await _deadline(update, context, pos, value)
    elif action == "ok" and pos.state == CONFIRM:
        return await _open(update, context, pos)
    else:
        return await flow._stale_button(update, context)
    await answer_query(update)
    await flow.show(update, context)
    return tx.state


@flow.step
async def on_text(update: Update, context: JxContext) -> object:
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    text = (update.message.text or "").strip() if update.message else ""
    if pos is None or pos.state != DEADLINE:
        return await flow._unexpected(update, context)
    return await _deadline(update, context, pos, text)


async def _deadline(update: Update, context: JxContext, pos: Position, text: str) -> object:
    tr = await context.tr(update)
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        day = None
    today = now(context).astimezone(context.services.settings.tz).date()
    if day is None or day <= today:
        await answer_query(update)
        await reply(
            update,
            html_format(
                tr._("Please give a future date as YYYY-MM-DD, for example {example}."),
                example=(today + dt.timedelta(days=14)).isoformat(),
            ),
        )
        await flow.show(update, context, edit=False)
        return None
    async with flow.tx(update, context) as tx:
        tx.goto(CONFIRM, **{**pos.data, "deadline": day.isoformat()})
    await answer_query(update)
    await flow.show(update, context)
    return tx.state


async def _open(update: Update, context: JxContext, pos: Position) -> object:
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    if not actor.is_admin:
        return await flow._stale_button(update, context)
    data = await _download(context, pos.data["file_id"])
    if hashlib.sha256(data).hexdigest() != pos.data["sha256"]:
        return await flow._stale_button(update, context)
    template = await asyncio.to_thread(load_template, data, pos.data["name"])
    period = parse_period(pos.data["period"])
    assert period is not None
    tz = context.services.settings.tz
    deadline = dt.datetime.combine(
        dt.date.fromisoformat(pos.data["deadline"]), dt.time(23, 59, 59), tzinfo=tz
    ).astimezone(dt.UTC)
    who = cycles.Actor("telegram", actor.telegram_id, actor.staff.id if actor.staff else None)
    try:
        async with flow.tx(update, context) as tx:
            version = await cycles.register_template(
                tx.session, template, filename=pos.data["name"], actor=who, now=now(context)
            )
            cycle = await cycles.open_cycle(
                tx.session,
                period,
                version,
                deadline=deadline,
                now=now(context),
                actor=who,
                local=Localization.of(context.services.settings),
            )
            tx.end()
    except DomainError as exc:
        await answer_query(update, exc.plain(tr), alert=True)
        return None
    context.services.outbox_wake()
    await answer_query(update)
    if cycle.phase.value == "collecting":
        text = html_format(
            tr._("Cycle {period} is collecting answers until {deadline}."),
            period=cycle.period,
            deadline=tr.datetime(cycle.deadline, "short"),
        )
    else:
        text = html_format(
            tr._(
                "Cycle {period} is waiting for a leadership-group member to approve the indicator system “{name}” in the chat."
            ),
            period=cycle.period,
            name=version.name,
        )
    await send_prompt(update, context, Prompt(text))
    return END


def build_handler() -> ConversationHandler:
    buttons = CallbackQueryHandler(on_button, pattern=r"^tu1:")
    return flow.handler(
        entry_points=[MessageHandler(F.ChatType.PRIVATE & TEMPLATE_FILE, on_document)],
        states={
            PERIOD: [buttons],
            DEADLINE: [buttons, MessageHandler(F.TEXT & ~F.COMMAND, on_text)],
            CONFIRM: [buttons],
        },
    )
