"""申訴 (五(四)3): a person disputes their published result; the working group decides in time.

What can happen to an appeal, who may do it, who is told — the table ``APPEAL`` below::

    (drafted in the chat, nothing stored) ──file──▶ OPEN ──ask──▶ QUESTION ──answer──▶ OPEN
                                                     └──uphold / adjust (from OPEN or QUESTION)──▶ DECIDED

Rules beyond the table (each checked here, so the chat and any future CLI share them):

- Only the person whose result it is may appeal it, only while the cycle's appeal window
  (``cycle.appeals_until``, set when the results are published) is open, and only once at a
  time per cycle (the partial unique index ``uq_appeal_open_per_person`` backs the check).
  A refused appeal stores nothing. What is disputed is one of ``appeal_targets.targets``.
- The decision is due by the end of the N-th working day after filing (``decision_days``,
  default 10, on the official calendar). Questions are pushed to the appellant's chat; a new
  question replaces an unanswered one (each is a round). Upholding or adjusting the total
  (``services.results.adjust``: audited, re-ranked, version + 1) needs a written reason; the
  appellant is told, and gets the updated result when it changed.
- ``remind_due`` reminds the working group once per appeal when its deadline is two working
  days away or has passed (``appeal.reminded_at`` and the outbox's dedupe keys make it once).

Functions run in the caller's transaction and raise ``DomainError`` (``Refused`` when the
caller has no right to the result or appeal, which the chat audits as ``access.denied``).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.choice import Choice, Choices, rows
from domain.enums import AppealStatus, CyclePhase
from domain.text import Html, html_format
from infra.i18n import N_, Translator
from infra.models import Appeal, Cycle, OrgUnit, Result, Staff
from services import cases, results
from services.access import Actor
from services.appeal_targets import indicator_names, targets
from services.appeal_targets import target_detail as target_detail  # for older callers
from services.appeal_texts import (
    ADJUSTED,
    UPHELD,
    AppealView,
    answered_text,
    decision_text,
    new_text,
    question_text,
    reminder_text,
)
from services.cases import Notice, Refused, Step, Transition
from services.errors import DomainError
from services.result_notices import push_result
from services.workdays import add_working_days

Status = AppealStatus
DEFAULT_DECISION_DAYS: Final = 10  # working days the working group has to decide
REMIND_DAYS: Final = 2  # remind the working group this many working days before the deadline
MAX_REASON: Final = 2000
MAX_TEXT: Final = 2000  # questions, answers and decision reasons
MAX_EVIDENCE: Final = 10
APPEALABLE_PHASES: Final = (CyclePhase.PUBLISHED, CyclePhase.APPEALS)
EVIDENCE_KINDS: Final = ("photo", "document")

OWN_APPEAL = N_(
    "You cannot handle your own appeal; another member of the working group takes care of it."
)
NOT_YOURS = N_("This result is not yours; you can appeal only your own result.")
NOT_FOUND = N_("This appeal does not exist or is not yours.")
ONLY_ADMINS = cases.ONLY_ADMINS
DECIDED_ALREADY = N_("This appeal has already been decided.")
NO_QUESTION = N_("There is no open question on this appeal.")


# --- the table: what can happen to an appeal, who may do it, who is told --------------------

APPELLANT = cases.staff_of("the appellant", lambda a: a.staff_id, NOT_FOUND)
DECIDERS = cases.WORKING_GROUP.but_not(APPELLANT, OWN_APPEAL)
UNDECIDED = frozenset({Status.OPEN, Status.QUESTION})
ASKED = frozenset({Status.QUESTION})


def _open(tr: Translator, step: Step[AppealView]) -> Choices:
    return rows([Choice(tr._("Open"), "appeal.open", (step.case.id,))])


def _answer(tr: Translator, step: Step[AppealView]) -> Choices:
    return rows([Choice(tr._("✍️ Answer"), "appeal.answer", (step.case.id,))])


# Who is told what (recipients, text, dedupe key, buttons):
APPELLANT_CHAT = cases.owner(lambda step: step.view.appeal.staff_id)
FILED: Notice[AppealView] = Notice(
    cases.group, lambda tr, s: new_text(tr, s.view), "appeal-new:{id}:{chat}", _open
)
QUESTION: Notice[AppealView] = Notice(
    APPELLANT_CHAT,
    lambda tr, s: question_text(tr, s.view, s.params["text"]),
    "appeal-q:{id}:{round}",
    _answer,
)
ANSWERED: Notice[AppealView] = Notice(
    cases.group,
    lambda tr, s: answered_text(tr, s.view, s.params["text"]),
    "appeal-a:{id}:{round}:{chat}",
    _open,
)
DECIDED: Notice[AppealView] = Notice(
    APPELLANT_CHAT,
    lambda tr, s: decision_text(tr, s.view, s.params.get("old_total")),
    "appeal-decided:{id}",
)
DUE: Notice[AppealView] = Notice(
    cases.group, lambda tr, s: reminder_text(tr, s.view, s.at), "appeal-remind:{id}:{chat}", _open
)

APPEAL: cases.Workflow[AppealView] = cases.Workflow(
    "appeal",
    (   #          name      from       to               who             audit            when not "from"   told
        Transition("file",   cases.NEW, Status.OPEN,     APPELLANT,      "appeal.open",   NOT_YOURS,        (FILED,)),
        Transition("ask",    UNDECIDED, Status.QUESTION, DECIDERS,       "appeal.ask",    DECIDED_ALREADY,  (QUESTION,), bumps_round=True),
        Transition("answer", ASKED,     Status.OPEN,     APPELLANT,      "appeal.answer", NO_QUESTION,      (ANSWERED,)),
        Transition("uphold", UNDECIDED, Status.DECIDED,  DECIDERS,       "appeal.decide", DECIDED_ALREADY,  (DECIDED,)),
        Transition("adjust", UNDECIDED, Status.DECIDED,  DECIDERS,       "appeal.decide", DECIDED_ALREADY,  (DECIDED,)),
        Transition("remind", UNDECIDED, None,            cases.SYSTEM,   "appeal.remind", DECIDED_ALREADY,  (DUE,)),
    ),
    case_of=lambda view: view.appeal,
)  # fmt: skip


# --- errors ---------------------------------------------------------------------------------


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


# --- checks ---------------------------------------------------------------------------------


def check_text(text: str | None, limit: int = MAX_TEXT) -> str:
    return cases.check_text(text, limit)


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


# --- reading --------------------------------------------------------------------------------


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


async def queue(session: AsyncSession, *, limit: int = 30) -> list[tuple[Appeal, str, str]]:
    """Appeals not decided yet, earliest deadline first: (appeal, name, period)."""
    found = await session.execute(
        select(Appeal, Staff.name, Cycle.period)
        .join(Staff, Staff.id == Appeal.staff_id)
        .join(Cycle, Cycle.id == Appeal.cycle_id)
        .where(Appeal.status != Status.DECIDED)
        .order_by(Appeal.deadline, Appeal.id)
        .limit(limit)
    )
    return [(a, name, period) for a, name, period in found.all()]


# --- the transitions ------------------------------------------------------------------------


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
    env: cases.Env | None = None,
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
    detail = {
        "result": result.id,
        "cycle": cycle.period,
        "target": target,
        "evidence": len(appeal.evidence),
        "deadline": appeal.deadline.isoformat(),
        "decision_days": decision_days,
        "total": str(result.total),
    }
    actor = Actor(0, await session.get(Staff, staff_id))
    env = env or cases.Env(admin_ids, tz=tz)
    view = await load(session, appeal.id)
    await cases.apply(session, APPEAL, "file", view, actor=actor, at=now, env=env, detail=detail)
    return appeal


async def _step(
    session: AsyncSession, name: str, appeal_id: int, text: str, actor: Actor
) -> tuple[AppealView, str]:
    """The case and the checked text, if the actor may take transition ``name`` now."""
    view = await load(session, appeal_id)
    cases.check(APPEAL, name, view, actor)
    return view, check_text(text)


async def ask(
    session: AsyncSession,
    appeal_id: int,
    question: str,
    *,
    actor: Actor,
    now: dt.datetime,
    env: cases.Env,
) -> Appeal:
    """The working group asks the appellant something; a new question replaces one unanswered."""
    view, cleaned = await _step(session, "ask", appeal_id, question, actor)
    if not await cases.accounts(session, [view.appeal.staff_id]):
        raise DomainError(
            N_("The appellant has no linked Telegram account, so the question cannot be sent.")
        )
    await cases.apply(
        session, APPEAL, "ask", view, actor=actor, at=now, env=env,
        changes={"question": cleaned, "answer": None}, detail={"question": cleaned}, text=cleaned,
    )  # fmt: skip
    return view.appeal


async def answer(
    session: AsyncSession,
    appeal_id: int,
    text: str,
    *,
    actor: Actor,
    now: dt.datetime,
    env: cases.Env,
) -> Appeal:
    """The appellant answers the working group's question; the group is told."""
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None or not APPELLANT.allows(actor, appeal):
        raise Refused(NOT_FOUND)
    view, cleaned = await _step(session, "answer", appeal_id, text, actor)
    await cases.apply(
        session, APPEAL, "answer", view, actor=actor, at=now, env=env,
        changes={"answer": cleaned}, detail={"answer": cleaned}, text=cleaned,
    )  # fmt: skip
    return appeal


def _decision(actor: Actor, decision: str, reason: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "decision": decision,
        "decision_reason": reason,
        "decided_by": actor.telegram_id,
        "decided_at": now,
    }


async def uphold(
    session: AsyncSession,
    appeal_id: int,
    reason: str,
    *,
    actor: Actor,
    now: dt.datetime,
    env: cases.Env,
) -> Appeal:
    """The result stands; the reason is required and told to the appellant."""
    view, cleaned = await _step(session, "uphold", appeal_id, reason, actor)
    result = view.result
    detail = {
        "decision": UPHELD,
        "reason": cleaned,
        "result": result.id,
        "total": str(result.total),
        "grade": result.grade.value,
    }
    await cases.apply(
        session, APPEAL, "uphold", view, actor=actor, at=now, env=env,
        changes=_decision(actor, UPHELD, cleaned, now), detail=detail,
    )  # fmt: skip
    return view.appeal


def _version(result: Result) -> dict[str, Any]:
    return {"total": str(result.total), "grade": result.grade.value, "version": result.version}


async def adjust_score(
    session: AsyncSession,
    appeal_id: int,
    reason: str,
    *,
    total: Decimal | str,
    actor: Actor,
    now: dt.datetime,
    env: cases.Env,
) -> Appeal:
    """Change the total (``services.results.adjust``: audited, re-ranked, version + 1), decide
    the appeal, and push the decision and the updated result to the appellant."""
    new_total = parse_total(str(total))
    view, cleaned = await _step(session, "adjust", appeal_id, reason, actor)
    result = view.result
    if new_total == result.total:
        raise DomainError(
            N_(
                "The new total is the same as the current one. To keep the result, uphold it instead."
            )
        )
    before = _version(result)
    await results.adjust(
        session,
        result,
        total=new_total,
        reason=cleaned,
        actor_telegram_id=actor.telegram_id,
        now=now,
    )
    detail = {
        "decision": ADJUSTED,
        "reason": cleaned,
        "result": result.id,
        "before": before,
        "after": _version(result),
    }
    await cases.apply(
        session, APPEAL, "adjust", view, actor=actor, at=now, env=env,
        changes=_decision(actor, ADJUSTED, cleaned, now), detail=detail,
        old_total=Decimal(before["total"]),
    )  # fmt: skip
    averages = results.unit_averages(await results.results_of(session, view.cycle))
    await push_result(session, view.cycle, result, averages.get(result.unit_id), updated=True)
    await session.flush()
    return view.appeal


async def remind_due(
    session: AsyncSession,
    now: dt.datetime,
    *,
    tz: ZoneInfo,
    admin_ids: frozenset[int] = frozenset(),
    days: int = REMIND_DAYS,
    env: cases.Env | None = None,
) -> int:
    """Remind the working group, once per appeal, of a decision due within ``days`` working
    days (by the end of the ``days``-th working day after today) or already overdue."""
    env = env or cases.Env(admin_ids, tz=tz)
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
    notified = len(await cases.working_group(session, env)) if due else 0
    for appeal in due:
        detail = {
            "deadline": appeal.deadline.isoformat(),
            "overdue": appeal.deadline < now,
            "notified": notified,
        }
        view = await load(session, appeal.id)
        await cases.apply(
            session, APPEAL, "remind", view, actor=None, at=now, env=env,
            changes={"reminded_at": now}, detail=detail,
        )  # fmt: skip
    return len(due)
