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
  question replaces an unanswered one (each is a round). Upholding, or adjusting where the
  dispute is (a new value on the disputed indicator, or on one indicator of the disputed
  dimension, source or total: ``services.result_adjustments``, which computes the result
  again, audited, re-ranked, version + 1), needs a written reason; the appellant is told,
  and gets the updated result, with the line saying what changed and why.
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

from domain.enums import AppealStatus, CyclePhase
from domain.text import Html, html_format
from infra.i18n import N_, Translator
from infra.models import Appeal, Cycle, OrgUnit, Result, Staff
from scoring import Adjustment
from services import appeal_texts as tx
from services import cases, results
from services.access import Actor
from services.appeal_targets import Levels, indicator_names, targets
from services.appeal_targets import target_detail as target_detail  # for the tests
from services.appeal_texts import ADJUSTED, UPHELD, AppealView
from services.cases import Env, Notice, Refused, Transition
from services.errors import DomainError
from services.notices import Localization
from services.official_calendar import calendar, warn_unofficial
from services.result_adjustments import adjust as adjusted
from services.result_adjustments import adjustable, current, source_of
from services.result_notices import push_result

Status = AppealStatus
DEFAULT_DECISION_DAYS: Final = 10  # working days the working group has to decide
REMIND_DAYS: Final = 2  # remind the working group this many working days before the deadline
MAX_TEXT: Final = 2000  # reasons, questions, answers and decision reasons
MAX_REASON: Final = MAX_TEXT
MAX_EVIDENCE: Final = 10
EVIDENCE_KINDS: Final = ("photo", "document")

OWN_APPEAL = N_(
    "You cannot handle your own appeal; another member of the working group takes care of it."
)
NOT_YOURS = N_("This result is not yours; you can appeal only your own result.")
NOT_FOUND = N_("This appeal does not exist or is not yours.")
ONLY_ADMINS = cases.ONLY_ADMINS
DECIDED_ALREADY = N_("This appeal has already been decided.")
NO_QUESTION = N_("There is no open question on this appeal.")


APPELLANT = cases.staff_of("the appellant", lambda a: a.staff_id, NOT_FOUND)
DECIDERS = cases.WORKING_GROUP.but_not(APPELLANT, OWN_APPEAL)
UNDECIDED = frozenset({Status.OPEN, Status.QUESTION})
ASKED = frozenset({Status.QUESTION})
APPELLANT_CHAT = cases.owner(lambda step: step.view.appeal.staff_id)
OPEN_IT = cases.button(N_("Open"), "appeal.open")

# fmt: off
N = Notice[AppealView]
#          to              text               dedupe key                      button
FILED    = N(cases.group,    tx.new_text,       "appeal-new:{id}:{chat}",       OPEN_IT)
QUESTION = N(APPELLANT_CHAT, tx.question_text,  "appeal-q:{id}:{round}",        cases.button(N_("✍️ Answer"), "appeal.answer"))
ANSWERED = N(cases.group,    tx.answered_text,  "appeal-a:{id}:{round}:{chat}", OPEN_IT)
DECIDED  = N(APPELLANT_CHAT, tx.decision_text,  "appeal-decided:{id}")
DUE      = N(cases.group,    tx.reminder_text,  "appeal-remind:{id}:{chat}",    OPEN_IT)
# fmt: on

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


class WindowClosed(DomainError):
    """The appeal window of the cycle is over (or was never opened); nothing is stored."""

    def __init__(self, cycle: Cycle, now: dt.datetime) -> None:
        ended = cycle.appeals_until is not None and now > cycle.appeals_until
        self.until = cycle.appeals_until if ended else None
        if self.until is not None:
            msg = N_(
                "The appeal period for the {period} results ended on {date}. Appeals can no longer be filed."
            )
        elif cycle.phase == CyclePhase.CLOSED:
            msg = N_(
                "The appeal period for the {period} results is over. Appeals can no longer be filed."
            )
        else:
            msg = N_("Appeals against the {period} results are not open.")
        date = self.until.isoformat() if self.until else ""
        super().__init__(msg, period=cycle.period, date=date)

    def _params(self, tr: Translator, codes: bool = False) -> dict[str, Any]:
        params = self.localized(tr, codes=codes)
        return {**params, "date": tr.date(self.until)} if self.until else params

    def render(self, tr: Translator) -> Html:
        return html_format(tr._(self.message), **self._params(tr))

    def plain(self, tr: Translator, *, codes: bool = False) -> str:
        return tr._(self.message).format(**self._params(tr, codes))


class AlreadyOpen(DomainError):
    """The person has an appeal of this cycle that is not decided yet."""

    def __init__(self, appeal: Appeal, period: str) -> None:
        msg = N_(
            "You already have an appeal being handled for {period} (#{id}). Please wait for its decision; you will be told here."
        )
        super().__init__(msg, period=period, id=appeal.id)


def _points(raw: str) -> Decimal | None:
    """``86.5``, ``８６．５分``: 0–100 with at most two decimals, else None."""
    raw = raw.removesuffix("分").strip()
    try:
        value = Decimal(raw.replace(",", ".").replace("。", "."))
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or not 0 <= value <= 100 or value != value.quantize(Decimal("0.01")):
        return None
    return value.quantize(Decimal("0.01"))


def parse_points(text: str | None, levels: Levels | None = None) -> Decimal:
    """The new value the working group sets on an indicator: a number from 0 to 100 (at most
    two decimals), or one of the indicator's ``levels`` by its label (Chinese or English)."""
    raw = unicodedata.normalize("NFKC", text or "").strip()
    if (value := _points(raw)) is not None:
        return value
    for label, label_en, points in levels or ():
        if raw.casefold() in {
            unicodedata.normalize("NFKC", x or "").casefold() for x in (label, label_en) if x
        }:
            return Decimal(str(points)).quantize(Decimal("0.01"))
    if levels:
        raise DomainError(
            N_(
                "Please type the new score as a number from 0 to 100 (for example 86.5), or tap one of the levels."
            )
        )
    raise DomainError(N_("Please type the new score as a number from 0 to 100, for example 86.5."))


async def open_appeal(session: AsyncSession, cycle_id: int, staff_id: int) -> Appeal | None:
    """The person's appeal of this cycle that is not decided yet, if any."""
    return await session.scalar(
        select(Appeal).where(
            Appeal.cycle_id == cycle_id,
            Appeal.staff_id == staff_id,
            Appeal.status != Status.DECIDED,
        )
    )


async def appealable(
    session: AsyncSession, result_id: int, *, staff_id: int | None, now: dt.datetime
) -> tuple[Result, Cycle]:
    """The result and its cycle if ``staff_id`` may appeal it now; else ``Refused`` (not
    theirs, or not published), ``WindowClosed`` or ``AlreadyOpen``."""
    result = await session.get(Result, result_id)
    if result is None or staff_id is None or result.staff_id != staff_id or not result.published_at:
        raise Refused(NOT_YOURS)
    cycle = await session.get(Cycle, result.cycle_id)
    assert cycle is not None
    until = cycle.appeals_until
    if cycle.phase not in (CyclePhase.PUBLISHED, CyclePhase.APPEALS) or not until or now > until:
        raise WindowClosed(cycle, now)
    if (existing := await open_appeal(session, cycle.id, staff_id)) is not None:
        raise AlreadyOpen(existing, cycle.period)
    return result, cycle


async def load(session: AsyncSession, appeal_id: int) -> AppealView:
    appeal = await session.get(Appeal, appeal_id)
    result = await session.get(Result, appeal.result_id) if appeal else None
    cycle = await session.get(Cycle, appeal.cycle_id) if appeal else None
    if appeal is None or result is None or cycle is None:
        raise Refused(NOT_FOUND)
    staff = await session.get(Staff, appeal.staff_id)
    unit = await session.get(OrgUnit, result.unit_id)
    names = await indicator_names(session, result)
    return AppealView(
        appeal, result, cycle, staff.name if staff else "", unit.name if unit else "", names
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
    env: Env | None = None,
) -> Appeal:
    """File the appeal, due for a decision by the end of the ``decision_days``-th working day;
    refused (nothing stored) as ``appealable`` says. The working group is told."""
    result, cycle = await appealable(session, result_id, staff_id=staff_id, now=now)
    if target not in targets(result.breakdown or {}):
        raise DomainError(N_("Please choose what you dispute with the buttons."))
    files = [
        {str(k): str(v) for k, v in e.items()}
        for e in evidence[:MAX_EVIDENCE]
        if isinstance(e, dict) and e.get("kind") in EVIDENCE_KINDS and e.get("file_id")
    ]
    env = env or Env(admin_ids, tz=tz)
    cal = await calendar(session)
    appeal = Appeal(
        cycle_id=cycle.id,
        staff_id=staff_id,
        result_id=result.id,
        target=target,
        reason=cases.check_text(reason, MAX_REASON),
        evidence=files,
        status=Status.OPEN,
        deadline=cal.add_working_days(now, decision_days, tz),
        created_at=now,
    )
    await session.flush()
    try:
        async with session.begin_nested():
            session.add(appeal)
    except IntegrityError:  # a concurrent transaction filed one between our check and insert
        if (existing := await open_appeal(session, cycle.id, staff_id)) is not None:
            raise AlreadyOpen(existing, cycle.period) from None
        raise
    detail = {
        "result": result.id,
        "cycle": cycle.period,
        "target": target,
        "evidence": len(files),
        "deadline": appeal.deadline.isoformat(),
        "decision_days": decision_days,
        "total": str(result.total),
    }
    actor = Actor(0, await session.get(Staff, staff_id))
    view = await load(session, appeal.id)
    await cases.apply(session, APPEAL, "file", view, actor=actor, at=now, env=env, detail=detail)
    local = Localization(env.locale, env.tz)
    await warn_unofficial(session, cal, [appeal.deadline], admin_ids=env.admin_ids, local=local)
    return appeal


async def _checked(
    session: AsyncSession, name: str, appeal_id: int, text: str, actor: Actor
) -> tuple[AppealView, str]:
    """The case and the checked text, if the actor may take transition ``name`` now."""
    view = await load(session, appeal_id)
    cases.check(APPEAL, name, view, actor)
    return view, cases.check_text(text, MAX_TEXT)


async def ask(
    session: AsyncSession, appeal_id: int, text: str, *, actor: Actor, now: dt.datetime, env: Env
) -> Appeal:
    """The working group asks the appellant something; a new question replaces one unanswered."""
    view, text = await _checked(session, "ask", appeal_id, text, actor)
    if not await cases.accounts(session, [view.appeal.staff_id]):
        raise DomainError(
            N_("The appellant has no linked Telegram account, so the question cannot be sent.")
        )
    await cases.apply(
        session, APPEAL, "ask", view, actor=actor, at=now, env=env,
        changes={"question": text, "answer": None}, detail={"question": text}, text=text,
    )  # fmt: skip
    return view.appeal


async def answer(
    session: AsyncSession, appeal_id: int, text: str, *, actor: Actor, now: dt.datetime, env: Env
) -> Appeal:
    """The appellant answers the working group's question; the group is told."""
    view, text = await _checked(session, "answer", appeal_id, text, actor)
    await cases.apply(
        session, APPEAL, "answer", view, actor=actor, at=now, env=env,
        changes={"answer": text}, detail={"answer": text}, text=text,
    )  # fmt: skip
    return view.appeal


def _decided(actor: Actor, decision: str, reason: str, now: dt.datetime) -> dict[str, Any]:
    """The appeal's own fields set by a decision."""
    by = actor.telegram_id
    return {"decision": decision, "decision_reason": reason, "decided_by": by, "decided_at": now}


async def uphold(
    session: AsyncSession, appeal_id: int, text: str, *, actor: Actor, now: dt.datetime, env: Env
) -> Appeal:
    """The result stands; the reason is required and told to the appellant."""
    view, reason = await _checked(session, "uphold", appeal_id, text, actor)
    total, grade = str(view.result.total), view.result.grade.value
    detail = {"decision": UPHELD, "reason": reason, "result": view.result.id, "total": total}
    await cases.apply(
        session, APPEAL, "uphold", view, actor=actor, at=now, env=env,
        changes=_decided(actor, UPHELD, reason, now), detail={**detail, "grade": grade},
    )  # fmt: skip
    return view.appeal


def _version(r: Result) -> dict[str, Any]:
    return {"total": str(r.total), "grade": r.grade.value, "version": r.version}


async def adjust_score(
    session: AsyncSession,
    appeal_id: int,
    text: str,
    *,
    indicator: str,
    points: Decimal | str,
    actor: Actor,
    now: dt.datetime,
    env: Env,
) -> Appeal:
    """Set ``points`` on the disputed indicator (of the disputed source, if a source is
    disputed) and compute the result again (``services.result_adjustments``: audited,
    re-ranked, version + 1); decide the appeal, and push the decision and the updated result."""
    view, reason = await _checked(session, "adjust", appeal_id, text, actor)
    result, before = view.result, _version(view.result)
    if indicator not in adjustable(result.breakdown or {}, view.appeal.target):
        raise DomainError(N_("Please choose the indicator to change with the buttons."))
    change = Adjustment(indicator, parse_points(str(points)), source_of(view.appeal.target))
    if current(result.breakdown or {}, change.indicator, change.source) == change.points:
        raise DomainError(
            N_(
                "The new score is the same as the current one. To keep the result, uphold it instead."
            )
        )
    name, name_en = view.names.get(indicator, (indicator, None))
    entry = await adjusted(
        session, result, change=change, reason=reason, label={"name": name, "name_en": name_en},
        actor_telegram_id=actor.telegram_id, now=now, tz=env.tz,
    )  # fmt: skip
    detail = {"decision": ADJUSTED, "reason": reason, "result": result.id, "before": before}
    change_detail = {k: entry[k] for k in ("indicator", "source", "old", "points")}
    await cases.apply(
        session, APPEAL, "adjust", view, actor=actor, at=now, env=env,
        changes=_decided(actor, ADJUSTED, reason, now),
        detail={**detail, "change": change_detail, "after": _version(result)},
        old_total=Decimal(before["total"]), change=entry,
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
    env: Env | None = None,
) -> int:
    """Remind the working group, once per appeal, of a decision due within ``days`` working
    days (by the end of the ``days``-th working day after today) or already overdue."""
    env = env or Env(admin_ids, tz=tz)
    within = (await calendar(session)).add_working_days(now, days, tz)
    due = list(
        await session.scalars(
            select(Appeal)
            .where(
                Appeal.status != Status.DECIDED,
                Appeal.reminded_at.is_(None),
                Appeal.deadline <= within,
            )
            .order_by(Appeal.deadline, Appeal.id)
        )
    )
    notified = len(await cases.working_group(session, env)) if due else 0
    for appeal in due:
        deadline, overdue = appeal.deadline.isoformat(), appeal.deadline < now
        await cases.apply(
            session, APPEAL, "remind", await load(session, appeal.id), actor=None, at=now, env=env,
            changes={"reminded_at": now},
            detail={"deadline": deadline, "overdue": overdue, "notified": notified},
        )  # fmt: skip
    return len(due)
