"""Group commit of "replied" marks: the updates of concurrent chats share one statement.

Marking an update done is bookkeeping (its answers were committed with its claim,
``chat.uow``), yet it was one write transaction per update, taken on SQLite's single
writer connection. Here a chat's worker still waits until its mark is committed, so its
next update starts exactly as before; but while one batch is being written, the marks of
other chats gather and go in the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

Write = Callable[[tuple[int, ...]], Awaitable[None]]


class DoneMarks:
    """Collects update ids and writes them with ``write`` in batches, one at a time."""

    def __init__(self, write: Write) -> None:
        self._write = write
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._writer: asyncio.Task[None] | None = None

    async def mark(self, update_id: int) -> None:
        """Return once ``update_id`` is marked (raises what the batch's write raised)."""
        future = self._waiting.get(update_id)
        if future is None:
            future = self._waiting[update_id] = asyncio.get_running_loop().create_future()
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain(), name="inbox-done-marks")
        await asyncio.shield(future)  # a cancelled waiter leaves the batch to finish

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, {}
                try:
                    await self._write(tuple(batch))
                except asyncio.CancelledError:
                    for future in batch.values():
                        future.cancel()
                    raise
                except Exception as exc:  # each waiter decides (Stopping, an outage)
                    for future in batch.values():
                        if not future.done():
                            future.set_exception(exc)
                            future.exception()  # read here: a cancelled waiter never will
                else:
                    for future in batch.values():
                        if not future.done():
                            future.set_result(None)
        finally:
            self._writer = None
