"""Run the real bot against the fake Bot API server: in this event loop, or as a process to kill."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from bot.runner import serve
from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.container import Clock
from infra.models.types import utcnow

ROOT = Path(__file__).resolve().parent.parent


class InProcessBot:
    """``bot.runner.serve`` as a task of the test's loop: fast, and the clock is injectable."""

    def __init__(self, server: FakeBotApi, settings: Settings, clock: Clock = utcnow) -> None:
        self.server = server
        self.settings = settings
        self.clock = clock
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        polls_before = self._polls()
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(
            serve(self.settings, stop=self._stop, clock=self.clock, migrate=False, poll_timeout=1)
        )
        await wait_for(lambda: self._polls() > polls_before or self._task.done(), 120)  # type: ignore[union-attr]
        if self._task.done():
            self._task.result()

    def _polls(self) -> int:
        return int(self.server.stats.requests.get("getUpdates", 0))

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stop.set()
        await asyncio.wait_for(self._task, 120)
        self._task = None


class BotProcess:
    """``python -m bot.cli run`` in a child process, to be killed with SIGKILL mid-flight."""

    def __init__(
        self,
        server: FakeBotApi,
        settings: Settings,
        workdir: Path,
        failpoints: str = "",
        extra_env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.server = server
        self.args = args  # after ``jixiao run``
        self.settings = settings
        self.workdir = workdir
        self.failpoints = failpoints
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "bot.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
        env.update(
            JIXIAO_BOT_TOKEN=self.settings.bot_token or "",
            JIXIAO_DATABASE_URL=self.settings.database_url,
            JIXIAO_TELEGRAM_BASE_URL=self.server.base_url,
            JIXIAO_ADMIN_IDS=self.settings.admin_ids,
            JIXIAO_FAILPOINTS=self.failpoints,
            PYTHONPATH=str(ROOT),
        )
        env.update(self.extra_env)
        return env

    async def start(self, failpoints: str | None = None) -> None:
        if failpoints is not None:
            self.failpoints = failpoints
        log = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", *self.args],
            cwd=self.workdir,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    async def wait_exit(self, timeout: float = 120) -> int:
        assert self.proc is not None
        proc = self.proc
        await wait_for(lambda: proc.poll() is not None, timeout)
        return int(proc.returncode)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(AssertionError):
                await self.wait_exit(120)
            self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def children(self) -> list[int]:
        """The pids of the process's children (its workers), from ``/proc``."""
        assert self.proc is not None
        found: list[int] = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            found += [int(pid) for pid in (task / "children").read_text().split()]
        return found


async def wait_for(predicate, timeout: float = 120.0, interval: float = 0.01) -> None:  # type: ignore[no-untyped-def]
    """Poll a cheap condition until true (condition-based, never a fixed sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


async def eventually(check, timeout: float = 120.0, interval: float = 0.02) -> None:  # type: ignore[no-untyped-def]
    """Await an async condition (e.g. a database query) until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
