"""Appeals with their decisions (五(四)3) and improvement plans with milestones (七(一))."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from infra.models import Appeal, Cycle, ImprovementPlan, PlanMilestone, Result, Staff
from services.cycle_facts.model import AppealFacts, MilestoneFacts, PlanFacts, Unit


async def load_appeals(
    session: AsyncSession, cycle: Cycle, units: Mapping[int, Unit]
) -> tuple[AppealFacts, ...]:
    """Every appeal of the cycle, oldest first; an adjusting decision with the totals it moved.

    A result keeps its adjustments in order (``services.result_adjustments``), so the n-th
    adjusting appeal decision of a result is its n-th appeal adjustment.
    """
    rows = (
        await session.execute(
            select(Appeal, Staff, Result)
            .join(Staff, Staff.id == Appeal.staff_id)
            .join(Result, Result.id == Appeal.result_id)
            .where(Appeal.cycle_id == cycle.id)
            .order_by(Appeal.created_at, Appeal.id)
        )
    ).all()
    entries = {
        r.id: [
            e
            for e in (r.breakdown or {}).get("adjustments") or []
            if e.get("by", "appeal") == "appeal"
        ]
        for _a, _s, r in rows
    }
    used: dict[int, int] = defaultdict(int)
    out = []
    for appeal, person, result in sorted(
        rows,
        key=lambda row: (row[0].decided_at or dt.datetime.max.replace(tzinfo=dt.UTC), row[0].id),
    ):
        before = after = None
        if appeal.decision == "adjusted":
            mine = entries[result.id]
            if used[result.id] < len(mine):
                entry = mine[used[result.id]]
                before, after = Decimal(entry["from"]), Decimal(entry["to"])
            used[result.id] += 1
        out.append(
            AppealFacts(
                id=appeal.id,
                staff_id=person.id,
                employee_no=person.employee_no,
                name=person.name,
                unit=units[person.unit_id].name,
                target=appeal.target,
                reason=appeal.reason,
                status=appeal.status,
                filed_at=appeal.created_at,
                deadline=appeal.deadline,
                decision=appeal.decision,
                decision_reason=appeal.decision_reason,
                decided_at=appeal.decided_at,
                total_before=before,
                total_after=after,
            )
        )
    return tuple(sorted(out, key=lambda a: a.id))


async def load_plans(
    session: AsyncSession, cycle: Cycle, units: Mapping[int, Unit], today: dt.date
) -> tuple[PlanFacts, ...]:
    plans = list(
        await session.scalars(
            select(ImprovementPlan)
            .where(ImprovementPlan.cycle_id == cycle.id)
            .order_by(ImprovementPlan.id)
        )
    )
    if not plans:
        return ()
    people = {s.id: s for s in await session.scalars(select(Staff))}
    milestones: dict[int, list[PlanMilestone]] = defaultdict(list)
    for m in await session.scalars(
        select(PlanMilestone)
        .join(ImprovementPlan, ImprovementPlan.id == PlanMilestone.plan_id)
        .where(ImprovementPlan.cycle_id == cycle.id)
        .order_by(PlanMilestone.due, PlanMilestone.id)
    ):
        milestones[m.plan_id].append(m)
    out = []
    for plan in plans:
        kind, _, ref = plan.subject_key.partition(":")
        if kind == "p":
            person = people[int(ref)]
            subject, unit = person.name, units[person.unit_id].name
        else:
            subject = unit = units[int(ref)].name
        approver = people.get(plan.approver_staff_id) if plan.approver_staff_id else None
        out.append(
            PlanFacts(
                id=plan.id,
                subject_key=plan.subject_key,
                subject=subject,
                unit=unit,
                status=plan.status,
                author=people[plan.author_staff_id].name,
                approver=approver.name if approver else None,
                goals=plan.goals,
                measures=plan.measures,
                responsible=plan.responsible,
                submitted_at=plan.submitted_at,
                approved_at=plan.approved_at,
                milestones=tuple(
                    MilestoneFacts(
                        due=m.due,
                        text=m.text,
                        progress=m.progress,
                        done_at=m.done_at,
                        overdue=m.done_at is None and m.due < today,
                    )
                    for m in milestones[plan.id]
                ),
            )
        )
    return tuple(out)
