"""Reading the audit log back (``jixiao audit``): filtered, newest kept, actors named.

Refusals (``access.denied``) are entries like any other, so they are always included.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from infra.models import AuditEntry, Staff, TelegramAccount


@dataclass(frozen=True)
class LoggedAction:
    """One audit entry with its actor's and its object's people resolved to names."""

    at: dt.datetime
    action: str
    actor_name: str | None  # the staff member who acted (directly or by their account), else None
    actor_no: str | None
    actor_telegram_id: int | None
    actor_label: str  # what acted when no person did; ``citizen`` for any citizen
    actor_pseudonym: str | None  # a citizen's short stable pseudonym, never the whole key
    object_type: str
    object_id: str
    object_person: tuple[str, str] | None  # (name, employee number) when the object is staff
    detail: dict[str, Any]


CITIZEN_PREFIX = "citizen:"  # ``conversations.common.audit_actor`` writes citizen:<key>
PSEUDONYM_LENGTH = 8  # enough to tell citizens apart in a log; too short to be the key


def _actor_label(stored: str) -> tuple[str, str | None]:
    """A stored ``citizen:<key>`` as the label ``citizen`` and the key's first characters,
    so the log tells citizens apart without ever printing a whole pseudonymous key."""
    if stored.startswith(CITIZEN_PREFIX):
        return "citizen", stored.removeprefix(CITIZEN_PREFIX)[:PSEUDONYM_LENGTH] or None
    return stored, None


class UnknownActor(LookupError):
    """``--actor`` names an employee number nobody has."""


async def staff_id_of(session: AsyncSession, employee_no: str) -> int:
    """The staff id behind an employee number, active or not (the log outlives people)."""
    found = await session.scalar(select(Staff.id).where(Staff.employee_no == employee_no))
    if found is None:
        raise UnknownActor(employee_no)
    return int(found)


async def read_log(
    session: AsyncSession,
    *,
    since: dt.datetime | None = None,
    actor_staff_id: int | None = None,
    limit: int = 100,
) -> list[LoggedAction]:
    """The newest ``limit`` entries matching the filters, oldest first (as a log reads)."""
    # the actor: the staff member recorded, else the one the Telegram account is linked to
    account = aliased(TelegramAccount)
    query = (
        select(AuditEntry, Staff.name, Staff.employee_no)
        .outerjoin(account, account.telegram_id == AuditEntry.actor_telegram_id)
        .outerjoin(Staff, Staff.id == func.coalesce(AuditEntry.actor_staff_id, account.staff_id))
    )
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if actor_staff_id is not None:
        query = query.where(Staff.id == actor_staff_id)
    rows = (
        await session.execute(
            query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        )
    ).all()
    staff_ids = {
        int(entry.object_id)
        for entry, _name, _no in rows
        if entry.object_type == "staff" and entry.object_id.isdigit()
    }
    people = {
        sid: (name, no)
        for sid, name, no in (
            await session.execute(
                select(Staff.id, Staff.name, Staff.employee_no).where(Staff.id.in_(staff_ids))
            )
            if staff_ids
            else []
        )
    }
    return [
        LoggedAction(
            at=entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=dt.UTC),
            action=entry.action,
            actor_name=name,
            actor_no=no,
            actor_telegram_id=entry.actor_telegram_id,
            actor_label=label,
            actor_pseudonym=pseudonym,
            object_type=entry.object_type,
            object_id=entry.object_id,
            object_person=people.get(int(entry.object_id))
            if entry.object_type == "staff" and entry.object_id.isdigit()
            else None,
            detail=dict(entry.detail or {}),
        )
        for entry, name, no in reversed(rows)
        for label, pseudonym in [_actor_label(entry.actor_label)]
    ]
