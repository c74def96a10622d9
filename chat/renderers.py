"""The drawings the outbox sender renders at send time (the composition root wires them)."""

from __future__ import annotations

from chat.render_pool import RENDERERS
from services.charts import draw


def register_renderers() -> None:
    """Teach the sender to draw result charts (kept out of the sender: matplotlib is heavy)."""
    RENDERERS.setdefault("result", draw)
    RENDERERS.setdefault("radar", draw)  # the result chart's kind before it was drawn as bars
    RENDERERS.setdefault("distribution", draw)
