"""A bot killed with SIGKILL takes its chart-drawing processes with it.

The outbox sender draws result charts in a process pool; those workers used to outlive a
killed bot as orphans of 125–200 MB each, in production and after every test that kills it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from domain.enums import Grade
from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.db import SessionFactory
from services.outbox import enqueue
from tests.harness import BotProcess, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process we can see."""
    found: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        found[int(entry.name)] = (int(ppid), state)
    return found


def descendants(pid: int) -> set[int]:
    """Children, grandchildren … of ``pid`` that are alive."""
    procs = _processes()
    result: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, (ppid, _) in procs.items() if ppid in frontier} - result
        result |= frontier
    return {p for p in result if procs[p][1] != "Z"}


def alive(pids: set[int]) -> set[int]:
    procs = _processes()
    return {p for p in pids if p in procs and procs[p][1] != "Z"}


async def test_a_killed_bot_leaves_no_child_process(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    user = server.user(9401, language_code="en")
    async with sessions.begin() as s:
        await enqueue(
            s,
            user.id,
            "",
            method="sendPhoto",
            render={
                "kind": "distribution",
                "locale": "en",
                "counts": {g.value: 1 for g in Grade},
                "title": "Test unit · 2026Q4",
            },
            attachment_name="unit.png",
        )
    proc = BotProcess(server, bot_settings, tmp_path)
    try:
        await proc.start()
        await user.wait_until(lambda: any(m.kind == "photo" for m in user.messages), timeout=120)
        assert proc.proc is not None
        children = descendants(proc.proc.pid)
        assert children, "the chart was drawn without a worker process: nothing to test"
        proc.kill()
        await wait_for(lambda: not alive(children), 15, interval=0.1)
    finally:
        await proc.stop()
