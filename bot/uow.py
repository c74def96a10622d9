"""Unit of work for one update: the handler's writes and the inbox claim commit together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot import inbox
from bot.context import JxContext
from bot.failpoints import failpoint


class AlreadyHandled(Exception):
    """The update was applied before (a replay after a crash); its writes are rolled back."""


@asynccontextmanager
async def transaction(update: Update, context: JxContext) -> AsyncIterator[AsyncSession]:
    """Open a transaction that also marks ``update`` handled, once, in the same commit."""
    async with context.services.sessions.begin() as session:
        yield session
        if not context.inbox_claimed and update.update_id:
            if not await inbox.mark_handled(session, update.update_id) and await _known(
                session, update.update_id
            ):
                raise AlreadyHandled(update.update_id)
            context.inbox_claimed = True
    failpoint("committed")


async def _known(session: AsyncSession, update_id: int) -> bool:
    from bot.models import InboxUpdate

    return await session.get(InboxUpdate, update_id) is not None
