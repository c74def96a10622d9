"""Shared helpers of the markup parsers: UTF-16 lengths, byte offsets, entity ordering."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Entity = dict[str, Any]


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (emoji outside the BMP count twice)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class TextBuilder:
    """Accumulates parsed plain text and tracks the UTF-16 offset entities are measured in."""

    parts: list[str] = field(default_factory=list)
    offset: int = 0

    def add(self, chunk: str) -> None:
        """Append parsed text."""
        self.parts.append(chunk)
        self.offset += utf16_len(chunk)

    def text(self) -> str:
        """The plain text so far."""
        return "".join(self.parts)


def byte_offset(text: str, pos: int) -> int:
    """Telegram reports parse errors at UTF-8 byte offsets of the original text."""
    return len(text[:pos].encode("utf-8"))


def sort_entities(entities: list[Entity]) -> list[Entity]:
    """Telegram's order: by offset, outer (longer) entities first."""
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))
