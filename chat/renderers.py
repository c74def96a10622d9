"""What the outbox sender needs to turn a stored row into a Bot API call: the drawings it
renders at send time, and every flow's callback codec for the choices under a message."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import conversations
from chat.callbacks import CallbackAction, Callbacks
from services.charts import draw


def register_renderers(target: dict[str, Callable[[dict[str, Any]], bytes]] | None = None) -> None:
    """Fill ``target`` (the sender module's ``RENDERERS``; passed in because ``python -m
    chat.outbox_sender`` runs that module as ``__main__``, a second copy of the module),
    and make sure the flows' codecs are registered (``register_codecs``)."""
    if target is None:
        # deliberate cycle: chat.outbox_sender imports this module at its top
        from chat.outbox_sender import RENDERERS

        target = RENDERERS
    target.setdefault("radar", draw)
    target.setdefault("distribution", draw)
    register_codecs()


# Buttons that services queue for flows which do not yet declare a codec action by that
# name, with the callback data those flows understand today: (prefix, flow, action, wire
# action, argument types). TRANSITIONAL: each disappears once its flow defines the action.
_TRANSITIONAL: tuple[tuple[str, str, str, str, tuple[type, ...]], ...] = (
    ("ap1", "appeal", "new", "n", (int,)),  # 申诉 under a result: ap1:n:<result id>
    ("ip1", "plan", "for_result", "r", (int,)),  # 改进计划 under a result: ip1:r:<result id>
)


_registered = False


def register_codecs() -> None:
    """Import every flow, so each declares its ``chat.callbacks`` codec (the standalone sender
    builds no application), then add the transitional actions still missing. Once."""
    global _registered
    if _registered:
        return
    _registered = True
    for module in pkgutil.iter_modules(conversations.__path__):
        importlib.import_module(f"conversations.{module.name}")
    for prefix, flow, name, wire, types in _TRANSITIONAL:
        codec = Callbacks.registry.get(flow) or next(
            (c for c in Callbacks.registry.values() if c.prefix == prefix), None
        )
        if codec is None:
            codec = Callbacks(prefix, flow)
        Callbacks.registry.setdefault(flow, codec)
        if name not in codec.actions:
            # named ``name`` for the services, spelling the flow's current ``wire`` data
            codec.actions[name] = CallbackAction(codec, wire, types)
