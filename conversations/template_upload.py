"""A working-group admin sends an indicator template file and opens a cycle with it.

States: PERIOD (which cycle), DEADLINE (buttons or a typed date), CONFIRM; see
``template_upload.mmd``. The file
stays on Telegram (``file_id`` + SHA-256 in the position), as with the roster import.
The cycle then waits for a leadership-group member to approve the template (二(一)).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.ext import ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.callbacks import Callbacks
from chat.context import JxContext
from chat.flow import END, Flow, Position, Prompt, answer_query, reply, send_prompt
from conversations.common import audit_actor, html, keyboard, load_caller, now
from domain.labels import DIMENSION_LABELS, SOURCE_LABELS
from domain.period import Period, current_quarter, parse_period
from domain.template import Template, TemplateInvalid, advise
from domain.text import MESSAGE_LIMIT, Html, clip_html, html_format
from infra.i18n import N_, Translator
from services import cycles, files, leadership
from services.audit import audit
from services.errors import DomainError
from services.notices import Localization
from services.official_calendar import calendar
from services.templates import load_template, localized, render_problem


class State(StrEnum):
    PERIOD = "period"  # which cycle the template is for
    DEADLINE = "deadline"  # a suggested date, or one typed
    CONFIRM = "confirm"  # open the cycle, or cancel


CB = Callbacks("tu1", "template_upload")
PICK_PERIOD = CB.action("p", str)  # tu1:p:2026Q4
PICK_DEADLINE = CB.action("d", str)  # tu1:d:2027-01-10
OPEN = CB.action("ok", int)  # tu1:ok:1
CANCEL = CB.action("no", str)  # tu1:no:x


class _TemplateFile(F.MessageFilter):
    """A .toml file, or an .xlsx whose name says it is an indicator template."""

    def filter(self, message: Message) -> bool:
        name = (message.document.file_name or "").lower() if message.document else ""
        return name.endswith(".toml") or (
            name.endswith(".xlsx") and any(k in name for k in ("template", "指标", "指標", "模板"))
        )


TEMPLATE_FILE = _TemplateFile()


def summary(template: Template, tr: Translator) -> str:
    dims = tr.join(
        f"{tr._(DIMENSION_LABELS[d])} {tr.percent(w)}"
        for d, w in template.dimension_weights.items()
    )
    srcs = tr.join(
        f"{tr._(SOURCE_LABELS[s])} {tr.percent(w)}" for s, w in template.source_weights.items()
    )
    return "\n".join(
        [
            html_format(
                tr._("Indicator system “{name}” is valid."),
                name=localized(template.name, tr.locale),
            ),
            html_format(tr._("Dimensions: {weights}"), weights=dims),
            html_format(tr._("Sources: {weights}"), weights=srcs),
            html_format(
                tr.ngettext("{count} indicator.", "{count} indicators.", len(template.indicators)),
                count=len(template.indicators),
            ),
            *(f"⚠️ {html(render_problem(p, tr))}" for p in advise(template)),
        ]
    )


def _periods(today: dt.date) -> list[Period]:
    quarter = current_quarter(today)
    following = Period(
        quarter.year + (quarter.quarter == 4),
        1 if quarter.quarter == 4 else (quarter.quarter or 0) + 1,
    )
    return [quarter, following, Period(today.year)]


def _end_of_day(day: str, tz: dt.tzinfo) -> dt.datetime:
    """The cycle closes at the end of its last day, bureau time (stored in UTC)."""
    return dt.datetime.combine(
        dt.date.fromisoformat(day), dt.time(23, 59, 59), tzinfo=tz
    ).astimezone(dt.UTC)


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    text = pos.data["summary"]
    cancel_row = [(tr._("✖ Cancel"), CANCEL.data("x"))]
    if pos.state == State.PERIOD:
        today = dt.date.fromisoformat(pos.data["today"])
        rows = [[(tr.period(p), PICK_PERIOD.data(str(p)))] for p in _periods(today)]
        rows.append(cancel_row)
        return Prompt(
            text + "\n\n" + tr._("Which evaluation cycle should use it?"), keyboard(*rows)
        )
    period = parse_period(pos.data["period"])
    assert period is not None
    if pos.state == State.DEADLINE:
        rows = [
            [
                (tr.date(s), PICK_DEADLINE.data(s.isoformat()))
                for s in cycles.suggested_deadlines(period, await calendar(session))
            ],
            cancel_row,
        ]
        return Prompt(
            text
            + "\n\n"
            + html_format(
                tr._(
                    "Deadline for {period}: choose a date or type one (YYYY-MM-DD). Answers are accepted until the end of that day."
                ),
                period=tr.period(period),
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
            period=tr.period(period),
            deadline=tr.datetime(_end_of_day(pos.data["deadline"], tr.tz)),
        ),
        keyboard([(tr._("✅ Open the cycle"), OPEN.data(1)), *cancel_row]),
    )


flow = Flow("template_upload", N_("cycle opening"), render, prefix="tu1:")


async def _download(context: JxContext, file_id: str) -> bytes:
    return bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())


@flow.step
async def check_template(update: Update, context: JxContext) -> object:
    """Check the indicator system a working-group member sent; if valid, ask for the cycle."""
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
            State.PERIOD,
            file_id=doc.file_id,
            name=doc.file_name or "template",
            sha256=hashlib.sha256(data).hexdigest(),
            summary=summary(template, tr),
            today=today.isoformat(),
        )
    await flow.show(update, context)
    return tx.state


async def _position(update: Update, context: JxContext) -> Position | None:
    async with context.services.reads() as session:
        return await flow.position(session, update)


@flow.step
async def choose_period(update: Update, context: JxContext) -> object:
    """The cycle the template is for; then the deadline."""
    (value,) = PICK_PERIOD.args(update)
    pos = await _position(update, context)
    if pos is None or parse_period(value) is None:
        return await flow._stale_button(update, context)
    async with flow.tx(update, context) as tx:
        tx.goto(State.DEADLINE, **{**pos.data, "period": value})
    await answer_query(update)
    await flow.show(update, context)
    return tx.state


@flow.step
async def choose_deadline(update: Update, context: JxContext) -> object:
    """One of the suggested deadlines."""
    (value,) = PICK_DEADLINE.args(update)
    pos = await _position(update, context)
    if pos is None:
        return await flow._stale_button(update, context)
    return await _deadline(update, context, pos, value)


@flow.step
async def type_deadline(update: Update, context: JxContext) -> object:
    """A deadline typed as YYYY-MM-DD."""
    pos = await _position(update, context)
    text = (update.message.text or "").strip() if update.message else ""
    if pos is None:
        return await flow._unexpected(update, context)
    return await _deadline(update, context, pos, text)


@flow.step
async def cancel(update: Update, context: JxContext) -> object:
    """Drop the file: nothing was written."""
    tr = await context.tr(update)
    async with flow.tx(update, context) as tx:
        tx.end()
    await answer_query(update)
    await send_prompt(update, context, Prompt(tr._("Cancelled. Nothing was changed.")))
    return END


async def _deadline(update: Update, context: JxContext, pos: Position, text: str) -> object:
    tr = await context.tr(update)
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        day = None
    today = now(context).astimezone(context.services.settings.tz).date()
    if day is None or day <= today:
        async with context.services.reads() as session:
            cal = await calendar(session)
        await answer_query(update)
        await reply(
            update,
            html_format(
                tr._("Please give a future date as YYYY-MM-DD, for example {example}."),
                example=cal.next_working_day(today + dt.timedelta(days=14)).isoformat(),
            ),
        )
        await flow.show(update, context, edit=False)
        return None
    async with flow.tx(update, context) as tx:
        tx.goto(State.CONFIRM, **{**pos.data, "deadline": day.isoformat()})
    await answer_query(update)
    await flow.show(update, context)
    return tx.state


@flow.step
async def open_cycle(update: Update, context: JxContext) -> object:
    """Register the template and open the cycle; it collects once a leader approves (二(一))."""
    pos = await _position(update, context)
    actor = await load_caller(update, context)
    if pos is None or not actor.is_admin:
        return await flow._stale_button(update, context)
    tr = await context.tr(update)
    data = await _download(context, pos.data["file_id"])
    if hashlib.sha256(data).hexdigest() != pos.data["sha256"]:
        return await flow._stale_button(update, context)
    template = await asyncio.to_thread(load_template, data, pos.data["name"])
    period = parse_period(pos.data["period"])
    assert period is not None
    deadline = _end_of_day(pos.data["deadline"], context.services.settings.tz)
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
                admin_ids=context.services.settings.admin_id_set,
            )
            reach = await leadership.reach(tx.session)
            tx.end()
    except DomainError as exc:
        await answer_query(update, exc.plain(tr), alert=True)
        return None
    context.services.outbox_wake()
    await answer_query(update)
    if cycle.phase.value == "collecting":
        text = html_format(
            tr._("Cycle {period} is collecting answers until {deadline}."),
            period=tr.period(cycle.period),
            deadline=tr.datetime(cycle.deadline),
        )
    else:
        text = html_format(
            tr._(
                "Cycle {period} is waiting for a leadership-group member to approve the indicator system “{name}”."
            ),
            period=tr.period(cycle.period),
            name=localized(version.name, tr.locale),
        )
        text = Html("\n".join([text, *reach.lines(tr)]))
    await send_prompt(update, context, Prompt(text))
    return END


def build_handler() -> ConversationHandler:
    return flow.handler(
        entry_points=[MessageHandler(F.ChatType.PRIVATE & TEMPLATE_FILE, check_template)],
        states={
            State.PERIOD: [PICK_PERIOD.handler(choose_period), CANCEL.handler(cancel)],
            State.DEADLINE: [
                PICK_DEADLINE.handler(choose_deadline),
                MessageHandler(F.TEXT & ~F.COMMAND, type_deadline),
                CANCEL.handler(cancel),
            ],
            State.CONFIRM: [OPEN.handler(open_cycle), CANCEL.handler(cancel)],
        },
    )
