"""What waits for the leadership group's 审定, and reaching members who link late.

An approval request goes to the members linked when it is made. Leaders often link later
(the README's order is import, invites, open, then people link), so a member who links or
opens the home screen while a request waits gets their copy then (``deliver``, once per
copy by its dedupe key), and the home screen lists it. Whoever opens a cycle or sends
results is told how many members can be reached (``reach``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import CyclePhase, Role
from infra.i18n import Translator
from infra.models import (
    Cycle,
    OutboxMessage,
    ResultReview,
    RoleGrant,
    Staff,
    TelegramAccount,
    TemplateVersion,
)
from services.approval_copies import review_key, template_key
from services.notices import DEFAULTS, Localization, template_approval_message
from services.outbox import enqueue
from services.result_notices import review_request
from services.results import results_of

LEADERSHIP = (Role.LEADER_CHIEF, Role.LEADER_DEPUTY, Role.LEADER_MEMBER)


@dataclass(frozen=True)
class Reach:
    """Active leadership-group members on the roster, and how many of them have linked."""

    linked: int
    total: int

    @property
    def everyone(self) -> bool:
        return 0 < self.total <= self.linked

    def lines(self, tr: Translator) -> list[str]:
        """What the sender of a request should know (HTML-safe: counts only)."""
        if not self.total:
            return [
                tr._(
                    "Warning: the roster names no member of the leadership group, so nobody can approve. Import a roster that marks its members."
                )
            ]
        if not self.linked:
            return [
                tr.ngettext(
                    "Warning: the {total} member of the leadership group has not linked a Telegram account yet, so nobody can approve. Hand out the invite codes: the request reaches each member as they link.",
                    "Warning: none of the {total} members of the leadership group has linked a Telegram account yet, so nobody can approve. Hand out their invite codes: the request reaches each member as they link.",
                    self.total,
                ).format(total=self.total)
            ]
        if self.linked >= self.total:
            return [
                tr.ngettext(
                    "The {total} member of the leadership group has linked a Telegram account and has the request.",
                    "All {total} members of the leadership group have linked a Telegram account and have the request.",
                    self.total,
                ).format(total=self.total)
            ]
        return [
            tr.ngettext(
                "{linked} of {total} members of the leadership group has linked a Telegram account and has the request; the others receive it when they link.",
                "{linked} of {total} members of the leadership group have linked a Telegram account and have the request; the others receive it when they link.",
                self.linked,
            ).format(linked=self.linked, total=self.total)
        ]


async def reach(session: AsyncSession) -> Reach:
    members = (
        select(Staff.id)
        .join(RoleGrant, RoleGrant.staff_id == Staff.id)
        .where(Staff.active.is_(True), RoleGrant.role.in_(LEADERSHIP))
        .distinct()
        .subquery()
    )
    total = await session.scalar(select(func.count()).select_from(members))
    linked = await session.scalar(
        select(func.count(func.distinct(TelegramAccount.staff_id))).where(
            TelegramAccount.staff_id.in_(select(members.c.id))
        )
    )
    return Reach(int(linked or 0), int(total or 0))


@dataclass(frozen=True)
class Awaiting:
    """One request waiting for this member: a template (with the cycles it holds back) or a
    review round of a cycle's results."""

    template: TemplateVersion | None = None
    periods: tuple[str, ...] = ()
    cycle: Cycle | None = None


async def awaiting(session: AsyncSession, staff_id: int) -> list[Awaiting]:
    """What waits for ``staff_id``'s decision (nothing unless they are in the group)."""
    roles = set(await session.scalars(select(RoleGrant.role).where(RoleGrant.staff_id == staff_id)))
    if not roles & set(LEADERSHIP):
        return []
    found: list[Awaiting] = []
    waiting = await session.execute(
        select(TemplateVersion, Cycle.period)
        .join(Cycle, Cycle.template_id == TemplateVersion.id)
        .where(Cycle.phase == CyclePhase.PREPARING, TemplateVersion.approved_at.is_(None))
        .order_by(TemplateVersion.id, Cycle.period)
    )
    by_template: dict[int, tuple[TemplateVersion, list[str]]] = {}
    for version, period in waiting:
        by_template.setdefault(version.id, (version, []))[1].append(period)
    found += [Awaiting(template=v, periods=tuple(p)) for v, p in by_template.values()]
    decided = select(ResultReview.id).where(
        ResultReview.cycle_id == Cycle.id,
        ResultReview.round == Cycle.review_round,
        ResultReview.staff_id == staff_id,
    )
    in_review = await session.scalars(  # one query: rounds this member has not decided
        select(Cycle)
        .where(Cycle.phase == CyclePhase.REVIEW, ~decided.exists())
        .order_by(Cycle.period)
    )
    found += [Awaiting(cycle=cycle) for cycle in in_review]
    return found


def copy_key(item: Awaiting, telegram_id: int) -> str:
    """The dedupe key of ``telegram_id``'s copy of ``item``: the one the request was sent with."""
    if item.template is not None:
        return f"{template_key(item.template.id)}{telegram_id}"
    assert item.cycle is not None
    return f"{review_key(item.cycle.id, item.cycle.review_round)}{telegram_id}"


async def missing(session: AsyncSession, items: list[Awaiting], telegram_id: int) -> list[Awaiting]:
    """The requests of ``items`` of which ``telegram_id`` holds no copy (read only)."""
    keys = {copy_key(i, telegram_id): i for i in items}
    held = set(
        await session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(list(keys)))
        )
    )
    return [i for k, i in keys.items() if k not in held]


async def hand_over(
    session: AsyncSession,
    staff_id: int,
    telegram_id: int,
    language: str | None,
    *,
    quota: int = 0,
    local: Localization = DEFAULTS,
) -> int:
    """A member just linked ``telegram_id``: queue their copy of everything waiting."""
    items = await awaiting(session, staff_id)
    return await deliver(session, items, telegram_id, language, quota=quota, local=local)


async def deliver(
    session: AsyncSession,
    items: list[Awaiting],
    telegram_id: int,
    language: str | None,
    *,
    quota: int = 0,
    local: Localization = DEFAULTS,
) -> int:
    """Queue this member's copy of each request in ``items`` they do not hold yet (the
    dedupe keys are the requests' own, so a copy sent at the time is not sent again)."""
    count = 0
    for item in items:
        if item.template is not None:
            text, choices = template_approval_message(item.template, language, local)
            key = copy_key(item, telegram_id)
            if await enqueue(session, telegram_id, text, choices=choices, dedupe_key=key):
                count += 1
        elif item.cycle is not None:
            results = await results_of(session, item.cycle)
            if await review_request(
                session,
                item.cycle,
                telegram_id,
                language,
                results=results,
                quota=quota,
                local=local,
            ):
                count += 1
    return count
