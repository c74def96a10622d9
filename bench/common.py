"""Shared pieces of the benchmarks: child bots, timing, percentiles, the echo floor."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from fakebotapi import FakeBotApi, SimUser

TOKEN = "4242:BENCH"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    """Updates handled, wall time, and the latency of every step."""

    name: str
    updates: int
    seconds: float
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def workdir(prefix: str) -> str:
    """A temporary folder for the benchmark's database and logs, removed when it exits."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path


def bot_env(server: FakeBotApi, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env.update(
        JIXIAO_BOT_TOKEN=TOKEN,
        JIXIAO_TELEGRAM_BASE_URL=server.base_url,
        JIXIAO_DATABASE_URL=database_url,
        PYTHONPATH=str(ROOT),
    )
    return env


def spawn(module: list[str], env: dict[str, str], cwd: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *module],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def echo_step(user: SimUser, i: int) -> None:
    await user.send(f"hello {i}")
    await user.expect(timeout=120)


async def timed(step: Callable[[], Awaitable[None]], latencies: list[float]) -> None:
    started = time.perf_counter()
    await step()
    latencies.append(time.perf_counter() - started)


def table(results: list[Result], unit: str = "updates/s") -> str:
    lines = [f"{'':<18}{unit:>14}{'p50 ms':>10}{'p99 ms':>10}"]
    for r in results:
        lines.append(f"{r.name:<18}{r.rate:>14.1f}{r.pct(0.5):>10.1f}{r.pct(0.99):>10.1f}")
    return "\n".join(lines)
