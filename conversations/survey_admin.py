"""Survey links from the chat (/links) and survey statistics (/surveys), for admins and unit heads.

``/links``: choose a unit (a unit head sees only their own), then the kind of codes;
single-use codes come as an A4 sheet of slips to cut out, a window code as a poster (A4
or A5) after the window's name is asked; a CSV of the links comes with either. One
single-use code may carry the service or case number it is for (一事一评), typed at the
REFERENCE step; the unit is shown it with the rating. Callback
data keeps its first format (``ln1:u:<unit>``, ``ln1:k:<kind>``, ``ln1:x:0``), so a
message already in a chat still works; every press is re-checked against the caller.
"""

from __future__ import annotations

import datetime as dt
import io
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InputFile, Update
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.callbacks import Callbacks
from chat.context import JxContext
from chat.flow import END, Flow, Position, Prompt, answer_query, reply, send_prompt
from conversations.common import keyboard, load_caller, now
from domain.period import current_quarter, parse_period
from domain.text import MESSAGE_LIMIT, clip_html, html_format
from infra.i18n import N_, Translator
from infra.models import OrgUnit
from services import files, survey_links, survey_print
from services.access import Actor, load_actor
from services.errors import DomainError
from services.survey_report import satisfaction_report
from services.templates import localized


class State(StrEnum):
    UNIT = "unit"
    KIND = "kind"
    WINDOW = "window"  # a poster's window name, typed
    REFERENCE = "reference"  # the service or case number of one single-use code


# count, single use, the poster's paper (None: a sheet of slips)
KINDS: dict[str, tuple[int, bool, str | None]] = {
    "s10": (10, True, None),
    "s30": (30, True, None),
    "s1": (1, True, None),
    "r1": (1, False, "A4"),
    "r1a5": (1, False, "A5"),
}
ONE_CASE = "s1"  # one code for one case, with its reference (一事一评)

CB = Callbacks("ln1", "links")
UNIT = CB.action("u", int)  # ln1:u:<unit id>
KIND = CB.action("k", str)  # ln1:k:<a key of KINDS>
CANCEL = CB.action("x", int)  # ln1:x:0
NO_WINDOW = CB.action("w", int)  # ln1:w:0: a poster without a window name
NO_REFERENCE = CB.action("n", int)  # ln1:n:0: the one code without a reference


async def _units(session: AsyncSession, actor: Actor) -> list[OrgUnit]:
    query = (
        select(OrgUnit)
        .where(OrgUnit.active.is_(True), OrgUnit.parent_id.is_not(None))
        .order_by(OrgUnit.sort_order, OrgUnit.name)
    )
    units = list(await session.scalars(query))
    return [u for u in units if survey_links.can_manage(actor, u.id)]


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    if pos.state == State.UNIT:
        # the working group as the command found it (the bot's settings are not at hand
        # here); a unit head's units from the database. Every press is checked again.
        user = update.effective_user
        admins = frozenset({user.id}) if user and pos.data.get("admin") else frozenset()
        actor = await load_actor(session, user.id if user else 0, admins)
        rows = [
            [(localized(u.name, tr.locale), UNIT.data(u.id))] for u in await _units(session, actor)
        ]
        rows.append([(tr._("✖ Cancel"), CANCEL.data(0))])
        return Prompt(tr._("Survey QR codes: for which unit?"), keyboard(*rows))
    if pos.state == State.WINDOW:
        return Prompt(
            tr._(
                "Which window will the poster hang at? Send its name as it should be printed (for example: Reception window), or tap “No window name”."
            ),
            keyboard(
                [(tr._("No window name"), NO_WINDOW.data(0))],
                [(tr._("✖ Cancel"), CANCEL.data(0))],
            ),
        )
    unit = await session.get(OrgUnit, int(pos.data["unit"]))
    if pos.state == State.REFERENCE:
        return Prompt(
            html_format(
                tr._(
                    "One single-use code for {unit}. Type the service or case number it is for (事项 or 办件编号, at most {max} characters); the unit sees it with the rating. Or create it without one."
                ),
                unit=localized(unit.name, tr.locale) if unit else "",
                max=survey_links.MAX_REFERENCE,
            ),
            keyboard(
                [(tr._("Without a case number"), NO_REFERENCE.data(0))],
                [(tr._("✖ Cancel"), CANCEL.data(0))],
            ),
        )
    return Prompt(
        html_format(
            tr._(
                "QR codes for {unit}. Single-use codes are handed out one per service (一事一评); a window code can be used by everyone, once a day each."
            ),
            unit=unit.name if unit else "",
        ),
        keyboard(
            [
                (tr._("10 single-use codes"), KIND.data("s10")),
                (tr._("30 single-use codes"), KIND.data("s30")),
            ],
            [(tr._("1 code for one case (一事一评)"), KIND.data(ONE_CASE))],
            [
                (tr._("Window poster, A4 (reusable)"), KIND.data("r1")),
                (tr._("Window poster, A5"), KIND.data("r1a5")),
            ],
            [(tr._("✖ Cancel"), CANCEL.data(0))],
        ),
    )


flow = Flow(
    "links", N_("survey QR codes"), render, prefix="ln1:", idle_states=(State.UNIT, State.KIND)
)


@flow.step
async def links_command(update: Update, context: JxContext) -> object:
    actor = await load_caller(update, context)
    tr = await context.tr(update)
    if not actor.is_admin and not actor.is_unit_head:
        await reply(
            update,
            tr._("Only the evaluation working group and unit heads can create survey codes."),
        )
        return END
    async with flow.tx(update, context) as tx:
        tx.goto(State.UNIT, admin=actor.is_admin)
    await flow.show(update, context)
    return tx.state


@flow.step
async def cancel(update: Update, context: JxContext) -> object:
    async with flow.tx(update, context) as tx:
        tx.end()
    tr = await context.tr(update)
    await answer_query(update)
    await send_prompt(update, context, Prompt(tr._("Cancelled. Nothing was changed.")))
    return END


@flow.step
async def choose_unit(update: Update, context: JxContext) -> object:
    """A unit head may choose only the unit they head (re-checked: the data is not trusted)."""
    (unit_id,) = UNIT.args(update)
    actor = await load_caller(update, context)
    if not survey_links.can_manage(actor, unit_id):
        return await flow._stale_button(update, context)
    async with flow.tx(update, context) as tx:
        tx.goto(State.KIND, unit=unit_id)
    await answer_query(update)
    await flow.show(update, context)
    return tx.state


@flow.step
async def create_codes(update: Update, context: JxContext) -> object:
    """Single-use codes: create them and send the sheet of slips. A window code: ask the
    window's name first (it is printed on the poster)."""
    (kind,) = KIND.args(update)
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    actor = await load_caller(update, context)
    if (
        pos is None
        or kind not in KINDS
        or not survey_links.can_manage(actor, int(pos.data["unit"]))
    ):
        return await flow._stale_button(update, context)
    if kind == ONE_CASE:
        async with flow.tx(update, context) as tx:
            tx.goto(State.REFERENCE, unit=int(pos.data["unit"]))
        await answer_query(update)
        await flow.show(update, context)
        return tx.state
    if KINDS[kind][2] is not None:
        async with flow.tx(update, context) as tx:
            tx.goto(State.WINDOW, unit=int(pos.data["unit"]), kind=kind)
        await answer_query(update)
        await flow.show(update, context)
        return tx.state
    return await _issue(update, context, int(pos.data["unit"]), kind, label="")


@flow.step
async def name_window(update: Update, context: JxContext) -> object:
    """The window's name, as typed: printed on the poster and kept as the link's label."""
    assert update.message is not None
    return await _poster(update, context, (update.message.text or "").strip())


@flow.step
async def no_window(update: Update, context: JxContext) -> object:
    return await _poster(update, context, "")


async def _poster(update: Update, context: JxContext, window: str) -> object:
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    actor = await load_caller(update, context)
    if pos is None or not survey_links.can_manage(actor, int(pos.data["unit"])):
        return await flow._stale_button(update, context)
    return await _issue(update, context, int(pos.data["unit"]), str(pos.data["kind"]), window)


@flow.step
async def create_without_reference(update: Update, context: JxContext) -> object:
    """The one single-use code, without a service or case number."""
    return await _reference(update, context, "")


@flow.step
async def create_with_reference(update: Update, context: JxContext) -> object:
    """The one single-use code, for the service or case number typed (一事一评)."""
    text = update.message.text if update.message else None
    return await _reference(update, context, (text or "").strip())


async def _reference(update: Update, context: JxContext, reference: str) -> object:
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    actor = await load_caller(update, context)
    if pos is None or not survey_links.can_manage(actor, int(pos.data["unit"])):
        return await flow._stale_button(update, context)
    return await _issue(update, context, int(pos.data["unit"]), ONE_CASE, "", reference)


async def _issue(
    update: Update, context: JxContext, unit_id: int, kind: str, label: str, reference: str = ""
) -> object:
    """Create the codes, then send what to print (slips or a poster) and the CSV of links."""
    actor = await load_caller(update, context)
    tr = await context.tr(update)
    count, single_use, paper = KINDS[kind]
    try:
        async with flow.tx(update, context) as tx:
            unit = await tx.session.get(OrgUnit, unit_id)
            issued = await survey_links.create_links(
                tx.session,
                unit_name=unit.name if unit else "",
                staff_employee_no=None,
                count=count,
                single_use=single_use,
                label=label,
                reference=reference,
                actor_label="telegram",
                actor_telegram_id=actor.telegram_id,
                now=now(context),
            )
            tx.end()
    except DomainError as exc:
        if update.callback_query is None:  # a typed name or number too long: say so, ask again
            await reply(update, exc.render(tr))
            await flow.show(update, context, edit=False)
            return None
        await answer_query(update, exc.plain(tr), alert=True)
        return None
    await answer_query(update, tr._("Creating the codes…"))
    await send_prompt(
        update,
        context,
        Prompt(
            html_format(
                tr.ngettext(
                    "{count} code created for {unit}.",
                    "{count} codes created for {unit}.",
                    count,
                ),
                count=count,
                unit=issued[0].unit,
            )
        ),
    )
    await _send_print(update, context, issued, tr, paper)
    return END


async def _send_print(
    update: Update,
    context: JxContext,
    issued: list[survey_links.IssuedLink],
    tr: Translator,
    paper: str | None,
) -> None:
    """The printable file (a poster on ``paper``, or the A4 sheet of slips) and the links."""
    username = context.bot.username
    public_url = context.services.settings.public_url  # the survey page, when there is one
    if paper is not None:
        printable = survey_print.poster_pdf(
            tr, issued[0], username, paper=paper, public_url=public_url
        )
        name = "survey-poster.pdf"
        caption = tr._("Print this poster on {paper} and put it up at the window.").format(
            paper=paper
        )
    else:
        printable = survey_print.slips_pdf(tr, issued, username, public_url=public_url)
        name = "survey-codes.pdf"
        caption = tr._("Print this sheet (A4) and cut along the lines.")
    links = files.csv_bytes(  # unit names made formula-safe
        ["serial", "unit", "single_use", "label", "reference", "link"],
        (
            [
                i.serial,
                i.unit,
                "yes" if i.single_use else "no",
                i.label,
                i.reference or "",
                i.link(username, public_url),
            ]
            for i in issued
        ),
    )
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(InputFile(io.BytesIO(printable), filename=name), caption=caption)
    await chat.send_document(InputFile(io.BytesIO(links), filename="survey-links.csv"))


async def stats_text(
    session: AsyncSession,
    tr: Translator,
    period_text: str | None,
    *,
    tz: dt.tzinfo,
    now_: dt.datetime,
    unit_ids: set[int] | None,
) -> str:
    period = (
        parse_period(period_text) if period_text else current_quarter(now_.astimezone(tz).date())
    )
    if period is None:
        return html_format(
            tr._("Not a period: {period}. Use 2026Q4 for a quarter or 2026 for a year."),
            period=period_text,
        )
    report = await satisfaction_report(session, tr, period, tz=tz, now=now_, unit_ids=unit_ids)
    return clip_html(report, MESSAGE_LIMIT)


async def surveys_command(update: Update, context: JxContext) -> None:
    actor = await load_caller(update, context)
    tr = await context.tr(update)
    if not actor.is_admin and not actor.is_unit_head:
        await reply(
            update,
            tr._("Only the evaluation working group and unit heads can see survey statistics."),
        )
        return
    async with context.services.reads() as session:
        text = await stats_text(
            session,
            tr,
            context.args[0] if context.args else None,
            tz=context.services.settings.tz,
            now_=now(context),
            unit_ids=None if actor.is_admin else set(actor.headed_unit_ids),
        )
    await reply(update, text)


def build_handler() -> ConversationHandler:
    return flow.handler(
        entry_points=[CommandHandler("links", links_command)],
        states={
            State.UNIT: [UNIT.handler(choose_unit), CANCEL.handler(cancel)],
            State.KIND: [KIND.handler(create_codes), CANCEL.handler(cancel)],
            State.WINDOW: [
                MessageHandler(F.TEXT & ~F.COMMAND & ~F.UpdateType.EDITED, name_window),
                NO_WINDOW.handler(no_window),
                CANCEL.handler(cancel),
            ],
            State.REFERENCE: [
                MessageHandler(F.TEXT & ~F.COMMAND & ~F.UpdateType.EDITED, create_with_reference),
                NO_REFERENCE.handler(create_without_reference),
                CANCEL.handler(cancel),
            ],
        },
    )


def build_handlers() -> list[BaseHandler]:
    return [CommandHandler("surveys", surveys_command)]
