"""The case kernel: what appeals, improvement plans and rectifications share.

Each workflow (``services.appeals``, ``.plans``, ``.rectification``) declares one ``Workflow``
table at the top of its module: every ``Transition`` a case can take — name, source states,
target state, who may (``Who``), audit action, who is told (``Notice``: recipients, text,
buttons, dedupe key) and whether it starts a round. ``apply`` takes one: it refuses,
changing nothing, when the actor may not (``Refused``, audited by the chat as
``access.denied``) or the case is not in a source state (``DomainError``); else it sets the
case's fields and status, audits ``{"old", "new", "round"?, **detail}`` and queues the
notices in the caller's transaction. The round is the count of the case's round-starting
audit entries; recipients are ``accounts`` (linked chats of *active* staff) and
``working_group``; free text is ``check_text``-ed; settings come in as ``Env``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.choice import Choice, Choices, rows
from infra.i18n import N_, Translator
from infra.models import AuditEntry, Staff, TelegramAccount
from services.access import Actor, admin_accounts
from services.audit import audit
from services.errors import DomainError
from services.outbox import enqueue

DEFAULT_LOCALE: Final = "zh_Hans"
NEW: Final[frozenset[Any]] = frozenset()  # the sources of a transition that creates the case
ONLY_ADMINS: Final = N_("Sorry, only the evaluation working group can do this.")
EMPTY = N_("Please write a few words; an empty text cannot be sent.")
TOO_LONG = N_(
    "Your text has {length} characters; at most {limit} are allowed. Please shorten it and send it again."
)


def check_text(text: str | None, limit: int, empty: str = EMPTY, too_long: str = TOO_LONG) -> str:
    """1 to ``limit`` characters after trimming, or a DomainError saying what is wrong (the
    msgids ``empty`` and ``too_long``, given ``{length}`` or ``{count}``, and ``{limit}``)."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise DomainError(empty)
    if len(cleaned) > limit:
        raise DomainError(too_long, length=len(cleaned), count=len(cleaned), limit=limit)
    return cleaned


class Refused(DomainError):
    """The actor has no right to this case (or it does not exist): the chat audits it."""


class Case(Protocol):
    """What the kernel needs of a case row."""

    id: int
    status: Any


@dataclass(frozen=True)
class Env:
    """The settings the case rules need, passed in by the caller (``Env.of(settings)``)."""

    admin_ids: frozenset[int] = frozenset()
    locale: str = DEFAULT_LOCALE
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    @classmethod
    def of(cls, settings: Any) -> Env:
        """From ``infra.config.Settings`` (or anything with its three attributes)."""
        return cls(frozenset(settings.admin_id_set), settings.locale, settings.tz)

    def tr(self, language: str | None) -> Translator:
        """The recipient's translator: their language, else the bureau's."""
        return Translator(language or self.locale, self.tz)


@dataclass(frozen=True)
class Recipient:
    chat_id: int
    language: str | None


async def accounts(session: AsyncSession, staff_ids: Iterable[int | None]) -> list[Recipient]:
    """The linked chats of these staff members, with their languages — active staff only."""
    wanted = sorted({s for s in staff_ids if s is not None})
    if not wanted:
        return []
    found = await session.execute(
        select(TelegramAccount.telegram_id, TelegramAccount.language, TelegramAccount.staff_id)
        .join(Staff, Staff.id == TelegramAccount.staff_id)
        .where(Staff.id.in_(wanted), Staff.active.is_(True))
        .order_by(TelegramAccount.staff_id, TelegramAccount.telegram_id)
    )
    return [Recipient(int(chat), language) for chat, language, _ in found]


async def working_group(session: AsyncSession, env: Env) -> list[Recipient]:
    """The working group's chats: bound active admins plus the configured admin ids."""
    return [Recipient(c, lang) for c, lang in await admin_accounts(session, env.admin_ids)]


Test = Callable[[Actor | None, Any], bool]


@dataclass(frozen=True)
class Who:
    """Who may take a transition: a named test of the actor and the case, and the msgid the
    refused read. ``a | b``: either; ``a.but_not(b, refusal)``: ``a`` unless also ``b``."""

    name: str
    test: Test
    refusal: str = ONLY_ADMINS
    excluded: tuple[tuple[Who, str], ...] = ()

    def refuses(self, actor: Actor | None, case: Any) -> str | None:
        """Why this actor may not (a msgid), or None when they may."""
        if not self.test(actor, case):
            return self.refusal
        for other, refusal in self.excluded:
            if other.test(actor, case):
                return refusal
        return None

    def allows(self, actor: Actor | None, case: Any) -> bool:
        return self.refuses(actor, case) is None

    def __or__(self, other: Who) -> Who:
        def either(a: Actor | None, c: Any) -> bool:
            return self.test(a, c) or other.test(a, c)

        return Who(f"{self.name} or {other.name}", either, self.refusal)

    def but_not(self, other: Who, refusal: str) -> Who:
        excluded = (*self.excluded, (other, refusal))
        return Who(f"{self.name} but not {other.name}", self.test, self.refusal, excluded)


def staff_of(name: str, staff_id: Callable[[Any], int | None], refusal: str) -> Who:
    """The (active) staff member whose id ``staff_id(case)`` gives: an owner, an approver."""

    def test(actor: Actor | None, case: Any) -> bool:
        return actor is not None and actor.staff is not None and actor.staff.id == staff_id(case)

    return Who(name, test, refusal)


WORKING_GROUP: Final = Who("working group", lambda a, _c: a is not None and a.is_admin)
SYSTEM: Final = Who("the bot's jobs", lambda a, _c: a is None)


V = TypeVar("V")


@dataclass(frozen=True)
class Step(Generic[V]):
    """A transition being taken: what its notices and texts read."""

    view: V  # the workflow's view of the case (or the case row itself)
    case: Case
    name: str
    actor: Actor | None
    at: dt.datetime
    old: StrEnum | None  # None when the transition created the case
    round: int
    env: Env
    params: dict[str, Any]


Recipients = Callable[[AsyncSession, Step[Any]], Awaitable[Sequence[Recipient]]]


@dataclass(frozen=True)
class Notice(Generic[V]):
    """Who is told, what, with which buttons, at most once per ``key`` (formatted with the
    step's params, ``id``, ``round`` and ``chat``: ``"appeal-q:{id}:{round}"``); ``when``
    skips it for some steps."""

    to: Recipients
    text: Callable[[Translator, Step[V]], str]
    key: str
    choices: Callable[[Translator, Step[V]], Choices] | None = None
    when: Callable[[Step[V]], bool] | None = None


@dataclass(frozen=True)
class Transition(Generic[V]):
    name: str
    sources: frozenset[Any]  # the case's statuses it starts from; NEW: it creates the case
    target: StrEnum | None  # None: the status stays (a reminder, a progress note)
    who: Who
    audit: str  # the audit action, e.g. "appeal.ask"
    not_now: str  # the msgid when the case is not in a source state
    notices: tuple[Notice[V], ...] = ()
    bumps_round: bool = False
    why_not: Callable[[V], str | None] | None = None  # a msgid when the status is not enough


def button(label: str, action: str) -> Callable[[Translator, Step[Any]], Choices]:
    """A notice's one button on the case: ``button(N_("Open"), "appeal.open")``."""
    return lambda tr, step: rows([Choice(tr._(label), action, (step.case.id,))])


def owner(role: Callable[[Step[Any]], int | None]) -> Recipients:
    """Recipients: the linked chats of the staff member ``role(step)`` names (if active)."""

    async def resolve(session: AsyncSession, step: Step[Any]) -> Sequence[Recipient]:
        return await accounts(session, [role(step)])

    return resolve


def first(*options: Recipients) -> Recipients:
    """Recipients: the first of ``options`` that names anyone (the head, else the group)."""

    async def resolve(session: AsyncSession, step: Step[Any]) -> Sequence[Recipient]:
        for option in options:
            if found := await option(session, step):
                return found
        return []

    return resolve


async def group(session: AsyncSession, step: Step[Any]) -> Sequence[Recipient]:
    """Recipients: the working group."""
    return await working_group(session, step.env)


@dataclass(frozen=True)
class Workflow(Generic[V]):
    """One case workflow's table; ``kind`` is the audit log's ``object_type``."""

    kind: str
    transitions: tuple[Transition[V], ...]
    case_of: Callable[[V], Case] = lambda view: view  # type: ignore[assignment,return-value]

    def __getitem__(self, name: str) -> Transition[V]:
        return {t.name: t for t in self.transitions}[name]

    @property
    def round_actions(self) -> frozenset[str]:
        return frozenset(t.audit for t in self.transitions if t.bumps_round)

    def allowed(self, name: str, view: V, actor: Actor | None) -> bool:
        """Whether the actor may take this transition now (the chat offers the button)."""
        t, case = self[name], self.case_of(view)
        now = t.sources == NEW or case.status in t.sources
        return now and t.who.allows(actor, case) and not (t.why_not and t.why_not(view))


async def round_of(session: AsyncSession, flow: Workflow[Any], case_id: int) -> int:
    """How many round-starting transitions the case has taken (0 before the first)."""
    actions = flow.round_actions
    if not actions:
        return 0
    count = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.action.in_(sorted(actions)),
            AuditEntry.object_type == flow.kind,
            AuditEntry.object_id == str(case_id),
        )
    )
    return int(count or 0)


def check(flow: Workflow[V], name: str, view: V, actor: Actor | None) -> Transition[V]:
    """The transition if the actor may take it now; else ``Refused`` or ``DomainError``."""
    t, case = flow[name], flow.case_of(view)
    refusal = t.who.refuses(actor, case)
    if refusal is not None:
        raise Refused(refusal)
    if t.sources != NEW and case.status not in t.sources:
        raise DomainError(t.not_now)
    if t.why_not is not None and (why := t.why_not(view)) is not None:
        raise DomainError(why)
    return t


async def apply(
    session: AsyncSession,
    flow: Workflow[V],
    name: str,
    view: V,
    *,
    actor: Actor | None,
    at: dt.datetime,
    env: Env,
    changes: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
    actor_label: str | None = None,
    **params: Any,
) -> Step[V]:
    """Take transition ``name``: check, change, audit, notify (see the module's docstring).

    ``changes``: the case's own fields; ``detail``: joins the audit entry; ``actor_label``:
    an actor without an id ("citizen"; "job" when ``actor`` is None); ``params``: the
    notices' ``step.params``. Nothing is flushed before the checks pass."""
    t = check(flow, name, view, actor)
    case = flow.case_of(view)
    old = case.status if t.sources != NEW else None
    for attr, value in (changes or {}).items():
        setattr(case, attr, value)
    if t.target is not None:
        case.status = t.target
    round_ = await round_of(session, flow, case.id) + (1 if t.bumps_round else 0)
    entry: dict[str, Any] = {"old": old.value if old else None, "new": case.status.value}
    if flow.round_actions:
        entry["round"] = round_
    entry.update(detail or {})
    await audit(
        session,
        t.audit,
        actor_label=actor_label if actor_label is not None else "" if actor is not None else "job",
        actor_telegram_id=actor.telegram_id if actor is not None and actor.telegram_id else None,
        actor_staff_id=actor.staff.id if actor is not None and actor.staff else None,
        object_type=flow.kind,
        object_id=str(case.id),
        detail=entry,
        at=at,
    )
    step = Step(view, case, name, actor, at, old, round_, env, params)
    for notice in t.notices:
        await tell(session, notice, step)
    await session.flush()
    return step


async def tell(session: AsyncSession, notice: Notice[V], step: Step[V]) -> int:
    """Queue one notice to each of its recipients; returns how many were queued."""
    if notice.when is not None and not notice.when(step):
        return 0
    count = 0
    for r in await notice.to(session, step):
        tr = step.env.tr(r.language)
        queued = await enqueue(
            session,
            r.chat_id,
            notice.text(tr, step),
            choices=notice.choices(tr, step) if notice.choices else None,
            dedupe_key=notice.key.format(
                **{**step.params, "id": step.case.id, "round": step.round, "chat": r.chat_id}
            ),
        )
        count += queued is not None
    return count
