"""申訴 (五(四)3): a person disputes their published result; the working group decides in time.

Life of an appeal (``AppealStatus``)::

    (drafted in the chat, nothing stored) ──file──▶ OPEN ──ask──▶ QUESTION ──answer──▶ OPEN
                                                     └──uphold / adjust (from OPEN or QUESTION)──▶ DECIDED

Rules (each checked here, so the chat and any future CLI share them):

- Only the person whose result it is may appeal it, only while the cycle's appeal window
  (``cycle.appeals_until``, set when the results are published) is open, and only once at a
  time per cycle (the partial unique index ``uq_appeal_open_per_person`` backs the check).
  A refused appeal stores nothing.
- What is disputed (``appeal.target``) is one of ``targets(result.breakdown)``: ``total``,
  ``dim:<dimension>``, ``ind:<indicator code>`` or ``src:<source>`` — a source only where it
  counted (a dropped peer source is never offered). Nothing here shows a rater or how many
  raters there were.
- The decision is due by the end of the N-th working day after filing (``decision_days``,
  default 10, on the official calendar). The working group may ask the appellant questions
  (pushed through the outbox, answered in the appellant's chat), then upholds the result or
  adjusts the total (``services.results.adjust``: audited, re-ranked, version + 1), always
  with a written reason; the appellant is told, and gets the updated result when it changed.
- ``remind_due`` reminds the working group once per appeal when its deadline is two working
  days away or has passed (``appeal.reminded_at`` and the outbox's dedupe keys make it once).
- Every change is audited (``appeal.open``, ``appeal.ask``, ``appeal.answer``,
  ``appeal.decide``, ``appeal.remind``); every push goes through the outbox.

Functions run in the caller's transaction and raise ``DomainError`` (``Refused`` when the
caller has no right to the result or appeal, which the chat audits as ``access.denied``).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from domain.enums import AppealStatus, CyclePhase, Dimension, Grade, Source
from domain.labels import DIMENSION_LABELS, GRADE_LABELS, SOURCE_LABELS
from domain.template import Template
from domain.text import MESSAGE_LIMIT, Html, clip, clip_html, escape, html_format, html_len, share
from infra.i18n import N_, Translator
from infra.models import (
    Appeal,
    AuditEntry,
    Cycle,
    OrgUnit,
    Result,
    Staff,
    TelegramAccount,
    TemplateVersion,
)
from services.access import admin_accounts, load_actor
from services.audit import audit
from services.errors import DomainError
from services.notices import translator
from services.outbox import enqueue
from services.peer_view import PEER_DETAIL_MIN, ratee_view
from services.templates import localized
from services.workdays import add_working_days

Status = AppealStatus
DEFAULT_DECISION_DAYS: Final = 10  # working days the working group has to decide
REMIND_DAYS: Final = 2  # remind the working group this many working days before the deadline
MAX_REASON: Final = 2000
MAX_TEXT: Final = 2000  # questions, answers and decision reasons
MAX_EVIDENCE: Final = 10
TOTAL: Final = "total"
UPHELD: Final = "upheld"
ADJUSTED: Final = "adjusted"
APPEALABLE_PHASES: Final = (CyclePhase.PUBLISHED, CyclePhase.APPEALS)
EVIDENCE_KINDS: Final = ("photo", "document")
TARGET_MAX: Final = 32  # appeal.target is String(32)

STATUS_LABELS: Final = {
    Status.OPEN: N_("open"),
    Status.QUESTION: N_("waiting for the appellant's answer"),
    Status.DECIDED: N_("decided"),
}

OWN_APPEAL = N_(
    "You cannot handle your own appeal; another member of the working group takes care of it."
)
NOT_YOURS = N_("This result is not yours; you can appeal only your own result.")
NOT_FOUND = N_("This appeal does not exist or is not yours.")
ONLY_ADMINS = N_("Sorry, only the evaluation working group can do this.")


class Refused(DomainError):
    """The caller has no right to this result or appeal (or it does not exist): audit it."""


class WindowClosed(DomainError):
    """The appeal window of the cycle is over (or was never opened); nothing is stored."""

    def __init__(self, cycle: Cycle, now: dt.datetime) -> None:
        self.period = cycle.period
        ended = cycle.appeals_until is not None and now > cycle.appeals_until
        self.until = cycle.appeals_until if ended else None
        if self.until is None and cycle.phase == CyclePhase.CLOSED:
            super().__init__(
                N_(
                    "The appeal period for the {period} results is over. Appeals can no longer be filed."
                ),
                period=self.period,
            )
        elif self.until is None:
            super().__init__(
                N_("Appeals against the {period} results are not open."), period=self.period
            )
        else:
            super().__init__(
                N_(
                    "The appeal period for the {period} results ended on {date}. Appeals can no longer be filed."
                ),
                period=self.period,
                date=self.until.isoformat(),
            )

    def _params(self, tr: Translator) -> dict[str, str]:
        if self.until is None:
            return {"period": self.period}
        return {"period": self.period, "date": tr.date(self.until)}

    def render(self, tr: Translator) -> Html:
        return html_format(tr._(self.message), **self._params(tr))

    def plain(self, tr: Translator) -> str:
        return tr._(self.message).format(**self._params(tr))


class AlreadyOpen(DomainError):
    """The person has an appeal of this cycle that is not decided yet."""

    def __init__(self, appeal: Appeal, period: str) -> None:
        self.appeal_id = appeal.id
        super().__init__(
            N_(
                "You already have an appeal being handled for {period} (#{id}). Please wait for its decision; you will be told here."
            ),
            period=period,
            id=appeal.id,
        )


# --- what can be disputed --------------------------------------------------------------


def _dimensions(breakdown: dict[str, Any]) -> list[dict[str, Any]]:
    dims = breakdown.get("dimensions") or []
    return [d for d in dims if isinstance(d, dict) and d.get("dimension") in set(Dimension)]


def _indicators(breakdown: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(dimension, indicator dict) in breakdown order."""
    out = []
    for d in _dimensions(breakdown):
        for i in d.get("indicators") or []:
            if isinstance(i, dict) and isinstance(i.get("code"), str):
                out.append((str(d["dimension"]), i))
    return out


def _peer_dropped_for_person(breakdown: dict[str, Any]) -> bool:
    for note in breakdown.get("notes") or []:
        if isinstance(note, dict) and note.get("kind") == "peer_dropped":
            if (note.get("params") or {}).get("scope", "person") == "person":
                return True
    return False


def sources(breakdown: dict[str, Any]) -> list[Source]:
    """The sources that counted in this result, in the regulation's order.

    A source counts where the engine stored a score for it; a peer source dropped for
    anonymity has none, and is never offered (nor is it when a note says it was dropped).
    """
    present: set[str] = set()
    for _dim, indicator in _indicators(breakdown):
        for s in indicator.get("sources") or []:
            if isinstance(s, dict) and s.get("mean") is not None:
                present.add(str(s.get("source")))
    for s in breakdown.get("sources_summary") or []:
        if isinstance(s, dict) and s.get("score") is not None:
            present.add(str(s.get("source")))
    if _peer_dropped_for_person(breakdown):
        present.discard(Source.PEER.value)
    return [s for s in Source if s.value in present]


def targets(breakdown: dict[str, Any]) -> list[str]:
    """Everything a person may dispute in this result, as ``appeal.target`` values."""
    out = [TOTAL]
    out += [f"dim:{d['dimension']}" for d in _dimensions(breakdown)]
    out += [
        f"ind:{i['code']}" for _d, i in _indicators(breakdown) if len(i["code"]) <= TARGET_MAX - 4
    ]
    out += [f"src:{s.value}" for s in sources(breakdown)]
    return list(dict.fromkeys(out))


IndicatorNames = dict[str, tuple[str, str | None]]


async def indicator_names(session: AsyncSession, result: Result) -> IndicatorNames:
    """Indicator code → (name, English name) from the cycle's template, for the result's unit."""
    cycle = await session.get(Cycle, result.cycle_id)
    version = await session.get(TemplateVersion, cycle.template_id) if cycle else None
    if version is None:
        return {}
    try:
        template = Template.from_dict(version.content)
    except (KeyError, ValueError, TypeError):
        return {}
    unit = await session.get(OrgUnit, result.unit_id)
    names: IndicatorNames = {i.code: (i.name, i.name_en) for i in template.indicators}
    names.update(
        {i.code: (i.name, i.name_en) for i in template.indicator_set(unit.name if unit else None)}
    )
    return names


def num(value: Decimal | str | None) -> str:
    if value is None:
        return "—"
    try:
        return format(Decimal(value).quantize(Decimal("0.01")), "f")
    except (InvalidOperation, ValueError):
        return "—"


def indicator_label(code: str, names: IndicatorNames, locale: str) -> str:
    name, english = names.get(code, (code, None))
    label = localized(name, locale, english)
    return code if label == code else f"{code} {label}"


def target_label(tr: Translator, target: str, names: IndicatorNames) -> str:
    """What is disputed, in words (plain text: escape it for HTML)."""
    kind, _, ref = target.partition(":")
    try:
        if kind == "dim":
            return tr._(DIMENSION_LABELS[Dimension(ref)])
        if kind == "src":
            return tr._(SOURCE_LABELS[Source(ref)])
    except ValueError:
        return target
    if kind == "ind":
        return tr._("Indicator {indicator}").format(
            indicator=indicator_label(ref, names, tr.locale)
        )
    return tr._("The total score")


def target_detail(
    tr: Translator, result: Result, target: str, names: IndicatorNames, *, full: bool = False
) -> list[str]:
    """The part of the breakdown that is disputed, as HTML lines; never a rater or a count.

    The appellant sees their peer source as ``services.peer_view`` allows (one combined
    figure below five peers); ``full`` is for the working group deciding the case.
    """
    b = (result.breakdown or {}) if full else ratee_view(result.breakdown or {})
    combined = b.get("peer_combined") or {}
    kind, _, ref = target.partition(":")
    lines: list[str] = []
    if kind == TOTAL:
        lines.append(
            html_format(
                tr._("Total: {total} · Grade: {grade}"),
                total=num(result.total),
                grade=tr._(GRADE_LABELS[result.grade]),
            )
        )
        for d in _dimensions(b):
            lines.append(
                html_format(
                    tr._("• {dimension}: {score} × {weight}% = {contribution}"),
                    dimension=tr._(DIMENSION_LABELS[Dimension(d["dimension"])]),
                    score=num(d.get("score")),
                    weight=d.get("weight", "—"),
                    contribution=num(d.get("contribution")),
                )
            )
    elif kind == "dim":
        for d in _dimensions(b):
            if d["dimension"] != ref:
                continue
            lines.append(
                html_format(
                    tr._(
                        "{dimension}: {score} (weight {weight}%, {contribution} points of the total)"
                    ),
                    dimension=tr._(DIMENSION_LABELS[Dimension(ref)]),
                    score=num(d.get("score")),
                    weight=d.get("weight", "—"),
                    contribution=num(d.get("contribution")),
                )
            )
            for i in d.get("indicators") or []:
                line = (
                    tr._(
                        "• {indicator}: with colleagues' ratings, shown only as one combined figure (weight {weight}%)"
                    )
                    if i.get("peer_combined")
                    else tr._("• {indicator}: {score} (weight {weight}%)")
                )
                lines.append(
                    html_format(
                        line,
                        indicator=indicator_label(i["code"], names, tr.locale),
                        score=num(i.get("score")),
                        weight=i.get("weight", "—"),
                    )
                )
    elif kind == "ind":
        for dim, i in _indicators(b):
            if i["code"] != ref:
                continue
            head = (
                tr._(
                    "{indicator} ({dimension}): weight {weight}%, {contribution} points of the total from the other sources"
                )
                if i.get("peer_combined")
                else tr._(
                    "{indicator} ({dimension}): {score} (weight {weight}%, {contribution} points of the total)"
                )
            )
            lines.append(
                html_format(
                    head,
                    indicator=indicator_label(ref, names, tr.locale),
                    dimension=tr._(DIMENSION_LABELS[Dimension(dim)]),
                    score=num(i.get("score")),
                    weight=i.get("weight", "—"),
                    contribution=num(i.get("contribution")),
                )
            )
            for s in i.get("sources") or []:
                lines.append(_source_line(tr, s))
            if i.get("peer_combined"):
                lines.append(_combined_line(tr, combined))
            break
    elif kind == "src":
        try:
            source = Source(ref)
        except ValueError:
            return lines
        summary = next(
            (
                s
                for s in b.get("sources_summary") or []
                if isinstance(s, dict) and s.get("source") == ref and s.get("score") is not None
            ),
            None,
        )
        if summary is not None:
            lines.append(
                html_format(
                    tr._("{source}: {score}"),
                    source=tr._(SOURCE_LABELS[source]),
                    score=num(summary.get("score")),
                )
            )
        elif source is Source.PEER and combined:
            lines.append(_combined_line(tr, combined))
        else:
            lines.append(tr._(SOURCE_LABELS[source]))
        for _dim, i in _indicators(b):
            for s in i.get("sources") or []:
                if isinstance(s, dict) and s.get("source") == ref and s.get("mean") is not None:
                    lines.append(
                        html_format(
                            tr._("• {indicator}: {score} (weight {weight}%)"),
                            indicator=indicator_label(i["code"], names, tr.locale),
                            score=num(s.get("mean")),
                            weight=s.get("weight", "—"),
                        )
                    )
    return lines


def _combined_line(tr: Translator, combined: dict[str, Any]) -> str:
    """The peer source as the appellant sees it below five peers: one figure, all indicators."""
    return html_format(
        tr._(
            "  – {source}: {mean} for all indicators together ({contribution} points of the total); fewer than {minimum} colleagues rated you, so it is not shown per indicator"
        ),
        source=tr._(SOURCE_LABELS[Source.PEER]),
        mean=num(combined.get("mean")),
        contribution=num(combined.get("contribution")),
        minimum=PEER_DETAIL_MIN,
    )


def _source_line(tr: Translator, s: dict[str, Any]) -> str:
    try:
        label = tr._(SOURCE_LABELS[Source(str(s.get("source")))])
    except ValueError:
        label = str(s.get("source"))
    return html_format(
        tr._("  – {source}: {score} (weight {weight}%)"),
        source=label,
        score=num(s.get("mean")),
        weight=s.get("weight", "—"),
    )


# --- checks ------------------------------------------------------------------------------


def check_text(text: str | None, limit: int = MAX_TEXT) -> str:
    """1 to ``limit`` characters after trimming, or a DomainError saying what is wrong."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise DomainError(N_("Please write a few words; an empty text cannot be sent."))
    if len(cleaned) > limit:
        raise DomainError(
            N_(
                "Your text has {length} characters; at most {limit} are allowed. Please shorten it and send it again."
            ),
            length=len(cleaned),
            limit=limit,
        )
    return cleaned


def parse_total(text: str | None) -> Decimal:
    """A new total typed by the working group: 0–100, at most two decimals (``86.5``)."""
    raw = unicodedata.normalize("NFKC", text or "").strip().removesuffix("分").strip()
    raw = raw.replace(",", ".").replace("。", ".")
    try:
        value = Decimal(raw)
    except (InvalidOperation, ValueError):
        value = Decimal("NaN")
    if (
        not value.is_finite()
        or not Decimal(0) <= value <= Decimal(100)
        or value != value.quantize(Decimal("0.01"))
    ):
        raise DomainError(
            N_("Please type the new total as a number from 0 to 100, for example 86.5.")
        )
    return value.quantize(Decimal("0.01"))


def window_open(cycle: Cycle, now: dt.datetime) -> bool:
    return (
        cycle.phase in APPEALABLE_PHASES
        and cycle.appeals_until is not None
        and now <= cycle.appeals_until
    )


def is_overdue(appeal: Appeal, now: dt.datetime) -> bool:
    return appeal.status != Status.DECIDED and appeal.deadline < now


async def open_appeal(session: AsyncSession, cycle_id: int, staff_id: int) -> Appeal | None:
    """The person's appeal of this cycle that is not decided yet, if any."""
    found: Appeal | None = await session.scalar(
        select(Appeal).where(
            Appeal.cycle_id == cycle_id,
            Appeal.staff_id == staff_id,
            Appeal.status != Status.DECIDED,
        )
    )
    return found


async def appealable(
    session: AsyncSession, result_id: int, *, staff_id: int | None, now: dt.datetime
) -> tuple[Result, Cycle]:
    """The result and its cycle if ``staff_id`` may appeal it now; else why not.

    ``Refused``: not their result (or not published); ``WindowClosed``: the window is over;
    ``AlreadyOpen``: they have an appeal of this cycle being handled.
    """
    result = await session.get(Result, result_id)
    if (
        result is None
        or staff_id is None
        or result.staff_id != staff_id
        or result.published_at is None
    ):
        raise Refused(NOT_YOURS)
    cycle = await session.get(Cycle, result.cycle_id)
    assert cycle is not None
    if not window_open(cycle, now):
        raise WindowClosed(cycle, now)
    existing = await open_appeal(session, cycle.id, staff_id)
    if existing is not None:
        raise AlreadyOpen(existing, cycle.period)
    return result, cycle


def evidence_item(
    kind: str, file_id: str, *, unique_id: str = "", name: str = ""
) -> dict[str, str]:
    """One piece of evidence as stored in ``appeal.evidence``: a Telegram file id and its kind."""
    if kind not in EVIDENCE_KINDS or not file_id:
        raise ValueError(f"unsupported evidence {kind!r}")
    item = {"kind": kind, "file_id": file_id}
    if unique_id:
        item["unique_id"] = unique_id
    if name:
        item["name"] = name[:128]
    return item


def _clean_evidence(evidence: list[Any]) -> list[dict[str, str]]:
    out = []
    for e in evidence[:MAX_EVIDENCE]:
        if isinstance(e, dict) and e.get("kind") in EVIDENCE_KINDS and e.get("file_id"):
            out.append({str(k): str(v) for k, v in e.items()})
    return out


# --- filing -----------------------------------------------------------------------------


async def file_appeal(
    session: AsyncSession,
    result_id: int,
    *,
    staff_id: int,
    target: str,
    reason: str,
    evidence: list[Any],
    now: dt.datetime,
    tz: ZoneInfo,
    decision_days: int = DEFAULT_DECISION_DAYS,
    admin_ids: frozenset[int] = frozenset(),
) -> Appeal:
    """File the appeal, due for a decision by the end of the ``decision_days``-th working day.

    Refused (nothing stored) when the result is not theirs, the window is over, or they
    have an appeal of the cycle being handled. The working group is told.
    """
    result, cycle = await appealable(session, result_id, staff_id=staff_id, now=now)
    if target not in targets(result.breakdown or {}):
        raise DomainError(N_("Please choose what you dispute with the buttons."))
    cleaned = check_text(reason, MAX_REASON)
    appeal = Appeal(
        cycle_id=cycle.id,
        staff_id=staff_id,
        result_id=result.id,
        target=target,
        reason=cleaned,
        evidence=_clean_evidence(evidence),
        status=Status.OPEN,
        deadline=add_working_days(now, decision_days, tz),
        created_at=now,
    )
    await session.flush()
    try:
        async with session.begin_nested():
            session.add(appeal)
    except IntegrityError:
        # A concurrent transaction filed one between our check and insert.
        existing = await open_appeal(session, cycle.id, staff_id)
        if existing is not None:
            raise AlreadyOpen(existing, cycle.period) from None
        raise
    await audit(
        session,
        "appeal.open",
        actor_staff_id=staff_id,
        object_type="appeal",
        object_id=str(appeal.id),
        detail={
            "result": result.id,
            "cycle": cycle.period,
            "target": target,
            "evidence": len(appeal.evidence),
            "deadline": appeal.deadline.isoformat(),
            "decision_days": decision_days,
            "total": str(result.total),
        },
        at=now,
    )
    view = await load(session, appeal.id)
    for telegram_id, language in await working_group(session, admin_ids):
        tr = translator(language)
        await enqueue(
            session,
            telegram_id,
            _new_text(tr, view),
            markup=open_button(tr, appeal.id),
            dedupe_key=f"appeal-new:{appeal.id}:{telegram_id}",
        )
    await session.flush()
    return appeal


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppealView:
    """An appeal with what the working group needs to judge it — never a rater."""

    appeal: Appeal
    result: Result
    cycle: Cycle
    name: str
    unit: str
    names: IndicatorNames

    def target_label(self, tr: Translator) -> str:
        return target_label(tr, self.appeal.target, self.names)


async def load(session: AsyncSession, appeal_id: int) -> AppealView:
    appeal = await session.get(Appeal, appeal_id)
    result = await session.get(Result, appeal.result_id) if appeal else None
    cycle = await session.get(Cycle, appeal.cycle_id) if appeal else None
    if appeal is None or result is None or cycle is None:
        raise Refused(NOT_FOUND)
    staff = await session.get(Staff, appeal.staff_id)
    unit = await session.get(OrgUnit, result.unit_id)
    return AppealView(
        appeal,
        result,
        cycle,
        staff.name if staff else "",
        unit.name if unit else "",
        await indicator_names(session, result),
    )


@dataclass(frozen=True)
class QueueItem:
    appeal: Appeal
    name: str
    period: str


async def queue(session: AsyncSession, *, limit: int = 30) -> list[QueueItem]:
    """Appeals not decided yet, earliest deadline first (the working group's queue)."""
    rows = await session.execute(
        select(Appeal, Staff.name, Cycle.period)
        .join(Staff, Staff.id == Appeal.staff_id)
        .join(Cycle, Cycle.id == Appeal.cycle_id)
        .where(Appeal.status != Status.DECIDED)
        .order_by(Appeal.deadline, Appeal.id)
        .limit(limit)
    )
    return [QueueItem(a, name, period) for a, name, period in rows.all()]


def case_text(
    tr: Translator, view: AppealView, *, at: dt.datetime, limit: int = MESSAGE_LIMIT
) -> Html:
    """The case as the working group sees it: who, what, the disputed breakdown, why, Q&A.

    However long the appellant's and the working group's texts are (2,000 characters each,
    emoji count twice), the case opens: the texts share the room the rest leaves of ``limit``.
    """
    a = view.appeal
    texts = [a.reason, a.question or "", a.answer or "", a.decision_reason or ""]
    fixed = html_len(_case_text(tr, view, at, ["", "", "", ""]))
    return _cut(_case_text(tr, view, at, share(limit - fixed, texts)), limit)


def _case_text(tr: Translator, view: AppealView, at: dt.datetime, texts: list[str]) -> str:
    a, result = view.appeal, view.result
    reason, question, answer, decision_reason = texts
    lines: list[str] = [
        html_format(
            tr._("<b>Appeal #{id}</b> · {period} · {status}"),
            id=a.id,
            period=view.cycle.period,
            status=tr._(STATUS_LABELS[a.status]),
        ),
        html_format(
            tr._("Appellant: {name} ({unit})"),
            name=localized(view.name, tr.locale),
            unit=localized(view.unit, tr.locale),
        ),
        html_format(tr._("Filed: {date}"), date=tr.date(a.created_at)),
    ]
    deadline: str = html_format(tr._("Decide by: end of {date}"), date=tr.date(a.deadline))
    if is_overdue(a, at):
        deadline += " " + tr._("⚠️ overdue")
    lines += [deadline, ""]
    lines.append(html_format(tr._("<b>Disputed:</b> {target}"), target=view.target_label(tr)))
    lines += target_detail(tr, result, a.target, view.names, full=True)
    lines += ["", html_format(tr._("<b>Reason:</b> {text}"), text=reason)]
    lines.append(
        html_format(
            tr.ngettext("Evidence: {count} file.", "Evidence: {count} files.", len(a.evidence)),
            count=len(a.evidence),
        )
    )
    if a.question:
        lines += ["", html_format(tr._("<b>Question:</b> {text}"), text=question)]
        if a.answer:
            lines.append(html_format(tr._("<b>Answer:</b> {text}"), text=answer))
        else:
            lines.append(tr._("(no answer yet)"))
    if a.status == Status.DECIDED:
        lines += [
            "",
            html_format(
                tr._("<b>Decision:</b> {decision} — {reason}"),
                decision=decision_label(tr, a.decision),
                reason=decision_reason,
            ),
        ]
    return "\n".join(lines)


def decision_label(tr: Translator, decision: str | None) -> str:
    return tr._("score adjusted") if decision == ADJUSTED else tr._("result upheld")


def _cut(text: str, limit: int = MESSAGE_LIMIT) -> Html:
    """A rendered message cut as Telegram counts it (never inside a tag or an entity)."""
    return clip_html(text, limit)


# --- questions and answers -------------------------------------------------------------


async def _admin(session: AsyncSession, telegram_id: int, admin_ids: frozenset[int]) -> int | None:
    """The admin's staff id (None for a configured admin without one); Refused otherwise."""
    actor = await load_actor(session, telegram_id, admin_ids)
    if not actor.is_admin:
        raise Refused(ONLY_ADMINS)
    return actor.staff.id if actor.staff else None


async def _rounds(session: AsyncSession, action: str, appeal_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.action == action,
            AuditEntry.object_type == "appeal",
            AuditEntry.object_id == str(appeal_id),
        )
    )
    return int(count or 0)


async def ask(
    session: AsyncSession,
    appeal_id: int,
    question: str,
    *,
    admin_telegram_id: int,
    now: dt.datetime,
    admin_ids: frozenset[int] = frozenset(),
) -> Appeal:
    """The working group asks the appellant something; OPEN/QUESTION → QUESTION.

    The question goes to the appellant's chat with a button to answer; a new question
    replaces an unanswered one (both stay in the audit log).
    """
    admin_staff = await _admin(session, admin_telegram_id, admin_ids)
    view = await load(session, appeal_id)
    appeal = view.appeal
    if admin_staff is not None and admin_staff == appeal.staff_id:
        raise Refused(OWN_APPEAL)
    if appeal.status == Status.DECIDED:
        raise DomainError(N_("This appeal has already been decided."))
    cleaned = check_text(question)
    account = await _account(session, appeal.staff_id)
    if account is None:
        raise DomainError(
            N_("The appellant has no linked Telegram account, so the question cannot be sent.")
        )
    old = appeal.status
    appeal.question = cleaned
    appeal.answer = None
    appeal.status = Status.QUESTION
    round_ = await _rounds(session, "appeal.ask", appeal.id) + 1
    await audit(
        session,
        "appeal.ask",
        actor_telegram_id=admin_telegram_id,
        actor_staff_id=admin_staff,
        object_type="appeal",
        object_id=str(appeal.id),
        detail={"old": old.value, "new": appeal.status.value, "question": cleaned, "round": round_},
        at=now,
    )
    telegram_id, language = account
    tr = translator(language)
    await enqueue(
        session,
        telegram_id,
        _question_text(tr, view, cleaned),
        markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton(tr._("✍️ Answer"), callback_data=f"ap1:a:{appeal.id}")]]
        ),
        dedupe_key=f"appeal-q:{appeal.id}:{round_}",
    )
    await session.flush()
    return appeal


async def answer(
    session: AsyncSession,
    appeal_id: int,
    text: str,
    *,
    staff_id: int,
    now: dt.datetime,
    admin_ids: frozenset[int] = frozenset(),
) -> Appeal:
    """The appellant answers the working group's question; QUESTION → OPEN, the group is told."""
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None or appeal.staff_id != staff_id:
        raise Refused(NOT_FOUND)
    if appeal.status != Status.QUESTION:
        raise DomainError(N_("There is no open question on this appeal."))
    cleaned = check_text(text)
    appeal.answer = cleaned
    appeal.status = Status.OPEN
    round_ = await _rounds(session, "appeal.answer", appeal.id) + 1
    await audit(
        session,
        "appeal.answer",
        actor_staff_id=staff_id,
        object_type="appeal",
        object_id=str(appeal.id),
        detail={
            "old": Status.QUESTION.value,
            "new": Status.OPEN.value,
            "answer": cleaned,
            "round": round_,
        },
        at=now,
    )
    view = await load(session, appeal.id)
    for telegram_id, language in await working_group(session, admin_ids):
        tr = translator(language)
        await enqueue(
            session,
            telegram_id,
            _answered_text(tr, view, cleaned),
            markup=open_button(tr, appeal.id),
            dedupe_key=f"appeal-a:{appeal.id}:{round_}:{telegram_id}",
        )
    await session.flush()
    return appeal


# --- decisions --------------------------------------------------------------------------


async def _deciding(
    session: AsyncSession,
    appeal_id: int,
    reason: str,
    admin_telegram_id: int,
    admin_ids: frozenset[int],
) -> tuple[AppealView, str, int | None]:
    admin_staff = await _admin(session, admin_telegram_id, admin_ids)
    view = await load(session, appeal_id)
    if admin_staff is not None and admin_staff == view.appeal.staff_id:
        raise Refused(OWN_APPEAL)
    if view.appeal.status == Status.DECIDED:
        raise DomainError(N_("This appeal has already been decided."))
    return view, check_text(reason), admin_staff


def _close(
    appeal: Appeal, decision: str, reason: str, admin_telegram_id: int, now: dt.datetime
) -> str:
    old = appeal.status.value
    appeal.status = Status.DECIDED
    appeal.decision = decision
    appeal.decision_reason = reason
    appeal.decided_by = admin_telegram_id
    appeal.decided_at = now
    return old


async def uphold(
    session: AsyncSession,
    appeal_id: int,
    reason: str,
    *,
    admin_telegram_id: int,
    now: dt.datetime,
    admin_ids: frozenset[int] = frozenset(),
) -> Appeal:
    """The result stands; the reason is required and told to the appellant."""
    view, cleaned, admin_staff = await _deciding(
        session, appeal_id, reason, admin_telegram_id, admin_ids
    )
    appeal, result = view.appeal, view.result
    old = _close(appeal, UPHELD, cleaned, admin_telegram_id, now)
    await audit(
        session,
        "appeal.decide",
        actor_telegram_id=admin_telegram_id,
        actor_staff_id=admin_staff,
        object_type="appeal",
        object_id=str(appeal.id),
        detail={
            "old": old,
            "new": appeal.status.value,
            "decision": UPHELD,
            "reason": cleaned,
            "result": result.id,
            "total": str(result.total),
            "grade": result.grade.value,
        },
        at=now,
    )
    await _tell_decision(session, view)
    await session.flush()
    return appeal


async def adjust_score(
    session: AsyncSession,
    appeal_id: int,
    total: Decimal | str,
    reason: str,
    *,
    admin_telegram_id: int,
    now: dt.datetime,
    admin_ids: frozenset[int] = frozenset(),
) -> Appeal:
    """Change the total (``services.results.adjust``: audited, re-ranked, version + 1), decide
    the appeal, and push the decision and the updated result to the appellant."""
    from services import results
    from services.result_notices import push_result

    new_total = parse_total(str(total))
    view, cleaned, admin_staff = await _deciding(
        session, appeal_id, reason, admin_telegram_id, admin_ids
    )
    appeal, result = view.appeal, view.result
    if new_total == result.total:
        raise DomainError(
            N_(
                "The new total is the same as the current one. To keep the result, uphold it instead."
            )
        )
    before: dict[str, Any] = {
        "total": str(result.total),
        "grade": result.grade.value,
        "version": result.version,
    }
    await results.adjust(
        session,
        result,
        total=new_total,
        reason=cleaned,
        actor_telegram_id=admin_telegram_id,
        now=now,
    )
    old = _close(appeal, ADJUSTED, cleaned, admin_telegram_id, now)
    await audit(
        session,
        "appeal.decide",
        actor_telegram_id=admin_telegram_id,
        actor_staff_id=admin_staff,
        object_type="appeal",
        object_id=str(appeal.id),
        detail={
            "old": old,
            "new": appeal.status.value,
            "decision": ADJUSTED,
            "reason": cleaned,
            "result": result.id,
            "before": before,
            "after": {
                "total": str(result.total),
                "grade": result.grade.value,
                "version": result.version,
            },
        },
        at=now,
    )
    await _tell_decision(session, view, old_total=Decimal(before["total"]))
    averages = results.unit_averages(await results.results_of(session, view.cycle))
    await push_result(session, view.cycle, result, averages.get(result.unit_id), updated=True)
    await session.flush()
    return appeal


async def _tell_decision(
    session: AsyncSession, view: AppealView, *, old_total: Decimal | None = None
) -> None:
    account = await _account(session, view.appeal.staff_id)
    if account is None:
        return
    telegram_id, language = account
    tr = translator(language)
    await enqueue(
        session,
        telegram_id,
        _decision_text(tr, view, old_total),
        dedupe_key=f"appeal-decided:{view.appeal.id}",
    )


# --- deadlines ----------------------------------------------------------------------------


async def remind_due(
    session: AsyncSession,
    now: dt.datetime,
    *,
    tz: ZoneInfo,
    admin_ids: frozenset[int] = frozenset(),
    days: int = REMIND_DAYS,
) -> int:
    """Remind the working group, once per appeal, of a decision due within ``days`` working
    days (by the end of the ``days``-th working day after today) or already overdue."""
    horizon = add_working_days(now, days, tz)
    due = list(
        await session.scalars(
            select(Appeal)
            .where(
                Appeal.status != Status.DECIDED,
                Appeal.reminded_at.is_(None),
                Appeal.deadline <= horizon,
            )
            .order_by(Appeal.deadline, Appeal.id)
        )
    )
    count = 0
    recipients = await working_group(session, admin_ids) if due else []
    for appeal in due:
        view = await load(session, appeal.id)
        for telegram_id, language in recipients:
            tr = translator(language)
            await enqueue(
                session,
                telegram_id,
                _reminder_text(tr, view, now),
                markup=open_button(tr, appeal.id),
                dedupe_key=f"appeal-remind:{appeal.id}:{telegram_id}",
            )
        appeal.reminded_at = now
        await audit(
            session,
            "appeal.remind",
            actor_label="job",
            object_type="appeal",
            object_id=str(appeal.id),
            detail={
                "deadline": appeal.deadline.isoformat(),
                "overdue": appeal.deadline < now,
                "notified": len(recipients),
            },
            at=now,
        )
        count += 1
    await session.flush()
    return count


# --- recipients and texts -----------------------------------------------------------------


async def _account(session: AsyncSession, staff_id: int) -> tuple[int, str | None] | None:
    row = (
        await session.execute(
            select(TelegramAccount.telegram_id, TelegramAccount.language).where(
                TelegramAccount.staff_id == staff_id
            )
        )
    ).first()
    return (int(row[0]), row[1]) if row else None


async def working_group(
    session: AsyncSession, admin_ids: frozenset[int] = frozenset()
) -> list[tuple[int, str | None]]:
    """The working group's chats with their languages: bound admins plus configured ids."""
    return await admin_accounts(session, admin_ids)


def open_button(tr: Translator, appeal_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(tr._("Open"), callback_data=f"ap1:o:{appeal_id}")]]
    )


def _who(tr: Translator, view: AppealView) -> Html:
    return html_format(
        "{name} ({unit})" if tr.locale == "en" else "{name}（{unit}）",
        name=localized(view.name, tr.locale),
        unit=localized(view.unit, tr.locale),
    )


def _short(text: str, limit: int = 300) -> Html:
    """A preview of free text: cut before it is escaped."""
    return escape(clip(text, limit))


def _new_text(tr: Translator, view: AppealView) -> str:
    a = view.appeal
    return _cut(
        "\n".join(
            [
                html_format(
                    tr._("<b>New appeal #{id}</b> · {period}"), id=a.id, period=view.cycle.period
                ),
                html_format(
                    tr._("{who} disputes: {target}."),
                    who=_who(tr, view),
                    target=view.target_label(tr),
                ),
                html_format(tr._("Reason: {reason}"), reason=_short(a.reason)),
                html_format(
                    tr.ngettext(
                        "Evidence: {count} file.", "Evidence: {count} files.", len(a.evidence)
                    ),
                    count=len(a.evidence),
                ),
                html_format(tr._("Please decide by the end of {date}."), date=tr.date(a.deadline)),
            ]
        )
    )


def _question_text(tr: Translator, view: AppealView, question: str) -> str:
    return _cut(
        "\n\n".join(
            [
                html_format(
                    tr._("<b>A question about your appeal #{id}</b> ({period})"),
                    id=view.appeal.id,
                    period=view.cycle.period,
                ),
                escape(question),
                tr._("Please tap “Answer” and write your reply."),
            ]
        )
    )


def _answered_text(tr: Translator, view: AppealView, text: str) -> str:
    return _cut(
        "\n".join(
            [
                html_format(
                    tr._("<b>Appeal #{id}</b>: {who} answered your question."),
                    id=view.appeal.id,
                    who=_who(tr, view),
                ),
                html_format(tr._("<b>Answer:</b> {text}"), text=_short(text, 1500)),
            ]
        )
    )


def _decision_text(tr: Translator, view: AppealView, old_total: Decimal | None) -> str:
    a, result = view.appeal, view.result
    grade = tr._(GRADE_LABELS[Grade(result.grade)])
    if a.decision == ADJUSTED:
        body = html_format(
            tr._(
                "The working group changed your total from {old} to {new} (grade: {grade}). The updated result follows."
            ),
            old=num(old_total),
            new=num(result.total),
            grade=grade,
        )
    else:
        body = html_format(
            tr._("The working group upheld your result: {total} (grade: {grade})."),
            total=num(result.total),
            grade=grade,
        )
    return _cut(
        "\n".join(
            [
                html_format(
                    tr._("<b>Decision on your appeal #{id}</b> ({period})"),
                    id=a.id,
                    period=view.cycle.period,
                ),
                body,
                html_format(tr._("Reason: {reason}"), reason=a.decision_reason or ""),
            ]
        )
    )


def _reminder_text(tr: Translator, view: AppealView, now: dt.datetime) -> str:
    a = view.appeal
    params = {
        "id": a.id,
        "who": _who(tr, view),
        "period": view.cycle.period,
        "date": tr.date(a.deadline),
    }
    if a.deadline < now:
        return html_format(
            tr._(
                "⚠️ Overdue: appeal #{id} of {who} ({period}) was due for a decision by the end of {date} and is still open."
            ),
            **params,
        )
    return html_format(
        tr._("Reminder: appeal #{id} of {who} ({period}) must be decided by the end of {date}."),
        **params,
    )
