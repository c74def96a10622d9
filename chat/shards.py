"""Updates handled on several cores (``jixiao run --workers N``): each chat has one process.

One Python process handles about 115 survey updates a second on one core (issue 12); the
intake itself is cheap. So the serving process keeps the intake, the outbox sender and the
jobs, and shares the handling out by chat: chat ``c`` belongs to shard ``c % N``. Shard 0 is
this process's own dispatcher; shard k > 0 is a worker process (``bot.shard_worker``) that
receives its updates down a pipe, one JSON line each, *after* they are stored in the inbox.

Why this keeps the promises of a single process:

- **Order per chat.** A chat's updates all go to one dispatcher, in the order received.
- **Nothing lost, nothing doubled.** An update is forwarded only once it is committed; each
  worker claims and marks its updates in the shared inbox exactly as shard 0 does
  (``chat.uow``), and recovers its own chats at start-up before it takes new ones. A
  worker that dies, or falls silent (a hung event loop), takes this process down
  (``bot.supervisor``); the restart recovers what was stored and not handled.
- **PTB's memory.** A chat's conversation state lives in the one process that handles it;
  nothing else moves a chat's position (``chat.focus``).

Workers take no lock, poll nothing and send no outbox rows: they tell this process to wake
its sender instead. They die with this process, even after ``kill -9`` (``infra.child_process``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

from infra import inbox
from infra.config import Settings
from infra.outage import EXIT_DATABASE_OUTAGE, DatabaseOutage

log = logging.getLogger(__name__)

READY, WAKE, ALIVE = b"ready\n", b"wake\n", b"alive\n"  # a worker's lines to its parent
ALIVE_INTERVAL = 1.0  # seconds between a worker's "alive" lines
SILENCE_LIMIT = 15.0  # a worker silent this long has a hung event loop: the bot exits
STOP_TIMEOUT = 25.0  # seconds a worker gets to finish its updates (systemd waits 40 in all)


class Dispatcher(Protocol):
    def submit(self, payload: dict[str, Any]) -> None: ...


class WorkerFailed(Exception):
    """A worker process exited, or fell silent, while the bot was not stopping."""


def shard_of(chat: int | None, count: int) -> int:
    """The shard that handles ``chat``; updates without a chat stay in the serving process."""
    return 0 if chat is None else chat % count


def owned_by(index: int, count: int) -> Callable[[int | None], bool]:
    """Whether a chat is shard ``index``'s (to recover it)."""
    return lambda chat: shard_of(chat, count) == index


class ShardWorker:
    """This process's handle on worker ``index``: its pipe in, its lines out, its exit."""

    def __init__(self, index: int, count: int) -> None:
        self.index, self.count = index, count
        self._wake: Callable[[], None] = lambda: None  # the worker committed outbox rows
        self._proc: asyncio.subprocess.Process | None = None
        self._ready = asyncio.Event()
        self._heard = time.monotonic()  # the last line from the worker
        self._lines: asyncio.Task[None] | None = None

    async def spawn(self) -> None:
        """Start the process; it imports the bot's stack while this one goes on."""
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",  # the installed code, as ``jixiao`` runs it, not a module in the working folder
            "-m",
            "bot.shard_worker",
            str(self.index),
            str(self.count),
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self._lines = asyncio.create_task(self._read(), name=f"worker {self.index} lines")

    async def start(
        self, settings: Settings, *, wake: Callable[[], None], stop: asyncio.Event
    ) -> None:
        """Hand over the settings (not through argv or the environment: they hold secrets)
        and wait until the worker has recovered its chats and is ready; ``wake`` is called
        each time it queued outbox rows. Returns early, quietly, if ``stop`` is set."""
        self._wake = wake
        proc = self._running()
        assert proc.stdin is not None
        proc.stdin.write(settings.model_dump_json().encode() + b"\n")
        waits = [
            asyncio.ensure_future(self._ready.wait()),
            asyncio.ensure_future(proc.wait()),
            asyncio.ensure_future(stop.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        if not self._ready.is_set() and not stop.is_set():
            raise WorkerFailed(f"worker {self.index} exited while starting ({proc.returncode})")

    def submit(self, payload: dict[str, Any]) -> None:
        """Forward a stored update (buffered: the worker reads at its own pace)."""
        stdin = self._running().stdin
        assert stdin is not None
        if stdin.is_closing():
            raise WorkerFailed(f"worker {self.index} is gone")
        stdin.write(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")

    async def wait(self) -> None:
        """Return when the worker exits, or kill it when it falls silent; ``DatabaseOutage``
        if it gave up on the database (so the bot exits 75, as a single process would)."""
        proc = self._running()
        exited = asyncio.ensure_future(proc.wait())
        try:
            while not (await asyncio.wait({exited}, timeout=ALIVE_INTERVAL))[0]:
                silent = time.monotonic() - self._heard
                if self._ready.is_set() and silent > SILENCE_LIMIT:
                    log.critical("worker %d silent for %.0f s: killed", self.index, silent)
                    proc.kill()
        finally:
            exited.cancel()
        code = proc.returncode
        if self._lines is not None:
            with contextlib.suppress(Exception):
                await self._lines
        log.log(
            logging.INFO if code == 0 else logging.ERROR, "worker %d exited (%s)", self.index, code
        )
        if code == EXIT_DATABASE_OUTAGE:
            raise DatabaseOutage(f"worker {self.index}")

    async def stop(self) -> None:
        """No more updates: the worker finishes what it holds and exits (killed past a limit)."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
        except TimeoutError:
            log.warning("worker %d did not stop within %.0f s: killed", self.index, STOP_TIMEOUT)
            proc.kill()
            await proc.wait()

    def kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()

    def _running(self) -> asyncio.subprocess.Process:
        assert self._proc is not None, "spawn() first"
        return self._proc

    async def _read(self) -> None:
        stdout = self._running().stdout
        assert stdout is not None
        while line := await stdout.readline():
            self._heard = time.monotonic()
            if line == WAKE:
                self._wake()
            elif line == READY:
                self._ready.set()


class ShardRouter:
    """What the intake submits stored updates to: shard 0 here, the others to their worker."""

    def __init__(self, local: Dispatcher, workers: list[ShardWorker]) -> None:
        self.local = local
        self.workers = workers
        self.count = len(workers) + 1

    def submit(self, payload: dict[str, Any]) -> None:
        shard = shard_of(inbox.chat_of(payload), self.count)
        if shard == 0:
            self.local.submit(payload)
        else:
            self.workers[shard - 1].submit(payload)
