"""Self-assessment (/self), superior review (/review) and peer review (/peer): one form engine.

States: PICK (choose whom to rate), ITEM (an indicator: buttons or a typed score),
TEXT (a written part or the comment), SUMMARY (check, edit any answer), CONFIRM
(a second tap before the one-way submit), CHOICE (another form is half done: continue
it or switch). The form's cursor lives on the assignment and is written with each
answer, so leaving, coming back a day later or a restart resumes at the same step.

Callback data ``fm1:<action>:<assignment>[:<item>[:<value>]]`` names the assignment
and the item, so a button of an older message can never write into the current
question; every press is re-checked against the caller and the stored position.
"""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.context import JxContext
from chat.flow import END, Flow, Position, Prompt, answer_query, reply, send_prompt
from conversations import form_view
from conversations.common import audit_actor, html, keyboard, load_caller, now
from domain.enums import AssignmentStatus, Source
from domain.labels import SOURCE_LABELS
from domain.template import ScaleKind
from domain.text import html_format
from infra.i18n import N_, Translator
from infra.models import Assignment, Staff, TelegramAccount
from services import forms
from services.audit import audit
from services.errors import DomainError

PICK, ITEM, TEXT, SUMMARY, CONFIRM, CHOICE = "pick", "item", "text", "summary", "confirm", "choice"
KINDS = {"self": Source.SELF, "review": Source.SUPERIOR, "peer": Source.PEER}
DATA = re.compile(r"^fm1:([a-z]):(\w{1,12})(?::([A-Za-z0-9_.~-]{1,16}))?(?::(\d{1,3}))?$")


def state_of(form: forms.Form) -> str:
    cursor = form.current
    if cursor == forms.DONE:
        return END  # type: ignore[return-value]
    if cursor == forms.SUMMARY:
        return SUMMARY
    item = form.item(cursor)
    return TEXT if item is not None and item.is_text else ITEM


async def _staff_id(session: AsyncSession, update: Update) -> int | None:
    user = update.effective_user
    account = await session.get(TelegramAccount, user.id) if user else None
    return account.staff_id if account else None


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    if pos.state == PICK and pos.data.get("kind") == "proxy":
        return await render_proxy_pick(session, tr, int(pos.data["for"]))
    if pos.state == PICK:
        return await render_pick(session, tr, await _staff_id(session, update), pos.data["kind"])
    form = await forms.load_form(session, int(pos.data["aid"]))
    if pos.state == CHOICE:
        new = KINDS[pos.data["kind"]]
        return Prompt(
            html_format(
                tr._(
                    "You have not finished {form} ({done} of {total} answered). Continue it, or do the other task first? Your answers so far are saved either way."
                ),
                form=form_view.title(form, tr),
                done=form.answered_count,
                total=len(form.items),
            ),
            keyboard(
                [(tr._("Continue"), f"fm1:c:{form.assignment.id}")],
                [
                    (
                        tr._("Go to: {task}").format(task=tr._(SOURCE_LABELS[new])),
                        f"fm1:g:{pos.data['kind']}",
                    )
                ],
            ),
        )
    prefix = ""
    if pos.data.get("proxy"):
        rater = await session.get(Staff, form.assignment.rater_staff_id)
        prefix = (
            html_format(
                tr._("✍️ Entering a paper form on behalf of {name}"),
                name=rater.name if rater else "",
            )
            + "\n"
        )
    if pos.state == CONFIRM:
        prompt = form_view.render_confirm(form, tr)
    else:
        prompt = form_view.render(form, tr)
    return Prompt(prefix + prompt.text, prompt.markup)


async def render_proxy_pick(session: AsyncSession, tr: Translator, staff_id: int) -> Prompt:
    """The working group picks which of a person's open forms to enter from paper (代錄)."""
    person = await session.get(Staff, staff_id)
    rows = []
    for source in (Source.SELF, Source.SUPERIOR, Source.PEER):
        mine = await forms.my_assignments(session, staff_id, source)
        names = await forms.ratee_names(session, [a for a, _ in mine])
        for assignment, _cycle in mine:
            if assignment.status == AssignmentStatus.OPEN:
                label = f"{tr._(SOURCE_LABELS[source])} · {names[assignment.id]}"
                rows.append((label, f"fm1:p:{assignment.id}"))
    if not rows:
        return Prompt(
            html_format(tr._("{name} has no open forms."), name=person.name if person else "")
        )
    return Prompt(
        html_format(
            tr._(
                "Which form of {name} do you enter from paper? Answers will be marked as entered by you, and the submission is audited."
            ),
            name=person.name if person else "",
        ),
        form_view.pick_markup(rows),
    )


async def render_pick(
    session: AsyncSession, tr: Translator, staff_id: int | None, kind: str
) -> Prompt:
    mine = await forms.my_assignments(session, staff_id or 0, KINDS[kind])
    names = await forms.ratee_names(session, [a for a, _ in mine])
    if not mine:
        return Prompt(tr._("You have no open forms of this kind."))
    rows = []
    done = 0
    for assignment, _cycle in mine:
        submitted = assignment.status == AssignmentStatus.SUBMITTED
        done += submitted
        unit_mark = tr._(" (unit)") if assignment.ratee_unit_id else ""
        rows.append(
            (
                ("✅ " if submitted else "▫️ ") + names[assignment.id] + unit_mark,
                f"fm1:p:{assignment.id}",
            )
        )
    title = {
        "self": tr._("Self-assessment"),
        "review": tr._("Superior review"),
        "peer": tr._("Peer review"),
    }[kind]
    text = "\n".join(
        [
            f"<b>{title}</b> · {mine[0][1].period}",
            html_format(
                tr._("Done: {done} of {total}. Choose whom to rate:"), done=done, total=len(mine)
            ),
        ]
    )
    if kind == "peer":
        text += "\n" + tr._(
            "Your ratings are anonymous: the colleagues you rate never see who rated them."
        )
    return Prompt(text, form_view.pick_markup(rows))


flow = Flow("form", N_("evaluation form"), render, prefix="fm1:")


async def _enter(update: Update, context: JxContext, kind: str) -> object:
    tr = await context.tr(update)
    staff = await context.staff(update)
    if staff is None:
        await reply(
            update,
            tr._(
                "This is for bureau staff with a linked account. Open the invite link from the evaluation working group first."
            ),
        )
        return END
    async with context.services.reads() as session:
        mine = await forms.my_assignments(session, staff.id, KINDS[kind])
        pos = await flow.position(session, update)
        half_done = await _half_done_other(session, pos, kind)
    if not mine:
        await answer_query(update)
        await reply(update, tr._("You have no open forms of this kind at the moment."))
        return END
    async with flow.tx(update, context) as tx:
        if half_done is not None:
            tx.goto(CHOICE, kind=kind, aid=half_done)
        elif kind == "self" and len(mine) == 1:
            form = await forms.load_form(tx.session, mine[0][0].id)
            tx.goto(SUMMARY if state_of(form) == END else state_of(form), aid=form.assignment.id)
        else:
            tx.goto(PICK, kind=kind)
    await answer_query(update)
    await flow.show(update, context)
    return tx.state


async def _half_done_other(session: AsyncSession, pos: Position | None, kind: str) -> int | None:
    """The assignment of an unfinished form of another kind that the user is in, if any."""
    if pos is None or pos.state not in (ITEM, TEXT, SUMMARY, CONFIRM) or "aid" not in pos.data:
        return None
    assignment = await session.get(Assignment, int(pos.data["aid"]))
    if assignment is None or assignment.status != AssignmentStatus.OPEN:
        return None
    if form_view.KIND_OF[assignment.source] == kind:
        return None
    return assignment.id


@flow.step
async def self_command(update: Update, context: JxContext) -> object:
    return await _enter(update, context, "self")


@flow.step
async def review_command(update: Update, context: JxContext) -> object:
    return await _enter(update, context, "review")


@flow.step
async def peer_command(update: Update, context: JxContext) -> object:
    return await _enter(update, context, "peer")


@flow.step
async def proxy_command(update: Update, context: JxContext) -> object:
    """/proxy <employee no.>: an admin enters a paper form on someone's behalf (代錄)."""
    from sqlalchemy import select

    from conversations.common import load_caller

    tr = await context.tr(update)
    actor = await load_caller(update, context)
    if not actor.is_admin or actor.staff is None:
        from conversations.admin import _require_admin

        if actor.is_admin:
            await reply(
                update,
                tr._(
                    "Entering paper forms needs a linked staff account, so that the entries can be marked with your name."
                ),
            )
        else:
            await _require_admin(update, context, "proxy")
        return END
    if not context.args:
        await reply(update, tr._("Please give the employee number, e.g. /proxy A0012"))
        return END
    async with context.services.reads() as session:
        person = await session.scalar(
            select(Staff).where(Staff.employee_no == context.args[0], Staff.active.is_(True))
        )
    if person is None:
        await reply(update, tr._("No active staff member with that employee number."))
        return END
    async with flow.tx(update, context) as tx:
        tx.goto(PICK, kind="proxy", **{"for": person.id})
    await flow.show(update, context)
    return tx.state


@flow.step
async def home_button(update: Update, context: JxContext) -> object:
    kind = (update.callback_query.data or "").removeprefix("hm1:") if update.callback_query else ""
    if kind not in KINDS:
        return await flow._stale_button(update, context)
    return await _enter(update, context, kind)


async def _refuse_forged(
    update: Update, context: JxContext, assignment_id: str, staff_id: int | None
) -> object:
    actor = await load_caller(update, context)
    who = audit_actor(context, actor)
    if staff_id is not None:
        who.setdefault("actor_staff_id", staff_id)
    async with context.transaction() as session:
        await audit(
            session,
            "access.denied",
            **who,
            object_type="assignment",
            object_id=assignment_id[:64],
            detail={
                "data": (update.callback_query.data or "")[:64] if update.callback_query else ""
            },
        )
    tr = await context.tr(update)
    await answer_query(update, tr._("This button is not for you."), alert=True)
    await flow.show(update, context, edit=False)
    return None


@flow.step
async def on_button(update: Update, context: JxContext) -> object:
    query = update.callback_query
    assert query is not None
    match = DATA.match(query.data or "")
    if match is None:
        return await flow._stale_button(update, context)
    action, ref, key, value = match.groups()
    tr = await context.tr(update)
    staff = await context.staff(update)
    if action == "g":
        if ref not in KINDS:
            return await flow._stale_button(update, context)
        async with flow.tx(update, context) as tx:
            tx.goto(PICK, kind=ref)
        return await _enter_after_choice(update, context, ref)
    if not ref.isdigit():
        return await flow._stale_button(update, context)
    aid = int(ref)
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
        try:
            form = await forms.load_form(session, aid)
        except DomainError:
            return await flow._stale_button(update, context)
    if pos is None:
        return await flow._stale_button(update, context)
    proxy = pos.data.get("kind") == "proxy" or bool(pos.data.get("proxy"))
    if not await _may_act(update, context, form, pos, proxy):
        return await _refuse_forged(update, context, ref, staff.id if staff else None)
    assert staff is not None
    if action in ("p", "c"):
        if (action == "p" and pos.state != PICK) or (action == "c" and pos.state != CHOICE):
            return await flow._stale_button(update, context)
        async with flow.tx(update, context) as tx:
            state = state_of(form)
            extra = {"proxy": True} if proxy else {}
            tx.goto(SUMMARY if state == END else state, aid=aid, **extra)
        await answer_query(update)
        await flow.show(update, context)
        return tx.state
    if int(pos.data.get("aid", 0)) != aid:
        return await flow._stale_button(update, context)
    if action == "f" and key:
        item = form.item(key)
        answer = form.answers.get(key)
        await answer_query(update)
        if item is not None and answer is not None and answer.text:
            await reply(
                update, f"<b>{html(form_view.item_label(form, item, tr))}</b>\n{html(answer.text)}"
            )
        return None
    try:
        return await _act(update, context, form, pos, action, key, value, staff.id, proxy)
    except DomainError as exc:
        await answer_query(update, exc.plain(tr), alert=True)
        await flow.show(update, context, edit=False)
        return None


async def _enter_after_choice(update: Update, context: JxContext, kind: str) -> object:
    await answer_query(update)
    await flow.show(update, context)
    return PICK


async def _act(
    update: Update,
    context: JxContext,
    form: forms.Form,
    pos: Position,
    action: str,
    key: str | None,
    value: str | None,
    staff_id: int,
    proxy: bool = False,
) -> object:
    tr = await context.tr(update)
    current = form.current
    when = now(context)
    if action == "v":
        if key is None or value is None or pos.state != ITEM:
            return await flow._stale_button(update, context)
        if key != current:
            if forms.same_answer(form, key, value):
                await answer_query(update, tr._("Already saved."))
                return None
            return await flow._stale_button(update, context)
        async with flow.tx(update, context) as tx:
            form = await forms.load_form(tx.session, form.assignment.id)
            await forms.save_score(
                tx.session, form, key, value, staff_id=staff_id, now=when, proxy=proxy
            )
            _goto(tx, form, proxy)
    elif action in ("k", "b"):
        if key != current or pos.state not in (ITEM, TEXT):
            return await flow._stale_button(update, context)
        async with flow.tx(update, context) as tx:
            form = await forms.load_form(tx.session, form.assignment.id)
            if action == "k":
                await forms.save_text(
                    tx.session, form, key, None, staff_id=staff_id, now=when, proxy=proxy
                )
            else:
                previous = form.items[max(form.index(key) - 1, 0)].key
                await forms.move(
                    tx.session, form, previous, staff_id=staff_id, now=when, proxy=proxy
                )
            _goto(tx, form, proxy)
    elif action in ("e", "s", "n"):
        allowed = {"e": (SUMMARY,), "s": (ITEM, TEXT), "n": (CONFIRM,)}[action]
        if pos.state not in allowed or (action == "e" and key is None):
            return await flow._stale_button(update, context)
        async with flow.tx(update, context) as tx:
            form = await forms.load_form(tx.session, form.assignment.id)
            await forms.move(
                tx.session,
                form,
                (key or forms.SUMMARY) if action == "e" else forms.SUMMARY,
                staff_id=staff_id,
                now=when,
                proxy=proxy,
            )
            _goto(tx, form, proxy)
    elif action == "x":
        if pos.state != SUMMARY:
            return await flow._stale_button(update, context)
        forms.check_open(form, staff_id=staff_id, now=when, proxy=proxy)
        if not form.complete:
            raise DomainError(N_("Some questions are still unanswered."))
        async with flow.tx(update, context) as tx:
            tx.goto(CONFIRM, aid=form.assignment.id, **({"proxy": True} if proxy else {}))
    elif action == "y":
        if pos.state != CONFIRM:
            return await flow._stale_button(update, context)
        return await _submit(update, context, form, staff_id, proxy)
    else:
        return await flow._stale_button(update, context)
    await answer_query(update)
    await flow.show(update, context)
    return tx.state


def _goto(tx, form: forms.Form, proxy: bool = False) -> None:  # type: ignore[no-untyped-def]
    state = state_of(form)
    if state == END:
        tx.end()
    else:
        tx.goto(state, aid=form.assignment.id, **({"proxy": True} if proxy else {}))


async def _may_act(
    update: Update, context: JxContext, form: forms.Form, pos: Position, proxy: bool
) -> bool:
    """The rater on their own form, or a working-group member entering it from paper."""
    staff = await context.staff(update)
    if staff is None:
        return False
    if not proxy:
        return form.assignment.rater_staff_id == staff.id
    from conversations.common import load_caller

    actor = await load_caller(update, context)
    target = pos.data.get("for")
    return actor.is_admin and (target is None or int(target) == form.assignment.rater_staff_id)


async def _submit(
    update: Update, context: JxContext, form: forms.Form, staff_id: int, proxy: bool = False
) -> object:
    tr = await context.tr(update)
    kind = form_view.KIND_OF[form.source]
    async with flow.tx(update, context) as tx:
        form = await forms.load_form(tx.session, form.assignment.id)
        await forms.submit(tx.session, form, staff_id=staff_id, now=now(context), proxy=proxy)
        rater = form.assignment.rater_staff_id
        remaining = [
            a
            for a, _ in await forms.my_assignments(tx.session, rater, form.source)
            if a.status == AssignmentStatus.OPEN
        ]
        if proxy:
            tx.goto(PICK, kind="proxy", **{"for": rater})
        elif remaining and kind != "self":
            tx.goto(PICK, kind=kind)
        else:
            tx.end()
    await answer_query(update, tr._("Submitted."))
    await send_prompt(
        update, context, Prompt(form_view.title(form, tr) + "\n\n" + tr._("Submitted. Thank you!"))
    )
    if tx.state == END:
        from conversations.home import show_home

        await show_home(update, context)
    else:
        await flow.show(update, context, edit=False)
    return tx.state


@flow.step
async def on_text(update: Update, context: JxContext) -> object:
    """A typed score for an indicator, or the text of a written part / comment."""
    message = update.message
    assert message is not None
    tr = await context.tr(update)
    staff = await context.staff(update)
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
        if pos is None or staff is None or "aid" not in pos.data:
            return END
        form = await forms.load_form(session, int(pos.data["aid"]))
    item = form.item(form.current)
    proxy = bool(pos.data.get("proxy"))
    if item is None or not await _may_act(update, context, form, pos, proxy):
        await flow.show(update, context, edit=False)
        return None
    text = message.text or ""
    try:
        async with flow.tx(update, context) as tx:
            form = await forms.load_form(tx.session, form.assignment.id)
            if item.indicator is not None:
                scale = form.template.scales[item.indicator.scale]
                parsed = scale.parse(text)
                if parsed is None:
                    raise DomainError(
                        N_("Please enter a score from 0 to 100, or tap one of the buttons.")
                        if scale.kind == ScaleKind.SCORE
                        else N_("Please tap one of the levels, or type its number.")
                    )
                value = int(parsed) if scale.kind == ScaleKind.LEVELS else parsed
                await forms.save_score(
                    tx.session,
                    form,
                    item.key,
                    value,
                    staff_id=staff.id,
                    now=now(context),
                    proxy=proxy,
                )
            else:
                await forms.save_text(
                    tx.session,
                    form,
                    item.key,
                    text,
                    staff_id=staff.id,
                    now=now(context),
                    proxy=proxy,
                )
            _goto(tx, form, proxy)
    except DomainError as exc:
        await reply(update, exc.render(tr))
        await flow.show(update, context, edit=False)
        return None
    await flow.show(update, context, edit=False)
    return tx.state


def build_handler() -> ConversationHandler:
    buttons = CallbackQueryHandler(on_button, pattern=r"^fm1:")
    text = MessageHandler(F.TEXT & ~F.COMMAND & ~F.UpdateType.EDITED, on_text)
    return flow.handler(
        entry_points=[
            CommandHandler("self", self_command),
            CommandHandler("review", review_command),
            CommandHandler("peer", peer_command),
            CommandHandler("proxy", proxy_command),
            CallbackQueryHandler(home_button, pattern=r"^hm1:"),
        ],
        states={
            PICK: [buttons],
            CHOICE: [buttons],
            ITEM: [buttons, text],
            TEXT: [buttons, text],
            SUMMARY: [buttons],
            CONFIRM: [buttons],
        },
    )
