"""The one sender of ``outbox_message``: what the bot pushes on its own, within Telegram's limits.

Rows are queued by ``services.outbox.enqueue`` in the transaction that causes them; this module
turns them into Bot API calls. It paces sends (``global_rate`` per second overall, one per
``per_chat_interval`` per chat, one in flight per chat, in id order per chat), rides out flood
control (a 429 pauses *all* sending for ``retry_after``: the limit is bot-wide) and sorts the
failures: network trouble is retried with exponential back-off, a blocked bot is recorded and
not retried, a bad request is a bug or a gone chat and fails the message.

Delivery is at least once, and this is the duplicate window, stated plainly. The Bot API has no
idempotency key, so "Telegram accepted the message" and "we recorded it as SENT" cannot be one
atomic step. Each success is committed in a short transaction straight after Telegram answers
(with the other outcomes that arrived meanwhile: ``chat.outbox_recorder``); if the process dies
between the two (SIGKILL, OOM, power loss, or the database refusing
that commit), the row is still PENDING and is sent again after the restart — the user sees it
twice. At most ``concurrency`` messages are in that state at any moment, so one crash duplicates
at most that many. A request that times out after Telegram processed it is also retried, and so
also duplicated. The opposite order (mark, then send) would lose messages silently on a crash;
a reminder read twice is the lesser harm.

Only one sender should run per bot (the bot process runs one; ``python -m bot.outbox``
runs one standalone). Two would not corrupt anything — a row is only marked while PENDING — but
each could send the same row once.

Rows are read a batch at a time (``chat.outbox_rows``, one query for up to ``batch_size``)
and kept as the sender's plan until they run out, a poll interval passes, ``wake`` is called
or an outcome other than "sent" or "failed" changes what a chat has pending; so the cost of a
message is its Bot API call, not the queries around it. A plan whose rows all wait behind
their chats' messages on their way (a chart, then its text) is topped up with the rows after
the last one read, not read again from the start: read again, the same rows came back for
every few sent, and the reads were most of the sender's work besides the calls.

The sender paces, schedules and records; the parts it composes live beside it: the rows as
read (``chat.outbox_rows``), the Bot API call built from a row (``chat.outbox_request``), how a
failed call is sorted (``chat.outbox_policy``), what each outcome writes
(``chat.outbox_record``), how outcomes are committed together (``chat.outbox_recorder``) and
the chart-drawing processes (``chat.render_pool``).

``python -m bot.outbox [--drain]`` reads the usual settings (JIXIAO_BOT_TOKEN,
JIXIAO_DATABASE_URL, JIXIAO_TELEGRAM_BASE_URL): ``--drain`` sends what is due and exits;
without it the sender runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot

from chat import outbox_rows
from chat.outbox_policy import Outcome, failure
from chat.outbox_recorder import OutcomeRecorder
from chat.outbox_request import call
from chat.outbox_rows import Queued
from chat.render_pool import draw
from domain.enums import OutboxStatus
from infra.db import SessionFactory
from infra.models import OutboxMessage
from infra.models.types import utcnow
from infra.outage import DatabaseWatch, Stopping, is_outage
from services.notices import DEFAULTS, Localization
from services.outbox import EDIT_TEXT

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]

SUMMARY_EVERY = 30.0  # seconds between summary lines while continuously busy
SPENT_GAP = 0.1  # seconds between reads of the queue when the plan is spent but the queue not
# what leaves a chat's other pending rows as they were read: they may be sent from the plan
KEEPS_QUEUE = frozenset({"sent", "failed"})


@dataclass
class _Job:
    """One message on its way; ``sending`` once the request may have reached Telegram."""

    row_id: int
    chat_id: int
    row: Queued
    task: asyncio.Task[None] | None = None
    sending: bool = False


class OutboxSender:
    """Delivers due outbox rows; ``run`` for the long-lived sender, ``drain`` for one sweep.

    ``clock`` stamps rows and decides what is due; a test clock may run ahead of real time
    but never holds back rows that ``enqueue`` stamped with the real time.
    """

    def __init__(
        self,
        bot: Bot,
        sessions: SessionFactory,
        *,
        global_rate: float = 25.0,
        per_chat_interval: float = 1.0,
        concurrency: int = 8,
        poll_interval: float = 1.0,
        clock: Clock = utcnow,
        batch_size: int = 500,
        admin_ids: frozenset[int] | None = None,
        local: Localization = DEFAULTS,
        watch: DatabaseWatch | None = None,
    ) -> None:
        if global_rate <= 0 or concurrency < 1 or poll_interval <= 0 or batch_size < 1:
            raise ValueError("rates, concurrency, poll interval and batch size must be positive")
        self.bot = bot
        self.sessions = sessions
        self.global_rate = global_rate
        self.per_chat_interval = per_chat_interval
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.clock = clock
        self.batch_size = batch_size
        self.admin_ids = admin_ids  # the working group, told of refused markup (with ADMIN staff)
        self.local = local  # the default language and time zone of that notice
        self.watch = watch  # in the bot process: wait out database outages with everyone else
        self.totals: Counter[str] = Counter()  # outcomes since start, by kind
        self._batch: Counter[str] = Counter()  # outcomes since the last summary line
        self._batch_started = time.monotonic()
        self._jobs: dict[int, _Job] = {}  # by chat id: at most one message in flight per chat
        self._signal = asyncio.Event()  # a job finished or wake() was called
        self._in_flight = asyncio.Semaphore(concurrency)
        self._turn = asyncio.Lock()  # hands out global send slots in FIFO order
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._chat_ready: dict[int, float] = {}
        self._recorder = OutcomeRecorder(
            sessions, now=self._now, admin_ids=admin_ids, local=local, watch=watch
        )
        # the plan: rows read by the last fetch and not yet started, in id order
        self._plan: list[Queued] = []
        self._plan_full = False  # the fetch hit batch_size: more rows wait behind the plan
        self._fetched_at = -float("inf")  # monotonic time of the last fetch
        # Fetches are numbered; a change at a moment is stamped with the number of the last
        # fetch begun then, so a row read by fetch n (``Queued.read_no``) saw it only if its
        # stamp is below n.
        self._fetches = 0  # fetches begun
        self._read_upto = 0  # the highest id read since the last read from the start
        self._changed: dict[int, int] = {}  # chat -> stamp: its pending rows changed
        self._ended: dict[int, int] = {}  # row id -> stamp: its job ended (sent, failed…)
        self._stale = True  # read the table before planning from what was read
        self._fetched_now = False  # the last dispatch read the table

    # -- public API ----------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the table now (call after committing a transaction that enqueued)."""
        self._stale = True
        self._signal.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set; rows from other processes are seen every poll_interval.

        On stop, messages still waiting for their turn are left for next time; requests already
        on their way to Telegram are finished and recorded (not cut off into duplicates).
        """
        log.info(
            "outbox sender running: %.0f msg/s, %d in flight, %.1f s per chat",
            self.global_rate,
            self.concurrency,
            self.per_chat_interval,
        )
        try:
            while not stop.is_set():
                self._signal.clear()
                if self.watch is not None and not self.watch.up:
                    await self._sleep(self.poll_interval, stop)  # the watch probes meanwhile
                    continue
                try:
                    next_due = await self._dispatch(lookahead=self.poll_interval)
                except (SQLAlchemyError, OSError) as exc:
                    if self.watch is not None and is_outage(exc):
                        self.watch.failed(exc)
                    else:
                        log.exception("outbox: could not read the queue; retrying")
                    next_due = None
                timeout = (
                    self.poll_interval if next_due is None else min(next_due, self.poll_interval)
                )
                await self._sleep(timeout, stop)
                self._summarise(force=not self._jobs)
        finally:
            await self._finish()
            self._summarise(force=True)
            log.info("outbox sender stopped")

    async def drain(self, *, max_wait: float = 60.0) -> int:
        """Send everything due now and return the number sent.

        Retries that fall due within ``max_wait`` seconds (a 429's retry_after, the first
        network back-offs, messages scheduled a few seconds ahead) are waited for, so one drain
        leaves nothing behind that was merely unlucky; later ones stay PENDING for the next run.
        """
        sent_before = self.totals["sent"]
        deadline = time.monotonic() + max_wait
        try:
            while True:
                self._signal.clear()
                remaining = max(0.0, deadline - time.monotonic())
                next_due = await self._dispatch(lookahead=remaining)
                if not self._jobs and (next_due is None or next_due > remaining):
                    if self._fetched_now:  # nothing due as the table stands now
                        break
                    self._stale = True
                    continue
                await self._sleep(next_due, None)
                self._summarise(force=False)
        finally:
            await self._finish()
            self._summarise(force=True)
        return self.totals["sent"] - sent_before

    # -- planning ------------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return max(self.clock(), utcnow())

    async def _dispatch(self, *, lookahead: float) -> float | None:
        """Start a job per chat whose oldest pending message is due; seconds until the next one.

        A message waiting for its retry holds back the later messages of its chat (order);
        a message merely scheduled for later (``not_before``) does not. Plans from the rows
        read before, unless they may miss rows (``_needs_fetch``).
        """
        now = self._now()
        self._fetched_now = False
        need = self._needs_fetch()
        if need is not None:
            await self._fetch(now + dt.timedelta(seconds=lookahead), more=need == "more")
        held = set(self._jobs)
        next_due: float | None = None
        rest: list[Queued] = []
        for row in self._plan:
            if (
                self._changed.get(row.chat_id, 0) >= row.read_no
                or self._ended.get(row.id, 0) >= row.read_no
            ):
                continue  # read before it (or its chat's queue) changed: not as it stands
            if row.chat_id in held:
                rest.append(row)
                continue
            if row.next_attempt_at <= now:
                held.add(row.chat_id)
                self._start(row)
                continue
            rest.append(row)
            wait = (row.next_attempt_at - now).total_seconds()
            next_due = wait if next_due is None else min(next_due, wait)
            if row.tried:
                held.add(row.chat_id)
        self._plan = rest
        self._prune_chat_clock()
        return next_due

    def _needs_fetch(self) -> Literal["all", "more"] | None:
        """Whether the plan may miss rows: stale or old ("all": read it again from the start),
        or spent with more behind it ("more": every row left in it waits for a message of its
        chat still on its way, so the rows after it are read)."""
        since = time.monotonic() - self._fetched_at
        if self._stale or since >= self.poll_interval:
            return "all"
        if not self._plan_full or since < SPENT_GAP or len(self._jobs) >= self.batch_size:
            return None  # (chats enough at work: each job holds its row, and maybe a picture)
        if all(row.chat_id in self._jobs for row in self._plan):
            return "more"
        return None

    async def _fetch(self, horizon: dt.datetime, *, more: bool = False) -> None:
        """Replace the plan with the rows due by ``horizon`` as the table stands now, or
        (``more``) add those after the last row read to it."""
        if not more:
            self._stale = False
        self._fetches += 1
        number = self._fetches
        self._fetched_at = time.monotonic()
        known = {r.id: r for r in [*self._plan, *(j.row for j in self._jobs.values())]}
        try:
            async with self.sessions() as session:
                rows = await outbox_rows.due(
                    session, horizon, self.batch_size, known, after=self._read_upto if more else 0
                )
        except BaseException:
            self._stale = True
            raise
        for row in rows:
            row.read_no = number
        self._fetched_now = not more
        self._plan_full = len(rows) >= self.batch_size
        if rows:
            self._read_upto = max(self._read_upto if more else 0, rows[-1].id)
        elif not more:
            self._read_upto = 0
        in_flight = {job.row_id for job in self._jobs.values()}  # read while on its way
        fresh = [row for row in rows if row.id not in in_flight]
        if more:
            self._plan.extend(fresh)
            return
        self._plan = fresh
        # stamps below this fetch's number are in what it read
        self._changed = {c: n for c, n in self._changed.items() if n >= number}
        self._ended = {r: n for r, n in self._ended.items() if n >= number}

    def _start(self, row: Queued) -> None:
        job = _Job(row.id, row.chat_id, row)
        job.task = asyncio.create_task(self._job(job, row), name=f"outbox-{row.id}")
        job.task.add_done_callback(functools.partial(self._job_done, job))
        self._jobs[row.chat_id] = job

    def _job_done(self, job: _Job, _task: asyncio.Task[None]) -> None:
        self._ended[job.row_id] = self._fetches
        if self._jobs.get(job.chat_id) is job:
            del self._jobs[job.chat_id]
        self._signal.set()

    async def _sleep(self, seconds: float | None, stop: asyncio.Event | None) -> None:
        """Until a job finishes, wake() is called, ``stop`` is set, or ``seconds`` pass."""
        waiters = [asyncio.ensure_future(self._signal.wait())]
        if stop is not None:
            waiters.append(asyncio.ensure_future(stop.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _finish(self) -> None:
        """Drop jobs still waiting for their turn; let requests already sent complete."""
        jobs = list(self._jobs.values())
        for job in jobs:
            if not job.sending and job.task is not None:
                job.task.cancel()
        await asyncio.gather(*(j.task for j in jobs if j.task is not None), return_exceptions=True)

    # -- one message ---------------------------------------------------------------------

    async def _job(self, job: _Job, row: Queued) -> None:
        try:
            await self._wait_for_chat(job.chat_id)
            failure = await self._draw(row) or await self._target(row)
            if failure is not None:
                await self._record(row, failure)
                return
            # the slot is held until the outcome is recorded: a message Telegram accepted but
            # not yet marked SENT is what a crash duplicates, so at most ``concurrency`` are
            async with self._in_flight:
                # read in the slot: at most ``concurrency`` stored pictures are held at once
                if row.has_attachment and not await self._attach(row):
                    return  # no longer pending
                await self._wait_for_turn()
                job.sending = True
                self._chat_ready[row.chat_id] = time.monotonic() + self.per_chat_interval
                outcome = await self._send(row)
                # Telegram counts the message when it arrives, which may be later than it left
                self._chat_ready[row.chat_id] = time.monotonic() + self.per_chat_interval
                await self._record(row, outcome)
        except Exception as exc:
            # The database is unreachable, most likely: the row stays PENDING for a later pass.
            self._chat_changed(job.chat_id)
            self._chat_ready[job.chat_id] = time.monotonic() + self.poll_interval
            if self.watch is not None and (is_outage(exc) or isinstance(exc, Stopping)):
                if not isinstance(exc, Stopping):
                    self.watch.failed(exc)  # the watch logs the outage once
                return
            log.exception("outbox: message %d not processed", job.row_id)

    def _chat_changed(self, chat_id: int) -> None:
        """The chat's pending rows are no longer as last read: read them again first."""
        self._changed[chat_id] = self._fetches
        self._stale = True

    async def _wait_for_chat(self, chat_id: int) -> None:
        while True:
            delay = self._chat_ready.get(chat_id, 0.0) - time.monotonic()
            if delay <= 0:
                return
            await asyncio.sleep(delay)

    async def _wait_for_turn(self) -> None:
        """Space requests ``1/global_rate`` apart and hold them while flood control lasts.

        The slots keep to a grid: a request woken late (a busy loop, a sleep overshooting)
        does not push every later slot back by as much, which kept the rate ~10 % below the
        one asked for on a loaded machine; a slot missed by over half a gap is let go, so no
        burst follows a quiet spell or a pause.
        """
        gap = 1.0 / self.global_rate
        async with self._turn:
            while True:
                delay = max(self._next_slot, self._paused_until) - time.monotonic()
                if delay <= 0:
                    break
                await asyncio.sleep(delay)
            self._next_slot = max(self._next_slot, time.monotonic() - gap / 2) + gap

    def _pause(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        if until > self._paused_until:
            if self._paused_until < time.monotonic():
                log.warning("outbox: flood control, pausing all sends for %.0f s", seconds)
            self._paused_until = until

    def _prune_chat_clock(self) -> None:
        if len(self._chat_ready) > 1000:
            now = time.monotonic()
            self._chat_ready = {c: t for c, t in self._chat_ready.items() if t > now}

    async def _attach(self, row: Queued) -> bool:
        """Read the stored attachment of ``row`` (False: the row is no longer pending)."""
        async with self.sessions() as session:
            row.attachment = await outbox_rows.attachment(session, row.id)
        return row.attachment is not None

    async def _draw(self, row: Queued) -> Outcome | None:
        """Draw a chart queued as a spec *before* taking a send slot, so the slots pace the
        requests themselves (a slow drawing must not bunch requests up behind it)."""
        render = row.payload.get("render") if not row.has_attachment else None
        if render is None:
            return None
        try:
            row.attachment = await draw(render)
        except Exception as exc:  # a spec we cannot draw: retrying will not help
            log.exception("outbox: message %d cannot be drawn", row.id)
            return Outcome("failed", error=f"{type(exc).__name__}: {exc}")
        return None

    async def _target(self, row: Queued) -> Outcome | None:
        """An edit learns the Telegram id of the message it edits, sent before it (id order)."""
        if row.method != EDIT_TEXT or "message_id" in row.payload:
            return None
        async with self.sessions() as session:
            message_id = await session.scalar(
                select(OutboxMessage.telegram_message_id).where(
                    OutboxMessage.id == row.payload.get("edit_of"),
                    OutboxMessage.status == OutboxStatus.SENT,
                )
            )
        if message_id is None:
            return Outcome("failed", error="the message to edit was never delivered")
        row.payload = {**row.payload, "message_id": int(message_id)}
        return None

    async def _send(self, row: Queued) -> Outcome:
        """One Bot API call, its answer sorted into what to do with the row."""
        try:
            message = await call(self.bot, row)
        except Exception as exc:
            outcome = failure(exc, row)
            if outcome.kind == "rate_limited":
                self._pause(outcome.delay)
            return outcome
        return Outcome("sent", message_id=message.message_id)

    # -- recording -----------------------------------------------------------------------

    async def _record(self, row: Queued, outcome: Outcome) -> None:
        """Commit the outcome (with those that arrived meanwhile) before the job ends."""
        changes = outcome.kind not in KEEPS_QUEUE
        if changes:
            self._chat_changed(row.chat_id)
        await self._recorder.record(row, outcome)
        if changes:  # again: a read begun before the commit saw the chat's rows as they were
            self._chat_changed(row.chat_id)
        self.totals[outcome.kind] += 1
        self._batch[outcome.kind] += 1

    def _summarise(self, *, force: bool) -> None:
        """One INFO line per batch of work, not one per message."""
        if not self._batch:
            self._batch_started = time.monotonic()
            return
        elapsed = time.monotonic() - self._batch_started
        if not force and elapsed < SUMMARY_EVERY:
            return
        b = self._batch
        log.info(
            "outbox: %d sent, %d rate-limited, %d deferred, %d blocked, %d failed in %.1f s",
            b["sent"],
            b["rate_limited"],
            b["deferred"],
            b["blocked"],
            b["failed"],
            elapsed,
        )
        self._batch = Counter()
        self._batch_started = time.monotonic()
