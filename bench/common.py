"""Shared pieces of the benchmarks: the harness, child bots, CPU accounting, tables.

The harness is this process: the fake Bot API server and the simulated users, on one
event loop. The bot under test is always a child process (``python -m bot.cli run``, or
the bare echo bot of the floor), so its CPU time is its own, read from ``/proc``, and the
harness's is ours, read with ``time.process_time``; both are printed per unit of work, so
a reader sees at once whether the harness could have been the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import cProfile
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from fakebotapi import FakeBotApi, SimUser

TOKEN = "4242:BENCH"
ROOT = Path(__file__).resolve().parent.parent
_TICKS = os.sysconf("SC_CLK_TCK")
_ASYNC_SCHEMES = (
    ("postgresql+asyncpg://", "postgresql+asyncpg://"),
    ("postgresql://", "postgresql+asyncpg://"),
    ("postgres://", "postgresql+asyncpg://"),
    ("sqlite+aiosqlite://", "sqlite+aiosqlite://"),
    ("sqlite://", "sqlite+aiosqlite://"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark takes: which database, which checkout's bot."""
    parser.add_argument(
        "--database-url",
        help="postgresql://… or sqlite:///… (plain schemes welcome; migrated here); "
        "default: a fresh SQLite file",
    )
    parser.add_argument(
        "--bot-root",
        type=Path,
        default=ROOT,
        help="run the bot from this checkout (to measure another branch with this harness)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="jixiao's processes handling updates (jixiao run --workers; default 1)",
    )
    parser.add_argument(
        "--profile-bot",
        type=Path,
        help="run jixiao under cProfile and write its profile here when it stops",
    )
    parser.add_argument(
        "--profile-harness",
        action="store_true",
        help="profile this process (fake server and simulated users) in each measured phase",
    )


def async_url(url: str) -> str:
    """The SQLAlchemy async URL of ``url``: ``postgresql://`` → asyncpg, ``sqlite://`` → aiosqlite."""
    for plain, driver in _ASYNC_SCHEMES:
        if url.startswith(plain):
            return driver + url[len(plain) :]
    raise SystemExit(f"not a postgresql:// or sqlite:// URL: {url}")


def workdir(prefix: str) -> str:
    """A temporary folder for the benchmark's database and logs, removed when it exits."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path


def cpu_seconds(pid: int) -> float:
    """User+system CPU of a process and its live descendants (and of the children it reaped)."""
    total = 0
    pending = [pid]
    first = True
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # after "pid (comm)": utime is field 14 of stat(5), the 12th here; stime, cutime, cstime follow
            total += int(fields[11]) + int(fields[12])
            if first:
                total += int(fields[13]) + int(fields[14])
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    pending += [int(child) for child in f.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            pass  # it ended between two reads
        first = False
    return total / _TICKS


@dataclass
class Result:
    """Steps taken in one phase, its wall time, the latency of every step, and the CPU spent:
    ``bot_cpu`` by the bot process for ``updates`` updates, ``harness_cpu`` by this process."""

    name: str
    steps: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    updates: int = 0
    bot_cpu: float = 0.0
    harness_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.steps / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def cpu_per_update(self) -> float:
        """Milliseconds of the bot's CPU per update it handled."""
        return self.bot_cpu / max(self.updates, 1) * 1000

    @property
    def harness_per_step(self) -> float:
        """Milliseconds of the harness's own CPU per step (server and simulated users)."""
        return self.harness_cpu / max(len(self.latencies), 1) * 1000


class BotChild:
    """A bot under test in its own process; stopped for sure (SIGKILL after a grace period)."""

    def __init__(
        self, module: list[str], env: dict[str, str], cwd: str, python: str = sys.executable
    ) -> None:
        self.log = Path(cwd) / f"{module[1].replace('.', '_')}.log"
        with self.log.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [python, *module], env=env, cwd=cwd, stdout=log, stderr=log
            )

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def peak_memory_mb(self) -> float:
        """The bot's peak resident memory so far (``VmHWM`` in ``/proc``), in MiB."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM in /proc: the bot has ended")

    def alive(self) -> bool:
        return self.proc.poll() is None

    async def stop(self, grace: float = 30.0) -> None:
        """SIGTERM, then SIGKILL: a bot that drains slowly must not hang the benchmark."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:  # in a thread: the server on this loop keeps answering while the bot drains
            await asyncio.to_thread(self.proc.wait, grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def tail(self) -> str:
        """The end of the child's log, for a failure message."""
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


class Harness:
    """The fake Bot API server in this process, the bots it spawns, the database they share."""

    def __init__(self, args: argparse.Namespace, prefix: str) -> None:
        self.workdir = workdir(prefix)
        self.bot_root: Path = args.bot_root.resolve()
        # another checkout's bot runs on its own virtualenv (its dependencies), if it has one
        venv = self.bot_root / ".venv" / "bin" / "python"
        self.python = str(venv) if self.bot_root != ROOT and venv.exists() else sys.executable
        self.database_url = async_url(args.database_url or f"sqlite:///{self.workdir}/bench.db")
        self.server = FakeBotApi()
        self.profile = bool(getattr(args, "profile_harness", False))
        self.profile_bot: Path | None = getattr(args, "profile_bot", None)
        self.workers: int = getattr(args, "workers", 1)

    def env(self, root: Path | None = None) -> dict[str, str]:
        """The bot's environment; its code comes from ``root`` (default: ``--bot-root``)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
        env.update(
            JIXIAO_BOT_TOKEN=TOKEN,
            JIXIAO_TELEGRAM_BASE_URL=self.server.base_url,
            JIXIAO_DATABASE_URL=self.database_url,
            PYTHONPATH=str(root or self.bot_root),
        )
        return env

    def migrate(self) -> None:
        """Bring the database to the bot's own head revision (``jixiao db upgrade``)."""
        done = subprocess.run(
            [self.python, "-m", "bot.cli", "db", "upgrade"],
            env=self.env(),
            cwd=self.workdir,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"migrating {self.database_url} failed:\n{done.stderr[-2000:]}")

    def spawn(self, module: list[str]) -> BotChild:
        """jixiao from ``--bot-root``; the echo bot of the floor always from this checkout."""
        if module[-1] == "bench.echo_bot":
            return BotChild(module, self.env(ROOT), self.workdir)
        if module == ["-m", "bot.cli", "run"] and self.workers > 1:
            module = [*module, "--workers", str(self.workers)]
        if self.profile_bot is not None:
            module = ["-m", "cProfile", "-o", str(self.profile_bot.resolve()), *module]
        return BotChild(module, self.env(self.bot_root), self.workdir, self.python)

    def updates_so_far(self) -> int:
        """Updates the simulated users produced (each one the bot must handle)."""
        return self.server.hub.bots[TOKEN].next_update_id - 1

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Harness]:
        await self.server.start()
        self.server.add_bot(token=TOKEN, username="bench_bot", first_name="bench")
        try:
            yield self
        finally:
            await self.server.stop()

    @contextlib.asynccontextmanager
    async def measured(self, name: str, bot: BotChild) -> AsyncIterator[Result]:
        """Fill a :class:`Result` with the wall time and both CPU figures of the block."""
        result = Result(name, 0, 0.0)
        profiler = cProfile.Profile() if self.profile else None
        updates, bot_cpu = self.updates_so_far(), bot.cpu()
        harness_cpu, started = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        yield result
        if profiler is not None:
            profiler.disable()
        result.seconds = time.perf_counter() - started
        result.harness_cpu = time.process_time() - harness_cpu
        result.bot_cpu = bot.cpu() - bot_cpu
        result.updates = self.updates_so_far() - updates
        if profiler is not None:
            print(f"--- harness profile of {name!r} (cProfile slows it; the figures above too)")
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(15)


async def echo_step(user: SimUser, i: int) -> None:
    await user.send(f"hello {i}")
    await user.expect(timeout=300)


async def timed(step: Callable[[], Awaitable[None]], latencies: list[float]) -> None:
    started = time.perf_counter()
    await step()
    latencies.append(time.perf_counter() - started)


def table(results: list[Result], unit: str = "steps/s") -> str:
    """One line per phase, then jixiao ÷ echo for the rate, the latencies and the CPU."""
    lines = [
        f"{'':<20}{unit:>12}{'p50 ms':>10}{'p99 ms':>10}{'CPU ms/update':>15}"
        f"{'harness ms/step':>17}"
    ]
    for r in results:
        lines.append(
            f"{r.name:<20}{r.rate:>12.1f}{r.pct(0.5):>10.1f}{r.pct(0.99):>10.1f}"
            f"{r.cpu_per_update:>15.2f}{r.harness_per_step:>17.2f}"
        )
    return "\n".join(lines)


def ratio_line(jx: Result, echo: Result, label: str = "jixiao ÷ echo") -> str:
    return (
        f"{label:<20}{jx.rate / echo.rate:>11.2f}x{jx.pct(0.5) / echo.pct(0.5):>9.2f}x"
        f"{jx.pct(0.99) / echo.pct(0.99):>9.2f}x{jx.cpu_per_update / echo.cpu_per_update:>14.2f}x"
    )
