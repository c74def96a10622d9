"""申訴 in the chat: a person appeals their published result; the working group decides.

The appellant (from the 申诉 button under their result, ``ap1:n:<result id>``) walks
TARGET (what they dispute: the total, a dimension, an indicator or a source, buttons built
from the stored breakdown), REASON (text, up to 2,000 characters) and EVIDENCE (photos and
documents, then "Done"). The draft lives in the flow's stored position, so a restart
resumes it; the appeal is stored only when it is filed. QUESTION's answer is ANSWER, a
text step in the appellant's chat opened by the button under the pushed question.

The working group (``/appeals``) sees the queue, opens a case (the evidence is re-sent by
file id), asks (ASK), upholds (UPHOLD: reason) or adjusts (TOTAL: the new total, then
ADJUST: the reason). Callback data ``ap1:<action>:<id>[:<arg>]``; every press is re-checked
against the caller and the stored position; a foreign result or appeal is refused and
audited as ``access.denied``. Nothing shown names a rater.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.context import JxContext
from chat.flow import CANCELLED_HINT, END, Flow, Position, Prompt, answer_query, reply, send_prompt
from conversations.common import audit_actor, html, keyboard, load_caller, now
from domain.enums import AppealStatus, Dimension, Source
from domain.labels import DIMENSION_LABELS, GRADE_LABELS, SOURCE_LABELS
from domain.text import MESSAGE_LIMIT, clip, html_format, html_len
from infra.i18n import N_, Translator
from infra.models import Appeal, Result
from services import appeals as ap
from services.access import Actor
from services.audit import audit
from services.errors import DomainError

log = logging.getLogger(__name__)

TARGET, REASON, EVIDENCE, ANSWER = "target", "reason", "evidence", "answer"
ASK, UPHOLD, TOTAL, ADJUST = "ask", "uphold", "total", "adjust"
DRAFT_STATES = (TARGET, REASON, EVIDENCE)
DATA = re.compile(r"^ap1:([ntmbfaloquj]):(\d{1,12})(?::([A-Za-z0-9_.:-]{1,32}))?$")
APPELLANT_ACTIONS = frozenset("ntmbfa")
ADMIN_ACTIONS = frozenset("loquj")
LABEL_MAX = 40
QUESTION_SHOWN = 3000  # UTF-16 units of the question shown above the answer prompt


def decision_days(context: JxContext) -> int:
    """Working days the working group has to decide (a setting when one exists, else 10)."""
    value = getattr(context.services.settings, "appeal_decision_days", None)
    return int(value) if isinstance(value, int) and value > 0 else ap.DEFAULT_DECISION_DAYS


def _clip(text: str, limit: int = LABEL_MAX) -> str:
    return clip(text, limit)


# --- showing ---------------------------------------------------------------------------


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    """The prompt of any state, from the database (a restart, a stale button, the next step)."""
    if pos.state in DRAFT_STATES:
        result = await session.get(Result, int(pos.data.get("rid", 0)))
        if result is None:
            return Prompt(tr._("This result no longer exists. Send /cancel to stop."))
        names = await ap.indicator_names(session, result)
        if pos.state == TARGET:
            days = pos.data.get("days")
            return await _target_prompt(
                session,
                tr,
                result,
                names,
                str(pos.data.get("view", "-")),
                days if isinstance(days, int) else ap.DEFAULT_DECISION_DAYS,
            )
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
        if pos.state == REASON:
            return Prompt(
                head
                + "<b>"
                + html_format(
                    tr._(
                        "Please write why you dispute it (up to {limit} characters). Evidence can be added next."
                    ),
                    limit=ap.MAX_REASON,
                )
                + "</b>\n"
                + tr._(CANCELLED_HINT),
                keyboard([(tr._("« Change what I dispute"), f"ap1:b:{result.id}")]),
            )
        count = len(pos.data.get("evidence") or [])
        return Prompt(
            head
            + "<b>"
            + html_format(
                tr._(
                    "You may add evidence: send photos or documents (up to {limit}). Tap “Done” to file the appeal."
                ),
                limit=ap.MAX_EVIDENCE,
            )
            + "</b>\n"
            + html_format(
                tr.ngettext("{count} file received.", "{count} files received.", count), count=count
            )
            + "\n"
            + tr._(CANCELLED_HINT),
            keyboard([(tr._("✅ Done — file the appeal"), f"ap1:f:{result.id}")]),
        )
    try:
        view = await ap.load(session, int(pos.data["aid"]))
    except (DomainError, KeyError, ValueError):
        return Prompt(tr._("This appeal no longer exists. Send /cancel to stop."))
    a, result = view.appeal, view.result
    if pos.state == ANSWER:
        ask = html_format(tr._("<b>The working group asks about your appeal #{id}:</b>"), id=a.id)
        return Prompt(
            f"{ask}\n{html(clip(a.question or '', QUESTION_SHOWN))}\n\n<b>"
            + html_format(
                tr._("Please write your answer (up to {limit} characters)."), limit=ap.MAX_TEXT
            )
            + "</b>\n"
            + tr._(CANCELLED_HINT)
        )
    if pos.state == ASK:
        ask = html_format(
            tr._(
                "Please write your question to the appellant (up to {limit} characters); their answer comes back here."
            ),
            limit=ap.MAX_TEXT,
        )
    elif pos.state == UPHOLD:
        ask = html_format(
            tr._(
                "Decision: uphold the result ({total}). Please write the reason (required); the appellant is told."
            ),
            total=ap.num(result.total),
        )
    elif pos.state == TOTAL:
        ask = html_format(
            tr._(
                "The total is now {total} ({grade}). Please type the new total, a number from 0 to 100 (for example 86.5)."
            ),
            total=ap.num(result.total),
            grade=tr._(GRADE_LABELS[result.grade]),
        )
    else:
        ask = html_format(
            tr._(
                "New total: {new} (now {old}). Please write the reason for the change (required); the appellant is told and gets the updated result."
            ),
            new=ap.num(pos.data.get("total")),
            old=ap.num(result.total),
        )
    tail = f"\n\n<b>{ask}</b>\n{tr._(CANCELLED_HINT)}"
    room = MESSAGE_LIMIT - html_len(tail)  # the case gives way, the question to answer stays
    summary = ap.case_text(tr, view, at=dt.datetime.now(dt.UTC), limit=room)
    return Prompt(ap._cut(summary + tail))


async def _target_prompt(
    session: AsyncSession,
    tr: Translator,
    result: Result,
    names: ap.IndicatorNames,
    view: str,
    days: int,
) -> Prompt:
    from infra.models import Cycle

    cycle = await session.get(Cycle, result.cycle_id)
    offered = ap.targets(result.breakdown or {})
    rid = result.id
    if view == "i":
        rows = [
            [
                (
                    _clip(ap.indicator_label(t[4:], names, tr.locale)),
                    f"ap1:t:{rid}:{t}",
                )
            ]
            for t in offered
            if t.startswith("ind:")
        ]
        rows.append([(tr._("« Back"), f"ap1:m:{rid}:-")])
        return Prompt(tr._("<b>Which indicator do you dispute?</b>"), keyboard(*rows))
    dims = {d.get("dimension"): d for d in (result.breakdown or {}).get("dimensions") or []}
    rows = [[(tr._("Total {total}").format(total=ap.num(result.total)), f"ap1:t:{rid}:total")]]
    pair: list[tuple[str, str]] = []
    for t in offered:
        if t.startswith("dim:"):
            d = Dimension(t[4:])
            pair.append(
                (
                    f"{tr._(DIMENSION_LABELS[d])} {ap.num((dims.get(d.value) or {}).get('score'))}",
                    f"ap1:t:{rid}:{t}",
                )
            )
            if len(pair) == 2:
                rows.append(pair)
                pair = []
    if pair:
        rows.append(pair)
    if any(t.startswith("ind:") for t in offered):
        rows.append([(tr._("A single indicator ›"), f"ap1:m:{rid}:i")])
    srcs = [
        (tr._(SOURCE_LABELS[Source(t[4:])]), f"ap1:t:{rid}:{t}")
        for t in offered
        if t.startswith("src:")
    ]
    if srcs:
        rows.append(srcs)
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
    if not items:
        return Prompt(tr._("No appeals are waiting for a decision."))
    lines = [tr._("<b>Appeals waiting for a decision</b>"), ""]
    rows = []
    for item in items:
        a = item.appeal
        mark = " ⚠️" if ap.is_overdue(a, at) else ""
        lines.append(
            html_format(
                tr._("#{id} {name} · {period} · {status} · decide by {date}"),
                id=a.id,
                name=item.name,
                period=item.period,
                status=tr._(ap.STATUS_LABELS[a.status]),
                date=tr.date(a.deadline),
            )
            + (" " + tr._("⚠️ overdue") if mark else "")
        )
        rows.append([(f"#{a.id} {_clip(item.name, 24)}{mark}", f"ap1:o:{a.id}")])
    return Prompt(ap._cut("\n".join(lines)), keyboard(*rows))


def case_markup(tr: Translator, appeal: Appeal, actor: Actor) -> list[list[tuple[str, str]]]:
    """Ask, uphold, adjust — not on a decided appeal, nor on the admin's own."""
    own = actor.staff is not None and actor.staff.id == appeal.staff_id
    rows: list[list[tuple[str, str]]] = []
    if appeal.status != AppealStatus.DECIDED and not own:
        rows.append([(tr._("❓ Ask the appellant"), f"ap1:q:{appeal.id}")])
        rows.append(
            [
                (tr._("Uphold the result"), f"ap1:u:{appeal.id}"),
                (tr._("Adjust the score"), f"ap1:j:{appeal.id}"),
            ]
        )
    rows.append([(tr._("« All appeals"), "ap1:l:0")])
    return rows


# --- helpers -----------------------------------------------------------------------------


async def _leave_text_step(update: Update, context: JxContext) -> object:
    """Navigating (the queue, a case) ends any pending text step, so stray text is not taken."""
    async with flow.tx(update, context) as tx:
        tx.end()
    return tx.state


async def _refuse(
    update: Update,
    context: JxContext,
    actor: Actor,
    object_type: str,
    object_id: str,
    action: str,
    message: str = ap.NOT_FOUND,
) -> object:
    """A forged or foreign id: change nothing, audit, say so politely."""
    async with context.transaction() as session:
        await audit(
            session,
            "access.denied",
            **audit_actor(context, actor),
            object_type=object_type,
            object_id=object_id[:64],
            detail={"action": action[:64]},
        )
    tr = await context.tr(update)
    if update.callback_query is not None:
        await answer_query(update, tr._(message), alert=True)
    else:
        await reply(update, tr._(message))
    return None


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


# --- commands and buttons -------------------------------------------------------------------


@flow.step
async def appeals_command(update: Update, context: JxContext) -> object:
    from conversations.admin import _require_admin

    if not await _require_admin(update, context, "appeals"):
        return None
    tr = await context.tr(update)
    state = await _leave_text_step(update, context)
    prompt = await queue_prompt(context, tr)
    await reply(update, prompt.text, prompt.markup)
    return state


@flow.step
async def on_button(update: Update, context: JxContext) -> object:
    query = update.callback_query
    assert query is not None
    data = query.data or ""
    match = DATA.match(data)
    if match is None:
        return await flow._stale_button(update, context)
    action, ref, arg = match.group(1), int(match.group(2)), match.group(3)
    actor = await load_caller(update, context)
    if action in ADMIN_ACTIONS:
        if not actor.is_admin:
            return await _refuse(update, context, actor, "appeal", str(ref), data, ap.ONLY_ADMINS)
        return await _admin_button(update, context, actor, action, ref)
    if action == "n":
        return await _new(update, context, actor, ref)
    if action == "a":
        return await _answer_button(update, context, actor, ref)
    return await _draft_button(update, context, actor, action, ref, arg)


async def _new(update: Update, context: JxContext, actor: Actor, result_id: int) -> object:
    """申诉 under a result: only their own, only in the window, one at a time; nothing stored."""
    tr = await context.tr(update)
    data = f"ap1:n:{result_id}"
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
        return await _refuse(
            update, context, actor, "result", str(result_id), data, problem.message
        )
    if problem is not None:
        await answer_query(update)
        await reply(update, problem.render(tr))
        return None
    await answer_query(update)
    if pos is not None and pos.state in DRAFT_STATES and pos.data.get("rid") == result_id:
        await flow.show(update, context, edit=False)  # already drafting this one: go on
        return pos.state
    async with flow.tx(update, context) as tx:
        tx.goto(TARGET, rid=result_id, view="-", days=decision_days(context))
    await flow.show(update, context, edit=False)  # keep the result message as it is
    return tx.state


async def _draft_button(
    update: Update, context: JxContext, actor: Actor, action: str, rid: int, arg: str | None
) -> object:
    """Target picking, back, and "Done": only at the matching step of this chat's draft."""
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
        result = await session.get(Result, rid)
    wanted = {"t": TARGET, "m": TARGET, "b": REASON, "f": EVIDENCE}[action]
    if pos is None or pos.state != wanted or pos.data.get("rid") != rid or result is None:
        return await flow._stale_button(update, context)
    if actor.staff is None or result.staff_id != actor.staff.id:
        return await _refuse(
            update, context, actor, "result", str(rid), f"ap1:{action}:{rid}", ap.NOT_YOURS
        )
    if action == "t":
        if arg is None or arg not in ap.targets(result.breakdown or {}):
            return await flow._stale_button(update, context)
        async with flow.tx(update, context) as tx:
            tx.goto(REASON, rid=rid, target=arg, days=pos.data.get("days"))
    elif action == "m":
        async with flow.tx(update, context) as tx:
            tx.goto(TARGET, **{**pos.data, "view": "i" if arg == "i" else "-"})
    elif action == "b":
        async with flow.tx(update, context) as tx:
            tx.goto(TARGET, rid=rid, view="-", days=pos.data.get("days"))
    else:
        return await _file(update, context, actor, pos)
    await answer_query(update)
    await flow.show(update, context)
    return tx.state


async def _file(update: Update, context: JxContext, actor: Actor, pos: Position) -> object:
    tr = await context.tr(update)
    assert actor.staff is not None
    settings = context.services.settings
    try:
        async with flow.tx(update, context) as tx:
            appeal = await ap.file_appeal(
                tx.session,
                int(pos.data["rid"]),
                staff_id=actor.staff.id,
                target=str(pos.data.get("target", "")),
                reason=str(pos.data.get("reason", "")),
                evidence=list(pos.data.get("evidence") or []),
                now=now(context),
                tz=settings.tz,
                decision_days=decision_days(context),
                admin_ids=settings.admin_id_set,
            )
            tx.end()
            appeal_id, deadline = appeal.id, appeal.deadline
    except ap.Refused as exc:
        async with flow.tx(update, context) as tx:
            tx.end()
        await _refuse(
            update, context, actor, "result", str(pos.data.get("rid")), "file", exc.message
        )
        return tx.state
    except DomainError as exc:
        async with flow.tx(update, context) as tx:
            tx.end()
        await answer_query(update)
        await send_prompt(update, context, Prompt(exc.render(tr)))
        return tx.state
    context.services.outbox_wake()
    await answer_query(update, tr._("Filed."))
    await send_prompt(
        update,
        context,
        Prompt(
            html_format(
                tr._(
                    "Your appeal #{id} has been filed. The working group decides by the end of {date}; you will be told here."
                ),
                id=appeal_id,
                date=tr.date(deadline),
            )
        ),
    )
    return tx.state


async def _answer_button(
    update: Update, context: JxContext, actor: Actor, appeal_id: int
) -> object:
    """ "Answer" under the working group's question: the appellant's own appeal only."""
    tr = await context.tr(update)
    async with context.services.reads() as session:
        appeal = await session.get(Appeal, appeal_id)
    if appeal is None or actor.staff is None or appeal.staff_id != actor.staff.id:
        return await _refuse(update, context, actor, "appeal", str(appeal_id), f"ap1:a:{appeal_id}")
    if appeal.status != AppealStatus.QUESTION:
        await answer_query(update, tr._("There is no open question on this appeal."), alert=True)
        return None
    async with flow.tx(update, context) as tx:
        tx.goto(ANSWER, aid=appeal_id)
    await answer_query(update)
    await flow.show(update, context, edit=False)
    return tx.state


async def _admin_button(
    update: Update, context: JxContext, actor: Actor, action: str, appeal_id: int
) -> object:
    tr = await context.tr(update)
    if action == "l":
        prompt = await queue_prompt(context, tr)
        state = await _leave_text_step(update, context)
        await answer_query(update)
        await send_prompt(update, context, prompt)
        return state
    async with context.services.reads() as session:
        try:
            view = await ap.load(session, appeal_id)
        except DomainError:
            return await _refuse(
                update, context, actor, "appeal", str(appeal_id), f"ap1:{action}:{appeal_id}"
            )
        text = ap.case_text(tr, view, at=now(context))
    if action == "o":
        state = await _leave_text_step(update, context)
        await answer_query(update)
        await send_prompt(
            update, context, Prompt(text, keyboard(*case_markup(tr, view.appeal, actor)))
        )
        await _send_evidence(update, context, view.appeal)
        return state
    if actor.staff is not None and view.appeal.staff_id == actor.staff.id:
        return await _refuse(
            update, context, actor, "appeal", str(appeal_id), f"ap1:{action}", ap.OWN_APPEAL
        )
    if view.appeal.status == AppealStatus.DECIDED:
        await answer_query(update, tr._("This appeal has already been decided."), alert=True)
        return None
    async with flow.tx(update, context) as tx:
        tx.goto({"q": ASK, "u": UPHOLD, "j": TOTAL}[action], aid=appeal_id)
    await answer_query(update)
    await flow.show(update, context, edit=False)
    return tx.state


# --- text and files -------------------------------------------------------------------------


async def _again(update: Update, context: JxContext, message: str) -> object:
    await reply(update, message)
    await flow.show(update, context, edit=False)
    return None


@flow.step
async def on_text(update: Update, context: JxContext) -> object:
    message = update.message
    assert message is not None
    tr = await context.tr(update)
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    if pos is None:
        return END
    if pos.state == TARGET:
        return await _again(
            update, context, tr._("Please choose what you dispute with the buttons.")
        )
    if pos.state == EVIDENCE:
        return await _again(
            update,
            context,
            tr._("Please send photos or documents, or tap “Done” to file the appeal."),
        )
    actor = await load_caller(update, context)
    if pos.state == REASON:
        try:
            reason = ap.check_text(message.text, ap.MAX_REASON)
        except DomainError as exc:
            return await _again(update, context, exc.render(tr))
        async with flow.tx(update, context) as tx:
            tx.goto(EVIDENCE, **{**pos.data, "reason": reason, "evidence": []})
        await flow.show(update, context, edit=False)
        return tx.state
    if pos.state == TOTAL:
        try:
            total = ap.parse_total(message.text)
        except DomainError as exc:
            return await _again(update, context, exc.render(tr))
        if not actor.is_admin:
            return await _text_refused(update, context, actor, pos)
        async with flow.tx(update, context) as tx:
            tx.goto(ADJUST, aid=pos.data["aid"], total=str(total))
        await flow.show(update, context, edit=False)
        return tx.state
    try:
        text = ap.check_text(message.text)
    except DomainError as exc:
        return await _again(update, context, exc.render(tr))
    settings = context.services.settings
    when = now(context)
    aid = int(pos.data.get("aid", 0))
    done: str
    try:
        async with flow.tx(update, context) as tx:
            if pos.state == ANSWER:
                if actor.staff is None:
                    raise ap.Refused(ap.NOT_FOUND)
                await ap.answer(
                    tx.session,
                    aid,
                    text,
                    staff_id=actor.staff.id,
                    now=when,
                    admin_ids=settings.admin_id_set,
                )
                done = tr._("Thank you. Your answer has been passed to the working group.")
            elif pos.state == ASK:
                await ap.ask(
                    tx.session,
                    aid,
                    text,
                    admin_telegram_id=actor.telegram_id,
                    now=when,
                    admin_ids=settings.admin_id_set,
                )
                done = tr._("Sent to the appellant. Their answer will come back to you here.")
            elif pos.state == UPHOLD:
                await ap.uphold(
                    tx.session,
                    aid,
                    text,
                    admin_telegram_id=actor.telegram_id,
                    now=when,
                    admin_ids=settings.admin_id_set,
                )
                done = tr._("Decided: the result is upheld. The appellant has been told.")
            elif pos.state == ADJUST:
                appeal = await ap.adjust_score(
                    tx.session,
                    aid,
                    str(pos.data.get("total", "")),
                    text,
                    admin_telegram_id=actor.telegram_id,
                    now=when,
                    admin_ids=settings.admin_id_set,
                )
                result = await tx.session.get(Result, appeal.result_id)
                assert result is not None
                done = html_format(
                    tr._(
                        "Decided: the total is now {total} ({grade}). The appellant has been told and gets the updated result."
                    ),
                    total=ap.num(result.total),
                    grade=tr._(GRADE_LABELS[result.grade]),
                )
            else:
                return END
            tx.end()
    except ap.Refused as exc:
        return await _text_refused(update, context, actor, pos, exc.message)
    except DomainError as exc:
        async with flow.tx(update, context) as tx:
            tx.end()
        await reply(update, exc.render(tr))
        return tx.state
    context.services.outbox_wake()
    await reply(update, done)
    return tx.state


async def _text_refused(
    update: Update, context: JxContext, actor: Actor, pos: Position, message: str | None = None
) -> object:
    async with flow.tx(update, context) as tx:
        tx.end()
    if message is None:
        message = ap.NOT_FOUND if pos.state == ANSWER else ap.ONLY_ADMINS
    await _refuse(
        update, context, actor, "appeal", str(pos.data.get("aid", "")), pos.state, message
    )
    return tx.state


@flow.step
async def on_file(update: Update, context: JxContext) -> object:
    """A photo or document at the evidence step: its file id is kept with the draft."""
    message = update.message
    assert message is not None
    tr = await context.tr(update)
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    if pos is None or pos.state != EVIDENCE:
        return END if pos is None else None
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
    item = _evidence_of(message)
    if item is None:
        return await _again(update, context, tr._("Please send photos or documents."))
    if any(e.get("unique_id") and e.get("unique_id") == item.get("unique_id") for e in evidence):
        return await _again(update, context, tr._("This file was already added."))
    evidence.append(item)
    async with flow.tx(update, context) as tx:
        tx.goto(EVIDENCE, **{**pos.data, "evidence": evidence})
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


def build_handler() -> ConversationHandler:
    text = MessageHandler(F.TEXT & ~F.COMMAND & ~F.UpdateType.EDITED, on_text)
    files = MessageHandler((F.PHOTO | F.Document.ALL) & ~F.UpdateType.EDITED, on_file)
    return flow.handler(
        entry_points=[
            CommandHandler("appeals", appeals_command),
            CallbackQueryHandler(on_button, pattern=r"^ap1:[ntmbfaloquj]:"),
        ],
        states={
            TARGET: [text],
            REASON: [text],
            EVIDENCE: [files, text],
            ANSWER: [text],
            ASK: [text],
            UPHOLD: [text],
            TOTAL: [text],
            ADJUST: [text],
        },
    )
