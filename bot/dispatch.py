"""Feeds stored updates to the Application: in order per chat, concurrently across chats.

``ConversationHandler`` needs one update at a time per conversation; different
chats need not wait for each other. An update whose reply did not reach the user
(``bot.replies``) stays "not replied", and its chat is re-prompted from the database
a little later, in the chat's own queue. After a crash, ``recover`` first re-prompts
chats whose answer was saved but whose reply was never sent, then applies what was
stored but never handled.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot import inbox, replies
from bot.db import SessionFactory
from bot.failpoints import failpoint

log = logging.getLogger(__name__)

# Seconds before each re-prompt of a chat whose reply failed; the last one repeats.
REPROMPT_DELAYS: tuple[float, ...] = (5.0, 30.0, 120.0, 600.0)


@dataclass(frozen=True)
class _Reprompt:
    """A queue item: show the chat the prompt it is owed (``attempt`` counts the tries)."""

    attempt: int


class UpdateDispatcher:
    """Per-chat FIFO queues with a global concurrency cap."""

    def __init__(
        self,
        application: Application,
        sessions: SessionFactory,
        concurrency: int = 16,
        reprompt_delays: tuple[float, ...] = REPROMPT_DELAYS,
    ) -> None:
        self.application = application
        self.sessions = sessions
        self.reprompt_delays = reprompt_delays
        self._queues: dict[int, deque[dict[str, Any] | _Reprompt]] = defaultdict(deque)
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._reprompts: dict[int, asyncio.TimerHandle] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, payload: dict[str, Any]) -> None:
        self._enqueue(inbox.chat_of(payload) or 0, payload)

    def _enqueue(self, chat: int, item: dict[str, Any] | _Reprompt) -> None:
        self._queues[chat].append(item)
        self._idle.clear()
        if chat not in self._workers:
            self._workers[chat] = asyncio.create_task(self._work(chat), name=f"chat-{chat}")

    async def _work(self, chat: int) -> None:
        queue = self._queues[chat]
        try:
            while queue:
                item = queue.popleft()
                async with self._slots:
                    if isinstance(item, _Reprompt):
                        await self._reprompt(chat, item.attempt)
                    else:
                        await self._handle(item)
        finally:
            del self._workers[chat]
            self._queues.pop(chat, None)
            if not self._workers:
                self._idle.set()

    async def _handle(self, payload: dict[str, Any]) -> None:
        update = Update.de_json(payload, self.application.bot)
        with replies.watch() as outcome:
            try:
                await self.application.process_update(update)
            except Exception:  # process_update reports handler errors itself; this is plumbing
                log.exception("update %s could not be processed", update.update_id)
        if outcome.failed:
            log.warning(
                "the reply to update %s did not reach the user (%s); re-prompting later",
                update.update_id,
                outcome.error,
            )
            await inbox.mark_owed(self.sessions, update.update_id)
            self._schedule_reprompt(inbox.chat_of(payload), 0)
            return
        failpoint("replied")
        await inbox.mark_done(self.sessions, update.update_id)

    def _schedule_reprompt(self, chat: int | None, attempt: int) -> None:
        """Re-prompt ``chat`` after a back-off, unless one is pending already."""
        if chat is None or chat in self._reprompts:
            return
        delay = self.reprompt_delays[min(attempt, len(self.reprompt_delays) - 1)]

        def due() -> None:
            del self._reprompts[chat]
            if self.application.running:  # after shutdown, the next start's recover does it
                self._enqueue(chat, _Reprompt(attempt))

        self._reprompts[chat] = asyncio.get_running_loop().call_later(delay, due)

    async def _reprompt(self, chat: int, attempt: int) -> bool:
        """Show ``chat`` the prompt of where it is; True once nothing is owed any more."""
        # resume imports the flow machinery, which imports handlers' helpers: keep it late
        from bot.resume import resume_chat

        owed = await inbox.unreplied(self.sessions, chat_id=chat)
        if not owed:
            return True
        update = Update.de_json(owed[-1].payload, self.application.bot)
        with replies.watch() as outcome:
            try:
                await resume_chat(self.application, update)  # type: ignore[arg-type]
            except Exception:
                log.exception("could not re-prompt chat %s", chat)
        if outcome.failed:
            self._schedule_reprompt(chat, attempt + 1)
            return False
        await inbox.mark_done(self.sessions, *(row.update_id for row in owed))
        return True

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def recover(self) -> None:
        """Finish what a crash interrupted, before taking new updates."""
        owed = await inbox.unreplied(self.sessions)
        chats = list(dict.fromkeys(row.chat_id for row in owed))
        for chat in chats:
            if chat is None:
                await inbox.mark_done(
                    self.sessions, *(r.update_id for r in owed if r.chat_id is None)
                )
            else:
                await self._reprompt(chat, 0)
        pending = await inbox.unhandled(self.sessions)
        if pending:
            log.info("recovering %d stored updates", len(pending))
        for row in pending:
            self.submit(row.payload)
        await self.wait_idle()
