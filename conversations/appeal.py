"""申訴 in the chat: a person appeals their published result; the working group decides.

The appellant (the 申诉 button under their result) walks TARGET (what they dispute, buttons
from the stored breakdown), REASON (text) and EVIDENCE (photos and documents, then "Done").
The draft lives in the flow's stored position, so a restart resumes it; the appeal is
stored only when it is filed. ANSWER is the appellant's reply to a pushed question.

The working group (``/appeals``) sees the queue, opens a case (the evidence is re-sent by
file id), asks (ASK), upholds (UPHOLD: the reason) or adjusts (TOTAL: the new total, then
ADJUST: the reason). Every press is re-checked against the caller; a foreign result or
appeal is refused and audited as ``access.denied``. Nothing shown names a rater. What may
happen to an appeal, who may do it and who is told is ``services.appeals.APPEAL``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.callbacks import Callbacks
from chat.context import JxContext
from chat.flow import (
    Flow,
    FlowTx,
    Position,
    Prompt,
    answer_query,
    reply,
    send_prompt,
)
from conversations import appeal_view as av
from conversations import cases as cc
from conversations.appeal_view import DRAFT, State
from conversations.common import keyboard, load_caller, now
from domain.labels import GRADE_LABELS
from domain.text import html_format
from infra.i18n import N_, Translator
from infra.models import Appeal, Result
from services import appeal_targets as at
from services import appeal_texts as atx
from services import appeals as ap
from services.access import Actor
from services.errors import DomainError

CB = Callbacks("ap1", "appeal")
NEW = CB.action("new", int)  # under a result: appeal it (result id)
PICK = CB.action("pick", int, str)  # what is disputed (result id, target)
PAGE = CB.action("page", int, str)  # the picker's page: "-" main, "i" indicators
BACK = CB.action("back", int)  # from the reason back to the picker
FILE = CB.action("file", int)  # "Done": file the appeal
ANSWER = CB.action("answer", int)  # under a question: answer it (appeal id)
QUEUE = CB.action("list")  # the working group's queue
OPEN = CB.action("open", int)  # a case
ASK = CB.action("ask", int)
UPHOLD = CB.action("uphold", int)
ADJUST = CB.action("adjust", int)


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    """Each state's prompt, from the database (``conversations.appeal_view``)."""
    return await av.render(session, tr, pos, update)


flow = Flow("appeal", N_("the appeal"), render, prefix="ap1:")


def build_handler() -> ConversationHandler[Any]:
    text = ~F.COMMAND & F.TEXT & ~F.UpdateType.EDITED
    files = (F.PHOTO | F.Document.ALL) & ~F.UpdateType.EDITED
    return flow.handler(
        entry_points=[
            CommandHandler("appeals", appeals_command),
            NEW.handler(dispute),
            ANSWER.handler(answer_question),
            QUEUE.handler(show_queue),
            OPEN.handler(open_case),
            ASK.handler(start_question),
            UPHOLD.handler(start_uphold),
            ADJUST.handler(start_adjust),
        ],
        states={
            State.TARGET: [
                PICK.handler(pick_target),
                PAGE.handler(turn_page),
                MessageHandler(text, choose_with_buttons),
            ],
            State.REASON: [BACK.handler(change_target), MessageHandler(text, write_reason)],
            State.EVIDENCE: [
                MessageHandler(files, add_evidence),
                FILE.handler(file_appeal),
                MessageHandler(text, send_files),
            ],
            State.ANSWER: [MessageHandler(text, write_answer)],
            State.ASK: [MessageHandler(text, write_question)],
            State.UPHOLD: [MessageHandler(text, write_uphold_reason)],
            State.TOTAL: [MessageHandler(text, write_total)],
            State.ADJUST: [MessageHandler(text, write_adjust_reason)],
        },
    )


def decision_days(context: JxContext) -> int:
    """Working days the working group has to decide (``JIXIAO_APPEAL_DECISION_DAYS``)."""
    days = context.services.settings.appeal_decision_days
    return days if days > 0 else ap.DEFAULT_DECISION_DAYS


async def _again(update: Update, context: JxContext, message: str) -> object:
    """Say what is wrong with the input and show the step again."""
    await reply(update, message)
    await flow.show(update, context, edit=False)
    return None


async def _position(update: Update, context: JxContext) -> Position:
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    assert pos is not None  # PTB is in one of this flow's states: the position is stored
    return pos


# --- the appellant --------------------------------------------------------------------------


@flow.step
async def dispute(update: Update, context: JxContext) -> object:
    """申诉 under a result: only their own, only in the window, one at a time; nothing stored."""
    (result_id,) = NEW.args(update)
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    problem: DomainError | None = None
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
        try:
            await ap.appealable(
                session,
                result_id,
                staff_id=actor.staff.id if actor.staff else None,
                now=now(context),
            )
        except DomainError as exc:
            problem = exc
    if isinstance(problem, ap.Refused):
        data = NEW.data(result_id)
        await cc.refuse(update, context, actor, "result", result_id, data, problem.message)
        return None
    await answer_query(update)
    if problem is not None:
        await reply(update, problem.render(tr))
        return None
    async with flow.tx(update, context) as tx:
        if pos is not None and pos.state in DRAFT and pos.data.get("rid") == result_id:
            tx.goto(pos.state, **pos.data)  # a draft of this result (even one left): go on
        else:
            tx.goto(State.TARGET, rid=result_id, view="-", days=decision_days(context))
    await flow.show(update, context, edit=False)  # keep the result message as it is
    return tx.state


async def _draft(update: Update, context: JxContext, rid: int) -> tuple[Result, Position] | None:
    """The result and position of this chat's draft, if the button is of it and the caller's."""
    pos = await _position(update, context)
    async with context.services.reads() as session:
        result = await session.get(Result, rid)
    if pos.data.get("rid") != rid or result is None:
        await flow._stale_button(update, context)
        return None
    actor = await load_caller(update, context)
    if actor.staff is None or result.staff_id != actor.staff.id:
        data = update.callback_query.data if update.callback_query else None
        await cc.refuse(update, context, actor, "result", rid, data or "", ap.NOT_YOURS)
        return None
    return result, pos


async def _move(update: Update, context: JxContext, state: State, **data: object) -> object:
    async with flow.tx(update, context) as tx:
        tx.goto(state, **data)
    await answer_query(update)
    await flow.show(update, context)
    return tx.state


@flow.step
async def pick_target(update: Update, context: JxContext) -> object:
    rid, target = PICK.args(update)
    if (draft := await _draft(update, context, rid)) is None:
        return None
    result, pos = draft
    if target not in at.targets(result.breakdown or {}):
        return await flow._stale_button(update, context)
    return await _move(
        update, context, State.REASON, rid=rid, target=target, days=pos.data.get("days")
    )


@flow.step
async def turn_page(update: Update, context: JxContext) -> object:
    rid, page = PAGE.args(update)
    if (draft := await _draft(update, context, rid)) is None:
        return None
    return await _move(
        update, context, State.TARGET, **{**draft[1].data, "view": "i" if page == "i" else "-"}
    )


@flow.step
async def change_target(update: Update, context: JxContext) -> object:
    (rid,) = BACK.args(update)
    if (draft := await _draft(update, context, rid)) is None:
        return None
    return await _move(
        update, context, State.TARGET, rid=rid, view="-", days=draft[1].data.get("days")
    )


@flow.step
async def choose_with_buttons(update: Update, context: JxContext) -> object:
    tr = await context.tr(update)
    return await _again(update, context, tr._("Please choose what you dispute with the buttons."))


@flow.step
async def write_reason(update: Update, context: JxContext) -> object:
    assert update.message is not None
    tr = await context.tr(update)
    try:
        reason = ap.check_text(update.message.text, ap.MAX_REASON)
    except DomainError as exc:
        return await _again(update, context, exc.render(tr))
    pos = await _position(update, context)
    async with flow.tx(update, context) as tx:
        tx.goto(State.EVIDENCE, **{**pos.data, "reason": reason, "evidence": []})
    await flow.show(update, context, edit=False)
    return tx.state


@flow.step
async def add_evidence(update: Update, context: JxContext) -> object:
    """A photo or document at the evidence step: its file id is kept with the draft."""
    assert update.message is not None
    tr = await context.tr(update)
    pos = await _position(update, context)
    evidence = list(pos.data.get("evidence") or [])
    if len(evidence) >= ap.MAX_EVIDENCE:
        return await _again(
            update,
            context,
            html_format(
                tr._("At most {limit} files can be added. Tap “Done” to file the appeal."),
                limit=ap.MAX_EVIDENCE,
            ),
        )
    item = _evidence_of(update.message)
    if item is None:
        return await _again(update, context, tr._("Please send photos or documents."))
    if any(e.get("unique_id") and e.get("unique_id") == item.get("unique_id") for e in evidence):
        return await _again(update, context, tr._("This file was already added."))
    async with flow.tx(update, context) as tx:
        tx.goto(State.EVIDENCE, **{**pos.data, "evidence": [*evidence, item]})
    await flow.show(update, context, edit=False)
    return tx.state


def _evidence_of(message: Message) -> dict[str, str] | None:
    if message.photo:
        best = message.photo[-1]
        return ap.evidence_item("photo", best.file_id, unique_id=best.file_unique_id)
    if message.document is not None:
        doc = message.document
        return ap.evidence_item(
            "document", doc.file_id, unique_id=doc.file_unique_id, name=doc.file_name or ""
        )
    return None


@flow.step
async def send_files(update: Update, context: JxContext) -> object:
    tr = await context.tr(update)
    return await _again(
        update, context, tr._("Please send photos or documents, or tap “Done” to file the appeal.")
    )


@flow.step
async def file_appeal(update: Update, context: JxContext) -> object:
    (rid,) = FILE.args(update)
    if (draft := await _draft(update, context, rid)) is None:
        return None
    pos = draft[1]
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    assert actor.staff is not None  # _draft checked: the result is theirs
    staff_id = actor.staff.id
    settings = context.services.settings

    async def file(tx: FlowTx) -> Appeal:
        appeal = await ap.file_appeal(
            tx.session,
            rid,
            staff_id=staff_id,
            target=str(pos.data.get("target", "")),
            reason=str(pos.data.get("reason", "")),
            evidence=list(pos.data.get("evidence") or []),
            now=now(context),
            tz=settings.tz,
            decision_days=decision_days(context),
            env=cc.env(context),
        )
        tx.end()
        return appeal

    done, appeal = await cc.attempt(
        flow, update, context, actor, file, object_type="result", object_id=rid, action="file"
    )
    if appeal is None:
        return done.state
    await answer_query(update, tr._("Filed."))
    text = html_format(
        tr._(
            "Your appeal #{id} has been filed. The working group decides by the end of {date}; you will be told here."
        ),
        id=appeal.id,
        date=tr.date(appeal.deadline),
    )
    await send_prompt(update, context, Prompt(text))
    return done.state


@flow.step
async def answer_question(update: Update, context: JxContext) -> object:
    """ "Answer" under the working group's question: the appellant's own appeal only."""
    (aid,) = ANSWER.args(update)
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    async with context.services.reads() as session:
        appeal = await session.get(Appeal, aid)
    if appeal is None or not ap.APPELLANT.allows(actor, appeal):
        await cc.refuse(update, context, actor, "appeal", aid, ANSWER.data(aid), ap.NOT_FOUND)
        return None
    if appeal.status != ap.Status.QUESTION:
        await answer_query(update, tr._(ap.NO_QUESTION), alert=True)
        return None
    async with flow.tx(update, context) as tx:
        tx.goto(State.ANSWER, aid=aid)
    await answer_query(update)
    await flow.show(update, context, edit=False)
    return tx.state


# --- the working group ----------------------------------------------------------------------


@flow.step
async def appeals_command(update: Update, context: JxContext) -> object:
    if await cc.admin_only(update, context, "", "", "appeals") is None:
        return None
    tr = await context.tr(update)
    state = await cc.leave_text_step(flow, update, context)
    prompt = await av.queue_prompt(context, tr)
    await reply(update, prompt.text, prompt.markup)
    return state


@flow.step
async def show_queue(update: Update, context: JxContext) -> object:
    if await cc.admin_only(update, context, "appeal", "0", QUEUE.data()) is None:
        return None
    tr = await context.tr(update)
    prompt = await av.queue_prompt(context, tr)
    state = await cc.leave_text_step(flow, update, context)
    await answer_query(update)
    await send_prompt(update, context, prompt)
    return state


async def _case(
    update: Update, context: JxContext, aid: int, data: str
) -> tuple[Actor, atx.AppealView] | None:
    """The case for a working-group button; refused (and audited) for anyone else."""
    actor = await cc.admin_only(update, context, "appeal", aid, data)
    if actor is None:
        return None
    async with context.services.reads() as session:
        try:
            return actor, await ap.load(session, aid)
        except DomainError:
            await cc.refuse(update, context, actor, "appeal", aid, data, ap.NOT_FOUND)
            return None


@flow.step
async def open_case(update: Update, context: JxContext) -> object:
    (aid,) = OPEN.args(update)
    found = await _case(update, context, aid, OPEN.data(aid))
    if found is None:
        return None
    actor, view = found
    tr = await context.tr(update)
    text = atx.case_text(tr, view, at=now(context))
    state = await cc.leave_text_step(flow, update, context)
    await answer_query(update)
    await send_prompt(update, context, Prompt(text, keyboard(*av.case_markup(tr, view, actor))))
    await av.send_evidence(update, context, view.appeal)
    return state


async def _begin(
    update: Update, context: JxContext, name: str, state: State, aid: int, data: str
) -> object:
    """Ask, uphold, adjust: the admin writes next, if the table allows it now."""
    found = await _case(update, context, aid, data)
    if found is None:
        return None
    actor, view = found
    if not await cc.may(update, context, ap.APPEAL, name, view, actor, object_id=aid, action=data):
        return None
    async with flow.tx(update, context) as tx:
        tx.goto(state, aid=aid)
    await answer_query(update)
    await flow.show(update, context, edit=False)
    return tx.state


@flow.step
async def start_question(update: Update, context: JxContext) -> object:
    (aid,) = ASK.args(update)
    return await _begin(update, context, "ask", State.ASK, aid, ASK.data(aid))


@flow.step
async def start_uphold(update: Update, context: JxContext) -> object:
    (aid,) = UPHOLD.args(update)
    return await _begin(update, context, "uphold", State.UPHOLD, aid, UPHOLD.data(aid))


@flow.step
async def start_adjust(update: Update, context: JxContext) -> object:
    (aid,) = ADJUST.args(update)
    return await _begin(update, context, "adjust", State.TOTAL, aid, ADJUST.data(aid))


# --- texts that take a transition -------------------------------------------------------------


async def _take(
    update: Update, context: JxContext, run: Callable[..., Awaitable[Appeal]], **extra: Any
) -> tuple[object, Appeal | None]:
    """Take a transition with the text sent (``run`` is ``ap.ask``, ``ap.uphold``…) and end
    the text step; a refusal or a reason why not is told. The state, and the appeal if done."""
    assert update.message is not None
    tr = await context.tr(update)
    try:
        text = ap.check_text(update.message.text)
    except DomainError as exc:
        return await _again(update, context, exc.render(tr)), None
    pos = await _position(update, context)
    actor = await load_caller(update, context)
    aid = int(pos.data.get("aid", 0))

    async def call(tx: FlowTx) -> Appeal:
        appeal = await run(
            tx.session, aid, text, actor=actor, now=now(context), env=cc.env(context), **extra
        )
        tx.end()
        return appeal

    outcome, appeal = await cc.attempt(
        flow, update, context, actor, call, object_type="appeal", object_id=aid, action=pos.state
    )
    return outcome.state, appeal


async def _said(
    update: Update, context: JxContext, taken: tuple[object, Appeal | None], done: str
) -> object:
    state, appeal = taken
    if appeal is not None:
        await reply(update, (await context.tr(update))._(done))
    return state


@flow.step
async def write_answer(update: Update, context: JxContext) -> object:
    done = N_("Thank you. Your answer has been passed to the working group.")
    return await _said(update, context, await _take(update, context, ap.answer), done)


@flow.step
async def write_question(update: Update, context: JxContext) -> object:
    done = N_("Sent to the appellant. Their answer will come back to you here.")
    return await _said(update, context, await _take(update, context, ap.ask), done)


@flow.step
async def write_uphold_reason(update: Update, context: JxContext) -> object:
    done = N_("Decided: the result is upheld. The appellant has been told.")
    return await _said(update, context, await _take(update, context, ap.uphold), done)


@flow.step
async def write_total(update: Update, context: JxContext) -> object:
    assert update.message is not None
    tr = await context.tr(update)
    try:
        total = ap.parse_total(update.message.text)
    except DomainError as exc:
        return await _again(update, context, exc.render(tr))
    pos = await _position(update, context)
    actor = await load_caller(update, context)
    if not actor.is_admin:
        state = await cc.leave_text_step(flow, update, context)
        aid = pos.data.get("aid", "")
        await cc.refuse(update, context, actor, "appeal", aid, pos.state, ap.ONLY_ADMINS)
        return state
    async with flow.tx(update, context) as tx:
        tx.goto(State.ADJUST, aid=pos.data["aid"], total=str(total))
    await flow.show(update, context, edit=False)
    return tx.state


@flow.step
async def write_adjust_reason(update: Update, context: JxContext) -> object:
    total = str((await _position(update, context)).data.get("total", ""))
    state, appeal = await _take(update, context, ap.adjust_score, total=total)
    if appeal is None:
        return state
    tr = await context.tr(update)
    async with context.services.reads() as session:
        result = await session.get(Result, appeal.result_id)
    assert result is not None
    done = tr._(
        "Decided: the total is now {total} ({grade}). The appellant has been told and gets the updated result."
    )
    await reply(
        update,
        html_format(done, total=at.num(result.total), grade=tr._(GRADE_LABELS[result.grade])),
    )
    return state
