"""What the report's chart shows, as the JSON spec ``chart`` draws: kept apart from the drawing
so that writing the report loads no matplotlib (the chat and the CLI import this; only the
typesetter draws)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.enums import Grade

GRADES = (Grade.EXCELLENT, Grade.GOOD, Grade.PASS, Grade.FAIL)  # best first, as read


def grades_spec(
    title: str, rows: Sequence[tuple[str, Mapping[Grade, int]]], labels: Mapping[Grade, str]
) -> dict[str, Any]:
    """The grade counts of each row (the bureau, then the units), every label translated."""
    return {
        "kind": "grades",
        "title": title,
        "labels": {g.value: labels[g] for g in GRADES},
        "rows": [[name, {g.value: int(counts.get(g, 0)) for g in GRADES}] for name, counts in rows],
    }
