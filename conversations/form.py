"""Self-assessment (/self), superior review (/review) and peer review (/peer): one form engine.

States: PICK (choose whom to rate), ITEM (an indicator: buttons or a typed score),
TEXT (a written part or the comment), SUMMARY (check, edit any answer), CONFIRM
(a second tap before the one-way submit), CHOICE (another form is half done: continue
it or switch). The form's cursor lives on the assignment and is written with each
answer, so leaving, coming back a day later or a restart resumes at the same step.

Callback data (``conversations.form_view``) names the assignment and the item, so a
button of an older message can never write into the current question; every press is
re-checked against the caller and the stored position (``conversations.form_access``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.callbacks import CallbackAction
from chat.context import JxContext
from chat.flow import (
    END,
    Flow,
    FlowTx,
    Position,
    Prompt,
    StepFn,
    answer_query,
    reply,
    send_prompt,
)
from conversations import form_view, home
from conversations.cases import admin_only
from conversations.common import html, load_caller, now
from conversations.form_access import FormButtonFn, Pressed, form_button, may_act
from conversations.form_view import (
    BACK,
    CONTINUE,
    EDIT,
    FULL_TEXT,
    GOALS,
    IN_A_FORM,
    KEEP,
    KINDS,
    NOT_YET,
    OPEN,
    SCORE,
    SELF_TEXT,
    SUBMIT,
    SWITCH,
    TO_SUMMARY,
    YES_SUBMIT,
    State,
    state_of,
)
from conversations.home import show_home
from domain.enums import AssignmentStatus
from domain.template import ScaleKind
from infra.i18n import N_, Translator
from infra.models import Assignment, Staff
from services import forms
from services.errors import DomainError


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    """The prompt of any position, from the database (drawn by ``conversations.form_view``)."""
    return await form_view.render_position(session, tr, pos, update)


flow = Flow(  # a list to pick from holds no work of the user's (answers are stored as given)
    "form", N_("evaluation form"), render, prefix="fm1:", idle_states=(State.PICK, State.CHOICE)
)


# --- entering ----------------------------------------------------------------


async def _enter(update: Update, context: JxContext, kind: str) -> object:
    async with context.services.reads() as session:
        staff = await context.staff(update, session)
        if staff is not None:
            mine = await forms.my_assignments(session, staff.id, KINDS[kind])
            pos = await flow.position(session, update)
            half_done = await _half_done_other(session, pos, kind)
    tr = await context.tr(update)
    if staff is None:
        await reply(
            update,
            tr._(
                "This is for bureau staff with a linked account. Open the invite link from the evaluation working group first."
            ),
        )
        return END
    if not mine:
        await answer_query(update)
        await reply(update, tr._("You have no open forms of this kind at the moment."))
        return END
    async with flow.tx(update, context) as tx:
        if half_done is not None:
            tx.goto(State.CHOICE, kind=kind, aid=half_done)
        elif kind == "self" and len(mine) == 1:
            form = await forms.load_form(tx.session, mine[0][0].id)
            tx.goto(state_of(form) or State.SUMMARY, aid=form.assignment.id)
        else:
            tx.goto(State.PICK, kind=kind)
    await answer_query(update)
    await flow.show(update, context)
    return tx.state


async def _half_done_other(session: AsyncSession, pos: Position | None, kind: str) -> int | None:
    """The assignment of an unfinished form of another kind that the user is in, if any."""
    if pos is None or pos.state not in IN_A_FORM or "aid" not in pos.data:
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


def _home_task(kind: str) -> StepFn:
    """The step behind one task button of the home screen (``conversations.home.TASKS``)."""

    async def home_button(update: Update, context: JxContext) -> object:
        return await _enter(update, context, kind)

    return flow.step(home_button)


@flow.step
async def proxy_command(update: Update, context: JxContext) -> object:
    """/proxy <employee no.>: an admin enters a paper form on someone's behalf (代錄)."""
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    if not actor.is_admin or actor.staff is None:
        if actor.is_admin:
            await reply(
                update,
                tr._(
                    "Entering paper forms needs a linked staff account, so that the entries can be marked with your name."
                ),
            )
        else:
            await admin_only(update, context, "proxy")
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
        tx.goto(State.PICK, kind="proxy", **{"for": person.id})
    await flow.show(update, context)
    return tx.state


# --- a press on a form's button ------------------------------------------------


def _form_button(
    action: CallbackAction, *, same_form: bool = True
) -> Callable[[FormButtonFn], StepFn]:
    """A step for one button of this flow's forms (``conversations.form_access``)."""
    return form_button(flow, action, same_form=same_form)


async def _show_next(update: Update, context: JxContext, tx: FlowTx) -> object:
    await answer_query(update)
    await flow.show(update, context)
    return tx.state


def _goto(tx: FlowTx, form: forms.Form, proxy: bool = False) -> None:
    """Where the form's cursor now is; the flow ends with the form."""
    state = state_of(form)
    if state is None:
        tx.end()
    else:
        tx.goto(state, aid=form.assignment.id, **({"proxy": True} if proxy else {}))


# --- choosing a form -----------------------------------------------------------


async def _open(update: Update, context: JxContext, p: Pressed) -> object:
    async with flow.tx(update, context) as tx:
        p.goto(tx, state_of(p.form) or State.SUMMARY)
    return await _show_next(update, context, tx)


@_form_button(OPEN, same_form=False)
async def open_form(update: Update, context: JxContext, p: Pressed) -> object:
    """A form from the list, at its cursor (a submitted one shows as such)."""
    return await _open(update, context, p)


@_form_button(CONTINUE, same_form=False)
async def continue_form(update: Update, context: JxContext, p: Pressed) -> object:
    """Back to the half-done form rather than the other task."""
    return await _open(update, context, p)


@flow.step
async def switch_task(update: Update, context: JxContext) -> object:
    """The other task after all: its list; the half-done form keeps its answers."""
    (kind,) = SWITCH.args(update)
    if kind not in KINDS:
        return await flow._stale_button(update, context)
    async with flow.tx(update, context) as tx:
        tx.goto(State.PICK, kind=kind)
    return await _show_next(update, context, tx)


# --- answering -----------------------------------------------------------------


@_form_button(SCORE)
async def score(update: Update, context: JxContext, p: Pressed) -> object:
    """A level or score for the current indicator; a double tap is "already saved"."""
    key, value = p.args
    if key != p.form.current:
        if forms.same_answer(p.form, key, value):
            tr = await context.tr(update)
            await answer_query(update, tr._("Already saved."))
            return None
        return await flow._stale_button(update, context)
    async with flow.tx(update, context) as tx:
        form = await forms.load_form(tx.session, p.form.assignment.id)
        await forms.save_score(
            tx.session, form, key, value, staff_id=p.staff_id, now=now(context), proxy=p.proxy
        )
        _goto(tx, form, p.proxy)
    return await _show_next(update, context, tx)


@_form_button(KEEP)
async def keep_text(update: Update, context: JxContext, p: Pressed) -> object:
    """Keep the text written before (or skip the optional comment) and go on."""
    (key,) = p.args
    if key != p.form.current:
        return await flow._stale_button(update, context)
    async with flow.tx(update, context) as tx:
        form = await forms.load_form(tx.session, p.form.assignment.id)
        await forms.save_text(
            tx.session, form, key, None, staff_id=p.staff_id, now=now(context), proxy=p.proxy
        )
        _goto(tx, form, p.proxy)
    return await _show_next(update, context, tx)


async def _move(update: Update, context: JxContext, p: Pressed, to: str) -> object:
    """Move the form's cursor to an item or the summary (answers stay as they are)."""
    async with flow.tx(update, context) as tx:
        form = await forms.load_form(tx.session, p.form.assignment.id)
        await forms.move(tx.session, form, to, staff_id=p.staff_id, now=now(context), proxy=p.proxy)
        _goto(tx, form, p.proxy)
    return await _show_next(update, context, tx)


@_form_button(BACK)
async def previous(update: Update, context: JxContext, p: Pressed) -> object:
    (key,) = p.args
    if key != p.form.current:
        return await flow._stale_button(update, context)
    index = max(p.form.index(key) - 1, 0)
    return await _move(update, context, p, p.form.items[index].key)


@_form_button(TO_SUMMARY)
async def to_summary(update: Update, context: JxContext, p: Pressed) -> object:
    return await _move(update, context, p, forms.SUMMARY)


@_form_button(EDIT)
async def edit(update: Update, context: JxContext, p: Pressed) -> object:
    """Change one answer from the summary; after it the summary comes back."""
    (key,) = p.args
    return await _move(update, context, p, key)


@_form_button(FULL_TEXT)
async def full_text(update: Update, context: JxContext, p: Pressed) -> object:
    """A written answer in full (the summary shows excerpts); changes nothing."""
    (key,) = p.args
    tr = await context.tr(update)
    item = p.form.item(key)
    answer = p.form.answers.get(key)
    await answer_query(update)
    if item is not None and answer is not None and answer.text:
        label = form_view.item_label(p.form, item, tr)
        await reply(update, f"<b>{html(label)}</b>\n{html(answer.text)}")
    return None


@_form_button(SELF_TEXT)
async def read_self_assessment(update: Update, context: JxContext, p: Pressed) -> object:
    """The superior reads the ratee's self-assessment in full; the question stays where it is."""
    tr = await context.tr(update)
    await answer_query(update)
    for text in form_view.self_assessment_messages(p.form, tr):
        await reply(update, text)
    return None


@_form_button(GOALS)
async def read_goals(update: Update, context: JxContext, p: Pressed) -> object:
    """The unit's annual goals, asked for from a later performance question."""
    tr = await context.tr(update)
    await answer_query(update)
    await reply(update, "\n".join(form_view.goal_lines(p.form, tr)))
    return None


# --- submitting ------------------------------------------------------------------


@_form_button(SUBMIT)
async def ask_to_submit(update: Update, context: JxContext, p: Pressed) -> object:
    """Submitting is one-way: ask a second tap first."""
    forms.check_open(p.form, staff_id=p.staff_id, now=now(context), proxy=p.proxy)
    if not p.form.complete:
        raise DomainError(N_("Some questions are still unanswered."))
    async with flow.tx(update, context) as tx:
        p.goto(tx, State.CONFIRM)
    return await _show_next(update, context, tx)


@_form_button(NOT_YET)
async def back_to_answers(update: Update, context: JxContext, p: Pressed) -> object:
    return await _move(update, context, p, forms.SUMMARY)


@_form_button(YES_SUBMIT)
async def submit(update: Update, context: JxContext, p: Pressed) -> object:
    """Submit; then the rater's next open form of this kind, or the home screen."""
    tr = await context.tr(update)
    kind = form_view.KIND_OF[p.form.source]
    async with flow.tx(update, context) as tx:
        form = await forms.load_form(tx.session, p.form.assignment.id)
        await forms.submit(tx.session, form, staff_id=p.staff_id, now=now(context), proxy=p.proxy)
        rater = form.assignment.rater_staff_id
        remaining = [
            a
            for a, _ in await forms.my_assignments(tx.session, rater, form.source)
            if a.status == AssignmentStatus.OPEN
        ]
        if p.proxy:
            tx.goto(State.PICK, kind="proxy", **{"for": rater})
        elif remaining and kind != "self":
            tx.goto(State.PICK, kind=kind)
        else:
            tx.end()
    await answer_query(update, tr._("Submitted."))
    await send_prompt(
        update, context, Prompt(form_view.title(form, tr) + "\n\n" + tr._("Submitted. Thank you!"))
    )
    if tx.state == END:
        await show_home(update, context)
    else:
        await flow.show(update, context, edit=False)
    return tx.state


# --- typed answers -----------------------------------------------------------------


Save = Callable[[FlowTx, forms.Form, forms.FormItem, str, int, bool], Coroutine[Any, Any, None]]


async def _typed(update: Update, context: JxContext, save: Save) -> object:
    """A typed answer to the current item, saved by ``save``; a refusal re-asks it."""
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
    if item is None or not await may_act(update, context, form, pos, proxy):
        await flow.show(update, context, edit=False)
        return None
    try:
        async with flow.tx(update, context) as tx:
            form = await forms.load_form(tx.session, form.assignment.id)
            await save(tx, form, item, message.text or "", staff.id, proxy)
            _goto(tx, form, proxy)
    except DomainError as exc:
        await reply(update, exc.render(tr))
        await flow.show(update, context, edit=False)
        return None
    await flow.show(update, context, edit=False)
    return tx.state


@flow.step
async def type_score(update: Update, context: JxContext) -> object:
    """A score typed for an indicator (0–100), or a level's number."""

    async def save(
        tx: FlowTx, form: forms.Form, item: forms.FormItem, text: str, staff_id: int, proxy: bool
    ) -> None:
        if item.indicator is None:
            raise DomainError(N_("Please use the buttons below."))
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
            tx.session, form, item.key, value, staff_id=staff_id, now=now(context), proxy=proxy
        )

    return await _typed(update, context, save)


@flow.step
async def write_text(update: Update, context: JxContext) -> object:
    """The text of a written part (工作成績, 問題, 措施) or the comment."""

    async def save(
        tx: FlowTx, form: forms.Form, item: forms.FormItem, text: str, staff_id: int, proxy: bool
    ) -> None:
        await forms.save_text(
            tx.session, form, item.key, text, staff_id=staff_id, now=now(context), proxy=proxy
        )

    return await _typed(update, context, save)


def build_handler() -> ConversationHandler:
    def typed(step: StepFn) -> MessageHandler:
        return MessageHandler(F.TEXT & ~F.COMMAND & ~F.UpdateType.EDITED, step)

    return flow.handler(
        entry_points=[
            CommandHandler("self", self_command),
            CommandHandler("review", review_command),
            CommandHandler("peer", peer_command),
            CommandHandler("proxy", proxy_command),
            # the home screen's task buttons (conversations.home)
            *(home.TASKS[source].handler(_home_task(kind)) for kind, source in KINDS.items()),
        ],
        states={
            State.PICK: [OPEN.handler(open_form)],
            State.CHOICE: [CONTINUE.handler(continue_form), SWITCH.handler(switch_task)],
            State.ITEM: [
                SCORE.handler(score),
                typed(type_score),
                BACK.handler(previous),
                TO_SUMMARY.handler(to_summary),
                SELF_TEXT.handler(read_self_assessment),
                GOALS.handler(read_goals),
            ],
            State.TEXT: [
                typed(write_text),
                KEEP.handler(keep_text),
                BACK.handler(previous),
                TO_SUMMARY.handler(to_summary),
                SELF_TEXT.handler(read_self_assessment),
                GOALS.handler(read_goals),
            ],
            State.SUMMARY: [
                EDIT.handler(edit),
                FULL_TEXT.handler(full_text),
                SELF_TEXT.handler(read_self_assessment),
                GOALS.handler(read_goals),
                SUBMIT.handler(ask_to_submit),
            ],
            State.CONFIRM: [
                YES_SUBMIT.handler(submit),
                NOT_YET.handler(back_to_answers),
                FULL_TEXT.handler(full_text),
            ],
        },
    )
