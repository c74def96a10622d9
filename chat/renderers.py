"""Which drawings the outbox sender can render at send time (the composition root wires them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def register_renderers(target: dict[str, Callable[[dict[str, Any]], bytes]] | None = None) -> None:
    """Fill ``target`` (the sender module's ``RENDERERS``; passed in because ``python -m
    chat.outbox_sender`` runs that module as ``__main__``, a second copy of the module)."""
    from services.result_notices import render_chart

    if target is None:
        from chat.outbox_sender import RENDERERS

        target = RENDERERS
    target.setdefault("radar", render_chart)
    target.setdefault("distribution", render_chart)
