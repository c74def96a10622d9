"""Feeds stored updates to the Application: in order per chat, concurrently across chats.

``ConversationHandler`` needs one update at a time per conversation; different
chats need not wait for each other. After a crash, ``recover`` first applies
what was stored but never handled, then re-prompts chats whose answer was saved
but whose reply was never sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot import inbox
from bot.db import SessionFactory
from bot.failpoints import failpoint

log = logging.getLogger(__name__)


class UpdateDispatcher:
    """Per-chat FIFO queues with a global concurrency cap."""

    def __init__(
        self,
        application: Application,
        sessions: SessionFactory,
        concurrency: int = 16,
    ) -> None:
        self.application = application
        self.sessions = sessions
        self._queues: dict[int, deque[dict[str, Any]]] = defaultdict(deque)
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, payload: dict[str, Any]) -> None:
        chat = inbox.chat_of(payload) or 0
        self._queues[chat].append(payload)
        self._idle.clear()
        if chat not in self._workers:
            self._workers[chat] = asyncio.create_task(self._work(chat), name=f"chat-{chat}")

    async def _work(self, chat: int) -> None:
        queue = self._queues[chat]
        try:
            while queue:
                payload = queue.popleft()
                async with self._slots:
                    await self._handle(payload)
        finally:
            del self._workers[chat]
            self._queues.pop(chat, None)
            if not self._workers:
                self._idle.set()

    async def _handle(self, payload: dict[str, Any]) -> None:
        update = Update.de_json(payload, self.application.bot)
        try:
            await self.application.process_update(update)
        except Exception:  # process_update reports handler errors itself; this is plumbing
            log.exception("update %s could not be processed", update.update_id)
        failpoint("replied")
        await inbox.mark_done(self.sessions, update.update_id)

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def recover(self) -> None:
        """Finish what a crash interrupted, before taking new updates."""
        from bot.resume import resume_chat

        for row in await inbox.unreplied(self.sessions):
            update = Update.de_json(row.payload, self.application.bot)
            try:
                await resume_chat(self.application, update)  # type: ignore[arg-type]
            except Exception:
                log.exception("could not re-prompt after update %s", row.update_id)
            await inbox.mark_done(self.sessions, row.update_id)
        pending = await inbox.unhandled(self.sessions)
        if pending:
            log.info("recovering %d stored updates", len(pending))
        for row in pending:
            self.submit(row.payload)
        await self.wait_idle()
