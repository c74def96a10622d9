"""A person opening their own published result from the home screen, and noting they did.

The result is pushed when published (and again when an appeal changes it), but a chat
cannot tell whether it was read. Opening it from home records the version seen
(``Result.viewed_version``), so home lists a result as new until its person has opened
that version, and no longer after.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from infra.i18n import N_
from infra.models import Cycle, Result, Staff
from services.errors import DomainError

NOT_YOURS = N_("This result is not yours, or not published yet.")


@dataclass(frozen=True)
class OwnResult:
    result: Result
    cycle: Cycle
    name: str


async def open_own(session: AsyncSession, result_id: int, *, staff_id: int | None) -> OwnResult:
    """``staff_id``'s published result, marked as seen in its current version."""
    result = await session.get(Result, result_id)
    if result is None or staff_id is None or result.staff_id != staff_id or not result.published_at:
        raise DomainError(NOT_YOURS)
    cycle = await session.get(Cycle, result.cycle_id)
    staff = await session.get(Staff, staff_id)
    assert cycle is not None and staff is not None
    if result.viewed_version != result.version:
        result.viewed_version = result.version
    return OwnResult(result, cycle, staff.name)
