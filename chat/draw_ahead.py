"""Charts drawn before their rows are queued, so the sender only uploads them.

A pushed chart is queued as a JSON spec (``{"render": …}`` in the payload); drawing it at send
time put ~10 ms of CPU in front of every chart the sender sends, which capped it well below
Telegram's limits. Whoever queues many at once (``bot.result_pushes``, publishing a cycle)
draws them first, in the drawing processes of ``chat.render_pool`` and with no transaction
open, and stores each picture with its row: it is committed in the same insert as the row,
so a crash loses or doubles nothing. The spec stays in the payload: a picture that could not
be drawn here, or was dropped once sent (``chat.outbox_record.record_sent``), is drawn again
by the sender.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from chat.render_pool import RENDERERS, draw
from infra.models import OutboxMessage

log = logging.getLogger(__name__)


async def draw_ahead(rows: Sequence[OutboxMessage]) -> int:
    """Draw the charts of ``rows`` (built, not yet inserted) into their ``attachment``, all
    at once across the drawing processes; returns how many were drawn."""
    todo = [row for row in rows if _drawable(row)]
    pictures = await asyncio.gather(
        *(draw(row.payload["render"]) for row in todo), return_exceptions=True
    )
    drawn = 0
    for row, picture in zip(todo, pictures, strict=True):
        if isinstance(picture, bytes):
            row.attachment = picture
            drawn += 1
        else:  # the sender tries again and, failing, records why
            log.warning("a chart for chat %s could not be drawn ahead: %r", row.chat_id, picture)
    return drawn


def _drawable(row: OutboxMessage) -> bool:
    spec = row.payload.get("render") if row.attachment is None else None
    return isinstance(spec, dict) and spec.get("kind") in RENDERERS
