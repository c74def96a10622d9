"""申訴 in the chat: a person appeals their published result; the working group decides.

The appellant (申诉 under their result) walks TARGET (buttons from the stored breakdown),
REASON and EVIDENCE (photos and documents, then "Done"); the draft is the flow's stored
position, and the appeal is stored only when filed. ANSWER replies to a pushed question.
The working group (``/appeals``) opens a case from the queue (its evidence re-sent by file
id), then asks (ASK), upholds (UPHOLD) or adjusts where the dispute is: the indicator to
change (WHERE, skipped when the appeal is about one), its new value (TOTAL: a number or a
level tapped), then the reason (ADJUST). Every button is
checked against the table ``services.appeals.APPEAL``; a foreign one is refused and audited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.callbacks import CallbackAction, Callbacks
from chat.context import JxContext
from chat.flow import Flow, FlowTx, Position, Prompt, answer_query, reply, send_prompt
from conversations import appeal_view as av
from conversations import cases as cc
from conversations.appeal_view import DRAFT, State
from conversations.common import keyboard, load_caller, now, pressed
from domain.labels import GRADE_LABELS
from domain.text import html_format
from infra.i18n import N_, Translator
from infra.models import Appeal, Result
from services import appeal_targets as at
from services import appeals as ap
from services import cases
from services import result_adjustments as adj
from services.access import Actor
from services.appeal_texts import AppealView, case_text
from services.cases import check_text
from services.errors import DomainError

CB = Callbacks("ap1", "appeal")
NEW = CB.action("new", int, old=("n",))  # under a result: appeal it (result id)
PICK = CB.action("pick", int, str)  # what is disputed (result id, target)
PAGE = CB.action("page", int, str)  # the picker's page: "-" main, "i" indicators
BACK = CB.action("back", int)  # from the reason back to the picker
FILE = CB.action("file", int)  # "Done": file the appeal
ANSWER = CB.action("answer", int, old=("a",))  # under a question (appeal id)
QUEUE = CB.action("list")  # the working group's queue
OPEN = CB.action("open", int, old=("o",))  # a case
ASK = CB.action("ask", int)
UPHOLD = CB.action("uphold", int)
ADJUST = CB.action("adjust", int)
AT = CB.action("at", int, str)  # the indicator an adjustment changes (appeal id, code)
LEVEL = CB.action("level", int, int)  # its new value, a level of its scale (appeal id, index)


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    """Each state's prompt, from the database (``conversations.appeal_view``)."""
    return await av.render(session, tr, pos, update)


# the appellant's draft is the position itself: a working-group step in the same chat sets it
# aside (``drafts``) and 申诉 under the same result brings it back
# (every other state waits for a first tap or text: leaving it leaves nothing typed behind)
flow = Flow(
    "appeal",
    N_("the appeal"),
    render,
    prefix="ap1:",
    drafts=DRAFT,
    idle_states=[s for s in State if s not in (State.REASON, State.EVIDENCE)],
)


def build_handler() -> ConversationHandler[Any]:
    text = ~F.COMMAND & F.TEXT & ~F.UpdateType.EDITED
    files = (F.PHOTO | F.Document.ALL) & ~F.UpdateType.EDITED
    return flow.handler(
        entry_points=[
            CommandHandler("appeals", show_queue),
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
                PAGE.handler(show_picker),
                MessageHandler(text, choose_with_buttons),
            ],
            State.REASON: [BACK.handler(show_picker), MessageHandler(text, write_reason)],
            State.EVIDENCE: [
                MessageHandler(files, add_evidence),
                FILE.handler(file_appeal),
                MessageHandler(text, send_files),
            ],
            State.ANSWER: [MessageHandler(text, write_answer)],
            State.ASK: [MessageHandler(text, write_question)],
            State.UPHOLD: [MessageHandler(text, write_uphold_reason)],
            State.WHERE: [AT.handler(pick_indicator), MessageHandler(text, where_with_buttons)],
            State.TOTAL: [
                LEVEL.handler(pick_level),
                AT.handler(pick_indicator),  # a position stored before adjustments had a place
                MessageHandler(text, write_total),
            ],
            State.ADJUST: [AT.handler(pick_indicator), MessageHandler(text, write_adjust_reason)],
        },
    )


def _days(context: JxContext) -> int:
    """Working days the working group has to decide (``JIXIAO_APPEAL_DECISION_DAYS``)."""
    days = context.services.settings.appeal_decision_days
    return days if days > 0 else ap.DEFAULT_DECISION_DAYS


@flow.step
async def dispute(update: Update, context: JxContext) -> object:
    """申诉 under a result: only their own, only in the window, one at a time; nothing stored."""
    (rid,) = NEW.args(update)
    actor = await load_caller(update, context)
    problem: DomainError | None = None
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
        staff_id = actor.staff.id if actor.staff else None
        try:
            await ap.appealable(session, rid, staff_id=staff_id, now=now(context))
        except DomainError as exc:
            problem = exc
    if isinstance(problem, ap.Refused):
        await cc.refuse(update, context, actor, "result", rid, NEW.data(rid), problem.message)
        return None
    await answer_query(update)
    if problem is not None:
        await reply(update, problem.render(await context.tr(update)))
        return None
    async with flow.tx(update, context) as tx:
        if pos is not None and pos.state in DRAFT and pos.data.get("rid") == rid:
            tx.goto(pos.state, **pos.data)  # a draft of this result (even one left): go on
        elif aside := await flow.take_aside(tx.session, update, lambda d: d.data.get("rid") == rid):
            tx.goto(aside.state, **aside.data)  # the draft a working-group step had set aside
        else:
            tx.goto(State.TARGET, rid=rid, view="-", days=_days(context))
    await flow.show(update, context, edit=False)  # keep the result message as it is
    return tx.state


async def _draft(update: Update, context: JxContext, rid: int) -> tuple[Result, Position] | None:
    """The result and position of this chat's draft, if the button is of it and the caller's."""
    pos = await cc.position(flow, update, context)
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


@flow.step
async def pick_target(update: Update, context: JxContext) -> object:
    rid, target = PICK.args(update)
    if (draft := await _draft(update, context, rid)) is None:
        return None
    if target not in at.targets(draft[0].breakdown or {}):
        return await flow._stale_button(update, context)
    data = {"rid": rid, "target": target, "days": draft[1].data.get("days")}
    return await cc.goto(flow, update, context, State.REASON, edit=None, **data)


@flow.step
async def show_picker(update: Update, context: JxContext) -> object:
    """The picker's other page, or back to the picker from the reason."""
    rid, *page = pressed(update, PAGE, BACK)
    if (draft := await _draft(update, context, rid)) is None:
        return None
    data = {"rid": rid, "view": "i" if page == ["i"] else "-", "days": draft[1].data.get("days")}
    return await cc.goto(flow, update, context, State.TARGET, edit=None, **data)


@flow.step
async def choose_with_buttons(update: Update, context: JxContext) -> object:
    tr = await context.tr(update)
    again = tr._("Please choose what you dispute with the buttons.")
    return await cc.again(flow, update, context, again)


@flow.step
async def write_reason(update: Update, context: JxContext) -> object:
    assert update.message is not None
    try:
        reason = check_text(update.message.text, ap.MAX_REASON)
    except DomainError as exc:
        return await cc.again(flow, update, context, exc.render(await context.tr(update)))
    data = {**(await cc.position(flow, update, context)).data, "reason": reason, "evidence": []}
    return await cc.goto(flow, update, context, State.EVIDENCE, **data)


@flow.step
async def add_evidence(update: Update, context: JxContext) -> object:
    """A photo or document at the evidence step: its file id is kept with the draft."""
    message = update.message
    assert message is not None
    tr = await context.tr(update)
    pos = await cc.position(flow, update, context)
    evidence = list(pos.data.get("evidence") or [])
    if len(evidence) >= ap.MAX_EVIDENCE:
        too_many = tr._("At most {limit} files can be added. Tap “Done” to file the appeal.")
        return await cc.again(flow, update, context, html_format(too_many, limit=ap.MAX_EVIDENCE))
    if message.photo:
        f = message.photo[-1]
        item = {"kind": "photo", "file_id": f.file_id, "unique_id": f.file_unique_id}
    elif message.document is not None:
        d = message.document
        item = {"kind": "document", "file_id": d.file_id, "unique_id": d.file_unique_id}
        item["name"] = (d.file_name or "")[:128]
    else:
        return await cc.again(flow, update, context, tr._("Please send photos or documents."))
    item = {k: v for k, v in item.items() if v}
    if any(e.get("unique_id") and e.get("unique_id") == item.get("unique_id") for e in evidence):
        return await cc.again(flow, update, context, tr._("This file was already added."))
    evidence.append(item)
    return await cc.goto(
        flow, update, context, State.EVIDENCE, **{**pos.data, "evidence": evidence}
    )


@flow.step
async def send_files(update: Update, context: JxContext) -> object:
    tr = await context.tr(update)
    again = tr._("Please send photos or documents, or tap “Done” to file the appeal.")
    return await cc.again(flow, update, context, again)


@flow.step
async def file_appeal(update: Update, context: JxContext) -> object:
    (rid,) = FILE.args(update)
    if (draft := await _draft(update, context, rid)) is None:
        return None
    data = draft[1].data
    actor = await load_caller(update, context)
    assert actor.staff is not None  # _draft checked: the result is theirs
    staff_id, env = actor.staff.id, cc.env(context)

    async def file(tx: FlowTx) -> Appeal:
        target, reason = str(data.get("target", "")), str(data.get("reason", ""))
        appeal = await ap.file_appeal(
            tx.session, rid, staff_id=staff_id, target=target, reason=reason,
            evidence=list(data.get("evidence") or []), now=now(context), tz=env.tz,
            decision_days=_days(context), env=env,
        )  # fmt: skip
        tx.end(finished=True)
        return appeal

    done, appeal = await cc.attempt(
        flow, update, context, actor, file, object_type="result", object_id=rid, action="file"
    )
    if appeal is None:
        return done.state
    tr = await context.tr(update)
    await answer_query(update, tr._("Filed."))
    text = tr._(
        "Your appeal #{id} has been filed. The working group decides by the end of {date}; you will be told here."
    )
    date = tr.date(appeal.deadline)
    await send_prompt(update, context, Prompt(html_format(text, id=appeal.id, date=date)))
    return done.state


async def _case(
    update: Update,
    context: JxContext,
    button: CallbackAction,
    admin: bool = True,
    args: tuple[Any, ...] | None = None,
) -> tuple[Actor, AppealView, int]:
    """The caller and the case a button names (or ``args``, the case's id first): the working
    group's, or (``admin`` False) any caller's that the table then checks; ``Refused``
    otherwise (``cc.guarded`` refuses it)."""
    (aid,) = args if args is not None else button.args(update)
    actor = await load_caller(update, context)
    if admin and not actor.is_admin:
        raise ap.Refused(ap.ONLY_ADMINS)
    async with context.services.reads() as session:
        return actor, await ap.load(session, aid), aid


async def _begin(
    update: Update, context: JxContext, button: CallbackAction, state: State, admin: bool = True
) -> object:
    """Answer, ask, uphold, adjust (the button's name is the transition's): the caller writes
    next, if the table allows it now."""
    actor, view, aid = await _case(update, context, button, admin)
    cases.check(ap.APPEAL, button.name, view, actor)
    return await cc.goto(flow, update, context, state, aid=aid)


@cc.guarded(flow, "appeal")
async def answer_question(update: Update, context: JxContext) -> object:
    """ "Answer" under the working group's question: the appellant's own appeal only."""
    return await _begin(update, context, ANSWER, State.ANSWER, admin=False)


@cc.guarded(flow, "appeal")
async def start_question(update: Update, context: JxContext) -> object:
    return await _begin(update, context, ASK, State.ASK)


@cc.guarded(flow, "appeal")
async def start_uphold(update: Update, context: JxContext) -> object:
    return await _begin(update, context, UPHOLD, State.UPHOLD)


@cc.guarded(flow, "appeal")
async def start_adjust(update: Update, context: JxContext) -> object:
    """Adjust: straight to the new value when the appeal is about one indicator, else first
    the indicator to change (of the disputed dimension or source, or any, for the total)."""
    actor, view, aid = await _case(update, context, ADJUST)
    cases.check(ap.APPEAL, ADJUST.name, view, actor)
    codes = adj.adjustable(view.result.breakdown or {}, view.appeal.target)
    if len(codes) == 1 and view.appeal.target.startswith("ind:"):
        return await _to_value(update, context, aid, codes[0])
    return await cc.goto(flow, update, context, State.WHERE, aid=aid)


@cc.guarded(flow, "appeal")
async def pick_indicator(update: Update, context: JxContext) -> object:
    """The indicator to change, one the appeal's dispute covers."""
    actor, view, aid = await _case(update, context, ADJUST, args=AT.args(update)[:1])
    cases.check(ap.APPEAL, ADJUST.name, view, actor)
    (_, code) = AT.args(update)
    if code not in adj.adjustable(view.result.breakdown or {}, view.appeal.target):
        return await flow._stale_button(update, context)
    return await _to_value(update, context, aid, code)


async def _to_value(update: Update, context: JxContext, aid: int, code: str) -> object:
    """The new-value step, with the indicator's levels kept in the position for parsing."""
    async with context.services.reads() as session:
        view = await ap.load(session, aid)
        levels = await at.levels_of(session, view.result, code)
    return await cc.goto(flow, update, context, State.TOTAL, aid=aid, indicator=code, levels=levels)


@flow.step
async def where_with_buttons(update: Update, context: JxContext) -> object:
    tr = await context.tr(update)
    return await cc.again(
        flow, update, context, tr._("Please choose the indicator to change with the buttons.")
    )


@cc.guarded(flow, "appeal")
async def pick_level(update: Update, context: JxContext) -> object:
    """A level tapped as the new value: its points, as if typed."""
    aid, index = LEVEL.args(update)
    actor, view, _ = await _case(update, context, LEVEL, args=(aid,))
    cases.check(ap.APPEAL, ADJUST.name, view, actor)
    pos = await cc.position(flow, update, context)
    levels = pos.data.get("levels") or []
    if pos.data.get("aid") != aid or not 0 <= index < len(levels):
        return await flow._stale_button(update, context)
    points = str(ap.parse_points(str(levels[index][2])))
    data = {**pos.data, "points": points}
    return await cc.goto(flow, update, context, State.ADJUST, edit=None, **data)


@flow.step
async def show_queue(update: Update, context: JxContext) -> object:
    """``/appeals`` or "« All appeals": the undecided appeals, for the working group only."""
    pressed = update.callback_query is not None
    if (
        await cc.admin_only(
            update,
            context,
            QUEUE.data() if pressed else "appeals",
            object_type="appeal" if pressed else "",
            object_id="0" if pressed else "",
        )
        is None
    ):
        return None
    prompt = await av.queue_prompt(context, await context.tr(update))
    return await cc.show(flow, update, context, prompt)


@cc.guarded(flow, "appeal")
async def open_case(update: Update, context: JxContext) -> object:
    actor, view, _ = await _case(update, context, OPEN)
    tr = await context.tr(update)
    markup = keyboard(*av.case_markup(tr, view, actor))
    state = await cc.show(
        flow, update, context, Prompt(case_text(tr, view, at=now(context)), markup)
    )
    await av.send_evidence(update, context, view.appeal)
    return state


def _text(text: str | None, _pos: Position, _context: JxContext) -> str:
    return check_text(text, ap.MAX_TEXT)


Run = Callable[..., Awaitable[Appeal]]  # ap.ask, ap.uphold…


async def _take(
    run: Run, tx: FlowTx, actor: Actor, pos: Position, text: str, c: JxContext, **extra: Any
) -> Appeal:
    """Take a transition with the text (``run`` is ``ap.ask``, ``ap.uphold``…); the step is over."""
    aid, env = int(pos.data["aid"]), cc.env(c)
    appeal = await run(tx.session, aid, text, actor=actor, now=now(c), env=env, **extra)
    tx.end()
    return appeal


@cc.text_step(flow, _text, object_type="appeal", key="aid")
async def write_answer(tx: FlowTx, actor: Actor, pos: Position, text: str, c: JxContext) -> str:
    await _take(ap.answer, tx, actor, pos, text, c)
    return N_("Thank you. Your answer has been passed to the working group.")


@cc.text_step(flow, _text, object_type="appeal", key="aid")
async def write_question(tx: FlowTx, actor: Actor, pos: Position, text: str, c: JxContext) -> str:
    await _take(ap.ask, tx, actor, pos, text, c)
    return N_("Sent to the appellant. Their answer will come back to you here.")


@cc.text_step(flow, _text, object_type="appeal", key="aid")
async def write_uphold_reason(
    tx: FlowTx, actor: Actor, pos: Position, text: str, c: JxContext
) -> str:
    await _take(ap.uphold, tx, actor, pos, text, c)
    return N_("Decided: the result is upheld. The appellant has been told.")


def _points(text: str | None, pos: Position, _context: JxContext) -> Decimal:
    return ap.parse_points(text, pos.data.get("levels") or [])


@cc.text_step(flow, _points, object_type="appeal", key="aid")
async def write_total(
    tx: FlowTx, actor: Actor, pos: Position, points: Decimal, c: JxContext
) -> None:
    """The indicator's new value, typed; the reason comes next."""
    if not actor.is_admin:
        raise ap.Refused(ap.ONLY_ADMINS)
    if not pos.data.get("indicator"):  # a position stored before adjustments had a place
        tx.goto(State.WHERE, aid=pos.data["aid"])
        return None
    tx.goto(State.ADJUST, **{**pos.data, "points": str(points)})
    return None


@cc.text_step(flow, _text, object_type="appeal", key="aid")
async def write_adjust_reason(
    tx: FlowTx, actor: Actor, pos: Position, text: str, c: JxContext
) -> str:
    indicator, points = str(pos.data.get("indicator", "")), str(pos.data.get("points", ""))
    run = ap.adjust_score
    appeal = await _take(run, tx, actor, pos, text, c, indicator=indicator, points=points)
    result = await tx.session.get(Result, appeal.result_id)
    assert result is not None
    tr = await c.tr(tx.update)
    done = tr._(
        "Decided: the total is now {total} ({grade}). The appellant has been told and gets the updated result."
    )
    return html_format(done, total=at.num(result.total), grade=tr._(GRADE_LABELS[result.grade]))
