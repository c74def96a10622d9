"""The evaluation report as plain blocks of text, tables and charts, every text already in the
reader's language: what ``content`` writes and ``typeset`` sets, and what the outbox stores.

A document travels as JSON (``to_json``/``from_json``): the chat queues it with the request
and the outbox sender's drawing process typesets it at send time (``chat.render_pool``), so
the handler's transaction stays short. No text here is markup: the template sets each string
as it is, so a name such as ``#strong[x]`` or ``$1`` prints as typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Align = Literal["left", "right", "center"]


@dataclass(frozen=True)
class Heading:
    """A section (level 1: 一、…) or subsection (level 2: （一）…) heading, numbered by ``content``."""

    text: str
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    """A list of short findings, one per line."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table with a header row repeated on every page; ``align`` per column (numbers right).

    ``widths`` are relative column widths (the text columns wider); ``empty`` is said instead
    of a table without rows.
    """

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: tuple[Align, ...] = ()
    widths: tuple[int, ...] = ()
    caption: str = ""
    empty: str = ""


@dataclass(frozen=True)
class Chart:
    """A picture drawn when the document is set: ``spec`` is what ``services.report.chart`` draws."""

    spec: Mapping[str, Any]
    caption: str = ""
    width_percent: int = 90


Block = Heading | Paragraph | Bullets | Table | Chart

_KINDS: dict[str, type[Block]] = {
    "heading": Heading,
    "paragraph": Paragraph,
    "bullets": Bullets,
    "table": Table,
    "chart": Chart,
}
_NAMES = {kind: name for name, kind in _KINDS.items()}


@dataclass(frozen=True)
class Document:
    """The report: its head (title, bureau, period, date), the page footer and the blocks.

    ``pager`` is the footer with ``{page}`` and ``{pages}`` (第 {page} 页 共 {pages} 页);
    ``lang`` (``zh`` or ``en``) and ``region`` (``cn``, ``tw``) choose line breaking and
    punctuation rules.
    """

    title: str
    bureau: str
    period: str
    date: str
    pager: str
    lang: str = "zh"
    region: str = "cn"
    blocks: tuple[Block, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        head = {k: getattr(self, k) for k in ("title", "bureau", "period", "date", "pager")}
        return {
            **head,
            "lang": self.lang,
            "region": self.region,
            "blocks": [_block_json(b) for b in self.blocks],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Document:
        return cls(
            title=str(data["title"]),
            bureau=str(data["bureau"]),
            period=str(data["period"]),
            date=str(data["date"]),
            pager=str(data["pager"]),
            lang=str(data.get("lang", "zh")),
            region=str(data.get("region", "cn")),
            blocks=tuple(_block(b) for b in data.get("blocks", ())),
        )


def _block_json(block: Block) -> dict[str, Any]:
    out: dict[str, Any] = {"type": _NAMES[type(block)]}
    for name, value in vars(block).items():
        if isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        elif isinstance(value, Mapping):
            value = dict(value)
        out[name] = value
    return out


def _tuples(value: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(tuple(v) if isinstance(v, list) else v for v in value)


def _block(data: Mapping[str, Any]) -> Block:
    kind = _KINDS[data["type"]]
    fields = {k: v for k, v in data.items() if k != "type"}
    for name, value in fields.items():
        if isinstance(value, list):
            fields[name] = _tuples(value)
    return kind(**fields)
