"""Recording the sender's outcomes: those that arrive together, committed in one transaction.

Each message's job waits until its outcome is committed (it holds its send slot meanwhile, so
at most ``concurrency`` accepted messages are ever unrecorded: the duplicate window of
``chat.outbox_sender``). Committing them one transaction each made recording the sender's
main cost; here a single writer takes every outcome queued while the previous commit ran and
writes them in one (group commit): nothing waits for a timer, an idle sender commits each
outcome at once, a busy one commits many for the price of one. A batch the database refuses
is retried; if it still fails, each outcome is tried on its own, so one bad row cannot keep
the others unrecorded (and sent again).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from chat.outbox_policy import Outcome
from chat.outbox_record import apply_outcome, record_sent
from chat.outbox_rows import Queued
from infra.db import SessionFactory
from infra.outage import DatabaseWatch
from services.notices import Localization

# The sender's log lines keep the logger name they have always had.
log = logging.getLogger("chat.outbox_sender")

RECORD_TRIES = 5


@dataclass
class _Entry:
    row: Queued
    outcome: Outcome
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class OutcomeRecorder:
    """``record`` returns once the outcome is committed (or raises why it could not be)."""

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        now: Callable[[], dt.datetime],
        admin_ids: frozenset[int] | None,
        local: Localization,
        watch: DatabaseWatch | None,
    ) -> None:
        self.sessions = sessions
        self.now = now
        self.admin_ids = admin_ids
        self.local = local
        self.watch = watch
        self.commits = 0  # transactions committed, for the summary line
        self._queued: list[_Entry] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, row: Queued, outcome: Outcome) -> None:
        entry = _Entry(row, outcome)
        self._queued.append(entry)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_queued(), name="outbox-recorder")
        # shielded: a job cancelled while waiting must not cut off the others' commit
        await asyncio.shield(entry.done)

    async def _write_queued(self) -> None:
        """Write batches until nothing is queued; a new one starts the writer again."""
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                await self._write(batch)
        finally:
            self._writer = None

    async def _write(self, batch: list[_Entry]) -> None:
        try:
            await self._commit_with_retries(batch)
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch, exc)
                return
            log.warning("outbox: recording %d outcomes failed; one by one", len(batch))
            await asyncio.gather(*(self._write([entry]) for entry in batch))
            return
        _settle(batch, None)

    async def _commit_with_retries(self, batch: Sequence[_Entry]) -> None:
        if self.watch is not None:
            # through an outage, so a message Telegram accepted is not sent again afterwards
            await self.watch.call(lambda: self._commit(batch))
            return
        for attempt in range(RECORD_TRIES):
            try:
                await self._commit(batch)
                return
            except (SQLAlchemyError, OSError):
                if attempt == RECORD_TRIES - 1:
                    raise
                log.warning(
                    "outbox: recording %d outcome(s) failed; retrying", len(batch), exc_info=True
                )
                await asyncio.sleep(0.5 * 2**attempt)

    async def _commit(self, batch: Sequence[_Entry]) -> None:
        now = self.now()
        sent = [(e.row, e.outcome) for e in batch if e.outcome.kind == "sent"]
        async with self.sessions.begin() as session:
            if sent:
                await record_sent(session, sent, now=now)
            for e in batch:
                if e.outcome.kind != "sent":
                    await apply_outcome(
                        session,
                        e.row,
                        e.outcome,
                        now=now,
                        admin_ids=self.admin_ids,
                        local=self.local,
                    )
        self.commits += 1


def _settle(batch: Sequence[_Entry], error: BaseException | None) -> None:
    for entry in batch:
        if entry.done.done():
            continue
        if error is None:
            entry.done.set_result(None)
        else:
            entry.done.set_exception(error)
            entry.done.exception()  # read here: a waiter stopped meanwhile would never read it
