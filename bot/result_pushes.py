"""Telling a big published cycle's people their results, chunk by chunk, after the publish.

The transactions are opened here, as the services leave them to their caller: the rules of
a chunk (``services.result_push``) are applied in short transactions, the messages built
while none is open. Run right after publishing and every few seconds (``bot.jobs``), so a
crash between two chunks finishes at the next run; the benchmark drives it the same way.
Each chunk's charts are drawn before its transaction (``chat.draw_ahead``) and queued with
their rows, so the sender only uploads them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select

from chat.draw_ahead import draw_ahead
from infra.db import SessionFactory
from infra.failpoints import failpoint
from infra.models import Cycle
from services.notices import DEFAULTS, Localization
from services.result_push import CHUNK, messages, read_chunk, totals, write_chunk

log = logging.getLogger(__name__)


async def push_pending(
    sessions: SessionFactory,
    *,
    local: Localization = DEFAULTS,
    size: int = CHUNK,
    wake: Callable[[], None] = lambda: None,
) -> int:
    """Tell the people of every cycle published but not yet told, chunk by chunk; returns
    how many results were looked at (0: nothing was pending). Run after publishing and
    periodically (``bot.jobs``), so a crash mid-way finishes at the next run."""
    async with sessions() as session:
        pending = list(
            await session.scalars(select(Cycle.id).where(Cycle.push_cursor.is_not(None)))
        )
    done = 0
    for cycle_id in pending:
        async with sessions() as session:
            summary = await totals(session, cycle_id)
        while True:
            async with sessions() as session:  # read, then build with no transaction open
                cycle = await session.get(Cycle, cycle_id)
                chunk = await read_chunk(session, cycle, size) if cycle else None
            if cycle is None or chunk is None:
                break
            rows = messages(cycle, chunk, summary, local)
            await draw_ahead(rows)  # in the drawing processes, no transaction open
            async with sessions.begin() as session:
                cycle = await session.get(Cycle, cycle_id, with_for_update=True)
                if cycle is None:
                    break
                if await write_chunk(session, cycle, chunk, rows, summary, local=local):
                    done += len(chunk.results)
            failpoint("pushed")  # a chunk committed, the next not begun
            wake()  # the sender starts on what is queued while the next chunk is written
        log.info("results of cycle %d told (%d looked at)", cycle_id, done)
    return done
