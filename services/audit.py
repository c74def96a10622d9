"""One way to write the audit log, so every admin action and refusal is recorded alike."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from infra.models import AuditEntry

_LABEL_MAX = 64  # audit_log.actor_label and object_id are String(64)
_OBJECT_TYPE_MAX = 32


async def audit(
    session: AsyncSession,
    action: str,
    *,
    actor_label: str = "",
    actor_telegram_id: int | None = None,
    actor_staff_id: int | None = None,
    object_type: str = "",
    object_id: str = "",
    detail: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Add an entry to the caller's transaction: it commits with what it records, or not at all.

    ``action`` and ``object_type`` are code constants ("staff.import", "staff") and
    must fit their columns; labels typed by people are cut to fit instead, because a
    long file name must not make the action it records fail. ``detail`` is JSON.
    """
    if len(action) > 64 or len(object_type) > _OBJECT_TYPE_MAX:
        raise ValueError(f"audit action/object_type too long: {action!r}, {object_type!r}")
    entry = AuditEntry(
        action=action,
        actor_label=actor_label[:_LABEL_MAX],
        actor_telegram_id=actor_telegram_id,
        actor_staff_id=actor_staff_id,
        object_type=object_type,
        object_id=object_id[:_LABEL_MAX],
        detail=detail or {},
    )
    if at is not None:
        entry.at = at
    session.add(entry)
