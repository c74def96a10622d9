"""Unit of work for one update: the handler's writes and the inbox claim commit together.

This is the only door through which update handling writes: ``JxContext.transaction()``
and a flow's ``tx`` both come here. A writing session opened anywhere else would commit
without the claim, and a kill before the inbox row is marked would apply the update
again after the restart.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from infra import inbox
from infra.failpoints import failpoint
from infra.models import InboxUpdate

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Carried:
    """A write handed on to the update's next transaction (``Flow.handing_over``): a step
    that runs another handler lets that handler's transaction carry the step's own move.

    ``write`` runs first in the transaction, ``committed`` once it has committed; a
    transaction that rolls back leaves it pending for the next one."""

    write: Callable[[AsyncSession], Awaitable[None]]
    committed: Callable[[], Awaitable[None]]


class UpdateScope(Protocol):
    """What a transaction needs of the update's context (``chat.context.JxContext``, which
    imports this module for its ``transaction()``: a protocol here keeps the import one way)."""

    inbox_claimed: bool
    carried: list[Carried]  # pending writes handed on, oldest first

    @property
    def application(self) -> Any: ...  # a JxApplication: its ``_write_sessions``

    def committed(self) -> None: ...  # drops what the update had read of its caller


class AlreadyHandled(Exception):
    """The update was applied before (a replay after a crash); its writes are rolled back."""


@asynccontextmanager
async def transaction(update: Update, context: UpdateScope) -> AsyncIterator[AsyncSession]:
    """Open a transaction that also marks ``update`` handled, once, in the same commit."""
    sessions = context.application._write_sessions
    if context.inbox_claimed:
        # Not atomic with the first: a kill between the two commits loses this one's writes.
        log.warning("update %s writes in a second transaction", update.update_id)
    claimed = False
    carried = list(context.carried)
    async with sessions.begin() as session:  # rolled back if the body or the claim raises
        for hand in carried:
            await hand.write(session)
        if carried:
            # flushed, so the body reads what was handed on (a closed flow's focus is gone)
            await session.flush()
            failpoint("carried")
        yield session
        if not context.inbox_claimed and update.update_id:
            if not await inbox.mark_handled(session, update.update_id) and await _known(
                session, update.update_id
            ):
                raise AlreadyHandled(update.update_id)
            claimed = True
    # only now: a commit that fails (a constraint checked at flush) has claimed nothing
    context.inbox_claimed = context.inbox_claimed or claimed
    context.committed()
    for hand in carried:
        context.carried.remove(hand)
    failpoint("committed")
    for hand in carried:
        await hand.committed()


async def _known(session: AsyncSession, update_id: int) -> bool:
    return await session.get(InboxUpdate, update_id) is not None
