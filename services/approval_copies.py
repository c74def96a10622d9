"""The copies of a leadership approval request (审定), and retiring them once it is decided.

A request goes to every leadership member as its own outbox row, under a dedupe key made
of the request's key and the member's chat (``template_key``/``review_key`` + telegram id):
those rows are the record of who holds a copy, and once sent they know its message id. When
one member decides, every other copy is edited through the outbox to say who decided and
when, its buttons removed, so no stale button invites a second decision; a late tap on a
copy not yet edited is answered with the same ``Decided`` words.

Finished outbox rows are pruned after ``services.outbox.RETENTION``: a request left
undecided for longer keeps its copies' buttons, and its late taps are still answered truly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import OutboxStatus
from domain.text import N_, Html, html_format
from infra.i18n import Translator
from infra.models import OutboxMessage, TelegramAccount
from services.errors import DomainError
from services.notices import DEFAULTS, Localization, translator
from services.outbox import SEND_MESSAGE, enqueue_edit
from services.templates import localized

TEMPLATE_APPROVED = N_("The indicator system “{name}” was approved by {leader} on {date}.")
RESULTS_APPROVED = N_("The results of {period} were approved by {leader} on {date}.")
RESULTS_SENT_BACK = N_(
    "The results of {period} were sent back to the working group by {leader} on {date}."
)


def template_key(template_id: int) -> str:
    """The dedupe-key prefix of the copies asking to approve a template."""
    return f"tpl-approve:{template_id}:"


def review_key(cycle_id: int, round_: int) -> str:
    """The dedupe-key prefix of the copies asking to approve one review round's results."""
    return f"review:{cycle_id}:{round_}:"


@dataclass(frozen=True)
class Decided:
    """Who decided a request, and when, in words for any reader: ``message`` (one of the
    msgids above) with ``params`` and ``at``, which each reader sees as a date of their own."""

    message: str
    leader: str
    at: dt.datetime
    params: tuple[tuple[str, str], ...] = ()

    def render(self, tr: Translator) -> Html:
        return html_format(tr._(self.message), **self._values(tr))

    def plain(self, tr: Translator) -> str:
        return tr._(self.message).format(**self._values(tr))

    def _values(self, tr: Translator) -> dict[str, str]:
        values = dict(self.params)
        if "period" in values:
            values["period"] = tr.period(values["period"])
        if "name" in values:  # the indicator system's name, in the reader's script
            values["name"] = localized(values["name"], tr.locale)
        return {**values, "leader": self.leader, "date": tr.date(self.at)}


class AlreadyDecided(DomainError):
    """A decision asked for on a request someone has already decided: says who, and when."""

    def __init__(self, decided: Decided) -> None:
        super().__init__(
            decided.message,
            leader=decided.leader,
            date=decided.at.date().isoformat(),
            **dict(decided.params),
        )
        self.decided = decided

    def render(self, tr: Translator) -> Html:
        return self.decided.render(tr)

    def plain(self, tr: Translator, *, codes: bool = False) -> str:
        return self.decided.plain(tr)


async def holders(session: AsyncSession, key: str) -> list[OutboxMessage]:
    """The text messages carrying the request of ``key`` that were sent or are still due."""
    found = await session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.dedupe_key.like(f"{key}%"),
            OutboxMessage.method == SEND_MESSAGE,
            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENT]),
        )
        .order_by(OutboxMessage.id)
    )
    return list(found)


async def retire(
    session: AsyncSession,
    key: str,
    decided: Decided,
    *,
    keep_chat: int | None = None,
    local: Localization = DEFAULTS,
) -> int:
    """Edit every copy of the request ``key`` (but the one in ``keep_chat``, which the
    decider's own screen replaces) to say ``decided``, without buttons; returns the edits
    queued."""
    count = 0
    for copy in await holders(session, key):
        if copy.chat_id == keep_chat:
            continue
        language = await session.scalar(
            select(TelegramAccount.language).where(TelegramAccount.telegram_id == copy.chat_id)
        )
        tr = translator(language, local)
        if copy.status == OutboxStatus.PENDING and await _rewrite(
            session, copy, decided.render(tr)
        ):
            count += 1  # not sent yet: it goes out saying who decided, with no buttons
        elif await enqueue_edit(session, copy, decided.render(tr), dedupe_key=f"retire:{copy.id}"):
            count += 1
    return count


async def _rewrite(session: AsyncSession, copy: OutboxMessage, text: str) -> bool:
    """Replace a copy still waiting in the outbox (only if it still is: the sender may have
    just sent it, and then an edit is queued instead)."""
    done = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == copy.id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(payload={"text": text, "parse_mode": "HTML"})
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(done, "rowcount", 0))
