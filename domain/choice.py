"""A button as a named choice, so the rules can offer actions without knowing the messenger.

Services return (or queue) ``Choice`` rows; the chat layer turns each into a button whose
callback data comes from the flow's codec (``chat.callbacks``), and a web page could turn
the same choice into a link. ``action`` is ``"<flow>.<action>"``, e.g. ``"appeal.open"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Arg = int | str


@dataclass(frozen=True)
class Choice:
    """One offered action: what the person reads, which flow action it asks for, with what."""

    label: str
    action: str
    args: tuple[Arg, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "action": self.action, "args": list(self.args)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Choice:
        return cls(str(data["label"]), str(data["action"]), tuple(data.get("args") or ()))


Choices = tuple[tuple[Choice, ...], ...]
"""Rows of choices, as a keyboard lays them out."""


def rows(*lines: Sequence[Choice]) -> Choices:
    """``rows([a, b], [c])``: the layout of a small set of choices."""
    return tuple(tuple(line) for line in lines)


def choices_to_json(choices: Choices) -> list[list[dict[str, Any]]]:
    return [[c.to_json() for c in line] for line in choices]


def choices_from_json(data: list[list[dict[str, Any]]]) -> Choices:
    return tuple(tuple(Choice.from_json(c) for c in line) for line in data)
