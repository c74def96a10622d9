"""The messages of the results phase, each in the recipient's language, queued in the outbox.

A person gets their chart (drawn by the sender when it is sent) and a message with
the total, grade, the four dimensions, the sources (peer only where it was kept, and
weighted as in ``services.peer_view``, one figure like the 为什么 view's),
rank in unit, bonus coefficient, the weakest dimension with a training suggestion,
and buttons: 为什么, 申诉, 改进计划 (when required), 历史. Nothing names a rater.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.choice import Choice, Choices, rows
from domain.enums import Dimension, Grade
from domain.labels import DIMENSION_LABELS, GRADE_LABELS, SOURCE_LABELS
from domain.numbers import plain_number
from domain.text import MESSAGE_LIMIT, N_, Html, clip_html, escape, html_format
from infra.i18n import Translator
from infra.models import Cycle, OrgUnit, OutboxMessage, Result, Staff, TelegramAccount
from scoring import DEFAULT_BANDS, Signal, quota_preview
from services.access import admin_accounts
from services.appeal_targets import adjustment_line
from services.approval_copies import review_key
from services.integrity_text import signal_lines, staff_names
from services.notices import DEFAULTS, Localization, translator
from services.outbox import enqueue, insert, message
from services.peer_view import source_means
from services.plan_view import PlanView, opened_text
from services.results import integrity
from services.templates import localized

# The buttons these messages carry, as flow actions (``domain.choice``). Results' own are
# defined in ``conversations.results`` and ``conversations.result_review``; the appeal's
# and the plan's belong to those flows.
WHY: Final = "results.why"  # result id
HISTORY: Final = "results.history"  # result id
APPEAL: Final = "appeal.new"  # result id: 申诉
PLAN: Final = "plan.for_result"  # result id: 改进计划
PLAN_OPEN: Final = "plan.open"  # plan id: a unit's plan, for its head
APPROVE: Final = "result_review.approve"  # cycle id, review round
SEND_BACK: Final = "result_review.send_back"  # cycle id, review round

NAMED = 40  # people named per grade in an approval request; the rest are counted

TRAINING = {
    Dimension.PERFORMANCE: N_(
        "Suggested: a coaching plan with your supervisor on this year's key tasks, and a review of your emergency plans and drills."
    ),
    Dimension.ABILITY: N_(
        "Suggested: emergency-management professional training and a certificate course; take part in the next drill."
    ),
    Dimension.ATTITUDE: N_(
        "Suggested: a talk with your supervisor on discipline, attendance and teamwork; join cross-unit work."
    ),
    Dimension.INNOVATION: N_(
        "Suggested: training on new technology in emergency management; propose one improvement to a working method."
    ),
}


async def _account(session: AsyncSession, staff_id: int | None) -> tuple[int, str | None] | None:
    if staff_id is None:
        return None
    account = await session.scalar(
        select(TelegramAccount).where(TelegramAccount.staff_id == staff_id)
    )
    return (account.telegram_id, account.language) if account else None


def _num(value: Decimal | str | None) -> str:
    return "—" if value is None else format(Decimal(value).quantize(Decimal("0.01")), "f")


def computed_text(tr: Translator, found: list[Result]) -> str:
    """How many results were computed, saying what they are: 个人46、单位8."""
    people = sum(1 for r in found if r.staff_id is not None)
    units = len(found) - people
    parts = [
        tr.ngettext("{count} person", "{count} people", people).format(count=people),
        tr.ngettext("{count} unit", "{count} units", units).format(count=units),
    ]
    return tr._("Results computed: {counts}.").format(counts=tr.join(parts))


def rank_text(tr: Translator, rank: int, of: int | None) -> str:
    """A rank with its base: 第1名（共7人） / 1st of 7 (the bare number when the base is unknown)."""
    if not of:
        return str(rank)
    return tr._("No. {rank} of {count}").format(rank=rank, count=of)


def result_text(
    cycle: Cycle,
    result: Result,
    tr: Translator,
    *,
    name: str,
    updated: bool = False,
    unit_size: int | None = None,
) -> str:
    b = result.breakdown
    lines: list[str] = []
    if updated:
        lines.append(
            html_format(
                tr._("<b>Your {period} result has been updated after your appeal.</b>"),
                period=tr.period(cycle.period),
            )
        )
    lines += [
        html_format(
            tr._("<b>{name}, your {period} performance result</b>"),
            name=name,
            period=tr.period(cycle.period),
        ),
        html_format(
            tr._("Total: {total} · Grade: {grade}"),
            total=_num(result.total),
            grade=tr._(GRADE_LABELS[result.grade]),
        ),
        "",
    ]
    for d in b.get("dimensions", []):
        lines.append(
            html_format(
                tr._("• {dimension}: {score} (weight {weight}%)"),
                dimension=tr._(DIMENSION_LABELS[Dimension(d["dimension"])]),
                score=_num(d.get("score")),
                weight=plain_number(d.get("weight", "—")),
            )
        )
    sources = source_means(b)
    if sources:
        lines.append("")
        lines.append(
            html_format(
                tr._("By source: {sources}"),
                sources=tr.join(
                    f"{tr._(SOURCE_LABELS[source])} {_num(mean)}"
                    for source, mean in sources.items()
                ),
            )
        )
    lines.append("")
    lines += ["✍️ " + adjustment_line(tr, a) for a in b.get("adjustments") or []]
    if result.rank_in_unit is not None:
        lines.append(
            html_format(
                tr._("Rank in your unit: {rank}"),
                rank=rank_text(tr, result.rank_in_unit, unit_size),
            )
        )
    if result.bonus_coefficient is not None:
        lines.append(
            html_format(tr._("Bonus coefficient: {value}"), value=_num(result.bonus_coefficient))
        )
    if result.weakest is not None:
        lines.append(
            html_format(
                tr._("To work on: {dimension}. {suggestion}"),
                dimension=tr._(DIMENSION_LABELS[result.weakest]),
                suggestion=tr._(TRAINING[result.weakest]),
            )
        )
    return Html("\n".join(lines))


def result_choices(result: Result, tr: Translator, *, plan_required: bool) -> Choices:
    lines = [
        [
            Choice(tr._("Why this score?"), WHY, (result.id,)),
            Choice(tr._("History"), HISTORY, (result.id,)),
        ],
        [Choice(tr._("Appeal"), APPEAL, (result.id,))],
    ]
    if plan_required:
        lines.append([Choice(tr._("Improvement plan"), PLAN, (result.id,))])
    return rows(*lines)


def plan_required(result: Result) -> bool:
    return result.grade == Grade.FAIL


async def unit_size(session: AsyncSession, result: Result) -> int:
    """How many people of the unit were ranked with ``result`` (the base of its rank)."""
    count = await session.scalar(
        select(func.count())
        .select_from(Result)
        .where(
            Result.cycle_id == result.cycle_id,
            Result.unit_id == result.unit_id,
            Result.staff_id.is_not(None),
        )
    )
    return int(count or 0)


async def push_result(
    session: AsyncSession,
    cycle: Cycle,
    result: Result,
    average: dict[Dimension, Decimal] | None,
    *,
    updated: bool = False,
    local: Localization = DEFAULTS,
    plan: PlanView | None = None,
) -> int:
    """Chart then message to the person (dedupe keys carry the result version: one of each).

    ``plan``: the improvement plan opened at publishing; the message then says that one is
    needed and who approves it, in place of a separate push.
    """
    who = await _account(session, result.staff_id)
    if who is None:
        return 0
    staff = await session.get(Staff, result.staff_id)
    for row in result_messages(
        cycle,
        result,
        average,
        telegram_id=who[0],
        tr=translator(who[1], local),
        name=staff.name if staff else "",
        unit_size=await unit_size(session, result),
        updated=updated,
        plan=plan,
    ):
        await insert(session, row)
    return 1


def result_messages(
    cycle: Cycle,
    result: Result,
    average: Mapping[Dimension, Decimal] | None,
    *,
    telegram_id: int,
    tr: Translator,
    name: str,
    unit_size: int | None,
    updated: bool = False,
    plan: PlanView | None = None,
) -> list[OutboxMessage]:
    """The two rows telling a person their result: the chart (a spec the sender draws when
    it sends, so it shows exactly the figures of this result version) and the message."""
    scores = {d["dimension"]: d.get("score") for d in result.breakdown.get("dimensions", [])}
    chart = {  # drawn by services.charts.draw at send time; every text already translated
        "kind": "result",
        "locale": tr.locale,
        "scores": scores,
        "total": _num(result.total),
        "average": {d.value: str(v) for d, v in (average or {}).items()},
        "title": f"{name} · {tr.period(cycle.period)}",
        "subtitle": tr._("Total: {total} · Grade: {grade}").format(
            total=_num(result.total), grade=tr._(GRADE_LABELS[result.grade])
        ),
        "legend": [tr._("You"), tr._("Unit average")],
        "bands": [
            str(DEFAULT_BANDS.excellent),
            str(DEFAULT_BANDS.good),
            str(DEFAULT_BANDS.passing),
        ],
    }
    key = f"result:{result.id}:v{result.version}"
    text = result_text(cycle, result, tr, name=name, updated=updated, unit_size=unit_size)
    if plan is not None:
        text = Html(text + "\n\n" + opened_text(plan, tr))
    return [
        message(
            telegram_id,
            "",
            method="sendPhoto",
            render=chart,
            caption=None,
            attachment_name="result.png",
            dedupe_key=f"{key}:chart",
        ),
        message(
            telegram_id,
            text,
            choices=result_choices(
                result, tr, plan_required=plan is not None or plan_required(result)
            ),
            dedupe_key=f"{key}:text",
        ),
    ]


async def push_unit_summary(
    session: AsyncSession,
    cycle: Cycle,
    unit_result: Result,
    counts: Counter[Grade],
    *,
    local: Localization = DEFAULTS,
    plan: PlanView | None = None,
) -> int:
    """The unit head gets the unit's result and their people's grade distribution (``counts``,
    by grade) and, with ``plan``, that the unit needs an improvement plan, which the head
    draws up."""
    unit = await session.get(OrgUnit, unit_result.unit_id)
    if unit is None or unit.head_staff_id is None:
        return 0
    who = await _account(session, unit.head_staff_id)
    if who is None:
        return 0
    telegram_id, language = who
    tr = translator(language, local)
    dist = tr.join(f"{tr._(GRADE_LABELS[g])} {counts.get(g, 0)}" for g in Grade)
    text = "\n".join(
        [
            html_format(
                tr._("<b>{unit}: the unit's {period} result</b>"),
                unit=localized(unit.name, tr.locale),
                period=tr.period(cycle.period),
            ),
            html_format(
                tr._("Total: {total} · Grade: {grade}"),
                total=_num(unit_result.total),
                grade=tr._(GRADE_LABELS[unit_result.grade]),
            ),
            html_format(tr._("Your people's grades: {distribution}"), distribution=dist),
        ]
    )
    chart = {
        "kind": "distribution",
        "locale": tr.locale,
        "counts": {g.value: counts.get(g, 0) for g in Grade},
        "title": f"{localized(unit.name, tr.locale)} · {tr.period(cycle.period)}",
    }
    key = f"unit-result:{unit_result.id}:v{unit_result.version}"
    await enqueue(
        session,
        telegram_id,
        "",
        method="sendPhoto",
        render=chart,
        attachment_name="unit.png",
        dedupe_key=f"{key}:chart",
    )
    choices = [[Choice(tr._("Why this score?"), WHY, (unit_result.id,))]]
    if plan is not None:
        text += "\n\n" + opened_text(plan, tr)
        choices.append([Choice(tr._("✍️ Draw up the plan"), PLAN_OPEN, (plan.plan.id,))])
    await enqueue(
        session,
        telegram_id,
        text,
        choices=rows(*choices),
        dedupe_key=f"{key}:text",
    )
    return 1


async def review_request(
    session: AsyncSession,
    cycle: Cycle,
    telegram_id: int,
    language: str | None,
    *,
    results: list[Result],
    quota: int = 0,
    local: Localization = DEFAULTS,
    signals: Sequence[Signal] | None = None,
    names: Mapping[int, str] | None = None,
) -> bool:
    """Ask one leadership member to approve ``results`` (the cycle's, best first); ``quota``
    is ``Settings.excellent_quota``, a preview line only.

    Leaders decide on people, not only on units: the request names who is graded 优秀 and
    不合格 and lists the integrity signals. ``signals`` and ``names`` (staff id → name) may be
    given when one request goes to many leaders; they are looked up otherwise.
    """
    tr = translator(language, local)
    if signals is None:
        signals = await integrity(session, cycle, tz=local.tz)
    if names is None:
        names = await staff_names(session)
    dist = Counter(r.grade for r in results if r.staff_id is not None)
    units = [r for r in results if r.staff_id is None]
    lines: list[str] = [
        html_format(
            tr._("<b>Results of {period} for approval</b> (round {round})"),
            period=tr.period(cycle.period),
            round=cycle.review_round,
        ),
        html_format(
            tr._("Grades: {distribution}"),
            distribution=tr.join(f"{tr._(GRADE_LABELS[g])} {dist.get(g, 0)}" for g in Grade),
        ),
        "",
        tr._("Units by score:"),
    ]
    unit_names = dict((await session.execute(select(OrgUnit.id, OrgUnit.name))).all())
    for n, r in enumerate(sorted(units, key=lambda r: -r.total), 1):
        lines.append(
            html_format(
                "{n}. {unit} {total}{grade}",
                n=n,
                unit=localized(unit_names.get(r.unit_id, ""), tr.locale),
                total=_num(r.total),
                grade=tr.paren(tr._(GRADE_LABELS[r.grade])),
            )
        )
    people = [r for r in results if r.staff_id is not None]
    if people and quota:
        lines.append(quota_line({r.subject_key: r.total for r in people}, quota, tr))
    if people:
        lines += [
            "",
            html_format(
                tr._("Highest: {high}; lowest: {low}."),
                high=_num(max(r.total for r in people)),
                low=_num(min(r.total for r in people)),
            ),
        ]
    lines += graded_lines(people, names, tr)
    lines += signal_lines(
        signals,
        names,
        tr,
        heading=tr._("<b>Integrity signals</b> (nothing is excluded automatically)"),
    )
    choices = rows(
        [Choice(tr._("✅ Approve"), APPROVE, (cycle.id, cycle.review_round))],
        [Choice(tr._("Send back with a comment"), SEND_BACK, (cycle.id, cycle.review_round))],
    )
    return (
        await enqueue(
            session,
            telegram_id,
            clip_html("\n".join(lines), MESSAGE_LIMIT),
            choices=choices,
            dedupe_key=f"{review_key(cycle.id, cycle.review_round)}{telegram_id}",
        )
        is not None
    )


def graded_lines(people: list[Result], names: Mapping[int, str], tr: Translator) -> list[str]:
    """Who is graded 优秀 and who 不合格, best first: the grades a leader answers for."""
    lines: list[str] = []
    for grade in (Grade.EXCELLENT, Grade.FAIL):
        graded = sorted((r for r in people if r.grade == grade), key=lambda r: -r.total)
        if not graded:
            continue
        shown = [escape(names.get(r.staff_id or 0, "")) for r in graded[:NAMED]]
        if len(graded) > NAMED:
            shown.append(html_format(tr._("… and {count} more."), count=len(graded) - NAMED))
        label = tr._(GRADE_LABELS[grade]) + tr.paren(len(graded))
        lines.append(tr.label(escape(label), tr.join(shown)))
    return ["", *lines] if lines else []


async def review_returned(
    session: AsyncSession,
    cycle: Cycle,
    comment: str,
    admin_ids: frozenset[int] | None = frozenset(),
    *,
    local: Localization = DEFAULTS,
) -> None:
    """Tell the working group that the leadership sent the results back, and why."""
    for telegram_id, language in await admin_accounts(session, admin_ids):
        tr = translator(language, local)
        await enqueue(
            session,
            telegram_id,
            html_format(
                tr._("The leadership group sent the {period} results back: {comment}"),
                period=tr.period(cycle.period),
                comment=comment,
            ),
            dedupe_key=f"review-back:{cycle.id}:{cycle.review_round}:{telegram_id}",
        )


def quota_line(people: dict[str, Decimal], quota: int, tr: Translator) -> str:
    """Who is 优秀 by the bands beside who would be under a quota (a preview; none is applied)."""
    preview = quota_preview(people, Decimal(quota) / 100)
    return html_format(
        tr._(
            "Excellent by the bands: {bands}; with a {share}% quota it would be {quota} (for reference only: the regulation sets no quota)."
        ),
        bands=len(preview.by_bands),
        share=quota,
        quota=len(preview.by_quota),
    )
