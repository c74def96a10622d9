"""One-time invite codes that bind a Telegram account to a staff member (onboarding).

Only a hash of each token is stored; a code is single use, expires, and dies when
re-issued. Wrong codes are counted per Telegram user in the database, so the
lock-out survives a restart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.payload import PayloadKind, StartPayload, deep_link, new_payload
from infra.i18n import N_
from infra.models import CodeAttempt, Invite, OrgUnit, Staff, TelegramAccount
from services.audit import audit
from services.errors import DomainError

MAX_WRONG = 5
WRONG_WINDOW = dt.timedelta(minutes=10)
LOCKOUT = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class IssuedInvite:
    """A code as handed out: the only moment the clear token exists."""

    staff_id: int
    employee_no: str
    name: str
    unit: str
    payload: StartPayload
    expires_at: dt.datetime

    def link(self, bot_username: str) -> str:
        return deep_link(bot_username, self.payload)


@dataclass(frozen=True)
class InviteView:
    """What the person sees before confirming: enough to recognise themselves."""

    invite_id: int
    staff_id: int
    name: str
    unit: str
    position: str


async def issue(
    session: AsyncSession, staff: Staff, unit_name: str, *, now: dt.datetime, ttl: dt.timedelta
) -> IssuedInvite:
    """A fresh code for ``staff``; every older unused code of theirs dies."""
    await session.execute(
        update(Invite)
        .where(Invite.staff_id == staff.id, Invite.used_at.is_(None), Invite.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    payload = new_payload(PayloadKind.INVITE)
    session.add(
        Invite(
            staff_id=staff.id, token_hash=payload.token_hash, created_at=now, expires_at=now + ttl
        )
    )
    return IssuedInvite(staff.id, staff.employee_no, staff.name, unit_name, payload, now + ttl)


async def issue_for_unbound(
    session: AsyncSession,
    *,
    now: dt.datetime,
    ttl: dt.timedelta,
    actor_label: str,
    keep_valid: bool = False,
) -> list[IssuedInvite]:
    """Codes for every active staff member without a bound account.

    Each new code kills that person's earlier ones; with ``keep_valid``, people who still
    hold a valid code from an earlier batch keep it and get none (only its hash is stored,
    so it cannot be printed again).
    """
    bound = select(TelegramAccount.staff_id).where(TelegramAccount.staff_id.is_not(None))
    query = (
        select(Staff, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == Staff.unit_id)
        .where(Staff.active.is_(True), Staff.id.not_in(bound))
        .order_by(Staff.employee_no)
    )
    if keep_valid:
        query = query.where(Staff.id.not_in(_valid_codes(now)))
    rows = (await session.execute(query)).all()
    issued = [await issue(session, staff, unit, now=now, ttl=ttl) for staff, unit in rows]
    await audit(
        session,
        "invite.issue_all",
        actor_label=actor_label,
        detail={"count": len(issued), "kept_valid": keep_valid},
        at=now,
    )
    return issued


def _valid_codes(now: dt.datetime) -> Select[int]:
    """Staff ids holding an unused, unrevoked, unexpired code (a subquery)."""
    return select(Invite.staff_id).where(
        Invite.used_at.is_(None), Invite.revoked_at.is_(None), Invite.expires_at > now
    )


async def pending_codes(
    session: AsyncSession, *, now: dt.datetime
) -> tuple[int, dt.datetime | None]:
    """Active, unlinked people who still hold a valid code, and when the last of those expires."""
    bound = select(TelegramAccount.staff_id).where(TelegramAccount.staff_id.is_not(None))
    count, until = (
        await session.execute(
            select(func.count(func.distinct(Invite.staff_id)), func.max(Invite.expires_at))
            .join(Staff, Staff.id == Invite.staff_id)
            .where(
                Staff.active.is_(True),
                Staff.id.not_in(bound),
                Invite.used_at.is_(None),
                Invite.revoked_at.is_(None),
                Invite.expires_at > now,
            )
        )
    ).one()
    return int(count or 0), until


async def reissue(
    session: AsyncSession,
    employee_no: str,
    *,
    now: dt.datetime,
    ttl: dt.timedelta,
    actor_label: str,
    actor_telegram_id: int | None = None,
) -> IssuedInvite:
    staff, unit = await _staff_by_no(session, employee_no)
    issued = await issue(session, staff, unit, now=now, ttl=ttl)
    await audit(
        session,
        "invite.reissue",
        actor_label=actor_label,
        actor_telegram_id=actor_telegram_id,
        object_type="staff",
        object_id=str(staff.id),
        at=now,
    )
    return issued


async def unbind(
    session: AsyncSession,
    employee_no: str,
    *,
    now: dt.datetime,
    actor_label: str,
    actor_telegram_id: int | None = None,
) -> int | None:
    """Detach the staff member's Telegram account; returns the Telegram id that was bound."""
    staff, _ = await _staff_by_no(session, employee_no)
    account = await session.scalar(
        select(TelegramAccount).where(TelegramAccount.staff_id == staff.id)
    )
    if account is None:
        raise DomainError(N_("{name} has no bound Telegram account."), name=staff.name)
    account.staff_id = None
    account.bound_at = None
    await audit(
        session,
        "account.unbind",
        actor_label=actor_label,
        actor_telegram_id=actor_telegram_id,
        object_type="staff",
        object_id=str(staff.id),
        detail={"telegram_id": account.telegram_id},
        at=now,
    )
    return account.telegram_id


async def lookup(
    session: AsyncSession, payload: StartPayload, telegram_id: int, *, now: dt.datetime
) -> InviteView:
    """Check a code before showing whose it is; wrong codes count towards the lock-out."""
    await ensure_not_locked(session, telegram_id, now=now)
    invite = await session.scalar(select(Invite).where(Invite.token_hash == payload.token_hash))
    if invite is None:
        session.add(CodeAttempt(telegram_id=telegram_id, at=now))
        raise DomainError(
            N_(
                "This invite code is not valid. Please check it, or ask the evaluation working group for a new one."
            )
        )
    if invite.used_at is not None:
        raise DomainError(
            N_(
                "This invite code has already been used. Each code works once; ask the evaluation working group for a new one if you need it."
            )
        )
    if invite.revoked_at is not None:
        raise DomainError(
            N_(
                "This invite code was replaced by a newer one. Please use the latest code you received."
            )
        )
    if invite.expires_at <= now:
        raise DomainError(
            N_(
                "This invite code has expired. Please ask the evaluation working group for a new one."
            )
        )
    already = await session.scalar(
        select(TelegramAccount).where(TelegramAccount.telegram_id == telegram_id)
    )
    if already is not None and already.staff_id is not None and already.staff_id != invite.staff_id:
        raise DomainError(
            N_(
                "Your Telegram account is already linked to another staff member. Ask the evaluation working group to unlink it first."
            )
        )
    row = (
        await session.execute(
            select(Staff, OrgUnit.name)
            .join(OrgUnit, OrgUnit.id == Staff.unit_id)
            .where(Staff.id == invite.staff_id)
        )
    ).one()
    staff, unit = row
    if not staff.active:
        raise DomainError(
            N_("This invite code is no longer valid. Please contact the evaluation working group.")
        )
    return InviteView(invite.id, staff.id, staff.name, unit, staff.position)


async def redeem(
    session: AsyncSession,
    invite_id: int,
    telegram_id: int,
    *,
    now: dt.datetime,
    locale: str | None = None,
) -> InviteView:
    """Bind on confirmation; re-checks everything, since time passed since the code was shown."""
    invite = await session.get(Invite, invite_id, with_for_update=True)
    if invite is None or invite.used_at is not None or invite.revoked_at is not None:
        raise DomainError(
            N_(
                "This invite code has already been used. Each code works once; ask the evaluation working group for a new one if you need it."
            )
        )
    if invite.expires_at <= now:
        raise DomainError(
            N_(
                "This invite code has expired. Please ask the evaluation working group for a new one."
            )
        )
    staff = await session.get(Staff, invite.staff_id)
    assert staff is not None
    previous = await session.scalar(
        select(TelegramAccount).where(TelegramAccount.staff_id == staff.id)
    )
    if previous is not None and previous.telegram_id != telegram_id:
        previous.staff_id = None  # a new phone: the old account loses access
        previous.bound_at = None
    account = await session.get(TelegramAccount, telegram_id)
    if account is None:
        account = TelegramAccount(telegram_id=telegram_id)
        session.add(account)
    elif account.staff_id not in (None, staff.id):
        raise DomainError(
            N_(
                "Your Telegram account is already linked to another staff member. Ask the evaluation working group to unlink it first."
            )
        )
    await session.flush()
    account.staff_id = staff.id
    account.bound_at = now
    # remember the language the person uses now, so pushed messages (reminders, results) match
    account.language = account.language or locale
    account.blocked_at = None
    invite.used_at = now
    invite.used_by = telegram_id
    await audit(
        session,
        "account.bind",
        actor_telegram_id=telegram_id,
        actor_staff_id=staff.id,
        object_type="staff",
        object_id=str(staff.id),
        at=now,
    )
    unit = await session.get(OrgUnit, staff.unit_id)
    return InviteView(invite.id, staff.id, staff.name, unit.name if unit else "", staff.position)


async def ensure_not_locked(session: AsyncSession, telegram_id: int, *, now: dt.datetime) -> None:
    """Five wrong codes within ten minutes lock the sender out for thirty minutes."""
    recent = (
        await session.scalars(
            select(CodeAttempt.at)
            .where(
                CodeAttempt.telegram_id == telegram_id,
                CodeAttempt.at > now - LOCKOUT - WRONG_WINDOW,
            )
            .order_by(CodeAttempt.at)
        )
    ).all()
    for i in range(len(recent) - MAX_WRONG + 1):
        window = recent[i : i + MAX_WRONG]
        if window[-1] - window[0] <= WRONG_WINDOW and now < window[-1] + LOCKOUT:
            until = window[-1] + LOCKOUT
            raise DomainError(  # a moment, not "in 1 minutes": shown as the reader writes it
                N_("Too many wrong codes. For your security, please try again after {time}."),
                time=until,
            )


async def prune_attempts(session: AsyncSession, *, now: dt.datetime) -> None:
    await session.execute(delete(CodeAttempt).where(CodeAttempt.at < now - dt.timedelta(days=1)))


async def _staff_by_no(session: AsyncSession, employee_no: str) -> tuple[Staff, str]:
    row = (
        await session.execute(
            select(Staff, OrgUnit.name)
            .join(OrgUnit, OrgUnit.id == Staff.unit_id)
            .where(Staff.employee_no == employee_no)
        )
    ).first()
    if row is None:
        raise DomainError(
            N_("No staff member with employee number {employee_no}."), employee_no=employee_no
        )
    return row[0], row[1]
