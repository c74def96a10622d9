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
  (``chat.uow``). A worker that dies takes this process down (``bot.supervisor``); the
  restart's ``recover`` handles what was stored and not handled, before any worker starts.
- **PTB's memory.** A chat's conversation state lives in the one process that handles it;
  nothing else moves a chat's position (``chat.focus``). Workers load the positions after
  recovery has run, so they start from what the database says.

Workers take no lock, poll nothing and send no outbox rows: they tell this process to wake
its sender instead. They die with this process, even after ``kill -9`` (``infra.child_process``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Callable
from typing import Any, Protocol

from infra import inbox
from infra.config import Settings

log = logging.getLogger(__name__)

READY, WAKE = b"ready\n", b"wake\n"  # a worker's lines to its parent
STOP_TIMEOUT = 30.0  # seconds a worker gets to finish its updates (systemd waits 40)


class Dispatcher(Protocol):
    def submit(self, payload: dict[str, Any]) -> None: ...


def shard_of(chat: int | None, count: int) -> int:
    """The shard that handles ``chat``; updates without a chat stay in this process."""
    return 0 if chat is None else chat % count


class ShardWorker:
    """This process's handle on worker ``index``: its pipe in, its lines out, its exit."""

    def __init__(self, index: int, count: int) -> None:
        self.index, self.count = index, count
        self._wake: Callable[[], None] = lambda: None  # the worker committed outbox rows
        self._proc: asyncio.subprocess.Process | None = None
        self._ready = asyncio.Event()
        self._lines: asyncio.Task[None] | None = None

    async def spawn(self) -> None:
        """Start the process; it imports the bot's stack while this one recovers."""
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.shard_worker",
            str(self.index),
            str(self.count),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self._lines = asyncio.create_task(self._read(), name=f"shard-{self.index}-lines")

    async def start(self, settings: Settings, *, wake: Callable[[], None]) -> None:
        """Hand over the settings (not through argv or the environment: they hold secrets)
        and wait until the worker has loaded the chats' positions and is ready; ``wake`` is
        called each time it queued outbox rows."""
        self._wake = wake
        proc = self._running()
        assert proc.stdin is not None
        proc.stdin.write(settings.model_dump_json().encode() + b"\n")
        await proc.stdin.drain()
        ready = asyncio.ensure_future(self._ready.wait())
        exited = asyncio.ensure_future(proc.wait())
        try:
            await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            exited.cancel()
        if not self._ready.is_set():
            raise RuntimeError(f"worker {self.index} exited while starting ({proc.returncode})")

    def submit(self, payload: dict[str, Any]) -> None:
        """Forward a stored update (buffered: the worker reads at its own pace)."""
        stdin = self._running().stdin
        assert stdin is not None
        if stdin.is_closing():
            raise ConnectionError(f"worker {self.index} is gone")
        stdin.write(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")

    async def wait(self) -> None:
        """Return when the worker exits; an exit is logged with its status."""
        code = await self._running().wait()
        if self._lines is not None:
            with contextlib.suppress(Exception):
                await self._lines
        log.log(
            logging.INFO if code == 0 else logging.ERROR, "worker %d exited (%s)", self.index, code
        )

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
