"""Which drawings the outbox sender can render at send time (the composition root wires them)."""

from __future__ import annotations


def register_renderers() -> None:
    from bot.outbox_sender import RENDERERS
    from services.result_notices import render_chart

    RENDERERS.setdefault("radar", render_chart)
    RENDERERS.setdefault("distribution", render_chart)
