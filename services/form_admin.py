"""The working group's corrections to rating forms: reopening, reassigning, finding one.

Raters fill their forms through ``services.forms``; these are the admin's operations on
someone else's form (/reopen, /reassign in the chat, ``jixiao cycle reopen|reassign`` on the command line),
each audited and each refused once the cycle's results are published, since published
results change only through appeal decisions. They live apart from the form engine so
that what a rater may do and what the working group may do read separately.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import AssignmentStatus, CyclePhase
from domain.text import N_
from infra.models import Assignment, Cycle, Staff
from services.audit import audit
from services.cycles import UNPUBLISHED, touch
from services.errors import DomainError
from services.forms import SUMMARY


async def reopen(
    session: AsyncSession,
    assignment_id: int,
    *,
    actor_staff_id: int | None,
    actor_telegram_id: int | None,
    now: dt.datetime,
) -> None:
    """An admin reopens a submitted form (audited); results computed before are stale."""
    assignment = await session.get(Assignment, assignment_id)
    if assignment is None:
        raise DomainError(N_("No such form."))
    if assignment.status != AssignmentStatus.SUBMITTED:
        raise DomainError(
            N_("This form has not been submitted yet, so there is nothing to reopen.")
        )
    await _refuse_if_published(session, assignment.cycle_id)
    assignment.status = AssignmentStatus.OPEN
    assignment.submitted_at = None
    assignment.cursor = SUMMARY
    await touch(session, assignment.cycle_id)
    await audit(
        session,
        "form.reopen",
        actor_staff_id=actor_staff_id,
        actor_telegram_id=actor_telegram_id,
        object_type="assignment",
        object_id=str(assignment_id),
        at=now,
    )


async def reassign(
    session: AsyncSession,
    assignment_id: int,
    new_rater_staff_id: int,
    *,
    actor_staff_id: int | None,
    actor_telegram_id: int | None,
    now: dt.datetime,
) -> Assignment:
    """An absent reviewer's form goes to someone else (a fresh form; the old one is kept, inactive)."""
    old = await session.get(Assignment, assignment_id)
    if old is None or not old.active:
        raise DomainError(N_("No such form."))
    if new_rater_staff_id in (old.ratee_staff_id,):
        raise DomainError(N_("Nobody can rate themselves."))
    rater = await session.get(Staff, new_rater_staff_id)
    if rater is None or not rater.active:
        raise DomainError(N_("No active staff member with that employee number."))
    await _refuse_if_published(session, old.cycle_id)
    old.active = False
    new = Assignment(
        cycle_id=old.cycle_id,
        source=old.source,
        rater_staff_id=new_rater_staff_id,
        ratee_staff_id=old.ratee_staff_id,
        ratee_unit_id=old.ratee_unit_id,
        ratee_key=old.ratee_key,
    )
    session.add(new)
    await session.flush()
    await touch(session, old.cycle_id)
    await audit(
        session,
        "form.reassign",
        actor_staff_id=actor_staff_id,
        actor_telegram_id=actor_telegram_id,
        object_type="assignment",
        object_id=str(assignment_id),
        detail={"from": old.rater_staff_id, "to": new_rater_staff_id, "new": new.id},
        at=now,
    )
    return new


async def _refuse_if_published(session: AsyncSession, cycle_id: int) -> None:
    """Published results change only through appeal decisions, so their forms stay as they are."""
    cycle = await session.get(Cycle, cycle_id)
    if cycle is not None and cycle.phase not in UNPUBLISHED:
        raise DomainError(
            N_("The results of {period} are published; they change only through appeal decisions."),
            period=cycle.period,
        )


async def find_assignment(
    session: AsyncSession, *, rater_no: str, ratee_no: str, period: str | None = None
) -> Assignment:
    """The active form that ``rater_no`` fills about ``ratee_no`` (a person's employee number),
    in ``period`` or else the collecting cycle; self-assessment when both are the same person."""
    rater = await session.scalar(select(Staff).where(Staff.employee_no == rater_no))
    ratee = await session.scalar(select(Staff).where(Staff.employee_no == ratee_no))
    if rater is None or ratee is None:
        raise DomainError(
            N_("No staff member with employee number {employee_no}."),
            employee_no=rater_no if rater is None else ratee_no,
        )
    query = (
        select(Assignment)
        .join(Cycle, Cycle.id == Assignment.cycle_id)
        .where(
            Assignment.rater_staff_id == rater.id,
            Assignment.ratee_staff_id == ratee.id,
            Assignment.active.is_(True),
        )
        .order_by(Cycle.id.desc())
    )
    query = (
        query.where(Cycle.period == period)
        if period
        else query.where(Cycle.phase == CyclePhase.COLLECTING)
    )
    found = await session.scalar(query)
    if found is None:
        raise DomainError(
            N_("{rater} has no form about {ratee} in this cycle."),
            rater=rater.name,
            ratee=ratee.name,
        )
    return found


async def staff_id_of(session: AsyncSession, employee_no: str) -> int:
    found = await session.scalar(
        select(Staff.id).where(Staff.employee_no == employee_no, Staff.active.is_(True))
    )
    if found is None:
        raise DomainError(N_("No active staff member with that employee number."))
    return int(found)
