"""Who may do what: roles from the configuration, the roster's grants and the org tree."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import Role
from infra.models import OrgUnit, RoleGrant, Staff, TelegramAccount


@dataclass(frozen=True)
class Actor:
    """The person behind an update: their binding, roles and the units they head."""

    telegram_id: int
    staff: Staff | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    headed_unit_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_staff(self) -> bool:
        return self.staff is not None

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def is_leadership(self) -> bool:
        return any(r.is_leadership for r in self.roles)

    @property
    def is_unit_head(self) -> bool:
        return bool(self.headed_unit_ids)


async def load_actor(session: AsyncSession, telegram_id: int, admin_ids: frozenset[int]) -> Actor:
    """Resolve roles fresh for every update: a roster re-import takes effect at once."""
    account = await session.get(TelegramAccount, telegram_id)
    return await actor_of(session, telegram_id, account, admin_ids)


async def actor_of(
    session: AsyncSession,
    telegram_id: int,
    account: TelegramAccount | None,
    admin_ids: frozenset[int],
) -> Actor:
    """``load_actor`` for an account the caller has read already (the update's own, so it is
    read once per update); a stranger's roles need no query at all."""
    roles: set[Role] = {Role.ADMIN} if telegram_id in admin_ids else set()
    staff = None
    headed: frozenset[int] = frozenset()
    if account is not None and account.staff_id is not None:
        staff = await session.scalar(
            select(Staff).where(Staff.id == account.staff_id, Staff.active.is_(True))
        )
    if staff is not None:
        roles |= set(
            await session.scalars(select(RoleGrant.role).where(RoleGrant.staff_id == staff.id))
        )
        headed = frozenset(
            await session.scalars(
                select(OrgUnit.id).where(
                    OrgUnit.head_staff_id == staff.id, OrgUnit.active.is_(True)
                )
            )
        )
    return Actor(telegram_id, staff, frozenset(roles), headed)


async def admin_accounts(
    session: AsyncSession, configured: frozenset[int] | None = frozenset()
) -> list[tuple[int, str | None]]:
    """Telegram ids (with language) of the working group: bound ADMIN staff and the ids
    ``configured`` by the caller (``Settings.admin_id_set``; nothing is read here, and
    None, from callers written when it meant "read the settings", counts as none)."""
    rows = await session.execute(
        select(TelegramAccount.telegram_id, TelegramAccount.language)
        .join(Staff, Staff.id == TelegramAccount.staff_id)
        .join(RoleGrant, RoleGrant.staff_id == Staff.id)
        .where(RoleGrant.role == Role.ADMIN, Staff.active.is_(True))
    )
    found = {int(t): lang for t, lang in rows}
    for telegram_id in configured or ():
        if telegram_id not in found:
            account = await session.get(TelegramAccount, telegram_id)
            found[telegram_id] = account.language if account else None
    return sorted(found.items())
