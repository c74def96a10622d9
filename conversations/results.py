"""The results phase in the chat: scoring and sending for 审定 (working group), and for
everyone their 为什么 breakdown and 历史; the leadership group's approving or sending back
is its own flow (``conversations.result_review``).

The why view lists every dimension, indicator and source with its weight and
contribution, adding up exactly to the total, and never a rater or a peer count; below
five peers the peer source is one combined figure (``services.peer_view``).

Buttons, each format defined once below: ``rs1:why|history:<result>`` under a result,
``sc1:send:<cycle>:<scored revision>`` under /score's overview (the ``rv1:`` buttons under
a request for approval are ``conversations.result_review``'s). The services queue the
pushed ones as choices (``services.result_notices``); the chat layer spells them with
these codecs.
"""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
)

from chat.callbacks import Callbacks
from chat.context import JxContext
from chat.flow import Prompt, answer_query, reply, send_prompt
from conversations.annual import history_text
from conversations.cases import admin_only
from conversations.common import keyboard, load_caller, now, pressed
from domain.enums import CyclePhase, Dimension, Grade, Source
from domain.labels import DIMENSION_LABELS, GRADE_LABELS, PHASE_LABELS, SOURCE_LABELS
from domain.numbers import plain_number
from domain.period import parse_period
from domain.text import MESSAGE_LIMIT, clip_html, escape, html_format
from infra.i18n import N_, Translator
from infra.models import Cycle, Result, Staff
from services import integrity_text, leadership, result_review, results
from services.annual import person_history
from services.appeal_targets import adjustment_line
from services.errors import DomainError
from services.notices import Localization
from services.peer_view import PEER_DETAIL_MIN, ratee_view
from services.result_notices import computed_text, quota_line
from services.templates import localized

RESULT = Callbacks("rs1", "results")  # under a person's or a unit's result
WHY = RESULT.action("why", int)  # rs1:why:<result id>
HISTORY = RESULT.action("history", int)  # rs1:history:<result id>
# Results pushed before the actions had names stay in the chats for years: still honoured.
OLD_WHY = RESULT.action("w", int)
OLD_HISTORY = RESULT.action("h", int)

SCORING = Callbacks("sc1", "scoring")  # under /score's overview, for the working group
SEND = SCORING.action("send", int, int)  # sc1:send:<cycle id>:<scored revision>
OLD_SEND = re.compile(r"^sc1:send:(\d{1,9})$")  # from before the revision was added


NOTE_TEXT = {
    "source_missing": N_("No answers from {source}: its weight was spread over the other sources."),
    "peer_dropped": N_(
        "Peer review is not counted (too few colleagues rated), so that no rating can be traced back; its weight was spread over the other sources."
    ),
    "indicator_unrated": N_(
        "Some indicators of {dimension} had no answers; their weight was spread over the others."
    ),
    "dimension_unrated": N_(
        "{dimension} had no answers; its weight was spread over the other dimensions."
    ),
    "ratings_ignored": N_(
        "Some answers from {source} did not belong to this form's indicators and were not counted."
    ),
}


def _n(value: str | Decimal | None) -> str:
    return "—" if value is None else format(Decimal(value).quantize(Decimal("0.01")), "f")


def why_text(
    result: Result, tr: Translator, template_names: dict[str, tuple[str, str | None]]
) -> str:
    """How the total is made; contributions add up exactly to the total shown.

    Only the rated person (or their unit's head) sees it, so peers below the detail
    threshold appear as one combined figure (``services.peer_view``).
    """
    b = ratee_view(result.breakdown)
    lines: list[str] = [
        html_format(tr._("<b>How your total of {total} is made</b>"), total=_n(result.total)),
        "",
    ]
    for d in b.get("dimensions", []):
        lines.append(
            html_format(
                tr._("<b>{dimension}</b> {score} × {weight}% = {contribution}"),
                dimension=tr._(DIMENSION_LABELS[Dimension(d["dimension"])]),
                score=_n(d.get("score")),
                weight=plain_number(d["weight"]),
                contribution=_n(d["contribution"]),
            )
        )
        for i in d.get("indicators", []):
            name, en = template_names.get(i["code"], (i["code"], None))
            if i.get("peer_combined"):
                line = tr._(
                    "  • {indicator}, weight {weight}% → {contribution} from the other sources (colleagues' part: in the combined figure below)"
                )
            else:
                line = tr._("  • {indicator} {score}, weight {weight}% → {contribution}")
            lines.append(
                html_format(
                    line,
                    indicator=localized(name, tr.locale, en),
                    score=_n(i.get("score")),
                    weight=plain_number(i["weight"]),
                    contribution=_n(i["contribution"]),
                )
            )
            parts = [
                html_format(
                    tr._("{source} {mean} × {weight}%"),
                    source=tr._(SOURCE_LABELS[Source(s["source"])]),
                    mean=_n(s["mean"]),
                    weight=plain_number(s["weight"]),
                )
                for s in i.get("sources", [])
            ]
            if parts:
                lines.append("     " + tr.join(parts))
    combined = b.get("peer_combined")
    if combined:
        lines.append(
            html_format(
                tr._(
                    "<b>{source}</b>, all indicators together: {mean} → {contribution}. Fewer than {minimum} colleagues rated you, so it is shown as one figure, which keeps every rating anonymous."
                ),
                source=tr._(SOURCE_LABELS[Source.PEER]),
                mean=_n(combined.get("mean")),
                contribution=_n(combined.get("contribution")),
                minimum=PEER_DETAIL_MIN,
            )
        )
    for note in b.get("notes", []):
        template = NOTE_TEXT.get(note["kind"])
        if template:
            params = dict(note.get("params", {}))
            if "source" in params:
                params["source"] = tr.join(
                    tr._(SOURCE_LABELS[Source(s)]) for s in params["source"].split(",") if s
                )
            if "dimension" in params:
                params["dimension"] = tr.join(
                    tr._(DIMENSION_LABELS[Dimension(s)])
                    for s in params["dimension"].split(",")
                    if s
                )
            lines.append("ℹ️ " + tr._(template).format_map(_Default(params)))
    lines += ["✍️ " + adjustment_line(tr, a) for a in b.get("adjustments") or []]
    return clip_html("\n".join(lines), MESSAGE_LIMIT)


class _Default(dict):
    def __missing__(self, key: str) -> str:
        return ""


async def _names(session: AsyncSession, cycle_id: int) -> dict[str, tuple[str, str | None]]:
    cycle = await session.get(Cycle, cycle_id)
    assert cycle is not None
    template = await results.template_of(session, cycle)
    names = {i.code: (i.name, i.name_en) for i in template.indicators}
    for overrides in template.unit_overrides.values():
        names.update({i.code: (i.name, i.name_en) for i in overrides})
    return names


async def why(update: Update, context: JxContext) -> None:
    """为什么 under a result: how the total is made."""
    (result_id,) = pressed(update, WHY, OLD_WHY)
    await _own_result(update, context, result_id, show_history=False)


async def history(update: Update, context: JxContext) -> None:
    """历史 under a result: the person's published results over the cycles."""
    (result_id,) = pressed(update, HISTORY, OLD_HISTORY)
    await _own_result(update, context, result_id, show_history=True)


async def _own_result(
    update: Update, context: JxContext, result_id: int, *, show_history: bool
) -> None:
    """Only the person themselves (or their unit's head, for a unit) may look."""
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    async with context.services.reads() as session:
        result = await session.get(Result, result_id)
        mine = (
            result is not None
            and result.published_at is not None
            and actor.staff is not None
            and (
                result.staff_id == actor.staff.id
                or (result.staff_id is None and result.unit_id in actor.headed_unit_ids)
            )
        )
        if not mine or result is None:
            await answer_query(update, tr._("This button is not for you."), alert=True)
            return
        await answer_query(update)
        if not show_history:
            await reply(update, why_text(result, tr, await _names(session, result.cycle_id)))
            return
        found = await person_history(session, actor.staff.id)  # type: ignore[union-attr]
        text = history_text(found, tr, name=actor.staff.name)  # type: ignore[union-attr]
    await reply(update, text)


async def score_command(update: Update, context: JxContext) -> None:
    """/score <period>: compute the results (working group)."""
    actor = await load_caller(update, context)
    tr = await context.tr(update)
    if not actor.is_admin:
        await admin_only(update, context, "score")
        return
    if not context.args:
        await reply(update, tr._("Please give the period, e.g. /score 2026Q4"))
        return
    await score_period(update, context, " ".join(context.args))


async def score_period(update: Update, context: JxContext, typed: str) -> None:
    """Score the cycle of the period ``typed`` and show the grades with the 审定 button; the
    caller has checked that this is the working group (/score, the console)."""
    actor = await load_caller(update, context)
    tr = await context.tr(update)
    try:
        async with context.transaction() as session:
            period = parse_period(typed)  # 2026Q4, 2026q4 or 2026年第四季度
            cycle = await session.scalar(
                select(Cycle).where(Cycle.period == (str(period) if period else typed))
            )
            if cycle is None:
                raise DomainError(N_("There is no cycle {period}."), period=typed)
            if cycle.phase == CyclePhase.COLLECTING:
                raise DomainError(
                    N_("The cycle {period} is still collecting answers; close it first."),
                    period=cycle.period,
                )
            await results.score_cycle(
                session,
                cycle,
                tz=context.services.settings.tz,
                now=now(context),
                actor_label="telegram",
                actor_telegram_id=actor.telegram_id,
            )
            computed = computed_text(tr, await results.results_of(session, cycle))
            text = await overview(
                session,
                cycle,
                tr,
                context.services.settings.tz,
                quota_percent=context.services.settings.excellent_quota,
            )
    except DomainError as exc:
        await reply(update, exc.render(tr))
        return
    await reply(
        update,
        escape(computed) + "\n\n" + text,
        keyboard(
            [
                (
                    tr._("Send to the leadership group for approval"),
                    SEND.data(cycle.id, cycle.scored_revision or 0),
                )
            ]
        ),
    )


async def signal_lines(session: AsyncSession, cycle: Cycle, tr: Translator, tz) -> list[str]:  # type: ignore[no-untyped-def]
    """Integrity signals for the working group (names shown to the two groups that judge)."""
    signals = await results.integrity(session, cycle, tz=tz)
    return integrity_text.signal_lines(
        signals,
        await integrity_text.staff_names(session),
        tr,
        heading=tr._(
            "<b>Integrity signals</b> (for the working group; nothing is excluded automatically)"
        ),
    )


async def overview(  # type: ignore[no-untyped-def]
    session: AsyncSession, cycle: Cycle, tr: Translator, tz=None, quota_percent: int = 0
) -> str:
    """The grades of a scored cycle for the working group; ``quota_percent`` is
    ``Settings.excellent_quota`` (a preview line), ``tz`` adds the integrity signals."""
    found = await results.results_of(session, cycle)
    dist = results.distribution(found)
    lines: list[str] = [
        html_format(
            tr._("<b>{period}</b>: {phase}"),
            period=tr.period(cycle.period),
            phase=tr._(PHASE_LABELS[cycle.phase]),
        ),
        html_format(
            tr._("Grades: {distribution}"),
            distribution=tr.join(f"{tr._(GRADE_LABELS[g])} {dist.get(g, 0)}" for g in Grade),
        ),
    ]
    people = {r.subject_key: r.total for r in found if r.staff_id is not None}
    if people and quota_percent:
        lines.append(quota_line(people, quota_percent, tr))
    if tz is not None:
        lines += await signal_lines(session, cycle, tr, tz)
    return "\n".join(lines)


async def send_for_approval(update: Update, context: JxContext) -> None:
    """The working group sends the scored results to the leadership group (审定)."""
    data = update.callback_query.data if update.callback_query else None
    old = OLD_SEND.match(data or "")
    # an old button without the revision still needs fresh results
    cycle_id, revision = (int(old.group(1)), None) if old else SEND.parse(data) or (0, None)
    lines = await send_cycle(update, context, cycle_id, revision)
    if lines is not None:
        await answer_query(update)
        await send_prompt(update, context, Prompt("\n".join(lines)))


async def send_cycle(
    update: Update, context: JxContext, cycle_id: int, revision: int | None
) -> list[str] | None:
    """Send the scored results to 审定 in the update's transaction: the lines that say to whom,
    or None when refused (told in an alert). Shared with the console."""
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    if not actor.is_admin:
        await answer_query(update, tr._("This button has expired. Here is where you are now."))
        return None
    settings = context.services.settings
    try:
        async with context.transaction() as session:
            cycle = await session.get(Cycle, cycle_id)
            if cycle is None:
                raise DomainError(N_("There is no cycle {period}."), period=str(cycle_id))
            sent = await result_review.send_for_review(
                session,
                cycle,
                now=now(context),
                actor_label="telegram",
                actor_telegram_id=actor.telegram_id,
                scored_revision=revision,
                excellent_quota=settings.excellent_quota,
                local=Localization.of(settings),
            )
            reach = await leadership.reach(session)
    except DomainError as exc:
        await answer_query(update, exc.plain(tr), alert=True)
        return None
    context.services.outbox_wake()
    sent_line = html_format(
        tr.ngettext(
            "Sent to {count} member of the leadership group for approval.",
            "Sent to {count} members of the leadership group for approval.",
            sent,
        ),
        count=sent,
    )
    more = [] if reach.everyone else reach.lines(tr)  # the sent line says it all
    return [sent_line, *more]


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("score", score_command),
        WHY.handler(why),
        HISTORY.handler(history),
        OLD_WHY.handler(why),
        OLD_HISTORY.handler(history),
        SEND.handler(send_for_approval),
        CallbackQueryHandler(send_for_approval, pattern=OLD_SEND),
    ]


__all__ = ["Staff", "build_handlers", "why_text"]
