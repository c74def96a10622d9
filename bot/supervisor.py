"""Background tasks never die silently: one that ends before ``stop`` takes the process down.

An asyncio task that raises is only reported when someone awaits it; the bot used to keep
running with its poller dead, answering no one, while systemd saw a healthy process. Exiting
non-zero instead lets the supervisor restart us, and the restart's ``recover`` finishes what was
stored. (Restarting the task in place would hide a crash loop from the operator.)
"""

from __future__ import annotations

import asyncio
import logging

from infra.outage import DatabaseOutage

log = logging.getLogger(__name__)


class BackgroundTaskFailed(Exception):
    """A task the bot cannot run without (intake, outbox sender, database watch) ended."""


async def supervise(stop: asyncio.Event, *tasks: asyncio.Task[None]) -> None:
    """Wait for ``stop``; raise if any of ``tasks`` ends first (with an error or without one)."""
    stopping = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait({stopping, *tasks}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    for task in tasks:
        if task not in done:
            continue
        error = None if task.cancelled() else task.exception()
        if isinstance(error, DatabaseOutage):
            raise error  # the watch has logged why
        if error is None and stop.is_set():
            continue  # finished because we are stopping
        log.critical(
            "%s stopped unexpectedly (%s): exiting so the supervisor restarts jixiao",
            task.get_name(),
            f"{type(error).__name__}: {error}" if error is not None else "returned",
            exc_info=error,
        )
        raise BackgroundTaskFailed(task.get_name()) from error
