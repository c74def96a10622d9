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

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.callbacks import Callbacks
from chat.context import JxContext
from chat.flow import (
    CANCELLED_HINT,
    Flow,
    FlowTx,
    Position,
    Prompt,
    answer_query,
    reply,
    send_prompt,
)
from conversations import cases as cc
from conversations.common import html, keyboard, load_caller, now
from domain.enums import Dimension, Source
from domain.labels import DIMENSION_LABELS, GRADE_LABELS, SOURCE_LABELS
from domain.text import MESSAGE_LIMIT, html_format, html_len
from infra.i18n import N_, Translator
from infra.models import Appeal, Cycle, Result
from services import appeals as ap
from services.access import Actor
from services.errors import DomainError

log = logging.getLogger(__name__)


class State(StrEnum):
    TARGET = "target"  # what is disputed (buttons)
    REASON = "reason"  # why (text)
    EVIDENCE = "evidence"  # photos and documents, then "Done"
    ANSWER = "answer"  # the appellant answers the working group's question
    ASK = "ask"  # the working group writes a question
    UPHOLD = "uphold"  # … the reason to uphold the result
    TOTAL = "total"  # … the new total
    ADJUST = "adjust"  # … the reason for the new total


DRAFT = frozenset({State.TARGET, State.REASON, State.EVIDENCE})
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
QUESTION_SHOWN = 3000  # UTF-16 units of the question shown above the answer prompt


def decision_days(context: JxContext) -> int:
    """Working days the working group has to decide (a setting when one exists, else 10)."""
    value = getattr(context.services.settings, "appeal_decision_days", None)
    return int(value) if isinstance(value, int) and value > 0 else ap.DEFAULT_DECISION_DAYS


# --- showing ---------------------------------------------------------------------------------


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    """The prompt of any state, from the database (a restart, a stale button, the next step)."""
    if pos.state in DRAFT:
        result = await session.get(Result, int(pos.data.get("rid", 0)))
        if result is None:
            return Prompt(tr._("This result no longer exists. Send /cancel to stop."))
        return await _draft_prompt(session, tr, pos, result)
    try:
        view = await ap.load(session, int(pos.data["aid"]))
    except (DomainError, KeyError, ValueError):
        return Prompt(tr._("This appeal no longer exists. Send /cancel to stop."))
    if pos.state == State.ANSWER:
        ask = html_format(
            tr._("<b>The working group asks about your appeal #{id}:</b>"), id=view.appeal.id
        )
        return Prompt(
            f"{ask}\n{html(cc.label(view.appeal.question or '', QUESTION_SHOWN))}\n\n<b>"
            + html_format(
                tr._("Please write your answer (up to {limit} characters)."), limit=ap.MAX_TEXT
            )
            + "</b>\n"
            + tr._(CANCELLED_HINT)
        )
    tail = f"\n\n<b>{_admin_ask(tr, pos, view.result)}</b>\n{tr._(CANCELLED_HINT)}"
    room = MESSAGE_LIMIT - html_len(tail)  # the case gives way, the question to answer stays
    return Prompt(cc.cut(ap.case_text(tr, view, at=dt.datetime.now(dt.UTC), limit=room) + tail))


def _admin_ask(tr: Translator, pos: Position, result: Result) -> str:
    if pos.state == State.ASK:
        return html_format(
            tr._(
                "Please write your question to the appellant (up to {limit} characters); their answer comes back here."
            ),
            limit=ap.MAX_TEXT,
        )
    if pos.state == State.UPHOLD:
        return html_format(
            tr._(
                "Decision: uphold the result ({total}). Please write the reason (required); the appellant is told."
            ),
            total=ap.num(result.total),
        )
    if pos.state == State.TOTAL:
        return html_format(
            tr._(
                "The total is now {total} ({grade}). Please type the new total, a number from 0 to 100 (for example 86.5)."
            ),
            total=ap.num(result.total),
            grade=tr._(GRADE_LABELS[result.grade]),
        )
    return html_format(
        tr._(
            "New total: {new} (now {old}). Please write the reason for the change (required); the appellant is told and gets the updated result."
        ),
        new=ap.num(pos.data.get("total")),
        old=ap.num(result.total),
    )


async def _draft_prompt(
    session: AsyncSession, tr: Translator, pos: Position, result: Result
) -> Prompt:
    names = await ap.indicator_names(session, result)
    if pos.state == State.TARGET:
        days = pos.data.get("days")
        days = days if isinstance(days, int) else ap.DEFAULT_DECISION_DAYS
        return await _target_prompt(session, tr, result, names, str(pos.data.get("view")), days)
    target = str(pos.data.get("target", ap.TOTAL))
    head = "\n".join(
        [
            html_format(
                tr._("<b>Your appeal</b> · disputed: {target}"),
                target=ap.target_label(tr, target, names),
            ),
            *ap.target_detail(tr, result, target, names),
            "",
        ]
    )
    if pos.state == State.REASON:
        ask = html_format(
            tr._(
                "Please write why you dispute it (up to {limit} characters). Evidence can be added next."
            ),
            limit=ap.MAX_REASON,
        )
        markup = keyboard([(tr._("« Change what I dispute"), BACK.data(result.id))])
        return Prompt(f"{head}<b>{ask}</b>\n{tr._(CANCELLED_HINT)}", markup)
    count = len(pos.data.get("evidence") or [])
    ask = html_format(
        tr._(
            "You may add evidence: send photos or documents (up to {limit}). Tap “Done” to file the appeal."
        ),
        limit=ap.MAX_EVIDENCE,
    )
    got = html_format(
        tr.ngettext("{count} file received.", "{count} files received.", count), count=count
    )
    markup = keyboard([(tr._("✅ Done — file the appeal"), FILE.data(result.id))])
    return Prompt(f"{head}<b>{ask}</b>\n{got}\n{tr._(CANCELLED_HINT)}", markup)


async def _target_prompt(
    session: AsyncSession,
    tr: Translator,
    result: Result,
    names: ap.IndicatorNames,
    page: str,
    days: int,
) -> Prompt:
    offered = ap.targets(result.breakdown or {})
    rid = result.id
    if page == "i":
        rows = [
            [(cc.label(ap.indicator_label(t[4:], names, tr.locale)), PICK.data(rid, t))]
            for t in offered
            if t.startswith("ind:")
        ]
        rows.append([(tr._("« Back"), PAGE.data(rid, "-"))])
        return Prompt(tr._("<b>Which indicator do you dispute?</b>"), keyboard(*rows))
    cycle = await session.get(Cycle, result.cycle_id)
    dims = {d.get("dimension"): d for d in (result.breakdown or {}).get("dimensions") or []}
    rows = [[(tr._("Total {total}").format(total=ap.num(result.total)), PICK.data(rid, "total"))]]
    pair: list[tuple[str, str]] = []
    for t in offered:
        if t.startswith("dim:"):
            d = Dimension(t[4:])
            score = ap.num((dims.get(d.value) or {}).get("score"))
            pair.append((f"{tr._(DIMENSION_LABELS[d])} {score}", PICK.data(rid, t)))
            if len(pair) == 2:
                rows.append(pair)
                pair = []
    if pair:
        rows.append(pair)
    if any(t.startswith("ind:") for t in offered):
        rows.append([(tr._("A single indicator ›"), PAGE.data(rid, "i"))])
    sources = [
        (tr._(SOURCE_LABELS[Source(t[4:])]), PICK.data(rid, t))
        for t in offered
        if t.startswith("src:")
    ]
    if sources:
        rows.append(sources)
    text = "\n".join(
        [
            html_format(
                tr._("<b>Appeal against your {period} result</b>"),
                period=cycle.period if cycle else "",
            ),
            html_format(
                tr._("Total: {total} · Grade: {grade}"),
                total=ap.num(result.total),
                grade=tr._(GRADE_LABELS[result.grade]),
            ),
            html_format(
                tr.ngettext(
                    "The working group decides within {days} working day after you file it.",
                    "The working group decides within {days} working days after you file it.",
                    days,
                ),
                days=days,
            ),
            "",
            "<b>" + tr._("What do you dispute?") + "</b>",
        ]
    )
    return Prompt(text, keyboard(*rows))


flow = Flow("appeal", N_("the appeal"), render, prefix="ap1:")


async def queue_prompt(context: JxContext, tr: Translator) -> Prompt:
    at = now(context)
    async with context.services.reads() as session:
        items = await ap.queue(session)
    lines = []
    for a, name, period in items:
        overdue = ap.is_overdue(a, at)
        text = html_format(
            tr._("#{id} {name} · {period} · {status} · decide by {date}"),
            id=a.id,
            name=name,
            period=period,
            status=tr._(ap.STATUS_LABELS[a.status]),
            date=tr.date(a.deadline),
        )
        lines.append(
            cc.Line(
                text + (" " + tr._("⚠️ overdue") if overdue else ""),
                f"#{a.id} {cc.label(name, 24)}{' ⚠️' if overdue else ''}",
                OPEN.data(a.id),
            )
        )
    return cc.listing(
        tr._("<b>Appeals waiting for a decision</b>"),
        lines,
        tr._("No appeals are waiting for a decision."),
    )


def case_markup(tr: Translator, view: ap.AppealView, actor: Actor) -> list[list[tuple[str, str]]]:
    """Ask, uphold, adjust — where the table allows them (not decided, not the admin's own)."""
    aid = view.appeal.id
    rows: list[list[tuple[str, str]]] = []
    if ap.APPEAL.allowed("ask", view, actor):
        rows.append([(tr._("❓ Ask the appellant"), ASK.data(aid))])
    if ap.APPEAL.allowed("uphold", view, actor):
        rows.append(
            [
                (tr._("Uphold the result"), UPHOLD.data(aid)),
                (tr._("Adjust the score"), ADJUST.data(aid)),
            ]
        )
    rows.append([(tr._("« All appeals"), QUEUE.data())])
    return rows


async def _send_evidence(update: Update, context: JxContext, appeal: Appeal) -> None:
    """Re-send each piece of evidence by its Telegram file id."""
    chat = update.effective_chat
    if chat is None or not appeal.evidence:
        return
    tr = await context.tr(update)
    total = len(appeal.evidence)
    for n, item in enumerate(appeal.evidence, 1):
        caption = tr._("Evidence {n} of {total} · appeal #{id}").format(
            n=n, total=total, id=appeal.id
        )
        try:
            if item.get("kind") == "photo":
                await chat.send_photo(item["file_id"], caption=caption)
            else:
                await chat.send_document(item["file_id"], caption=caption)
        except TelegramError as exc:
            log.info("evidence %s of appeal %s could not be sent: %s", n, appeal.id, exc)
            await reply(update, html_format(tr._("Evidence {n} could not be shown."), n=n))


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
    if pos is not None and pos.state in DRAFT and pos.data.get("rid") == result_id:
        await flow.show(update, context, edit=False)  # already drafting this one: go on
        return pos.state
    async with flow.tx(update, context) as tx:
        tx.goto(State.TARGET, rid=result_id, view="-", days=decision_days(context))
    await flow.show(update, context, edit=False)  # keep the result message as it is
    return tx.state


async def _draft_result(update: Update, context: JxContext, rid: int, data: str) -> Result | None:
    """The result of this chat's draft, if the button is of it and the caller's own."""
    pos = await _position(update, context)
    async with context.services.reads() as session:
        result = await session.get(Result, rid)
    if pos.data.get("rid") != rid or result is None:
        await flow._stale_button(update, context)
        return None
    actor = await load_caller(update, context)
    if actor.staff is None or result.staff_id != actor.staff.id:
        await cc.refuse(update, context, actor, "result", rid, data, ap.NOT_YOURS)
        return None
    return result


@flow.step
async def pick_target(update: Update, context: JxContext) -> object:
    rid, target = PICK.args(update)
    result = await _draft_result(update, context, rid, PICK.data(rid, target))
    if result is None:
        return None
    if target not in ap.targets(result.breakdown or {}):
        return await flow._stale_button(update, context)
    days = (await _position(update, context)).data.get("days")
    async with flow.tx(update, context) as tx:
        tx.goto(State.REASON, rid=rid, target=target, days=days)
    await answer_query(update)
    await flow.show(update, context)
    return tx.state


@flow.step
async def turn_page(update: Update, context: JxContext) -> object:
    rid, page = PAGE.args(update)
    if await _draft_result(update, context, rid, PAGE.data(rid, page)) is None:
        return None
    pos = await _position(update, context)
    async with flow.tx(update, context) as tx:
        tx.goto(State.TARGET, **{**pos.data, "view": "i" if page == "i" else "-"})
    await answer_query(update)
    await flow.show(update, context)
    return tx.state


@flow.step
async def change_target(update: Update, context: JxContext) -> object:
    (rid,) = BACK.args(update)
    if await _draft_result(update, context, rid, BACK.data(rid)) is None:
        return None
    pos = await _position(update, context)
    async with flow.tx(update, context) as tx:
        tx.goto(State.TARGET, rid=rid, view="-", days=pos.data.get("days"))
    await answer_query(update)
    await flow.show(update, context)
    return tx.state


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
    if await _draft_result(update, context, rid, FILE.data(rid)) is None:
        return None
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    assert actor.staff is not None
    pos = await _position(update, context)
    settings = context.services.settings

    async def file(tx: FlowTx) -> Appeal:
        appeal = await ap.file_appeal(
            tx.session,
            rid,
            staff_id=actor.staff.id,  # type: ignore[union-attr]
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
    prompt = await queue_prompt(context, tr)
    await reply(update, prompt.text, prompt.markup)
    return state


@flow.step
async def show_queue(update: Update, context: JxContext) -> object:
    if await cc.admin_only(update, context, "appeal", "0", QUEUE.data()) is None:
        return None
    tr = await context.tr(update)
    prompt = await queue_prompt(context, tr)
    state = await cc.leave_text_step(flow, update, context)
    await answer_query(update)
    await send_prompt(update, context, prompt)
    return state


async def _case(
    update: Update, context: JxContext, aid: int, data: str
) -> tuple[Actor, ap.AppealView] | None:
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
    text = ap.case_text(tr, view, at=now(context))
    state = await cc.leave_text_step(flow, update, context)
    await answer_query(update)
    await send_prompt(update, context, Prompt(text, keyboard(*case_markup(tr, view, actor))))
    await _send_evidence(update, context, view.appeal)
    return state


async def _begin(
    update: Update, context: JxContext, name: str, state: State, aid: int, data: str
) -> object:
    """Ask, uphold, adjust: the admin writes next, if the table allows it now."""
    found = await _case(update, context, aid, data)
    if found is None:
        return None
    actor, view = found
    tr = await context.tr(update)
    try:
        ap.cases.check(ap.APPEAL, name, view, actor)
    except ap.Refused as exc:
        await cc.refuse(update, context, actor, "appeal", aid, data, exc.message)
        return None
    except DomainError as exc:
        await answer_query(update, exc.plain(tr), alert=True)
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

Take = Callable[[AsyncSession, int, str, Actor, Position, Translator], Awaitable[str]]


async def _take(update: Update, context: JxContext, call: Take) -> object:
    """Run a transition with the text sent, end the text step, say what was done (or why not)."""
    assert update.message is not None
    tr = await context.tr(update)
    try:
        text = ap.check_text(update.message.text)
    except DomainError as exc:
        return await _again(update, context, exc.render(tr))
    pos = await _position(update, context)
    actor = await load_caller(update, context)
    aid = int(pos.data.get("aid", 0))

    async def run(tx: FlowTx) -> str:
        said = await call(tx.session, aid, text, actor, pos, tr)
        tx.end()
        return said

    outcome, said = await cc.attempt(
        flow, update, context, actor, run, object_type="appeal", object_id=aid, action=pos.state
    )
    if said is not None:
        await reply(update, said)
    return outcome.state


@flow.step
async def write_answer(update: Update, context: JxContext) -> object:
    async def call(
        s: AsyncSession, aid: int, text: str, actor: Actor, _p: Position, tr: Translator
    ) -> str:
        if actor.staff is None:
            raise ap.Refused(ap.NOT_FOUND)
        await ap.answer(
            s, aid, text, staff_id=actor.staff.id, now=now(context), env=cc.env(context)
        )
        return tr._("Thank you. Your answer has been passed to the working group.")

    return await _take(update, context, call)


@flow.step
async def write_question(update: Update, context: JxContext) -> object:
    async def call(
        s: AsyncSession, aid: int, text: str, actor: Actor, _p: Position, tr: Translator
    ) -> str:
        await ap.ask(
            s, aid, text, admin_telegram_id=actor.telegram_id, now=now(context), **_admin(context)
        )
        return tr._("Sent to the appellant. Their answer will come back to you here.")

    return await _take(update, context, call)


@flow.step
async def write_uphold_reason(update: Update, context: JxContext) -> object:
    async def call(
        s: AsyncSession, aid: int, text: str, actor: Actor, _p: Position, tr: Translator
    ) -> str:
        await ap.uphold(
            s, aid, text, admin_telegram_id=actor.telegram_id, now=now(context), **_admin(context)
        )
        return tr._("Decided: the result is upheld. The appellant has been told.")

    return await _take(update, context, call)


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
    async def call(
        s: AsyncSession, aid: int, text: str, actor: Actor, pos: Position, tr: Translator
    ) -> str:
        total = str(pos.data.get("total", ""))
        appeal = await ap.adjust_score(
            s,
            aid,
            total,
            text,
            admin_telegram_id=actor.telegram_id,
            now=now(context),
            **_admin(context),
        )
        result = await s.get(Result, appeal.result_id)
        assert result is not None
        return html_format(
            tr._(
                "Decided: the total is now {total} ({grade}). The appellant has been told and gets the updated result."
            ),
            total=ap.num(result.total),
            grade=tr._(GRADE_LABELS[result.grade]),
        )

    return await _take(update, context, call)


def _admin(context: JxContext) -> dict[str, Any]:
    env = cc.env(context)
    return {"admin_ids": env.admin_ids, "env": env}


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
