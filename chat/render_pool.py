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
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

# Attachments drawn at send time from a JSON spec in the payload, by the spec's ``kind``.
RENDERERS: dict[str, Callable[[dict[str, Any]], bytes]] = {}
_POOL: concurrent.futures.ProcessPoolExecutor | None = None

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
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
        _POOL = concurrent.futures.ProcessPoolExecutor(
            max_workers=max(1, (os.cpu_count() or 2) - 1),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_die_with_parent,
            initargs=(os.getpid(),),
        )
    return _POOL


def _die_with_parent(parent: int) -> None:
    """In a drawing process: yield the CPU to the bot (NICENESS) and exit when ``parent``
    does, instead of lingering as an orphan.

    Linux kills us the moment the parent dies (PR_SET_PDEATHSIG); elsewhere, and as a second
    line, a daemon thread notices that we were re-parented.
    """
    os.nice(NICENESS)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)
