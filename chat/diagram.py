"""Check a flow's Mermaid state diagram (``<module>.mmd``) against its state table.

The picture is for people; this keeps it true. Every state of the table is drawn, every
drawn state exists, every handler of a state is an edge leaving it (labelled with the
handler's name), every entry point is an edge from ``[*]``, and no edge names a handler
the table does not have. Where an edge leads is the handler's decision and is not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram.ext import BaseHandler

START = "[*]"
_EDGE = re.compile(r"^\s*(\[\*\]|[\w]+)\s*-->\s*(\[\*\]|[\w]+)\s*(?::\s*(.+?))?\s*$")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    labels: tuple[str, ...]


def parse(text: str) -> list[Edge]:
    """The edges of a ``stateDiagram-v2``; a label may list handlers: ``a / b``."""
    edges = []
    for line in text.splitlines():
        if line.strip().startswith("%%"):
            continue
        match = _EDGE.match(line)
        if match:
            source, target, label = match.groups()
            labels = tuple(p.strip() for p in (label or "").split("/") if p.strip())
            edges.append(Edge(source, target, labels))
    return edges


def handler_name(handler: BaseHandler[Any, Any, Any]) -> str:
    return getattr(handler.callback, "__name__", repr(handler.callback))


def check(
    diagram: Path,
    entry_points: Iterable[BaseHandler[Any, Any, Any]],
    states: dict[object, list[BaseHandler[Any, Any, Any]]],
    state_names: Iterable[str] = (),
) -> list[str]:
    """What the diagram gets wrong about the table (empty when it is true)."""
    edges = parse(diagram.read_text(encoding="utf-8"))
    problems: list[str] = []
    table = {str(state): {handler_name(h) for h in handlers} for state, handlers in states.items()}
    known = set(table) | set(state_names)
    drawn = {e.source for e in edges} | {e.target for e in edges}
    drawn.discard(START)
    problems += [f"state {s} is not drawn" for s in sorted(set(table) - drawn)]
    problems += [f"drawn state {s} is not in the flow" for s in sorted(drawn - known)]
    leaving: dict[str, set[str]] = {}
    for e in edges:
        leaving.setdefault(e.source, set()).update(e.labels)
    for state, names in sorted(table.items()):
        for name in sorted(names - leaving.get(state, set())):
            problems.append(f"{state}: handler {name} has no edge")
        for name in sorted(leaving.get(state, set()) - names):
            problems.append(f"{state}: edge {name} is not a handler of this state")
    entries = {handler_name(h) for h in entry_points}
    for name in sorted(entries - leaving.get(START, set())):
        problems.append(f"entry point {name} has no edge from [*]")
    for name in sorted(leaving.get(START, set()) - entries):
        problems.append(f"edge [*] {name} is not an entry point")
    return problems
