"""The drawings the outbox sender renders at send time (the composition root wires them)."""

from __future__ import annotations

from chat.render_pool import RENDERERS
from services.charts import draw
from services.report.typeset import render as render_report


def register_renderers() -> None:
    """Teach the sender to draw result charts and set reports (kept out of the sender: heavy)."""
    RENDERERS.setdefault("result", draw)
    RENDERERS.setdefault("radar", draw)  # the result chart's kind before it was drawn as bars
    RENDERERS.setdefault("distribution", draw)
    RENDERERS.setdefault("report", render_report)  # the evaluation report, typeset as a PDF
