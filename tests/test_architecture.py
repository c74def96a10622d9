"""The dependency rules of the README's architecture section, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imports(package: str) -> set[tuple[str, str]]:
    """(file, top-level module) for every import in a package."""
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), a.name.split(".")[0]) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module.split(".")[0]))
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("domain", {"telegram", "sqlalchemy", "bot", "services", "conversations", "scoring"}),
        ("scoring", {"telegram", "sqlalchemy", "bot", "services", "conversations"}),
        ("services", {"conversations"}),
    ],
)
def test_layers(package: str, forbidden: set[str]) -> None:
    bad = sorted((f, m) for f, m in imports(package) if m in forbidden)
    assert not bad, f"{package} must not import {forbidden}: {bad}"


def test_conversations_and_scoring_never_import_each_other() -> None:
    assert not [(f, m) for f, m in imports("scoring") if m == "conversations"]
    direct = [(f, m) for f, m in imports("conversations") if m == "scoring"]
    assert not direct, f"conversations import scoring directly: {direct}"
