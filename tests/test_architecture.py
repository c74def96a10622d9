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


# Names through which code could write outside the update's transaction (``chat.uow``):
# a session factory (``services.sessions``, the persistence's ``sessions``), the
# application's private writing factory, or opening or committing a transaction by hand
# (``x.begin()``, ``x.commit()``; a savepoint, ``begin_nested()``, stays inside the caller's).
_WRITE_DOORS = {"sessions", "_write_sessions", "_services"}
_WRITE_CALLS = {"begin", "commit"}
_WRITE_MODULES = {"infra.db", "infra.inbox", "bot.runner", "bot.jobs"}
_WRITE_NAMES = {"async_sessionmaker", "sessionmaker", "create_async_engine", "AsyncSession"}


def write_doors(package: str) -> list[tuple[str, int, str]]:
    """(file, line, what) for every way around the update's transaction in a package."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        where = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in _WRITE_DOORS:
                found.append((where, node.lineno, f".{node.attr}"))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _WRITE_CALLS
                and not node.args
                and not node.keywords
            ):
                found.append((where, node.lineno, f".{node.func.attr}()"))
            elif isinstance(node, ast.ImportFrom) and node.module in _WRITE_MODULES:
                found.append((where, node.lineno, f"from {node.module} import"))
            elif isinstance(node, ast.Import):
                found += [
                    (where, node.lineno, a.name) for a in node.names if a.name in _WRITE_MODULES
                ]
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in _WRITE_NAMES
            ):
                found.append((where, node.lineno, f"{node.func.id}()"))
    return found


def test_handlers_write_only_through_the_updates_transaction() -> None:
    """A handler that commits on its own is applied twice if killed before "replied" (issue 9, 8)."""
    found = write_doors("conversations")
    assert not found, (
        "conversations/ must write through context.transaction() or a flow's tx, never a "
        f"session of its own: {found}"
    )


def test_services_take_the_callers_session_and_never_commit() -> None:
    """Services run inside the caller's transaction (an update's, a job's, the CLI's)."""
    found = [f for f in write_doors("services") if f[2] in {".commit()", ".begin()"}]
    assert not found, f"services/ must not open or commit transactions: {found}"
