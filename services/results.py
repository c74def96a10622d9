"""Scoring a cycle into the database, the leadership's 審定, publishing, and later adjustments.

Nothing is published before the 組長 approves (or a configured quorum of the
leadership group); after publishing, scores change only through appeal decisions
(``adjust``), each audited; a full re-score of a published cycle is refused.
Every push (results, review requests) is queued in the outbox in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import (
    AssignmentStatus,
    CyclePhase,
    Dimension,
    Grade,
    ResponseStatus,
    Role,
    Source,
)
from domain.template import Target, Template
from domain.text import N_
from infra.models import (
    Answer,
    Assignment,
    Cycle,
    Result,
    ResultReview,
    RoleGrant,
    Staff,
    SurveyAnswer,
    SurveyResponse,
    TelegramAccount,
    TemplateVersion,
)
from scoring import (
    Form,
    NothingToScore,
    ScoringOptions,
    grade_for,
    integrity_signals,
    rank,
    rank_within,
    score_subject,
    to_dict,
    weakest_dimension,
)
from services.audit import audit
from services.cycles import lock
from services.errors import DomainError
from services.notices import DEFAULTS, Localization
from services.plans import open_plans_for
from services.ratings import period_bounds, subjects_of
from services.result_notices import push_result, push_unit_summary, review_request, review_returned
from services.workdays import add_working_days

PUBLISHED = (CyclePhase.PUBLISHED, CyclePhase.APPEALS, CyclePhase.CLOSED)


async def template_of(session: AsyncSession, cycle: Cycle) -> Template:
    version = await session.get(TemplateVersion, cycle.template_id)
    assert version is not None
    return Template.from_dict(version.content)


async def score_cycle(
    session: AsyncSession,
    cycle: Cycle,
    *,
    tz: dt.tzinfo,
    now: dt.datetime,
    options: ScoringOptions | None = None,
    actor_label: str = "",
    actor_telegram_id: int | None = None,
) -> int:
    """Compute every result of the cycle into the database; the same data gives the same rows."""
    # The row lock first: a change committed before it is read below, one after it marks
    # these results stale (services.cycles.touch).
    await lock(session, cycle)
    if cycle.phase in PUBLISHED:
        raise DomainError(
            N_("The results of {period} are published; they change only through appeal decisions."),
            period=cycle.period,
        )
    if cycle.phase in (CyclePhase.PREPARING,):
        raise DomainError(
            N_("The cycle {period} has not collected any answers yet."), period=cycle.period
        )
    if cycle.phase == CyclePhase.COLLECTING:
        raise DomainError(
            N_("The cycle {period} is still collecting answers; close it first."),
            period=cycle.period,
        )
    options = options or ScoringOptions()
    template = await template_of(session, cycle)
    subjects = await subjects_of(session, cycle, tz=tz)
    await session.execute(delete(Result).where(Result.cycle_id == cycle.id))
    scores = {}
    unscored = 0
    for key, subject in subjects.items():
        try:
            scores[key] = score_subject(
                template,
                target=Target.UNIT if subject.is_unit else Target.PERSON,
                unit=subject.unit_name,
                ratings=subject.ratings,
                options=options,
            )
        except NothingToScore:
            unscored += 1  # no submitted answer at all: no score, rather than a score of 0
    people = {k: s.total for k, s in scores.items() if k.startswith("p:")}
    overall = rank(people)
    in_unit = rank_within(people, {k: subjects[k].unit_id for k in people})
    unit_rank = rank({k: s.total for k, s in scores.items() if k.startswith("u:")})
    for key, score in scores.items():
        subject = subjects[key]
        session.add(
            Result(
                cycle_id=cycle.id,
                subject_key=key,
                staff_id=subject.staff_id,
                unit_id=subject.unit_id,
                total=score.total,
                grade=score.grade,
                rank_in_unit=in_unit.get(key),
                rank_overall=overall.get(key, unit_rank.get(key)),
                bonus_coefficient=options.bonus_coefficients[score.grade]
                if not subject.is_unit
                else None,
                weakest=weakest_dimension(score),
                breakdown=to_dict(score),
            )
        )
    cycle.phase = CyclePhase.SCORING
    cycle.scored_at = now
    cycle.scored_revision = cycle.revision
    await audit(
        session,
        "cycle.score",
        actor_label=actor_label,
        actor_telegram_id=actor_telegram_id,
        object_type="cycle",
        object_id=cycle.period,
        detail={"results": len(scores), "unscored": unscored, "revision": cycle.revision},
        at=now,
    )
    return len(scores)


async def results_of(session: AsyncSession, cycle: Cycle) -> list[Result]:
    return list(
        await session.scalars(
            select(Result)
            .where(Result.cycle_id == cycle.id)
            .order_by(Result.total.desc(), Result.id)
        )
    )


def distribution(results: list[Result]) -> Counter[Grade]:
    return Counter(r.grade for r in results if r.staff_id is not None)


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


def is_fresh(cycle: Cycle) -> bool:
    """The stored results were computed after the last change to answers or phase."""
    return cycle.scored_at is not None and cycle.scored_revision == cycle.revision


def require_fresh(cycle: Cycle, *, scored_revision: int | None = None) -> None:
    """Refuse stale results, and results other than those shown (``scored_revision``)."""
    if not is_fresh(cycle) or scored_revision not in (None, cycle.scored_revision):
        raise DomainError(
            N_(
                "The results of {period} were computed before later changes to the answers or the cycle. Please score again (/score {period} in the chat, or jixiao cycle score {period}) and send the new results."
            ),
            period=cycle.period,
        )


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
) -> bool:
    """A leadership member approves or sends back; returns True when the cycle got published.

    Publishing needs the 组长's approval, or ``quorum`` approvals of the group (0 = 组长 only).
    ``round_`` is the review round the member was looking at (from the button or the
    pending comment): a decision about an earlier round never applies to a later one.
    ``plan_threshold`` and ``local`` are passed on to ``publish``.
    """
    roles = set(await session.scalars(select(RoleGrant.role).where(RoleGrant.staff_id == staff_id)))
    if not roles & {Role.LEADER_CHIEF, Role.LEADER_DEPUTY, Role.LEADER_MEMBER}:
        raise DomainError(N_("Only members of the leadership group can approve results."))
    await lock(session, cycle)
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
            local=local,
        )
        return True
    return False


async def publish(
    session: AsyncSession,
    cycle: Cycle,
    *,
    now: dt.datetime,
    appeal_days: int = 5,
    plan_threshold: float | None = None,
    local: Localization = DEFAULTS,
) -> int:
    """Tell every person and unit head their result (message and chart), in this transaction.

    The appeal window counts ``appeal_days`` working days in the bureau's time zone
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
    cycle.appeals_until = add_working_days(now, appeal_days, local.tz)
    results = await results_of(session, cycle)
    for result in results:
        result.published_at = now
    averages = unit_averages(results)
    pushed = 0
    for result in results:
        if result.staff_id is not None:
            pushed += await push_result(
                session, cycle, result, averages.get(result.unit_id), local=local
            )
        else:
            pushed += await push_unit_summary(session, cycle, result, results, local=local)
    await audit(
        session,
        "cycle.publish",
        object_type="cycle",
        object_id=cycle.period,
        detail={"results": len(results)},
        at=now,
    )
    await open_plans_for(
        session,
        cycle,
        results,
        now=now,
        threshold=Decimal(str(plan_threshold)) if plan_threshold is not None else None,
    )
    return pushed


def dimension_scores(result: Result) -> dict[Dimension, Decimal]:
    return {
        Dimension(d["dimension"]): Decimal(d["score"])
        for d in result.breakdown.get("dimensions", [])
        if d.get("score") is not None
    }


def unit_averages(results: list[Result]) -> dict[int, dict[Dimension, Decimal]]:
    """Each unit's average dimension scores over its people (the chart's comparison line)."""
    sums: dict[int, dict[Dimension, list[Decimal]]] = {}
    for r in results:
        if r.staff_id is None:
            continue
        for d, v in dimension_scores(r).items():
            sums.setdefault(r.unit_id, {}).setdefault(d, []).append(v)
    return {
        u: {d: (sum(vs, Decimal(0)) / len(vs)).quantize(Decimal("0.01")) for d, vs in dims.items()}
        for u, dims in sums.items()
    }


async def rerank(session: AsyncSession, cycle: Cycle) -> None:
    """Ranks after an adjustment: within each unit and across the bureau."""
    results = await results_of(session, cycle)
    people = {r.subject_key: r.total for r in results if r.staff_id is not None}
    overall = rank(people)
    in_unit = rank_within(
        people, {r.subject_key: r.unit_id for r in results if r.staff_id is not None}
    )
    for r in results:
        if r.staff_id is not None:
            r.rank_overall = overall[r.subject_key]
            r.rank_in_unit = in_unit[r.subject_key]


async def adjust(
    session: AsyncSession,
    result: Result,
    *,
    total: Decimal,
    reason: str,
    actor_telegram_id: int | None,
    now: dt.datetime,
    options: ScoringOptions | None = None,
    source: str = "appeal",
) -> Result:
    """Change a published score (appeal decisions only), audited with old, new and why."""
    options = options or ScoringOptions()
    if not reason.strip():
        raise DomainError(N_("Please give the reason for the change."))
    total = Decimal(total).quantize(Decimal("0.01"))
    if not Decimal(0) <= total <= Decimal(100):
        raise DomainError(N_("Please enter a score from 0 to 100, or tap one of the buttons."))
    old: dict[str, Any] = {
        "total": str(result.total),
        "grade": result.grade.value,
        "version": result.version,
    }
    result.total = total
    result.grade = grade_for(total, options.bands)
    if result.staff_id is not None:
        result.bonus_coefficient = options.bonus_coefficients[result.grade]
    result.version += 1
    notes = list(result.breakdown.get("adjustments", []))
    notes.append(
        {
            "at": now.isoformat(),
            "from": old["total"],
            "to": str(total),
            "reason": reason.strip(),
            "by": source,
        }
    )
    result.breakdown = {**result.breakdown, "adjustments": notes}
    cycle = await session.get(Cycle, result.cycle_id)
    assert cycle is not None
    await rerank(session, cycle)
    await audit(
        session,
        "result.adjust",
        actor_telegram_id=actor_telegram_id,
        object_type="result",
        object_id=str(result.id),
        detail={
            "old": old,
            "new": {"total": str(total), "grade": result.grade.value, "version": result.version},
            "reason": reason.strip(),
        },
        at=now,
    )
    return result


async def history(session: AsyncSession, staff_id: int) -> list[tuple[Cycle, Result]]:
    rows = await session.execute(
        select(Cycle, Result)
        .join(Result, Result.cycle_id == Cycle.id)
        .where(Result.staff_id == staff_id, Result.published_at.is_not(None))
        .order_by(Cycle.id)
    )
    return [(c, r) for c, r in rows]


async def integrity(session: AsyncSession, cycle: Cycle, *, tz: dt.tzinfo) -> list[Any]:
    """Patterns worth a look for the working group (flagged, never excluded automatically).

    Raters appear as ``p:<staff id>`` and citizens as ``c:<respondent key>``; the caller
    shows names to the working group only, never to the rated person.
    """
    forms: list[Form] = []
    submitted = {
        a.id: a
        for a in await session.scalars(
            select(Assignment).where(
                Assignment.cycle_id == cycle.id,
                Assignment.active.is_(True),
                Assignment.status == AssignmentStatus.SUBMITTED,
            )
        )
    }
    answers: dict[int, dict[str, Decimal]] = defaultdict(dict)
    if submitted:
        for assignment_id, item, points in await session.execute(
            select(Answer.assignment_id, Answer.item, Answer.points).where(
                Answer.assignment_id.in_(list(submitted)), Answer.points.is_not(None)
            )
        ):
            answers[assignment_id][item] = Decimal(str(points))
    for aid, a in submitted.items():
        if answers.get(aid):
            forms.append(
                Form(
                    rater=f"p:{a.rater_staff_id}",
                    ratee=a.ratee_key,
                    source=a.source,
                    answers=answers[aid],
                )
            )
    start, end = period_bounds(cycle, tz)
    citizen: dict[int, tuple[str, str, dict[str, Decimal]]] = {}
    for rid, key, target, question, points in await session.execute(
        select(
            SurveyResponse.id,
            SurveyResponse.respondent_key,
            SurveyResponse.target_key,
            SurveyAnswer.question,
            SurveyAnswer.points,
        )
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .where(
            SurveyResponse.status == ResponseStatus.COMPLETE,
            SurveyResponse.completed_at >= start,
            SurveyResponse.completed_at < end,
        )
    ):
        entry = citizen.setdefault(rid, (f"c:{key[:12]}", target.replace("s:", "p:"), {}))
        entry[2][question] = Decimal(str(points))
    forms += [
        Form(rater=r, ratee=t, source=Source.CITIZEN, answers=a) for r, t, a in citizen.values()
    ]
    return list(integrity_signals(forms))
