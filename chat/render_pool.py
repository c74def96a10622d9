"""The drawing processes: charts drawn off the event loop, ahead of sending or at send time.

A pushed message carries a JSON spec of its picture (``{"render": {"kind": …}}``), so a
broadcast's transaction stays short. Publishing draws its charts ahead here
(``chat.draw_ahead``); the sender draws here, just before sending, any chart queued without
its picture. Drawing is CPU-bound and matplotlib is heavy, so it runs in a pool of spawned
worker processes that share no locks or loop with the bot and die with it, even when it is
killed. The composition root
teaches the pool what it can draw (``chat.renderers`` fills ``RENDERERS``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from collections.abc import Callable
from typing import Any

from infra import child_process

# Attachments drawn at send time from a JSON spec in the payload, by the spec's ``kind``.
RENDERERS: dict[str, Callable[[dict[str, Any]], bytes]] = {}
_POOL: concurrent.futures.ProcessPoolExecutor | None = None

# Drawing is background work: publishing draws a cycle's charts ahead, a core for half a
# minute on a small host, and a chat's answer must not wait behind it.
NICENESS = 5


async def draw(spec: dict[str, Any]) -> bytes:
    """Draw ``spec`` in a worker process, so drawing runs beside the sending loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(render_pool(), RENDERERS[spec["kind"]], spec)


def render_pool() -> concurrent.futures.ProcessPoolExecutor:
    """Drawing processes (spawned: they share no locks or loop with this one), one core
    left for sending; each exits when this process dies, even by SIGKILL."""
    global _POOL
    if _POOL is None:
        _POOL = child_process.pool(max(1, (os.cpu_count() or 2) - 1), niceness=NICENESS)
    return _POOL
