"""Feeds stored updates to the Application: in order per chat, concurrently across chats.

``ConversationHandler`` needs one update at a time per conversation; different
chats need not wait for each other. An update whose reply did not reach the user
(``chat.replies``) stays "not replied", and its chat is re-prompted from the database
a little later, in the chat's own queue. After a crash, ``recover`` first re-prompts
chats whose answer was saved but whose reply was never sent, then applies what was
stored but never handled.

A handler that fails because the database is away is not told to the user as an error: the
update stays at the head of its chat's queue and runs again once the database answers, so
every stored update is handled, in order per chat, through an outage (``infra.outage``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, CallbackContext

from chat import replies
from chat.done_marks import DoneMarks
from chat.resume import resume_chat
from infra import inbox
from infra.db import SessionFactory
from infra.failpoints import failpoint
from infra.outage import MAX_FAILURES, DatabaseWatch, Stopping, is_outage

log = logging.getLogger(__name__)

# Seconds before each re-prompt of a chat whose reply failed; the last one repeats.
REPROMPT_DELAYS: tuple[float, ...] = (5.0, 30.0, 120.0, 600.0)

_RETRY = Exception("may be retried")  # marks an update whose outage errors we hold


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
        watch: DatabaseWatch | None = None,
    ) -> None:
        self.application = application
        self.sessions = sessions
        self.reprompt_delays = reprompt_delays
        self.watch = watch
        self._outage_errors: dict[int, BaseException] = {}  # update id -> the outage it hit
        if watch is not None:
            # First among the error handlers (a documented dict, run in order), so that
            # fallback.on_error does not tell the user to try again: we retry for them.
            others = dict(application.error_handlers)
            application.error_handlers.clear()
            application.error_handlers[self._hold_outage] = True
            application.error_handlers.update(others)
        self._queues: dict[int, deque[dict[str, Any] | _Reprompt]] = defaultdict(deque)
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._reprompts: dict[int, asyncio.TimerHandle] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._marks = DoneMarks(self._mark_done)
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, payload: dict[str, Any]) -> None:
        """Queue a stored update (built into an ``Update`` when its turn comes)."""
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
                item = queue[0]  # popped once handled: an outage keeps it first in line
                done = None
                async with self._slots:
                    if isinstance(item, _Reprompt):
                        await self._reprompt(chat, item.attempt)
                    else:
                        done = await self._handle(item)
                if done is not None:  # out of the slot: the batch is written by another task
                    await self._marks.mark(done)
                queue.popleft()
        except Stopping:
            log.info("stopping while the database is away: chat %s resumes at the next start", chat)
        finally:
            del self._workers[chat]
            self._queues.pop(chat, None)
            if not self._workers:
                self._idle.set()

    async def _handle(self, payload: dict[str, Any]) -> int | None:
        """Apply one update; returns its id once it is to be marked done (it was replied to)."""
        update = Update.de_json(payload, self.application.bot)
        with replies.watch() as outcome:
            for attempt in range(1, MAX_FAILURES + 1):
                if self.watch is not None:
                    await self.watch.wait_up()
                    self._outage_errors.pop(update.update_id, None)
                    if attempt < MAX_FAILURES:
                        self._outage_errors[update.update_id] = _RETRY
                try:
                    if attempt > 1 and await self._applied(update.update_id):
                        # stored before the outage hit its reply
                        await resume_chat(self.application, update)  # type: ignore[arg-type]
                    else:
                        await self.application.process_update(update)
                except Exception as exc:  # process_update reports handler errors itself
                    if self._outage_errors.get(update.update_id) is _RETRY and is_outage(exc):
                        self._outage_errors[update.update_id] = exc
                    else:
                        log.exception("update %s could not be processed", update.update_id)
                error = self._outage_errors.pop(update.update_id, None)
                if error is None or error is _RETRY or self.watch is None:
                    break
                log.warning(
                    "update %s met a database outage; it runs again once the database is back",
                    update.update_id,
                )
                self.watch.failed(error)
        if outcome.failed:
            log.warning(
                "the reply to update %s did not reach the user (%s); re-prompting later",
                update.update_id,
                outcome.error,
            )
            await self._db(lambda: inbox.mark_owed(self.sessions, update.update_id))
            self._schedule_reprompt(inbox.chat_of(payload), 0)
            return None
        failpoint("replied")
        return update.update_id

    async def _mark_done(self, update_ids: tuple[int, ...]) -> None:
        await self._db(lambda: inbox.mark_done(self.sessions, *update_ids))

    async def _db(self, write: Any) -> None:
        """A bookkeeping write, waiting out a database outage when a watch is kept."""
        if self.watch is not None:
            await self.watch.call(write)
        else:
            await write()

    async def _applied(self, update_id: int) -> bool:
        return await inbox.is_handled(self.sessions, update_id)

    async def _hold_outage(self, update: object, context: CallbackContext) -> None:
        """Error handler: an outage during an update we will retry is ours, not the user's."""
        if (
            isinstance(update, Update)
            and self._outage_errors.get(update.update_id) is _RETRY
            and is_outage(context.error)
        ):
            assert context.error is not None
            self._outage_errors[update.update_id] = context.error
            raise ApplicationHandlerStop

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

    async def recover(self, owns: Callable[[int | None], bool] = lambda chat: True) -> None:
        """Finish what a crash interrupted, before taking new updates; ``owns``: which chats
        are this process's to recover (``chat.shards``: each process recovers its own)."""
        owed = [row for row in await inbox.unreplied(self.sessions) if owns(row.chat_id)]
        chats = list(dict.fromkeys(row.chat_id for row in owed))
        for chat in chats:
            if chat is None:
                await inbox.mark_done(
                    self.sessions, *(r.update_id for r in owed if r.chat_id is None)
                )
            else:
                await self._reprompt(chat, 0)
        pending = [row for row in await inbox.unhandled(self.sessions) if owns(row.chat_id)]
        if pending:
            log.info("recovering %d stored updates", len(pending))
        for row in pending:
            self.submit(row.payload)
        await self.wait_idle()
