"""Worker processes that die with their parent, even when it is killed with SIGKILL.

Pools of spawned workers (chart drawing, scoring a large cycle) would otherwise outlive a
killed bot as orphans of 100 MB or more each.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def pool(workers: int, *, niceness: int = 0) -> concurrent.futures.ProcessPoolExecutor:
    """``workers`` spawned processes (they share no locks or loop with this one), each
    exiting when this process dies; ``niceness``: how far they yield the CPU to it."""
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=die_with_parent,
        initargs=(os.getpid(), niceness),
    )


def die_with_parent(parent: int, niceness: int = 0) -> None:
    """In a worker: lower our priority by ``niceness``, and exit when ``parent`` does,
    instead of lingering as an orphan.

    Linux kills us the moment the parent dies (PR_SET_PDEATHSIG); elsewhere, and as a second
    line, a daemon thread notices that we were re-parented.
    """
    if niceness:
        os.nice(niceness)
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
