"""The drawings the outbox sender renders at send time (the composition root wires them)."""

from __future__ import annotations

from chat.render_pool import RENDERERS
from services.charts import draw


def register_renderers() -> None:
    """Teach the sender to draw result charts (kept out of the sender: matplotlib is heavy)."""
    RENDERERS.setdefault("radar", draw)
    RENDERERS.setdefault("distribution", draw)
