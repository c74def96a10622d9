"""Bring the database in line with a roster: first a plan the admin confirms, then the writes.

The file is the whole truth about who works here: people and units it no longer
lists are deactivated (never deleted: history and the audit log point at them),
and roles are exactly what it says. Both steps compute the same diff, so the plan
shown for confirmation is what ``apply_import`` does, and importing the same file
twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from domain.enums import Role
from infra.models import OrgUnit, RoleGrant, Staff
from services.audit import audit
from services.staff_import.plan import FieldChange, ImportPlan, PersonRef, RoleChange
from services.staff_import.roster import Roster


@dataclass
class _State:
    """Every unit, person and grant, loaded once: a bureau's roster is a few hundred rows."""

    units: dict[str, OrgUnit]
    staff: dict[str, Staff]
    grants: list[RoleGrant]


async def _load(session: AsyncSession) -> _State:
    units = (await session.scalars(select(OrgUnit).order_by(OrgUnit.sort_order, OrgUnit.id))).all()
    staff = (await session.scalars(select(Staff).order_by(Staff.employee_no))).all()
    grants = (await session.scalars(select(RoleGrant).order_by(RoleGrant.id))).all()
    return _State({u.name: u for u in units}, {s.employee_no: s for s in staff}, list(grants))


async def plan_import(session: AsyncSession, roster: Roster) -> ImportPlan:
    """What importing ``roster`` would change, without writing: shown to the admin to confirm."""
    return _diff(await _load(session), roster)


def _diff(state: _State, roster: Roster) -> ImportPlan:
    unit_name = {u.id: u.name for u in state.units.values()}
    staff_no = {s.id: s.employee_no for s in state.staff.values()}
    heads, leaders = roster.heads(), roster.leaders()

    units_created: list[str] = []
    units_updated: list[FieldChange] = []
    units_reactivated: list[str] = []
    for order, u in enumerate(roster.units):
        row = state.units.get(u.name)
        if row is None:
            units_created.append(u.name)
            continue
        if not row.active:
            units_reactivated.append(u.name)
        changed = _changed(
            {
                "kind": (row.kind, u.kind),
                "parent": (unit_name.get(row.parent_id or 0), u.parent),
                "head": (staff_no.get(row.head_staff_id or 0), heads.get(u.name)),
                "leader": (staff_no.get(row.leader_staff_id or 0), leaders.get(u.name)),
                "order": (row.sort_order, order),
            }
        )
        if changed:
            units_updated.append(FieldChange(u.name, u.name, changed))
    listed_units = {u.name for u in roster.units}

    people_created: list[PersonRef] = []
    people_updated: list[FieldChange] = []
    people_reactivated: list[PersonRef] = []
    for p in roster.people:
        s = state.staff.get(p.employee_no)
        if s is None:
            people_created.append(PersonRef(p.employee_no, p.name))
            continue
        if not s.active:
            people_reactivated.append(PersonRef(p.employee_no, p.name))
        changed = _changed(
            {
                "name": (s.name, p.name),
                "unit": (unit_name.get(s.unit_id), p.unit),
                "position": (s.position, p.position),
                "supervisor": (staff_no.get(s.supervisor_id or 0), p.supervisor_no),
            }
        )
        if changed:
            people_updated.append(FieldChange(p.employee_no, p.name, changed))
    listed_people = {p.employee_no for p in roster.people}

    names = {s.employee_no: s.name for s in state.staff.values()} | {
        p.employee_no: p.name for p in roster.people
    }
    have = {(staff_no[g.staff_id], g.role) for g in state.grants}
    want = {(p.employee_no, r) for p in roster.people for r in p.roles}
    role_order = list(Role)

    def role_changes(pairs: set[tuple[str, Role]]) -> tuple[RoleChange, ...]:
        ordered = sorted(pairs, key=lambda nr: (nr[0], role_order.index(nr[1])))
        return tuple(RoleChange(no, names[no], role) for no, role in ordered)

    return ImportPlan(
        units_in_file=len(roster.units),
        people_in_file=len(roster.people),
        units_created=tuple(units_created),
        units_updated=tuple(units_updated),
        units_reactivated=tuple(units_reactivated),
        units_deactivated=tuple(
            name for name, u in state.units.items() if u.active and name not in listed_units
        ),
        people_created=tuple(people_created),
        people_updated=tuple(people_updated),
        people_reactivated=tuple(people_reactivated),
        people_deactivated=tuple(
            PersonRef(no, s.name)
            for no, s in state.staff.items()
            if s.active and no not in listed_people
        ),
        roles_granted=role_changes(want - have),
        roles_revoked=role_changes(have - want),
    )


def _changed(pairs: dict[str, tuple[Any, Any]]) -> tuple[str, ...]:
    return tuple(name for name, (old, new) in pairs.items() if old != new)


async def apply_import(
    session: AsyncSession,
    roster: Roster,
    *,
    actor_label: str,
    actor_telegram_id: int | None = None,
    actor_staff_id: int | None = None,
    now: dt.datetime,
) -> ImportPlan:
    """Write the roster in the caller's transaction and audit it; returns the plan it carried out.

    Units are flushed before staff (staff.unit_id needs them) and heads are set last,
    because org_unit.head_staff_id and staff.unit_id point at each other. Nothing is
    committed here: if anything raises, the caller's rollback leaves the DB untouched.
    """
    state = await _load(session)
    plan = _diff(state, roster)
    units, staff = state.units, state.staff

    for order, u in enumerate(roster.units):
        if u.name not in units:
            units[u.name] = OrgUnit(
                name=u.name,
                kind=u.kind,
                parent_id=None,
                head_staff_id=None,
                leader_staff_id=None,
                active=True,
                sort_order=order,
                created_at=now,
                updated_at=now,
            )
            session.add(units[u.name])
    await session.flush()
    for order, u in enumerate(roster.units):
        parent_id = units[u.parent].id if u.parent else None
        _assign(units[u.name], now, kind=u.kind, parent_id=parent_id, sort_order=order, active=True)
    listed_units = {u.name for u in roster.units}
    for name, unit in units.items():
        if name not in listed_units:
            _assign(unit, now, active=False)

    for p in roster.people:
        if p.employee_no not in staff:
            staff[p.employee_no] = Staff(
                employee_no=p.employee_no,
                name=p.name,
                unit_id=units[p.unit].id,
                position=p.position,
                supervisor_id=None,
                active=True,
                deactivated_at=None,
                created_at=now,
                updated_at=now,
            )
            session.add(staff[p.employee_no])
    await session.flush()
    for p in roster.people:
        _assign(
            staff[p.employee_no],
            now,
            name=p.name,
            unit_id=units[p.unit].id,
            position=p.position,
            supervisor_id=staff[p.supervisor_no].id if p.supervisor_no else None,
            active=True,
            deactivated_at=None,
        )
    listed_people = {p.employee_no for p in roster.people}
    for no, person in staff.items():
        if no not in listed_people and person.active:
            _assign(person, now, active=False, deactivated_at=now)

    heads, leaders = roster.heads(), roster.leaders()
    for u in roster.units:
        head, leader = heads.get(u.name), leaders.get(u.name)
        _assign(
            units[u.name],
            now,
            head_staff_id=staff[head].id if head else None,
            leader_staff_id=staff[leader].id if leader else None,
        )

    # Grants of people no longer listed go too: a departed 局长 keeps no approval rights.
    want = {(staff[p.employee_no].id, r) for p in roster.people for r in p.roles}
    for grant in state.grants:
        if (grant.staff_id, grant.role) in want:
            want.discard((grant.staff_id, grant.role))
        else:
            await session.delete(grant)
    session.add_all(RoleGrant(staff_id=sid, role=role) for sid, role in sorted(want))
    await session.flush()

    await audit(
        session,
        "staff.import",
        actor_label=actor_label,
        actor_telegram_id=actor_telegram_id,
        actor_staff_id=actor_staff_id,
        object_type="roster",
        object_id=roster.source,
        detail={
            **plan.counts(),
            "people_in_file": plan.people_in_file,
            "units_in_file": plan.units_in_file,
            "deactivated": [p.employee_no for p in plan.people_deactivated],
        },
        at=now,
    )
    return plan


def _assign(row: OrgUnit | Staff, now: dt.datetime, **values: Any) -> None:
    """Set only what differs, so an unchanged row gets no UPDATE and keeps its updated_at."""
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    if changed:
        row.updated_at = now
        # A row inserted in this flush already holds ``now``: flag it, or onupdate's clock wins.
        flag_modified(row, "updated_at")
