"""Each state's prompt of the appeal flow, from the database (the next step, a stale button
and a restart use it alike); buttons get their data from the flow's codec by action name."""

from __future__ import annotations

import datetime as dt
import logging
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.error import TelegramError

from chat.callbacks import encode
from chat.context import JxContext
from chat.flow import CANCELLED_HINT, Position, Prompt, reply
from conversations import cases as cc
from conversations.common import html, keyboard, now
from domain.choice import Arg, Choice
from domain.enums import Dimension, Source
from domain.labels import DIMENSION_LABELS, GRADE_LABELS, SOURCE_LABELS
from domain.text import MESSAGE_LIMIT, html_format, html_len
from infra.i18n import N_, Translator
from infra.models import Appeal, Cycle, Result
from services import appeal_targets as at
from services import appeal_texts as atx
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
QUESTION_SHOWN = 3000  # UTF-16 units of the question shown above the answer prompt
ADMIN_ASKS = {  # what the working group writes at each of its text steps
    State.ASK: N_(
        "Please write your question to the appellant (up to {limit} characters); their answer comes back here."
    ),
    State.UPHOLD: N_(
        "Decision: uphold the result ({total}). Please write the reason (required); the appellant is told."
    ),
    State.TOTAL: N_(
        "The total is now {total} ({grade}). Please type the new total, a number from 0 to 100 (for example 86.5)."
    ),
    State.ADJUST: N_(
        "New total: {new} (now {old}). Please write the reason for the change (required); the appellant is told and gets the updated result."
    ),
}


def _b(label: str, action: str, *args: Arg) -> tuple[str, str]:
    return label, encode(Choice(label, f"appeal.{action}", args))


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    if pos.state in DRAFT:
        result = await session.get(Result, int(pos.data.get("rid", 0)))
        if result is None:
            return Prompt(tr._("This result no longer exists. Send /cancel to stop."))
        return await _draft_prompt(session, tr, pos, result)
    try:
        view = await ap.load(session, int(pos.data["aid"]))
    except (DomainError, KeyError, ValueError):
        return Prompt(tr._("This appeal no longer exists. Send /cancel to stop."))
    hint = tr._(CANCELLED_HINT)
    if pos.state == State.ANSWER:
        ask = tr._("<b>The working group asks about your appeal #{id}:</b>")
        please = tr._("Please write your answer (up to {limit} characters).")
        question = html(cc.label(view.appeal.question or "", QUESTION_SHOWN))
        ask, please = html_format(ask, id=view.appeal.id), html_format(please, limit=ap.MAX_TEXT)
        return Prompt(f"{ask}\n{question}\n\n<b>{please}</b>\n{hint}")
    r, grade, new = view.result, tr._(GRADE_LABELS[view.result.grade]), pos.data.get("total")
    total, new = at.num(r.total), at.num(new)
    please = html_format(
        tr._(ADMIN_ASKS[State(pos.state)]),
        limit=ap.MAX_TEXT,
        total=total,
        grade=grade,
        new=new,
        old=total,
    )
    tail = f"\n\n<b>{please}</b>\n{hint}"
    room = MESSAGE_LIMIT - html_len(tail)  # the case gives way, the question to answer stays
    return Prompt(cc.cut(atx.case_text(tr, view, at=dt.datetime.now(dt.UTC), limit=room) + tail))


async def _draft_prompt(
    session: AsyncSession, tr: Translator, pos: Position, result: Result
) -> Prompt:
    names = await at.indicator_names(session, result)
    if pos.state == State.TARGET:
        days = pos.data.get("days")
        days = days if isinstance(days, int) else ap.DEFAULT_DECISION_DAYS
        return await _target_prompt(session, tr, result, names, str(pos.data.get("view")), days)
    target = str(pos.data.get("target", at.TOTAL))
    disputed = tr._("<b>Your appeal</b> · disputed: {target}")
    disputed = html_format(disputed, target=at.target_label(tr, target, names))
    head = "\n".join([disputed, *at.target_detail(tr, result, target, names), ""])
    hint = tr._(CANCELLED_HINT)
    if pos.state == State.REASON:
        ask = html_format(
            tr._(
                "Please write why you dispute it (up to {limit} characters). Evidence can be added next."
            ),
            limit=ap.MAX_REASON,
        )
        markup = keyboard([_b(tr._("« Change what I dispute"), "back", result.id)])
        return Prompt(f"{head}<b>{ask}</b>\n{hint}", markup)
    count = len(pos.data.get("evidence") or [])
    ask = html_format(
        tr._(
            "You may add evidence: send photos or documents (up to {limit}). Tap “Done” to file the appeal."
        ),
        limit=ap.MAX_EVIDENCE,
    )
    got = tr.ngettext("{count} file received.", "{count} files received.", count)
    got = html_format(got, count=count)
    markup = keyboard([_b(tr._("✅ Done — file the appeal"), "file", result.id)])
    return Prompt(f"{head}<b>{ask}</b>\n{got}\n{hint}", markup)


async def _target_prompt(
    session: AsyncSession,
    tr: Translator,
    result: Result,
    names: at.IndicatorNames,
    page: str,
    days: int,
) -> Prompt:
    offered, rid = at.targets(result.breakdown or {}), result.id
    if page == "i":
        rows = [
            [_b(cc.label(at.indicator_label(t[4:], names, tr.locale)), "pick", rid, t)]
            for t in offered
            if t.startswith("ind:")
        ]
        rows.append([_b(tr._("« Back"), "page", rid, "-")])
        return Prompt(tr._("<b>Which indicator do you dispute?</b>"), keyboard(*rows))
    cycle = await session.get(Cycle, result.cycle_id)
    dims = {d.get("dimension"): d for d in (result.breakdown or {}).get("dimensions") or []}
    total = tr._("Total {total}").format(total=at.num(result.total))
    dim_buttons = []
    for t in (t for t in offered if t.startswith("dim:")):
        d = Dimension(t[4:])
        score = at.num((dims.get(d.value) or {}).get("score"))
        dim_buttons.append(_b(f"{tr._(DIMENSION_LABELS[d])} {score}", "pick", rid, t))
    rows = [[_b(total, "pick", rid, "total")]]
    rows += [dim_buttons[i : i + 2] for i in range(0, len(dim_buttons), 2)]
    if any(t.startswith("ind:") for t in offered):
        rows.append([_b(tr._("A single indicator ›"), "page", rid, "i")])
    sources = [
        _b(tr._(SOURCE_LABELS[Source(t[4:])]), "pick", rid, t)
        for t in offered
        if t.startswith("src:")
    ]
    if sources:
        rows.append(sources)
    decides = tr.ngettext(
        "The working group decides within {days} working day after you file it.",
        "The working group decides within {days} working days after you file it.",
        days,
    )
    total, grade = at.num(result.total), tr._(GRADE_LABELS[result.grade])
    period = tr.period(cycle.period) if cycle else ""
    lines: list[str] = [
        html_format(tr._("<b>Appeal against your {period} result</b>"), period=period),
        html_format(tr._("Total: {total} · Grade: {grade}"), total=total, grade=grade),
        html_format(decides, days=days),
    ]
    lines += ["", "<b>" + tr._("What do you dispute?") + "</b>"]
    return Prompt("\n".join(lines), keyboard(*rows))


async def queue_prompt(context: JxContext, tr: Translator) -> Prompt:
    at = now(context)
    async with context.services.reads() as session:
        items = await ap.queue(session)
    lines = []
    for a, name, period in items:
        overdue = atx.is_overdue(a, at)
        line = tr._("#{id} {name} · {period} · {status} · decide by {date}")
        status, date = tr._(atx.STATUS_LABELS[a.status]), tr.date(a.deadline)
        text: str = html_format(
            line, id=a.id, name=name, period=tr.period(period), status=status, date=date
        )
        text += " " + tr._("⚠️ overdue") if overdue else ""
        button = f"#{a.id} {cc.label(name, 24)}{' ⚠️' if overdue else ''}"
        lines.append(cc.Line(text, button, _b("", "open", a.id)[1]))
    title = tr._("<b>Appeals waiting for a decision</b>")
    return cc.listing(title, lines, tr._("No appeals are waiting for a decision."))


def case_markup(tr: Translator, view: atx.AppealView, actor: Actor) -> list[list[tuple[str, str]]]:
    """Ask, uphold, adjust — where the table allows them (not decided, not the admin's own)."""
    aid = view.appeal.id
    rows: list[list[tuple[str, str]]] = []
    if ap.APPEAL.allowed("ask", view, actor):
        rows.append([_b(tr._("❓ Ask the appellant"), "ask", aid)])
    if ap.APPEAL.allowed("uphold", view, actor):
        uphold = _b(tr._("Uphold the result"), "uphold", aid)
        rows.append([uphold, _b(tr._("Adjust the score"), "adjust", aid)])
    return [*rows, [_b(tr._("« All appeals"), "list")]]


async def send_evidence(update: Update, context: JxContext, appeal: Appeal) -> None:
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
        send = chat.send_photo if item.get("kind") == "photo" else chat.send_document
        try:
            await send(item["file_id"], caption=caption)
        except TelegramError as exc:
            log.info("evidence %s of appeal %s could not be sent: %s", n, appeal.id, exc)
            await reply(update, html_format(tr._("Evidence {n} could not be shown."), n=n))
