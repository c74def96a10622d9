"""The leadership group's 審定 of scored results, and publishing them.

Scoring and later adjustments (``services.results``) only compute and change rows; this
module moves a scored cycle through approval: the working group sends fresh results to
the leadership group, each member approves or sends back (audited, per review round), and
the 組長's approval (or a configured quorum) publishes them, pushing every result and
opening the improvement plans in the same transaction. It exists apart so that the
approval rules and their pushes read in one place, away from the arithmetic of scoring.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import CyclePhase, Grade, Role
from domain.text import N_
from infra.models import Cycle, Result, ResultReview, RoleGrant, Staff, TelegramAccount
from services import result_push
from services.approval_copies import (
    RESULTS_APPROVED,
    RESULTS_SENT_BACK,
    AlreadyDecided,
    Decided,
    retire,
    review_key,
)
from services.audit import audit
from services.cycles import lock
from services.errors import DomainError
from services.integrity_text import staff_names
from services.notices import DEFAULTS, Localization
from services.official_calendar import calendar, warn_unofficial
from services.plans import open_plans_for
from services.result_notices import review_request, review_returned
from services.results import integrity, is_fresh, require_fresh, results_of


async def leadership(session: AsyncSession) -> list[tuple[int, int, str | None, Role]]:
    """(staff id, telegram id, language, role) of every bound leadership-group member."""
    rows = await session.execute(
        select(Staff.id, TelegramAccount.telegram_id, TelegramAccount.language, RoleGrant.role)
        .join(RoleGrant, RoleGrant.staff_id == Staff.id)
        .join(TelegramAccount, TelegramAccount.staff_id == Staff.id)
        .where(
            Staff.active.is_(True),
            RoleGrant.role.in_([Role.LEADER_CHIEF, Role.LEADER_DEPUTY, Role.LEADER_MEMBER]),
        )
    )
    return [(int(a), int(b), c, d) for a, b, c, d in rows]


async def send_for_review(
    session: AsyncSession,
    cycle: Cycle,
    *,
    now: dt.datetime,
    actor_label: str,
    actor_telegram_id: int | None = None,
    scored_revision: int | None = None,
    excellent_quota: int = 0,
    local: Localization = DEFAULTS,
) -> int:
    """The working group hands the scored cycle to the leadership group (审定).

    Only results computed after the last change go; ``scored_revision`` (from the button
    under the results shown) must also name the results now stored. ``excellent_quota``
    (``Settings.excellent_quota``) adds a preview line to the request.
    """
    await lock(session, cycle)
    if cycle.phase == CyclePhase.REVIEW:  # a second press, or another member was quicker
        raise DomainError(
            N_("The results of {period} are already with the leadership group for approval."),
            period=cycle.period,
        )
    if cycle.phase != CyclePhase.SCORING or cycle.scored_at is None:
        raise DomainError(N_("Score the cycle {period} first."), period=cycle.period)
    require_fresh(cycle, scored_revision=scored_revision)
    # Nothing to approve, or nobody to approve it: refuse rather than leave the cycle
    # waiting in 审定 with no way back (it could no longer be extended).
    if not await session.scalar(select(func.count(Result.id)).where(Result.cycle_id == cycle.id)):
        raise DomainError(
            N_("No results were computed for {period}, so there is nothing to approve."),
            period=cycle.period,
        )
    leaders = await leadership(session)
    if not leaders:
        raise DomainError(
            N_(
                "No member of the leadership group has linked a Telegram account yet, so nobody could approve the results of {period}. Hand out their invite codes, then send the results again."
            ),
            period=cycle.period,
        )
    cycle.phase = CyclePhase.REVIEW
    cycle.review_round += 1
    found = await results_of(session, cycle)
    signals = await integrity(session, cycle, tz=local.tz)  # once for every leader's request
    names = await staff_names(session)
    sent = 0
    for _staff_id, telegram_id, language, _role in leaders:
        if await review_request(
            session,
            cycle,
            telegram_id,
            language,
            results=found,
            quota=excellent_quota,
            local=local,
            signals=signals,
            names=names,
        ):
            sent += 1
    await audit(
        session,
        "cycle.review_request",
        actor_label=actor_label,
        actor_telegram_id=actor_telegram_id,
        object_type="cycle",
        object_id=cycle.period,
        detail={"round": cycle.review_round},
        at=now,
    )
    return sent


async def review(
    session: AsyncSession,
    cycle: Cycle,
    *,
    staff_id: int,
    approve: bool,
    comment: str,
    now: dt.datetime,
    quorum: int = 0,
    appeal_days: int = 5,
    admin_ids: frozenset[int] | None = frozenset(),
    round_: int | None = None,
    plan_threshold: float | None = None,
    local: Localization = DEFAULTS,
    decider_chat: int | None = None,
) -> bool:
    """A leadership member approves or sends back; returns True when the cycle got published.

    Publishing needs the 组长's approval, or ``quorum`` approvals of the group (0 = 组长 only).
    ``round_`` is the review round the member was looking at (from the button or the
    pending comment): a decision about an earlier round never applies to a later one.
    ``plan_threshold`` and ``local`` are passed on to ``publish``. Once decided, every copy
    of the request is edited to say so, but the one in ``decider_chat`` (the message whose
    button was tapped, which the decider's own screen replaces).
    """
    roles = set(await session.scalars(select(RoleGrant.role).where(RoleGrant.staff_id == staff_id)))
    if not roles & {Role.LEADER_CHIEF, Role.LEADER_DEPUTY, Role.LEADER_MEMBER}:
        raise DomainError(N_("Only members of the leadership group can approve results."))
    await lock(session, cycle)
    target = cycle.review_round if round_ is None else round_
    decided = await review_decision(session, cycle, target)
    newer = cycle.phase == CyclePhase.REVIEW and target != cycle.review_round
    if decided is not None and not newer:  # a stale copy, or another member was quicker
        raise AlreadyDecided(decided)
    if cycle.phase != CyclePhase.REVIEW:
        raise DomainError(
            N_("The results of {period} are not waiting for approval."), period=cycle.period
        )
    if round_ is not None and round_ != cycle.review_round:
        raise DomainError(
            N_(
                "The results of {period} you were looking at have since been replaced by a new submission. Please decide on the new one."
            ),
            period=cycle.period,
        )
    if approve and not is_fresh(cycle):
        raise DomainError(
            N_(
                "The results of {period} changed after they were computed; the working group must score them again before they can be approved."
            ),
            period=cycle.period,
        )
    if not approve and not comment.strip():
        raise DomainError(N_("Please say why the results are sent back."))
    session.add(
        ResultReview(
            cycle_id=cycle.id,
            staff_id=staff_id,
            round=cycle.review_round,
            approved=approve,
            comment=comment.strip(),
            at=now,
        )
    )
    await audit(
        session,
        "cycle.review",
        actor_staff_id=staff_id,
        object_type="cycle",
        object_id=cycle.period,
        detail={"approved": approve, "comment": comment.strip(), "round": cycle.review_round},
        at=now,
    )
    if not approve:
        cycle.phase = CyclePhase.SCORING
        await review_returned(session, cycle, comment.strip(), admin_ids, local=local)
        await _retire_copies(session, cycle, keep_chat=None, local=local)
        return False
    await session.flush()
    approvals = await session.scalar(
        select(func.count(func.distinct(ResultReview.staff_id))).where(
            ResultReview.cycle_id == cycle.id,
            ResultReview.round == cycle.review_round,
            ResultReview.approved.is_(True),
        )
    )
    if Role.LEADER_CHIEF in roles or (quorum and (approvals or 0) >= quorum):
        await publish(
            session,
            cycle,
            now=now,
            appeal_days=appeal_days,
            plan_threshold=plan_threshold,
            admin_ids=admin_ids,
            local=local,
        )
        await _retire_copies(session, cycle, keep_chat=decider_chat, local=local)
        return True
    return False


async def review_decision(session: AsyncSession, cycle: Cycle, round_: int) -> Decided | None:
    """Who decided review round ``round_`` of ``cycle``, and how, if it is decided: a send-back
    ends a round, and so does the approval that published the results (the last one)."""
    sent_back = await session.execute(
        select(Staff.name, ResultReview.at)
        .join(Staff, Staff.id == ResultReview.staff_id)
        .where(
            ResultReview.cycle_id == cycle.id,
            ResultReview.round == round_,
            ResultReview.approved.is_(False),
        )
        .order_by(ResultReview.id)
        .limit(1)
    )
    row = sent_back.first()
    if row is not None:
        return Decided(RESULTS_SENT_BACK, row[0], row[1], params=(("period", cycle.period),))
    if cycle.published_at is None or round_ != cycle.review_round:
        return None
    approved = await session.execute(
        select(Staff.name, ResultReview.at)
        .join(Staff, Staff.id == ResultReview.staff_id)
        .where(
            ResultReview.cycle_id == cycle.id,
            ResultReview.round == round_,
            ResultReview.approved.is_(True),
        )
        .order_by(ResultReview.id.desc())
        .limit(1)
    )
    row = approved.first()
    if row is None:
        return None
    return Decided(RESULTS_APPROVED, row[0], row[1], params=(("period", cycle.period),))


async def _retire_copies(
    session: AsyncSession, cycle: Cycle, *, keep_chat: int | None, local: Localization
) -> None:
    """The round is decided: every other copy of its request says so, without buttons."""
    await session.flush()
    decided = await review_decision(session, cycle, cycle.review_round)
    if decided is not None:
        await retire(
            session,
            review_key(cycle.id, cycle.review_round),
            decided,
            keep_chat=keep_chat,
            local=local,
        )


async def publish(
    session: AsyncSession,
    cycle: Cycle,
    *,
    now: dt.datetime,
    appeal_days: int = 5,
    plan_threshold: float | None = None,
    admin_ids: frozenset[int] | None = frozenset(),
    local: Localization = DEFAULTS,
) -> int:
    """Publish the cycle's results and tell every person and unit head theirs (message and
    chart): in this transaction up to ``result_push.CHUNK`` results; beyond that the cycle's
    ``push_cursor`` is set and ``result_push.push_pending`` tells them in short transactions
    after this one commits. Returns how many results are told here.

    The results become visible to their people here, all at once (``published_at``). The
    appeal window counts ``appeal_days`` working days in the bureau's time zone
    (``local.tz``); totals below ``plan_threshold`` need an improvement plan besides 不合格
    (both from ``Settings``).
    """
    await lock(session, cycle)
    if cycle.phase != CyclePhase.REVIEW:
        raise DomainError(
            N_("The results of {period} are not waiting for approval."), period=cycle.period
        )
    require_fresh(cycle)
    cycle.phase = CyclePhase.APPEALS
    cycle.published_at = now
    cal = await calendar(session)
    cycle.appeals_until = cal.add_working_days(now, appeal_days, local.tz)
    await warn_unofficial(session, cal, [cycle.appeals_until], admin_ids=admin_ids, local=local)
    await session.execute(
        update(Result).where(Result.cycle_id == cycle.id).values(published_at=now)
    )
    threshold = Decimal(str(plan_threshold)) if plan_threshold is not None else None
    poor = await session.scalars(
        select(Result).where(
            Result.cycle_id == cycle.id,
            or_(Result.grade == Grade.FAIL, Result.total < threshold)
            if threshold is not None
            else Result.grade == Grade.FAIL,
        )
    )
    # plans first: each result message says a plan is needed, with no separate push
    await open_plans_for(session, cycle, list(poor), now=now, threshold=threshold, told=True)
    count = int(
        await session.scalar(select(func.count(Result.id)).where(Result.cycle_id == cycle.id)) or 0
    )
    await audit(
        session,
        "cycle.publish",
        object_type="cycle",
        object_id=cycle.period,
        detail={"results": count},
        at=now,
    )
    cycle.push_cursor = 0
    if count > result_push.CHUNK:
        return 0  # told in chunks once this transaction commits
    await session.flush()
    summary = await result_push.totals(session, cycle.id)
    return await result_push.push_chunk(
        session, cycle, summary, local=local, size=result_push.CHUNK + 1
    )
