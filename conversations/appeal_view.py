"""Each state's prompt of the appeal flow, from the database (the next step, a stale button
and a restart use it alike); buttons get their data from the flow's codec by action name."""

from __future__ import annotations

import datetime as dt
import logging
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Update
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
from services import result_adjustments as adj
from services.access import Actor
from services.errors import DomainError
from services.templates import localized

log = logging.getLogger(__name__)
Markup = InlineKeyboardMarkup | None


class State(StrEnum):
    TARGET = "target"  # what is disputed (buttons)
    REASON = "reason"  # why (text)
    EVIDENCE = "evidence"  # photos and documents, then "Done"
    ANSWER = "answer"  # the appellant answers the working group's question
    ASK = "ask"  # the working group writes a question
    UPHOLD = "uphold"  # … the reason to uphold the result
    WHERE = "where"  # … the indicator to change (buttons), when the appeal is not about one
    TOTAL = "total"  # … the indicator's new value (the name is kept: positions are stored)
    ADJUST = "adjust"  # … the reason for the new value


DRAFT = frozenset({State.TARGET, State.REASON, State.EVIDENCE})
QUESTION_SHOWN = 3000  # UTF-16 units of the question shown above the answer prompt
ADMIN_ASKS = {  # what the working group writes at each of its text steps
    State.ASK: N_(
        "Please write your question to the appellant (up to {limit} characters); their answer comes back here."
    ),
    State.UPHOLD: N_(
        "Decision: uphold the result ({total}). Please write the reason (required); the appellant is told."
    ),
    State.WHERE: N_(
        "Adjust where the dispute is: which indicator's score do you change? The total, dimensions, grade and ranks are computed again from it."
    ),
    State.TOTAL: N_(
        "{what} is now {old}. Please type the new score, a number from 0 to 100 (for example 86.5), or tap a level."
    ),
    State.ADJUST: N_(
        "{what}: {old} → {new}. Please write the reason for the change (required); the appellant is told and gets the updated result."
    ),
}
SCORE_ASK = N_(  # State.TOTAL for an indicator scored 0–100 (no levels to tap)
    "{what} is now {old}. Please type the new score, a number from 0 to 100 (for example 86.5)."
)


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
    tail, markup = _admin_ask(tr, view, pos)
    tail = f"\n\n<b>{tail}</b>\n{hint}"
    room = MESSAGE_LIMIT - html_len(tail)  # the case gives way, the question to answer stays
    case = atx.case_text(tr, view, at=dt.datetime.now(dt.UTC), limit=room)
    return Prompt(cc.cut(case + tail), markup)


def _admin_ask(tr: Translator, view: atx.AppealView, pos: Position) -> tuple[str, Markup]:
    """What the working group writes or taps at its step, and the buttons for it."""
    r, state = view.result, State(pos.state)
    breakdown, source = r.breakdown or {}, adj.source_of(view.appeal.target)
    code = str(pos.data.get("indicator") or "")
    what = at.adjusted_label(tr, _entry(view, code, source))
    what = what[:1].upper() + what[1:]  # it opens the sentence (English: "Indicator P03 …")
    old = at.num(adj.current(breakdown, code, source))
    params = {"limit": ap.MAX_TEXT, "total": at.num(r.total), "what": what, "old": old}
    if state == State.WHERE or (state in (State.TOTAL, State.ADJUST) and not code):
        rows = [
            [
                _b(
                    # the score stays whole: the indicator's name gives way
                    f"{cc.label(at.indicator_label(c, view.names, tr.locale), cc.LABEL_MAX - 8)} {value}",
                    "at",
                    view.appeal.id,
                    c,
                )
            ]
            for c in adj.adjustable(breakdown, view.appeal.target)
            if (value := at.num(adj.current(breakdown, c, source)))
        ]
        return html_format(tr._(ADMIN_ASKS[State.WHERE]), **params), keyboard(*rows)
    if state == State.TOTAL:
        levels = pos.data.get("levels") or []
        ask = ADMIN_ASKS[State.TOTAL] if levels else SCORE_ASK
        buttons = [
            _b(
                f"{localized(str(label), tr.locale, en)} {at.num(points)}",
                "level",
                view.appeal.id,
                n,
            )
            for n, (label, en, points) in enumerate(levels)
        ]
        rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
        return html_format(tr._(ask), **params), keyboard(*rows) if rows else None
    new = at.num(pos.data.get("points"))
    return html_format(tr._(ADMIN_ASKS[state]), **params, new=new), None


def _entry(view: atx.AppealView, code: str, source: Source | None) -> dict[str, str | None]:
    """An adjustment entry as far as its label needs it (``appeal_targets.adjusted_label``)."""
    name, name_en = view.names.get(code, (code, None))
    return {
        "indicator": code,
        "name": name,
        "name_en": name_en,
        "source": source.value if source else None,
    }


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
