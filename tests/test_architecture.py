"""The dependency rules of the README's architecture section, checked on the source.

Layers, bottom to top: ``domain``, ``scoring`` (pure) → ``infra`` → ``services`` → ``chat`` →
``conversations`` → ``bot``. A module imports only from its own layer and the layers below.
Every import counts, wherever it is written: at the top, inside a function, or under
``if TYPE_CHECKING:`` (a cycle dodged inside a function is still a cycle).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.nodb

PACKAGES = (
    "domain", "scoring", "infra", "services", "chat", "conversations", "bot", "fakebotapi", "web",
)  # fmt: skip
PROJECT = {*PACKAGES, "bench", "tests"}


@cache
def _imports_of(package: str) -> frozenset[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in sorted((ROOT / package).rglob("*.py")):
        where = str(path.relative_to(ROOT))
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {(where, alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against the importing module's package
                    base = module.split(".")[: -node.level]
                    target = ".".join([*base, node.module] if node.module else base)
                else:
                    target = node.module or ""
                # ``from chat import uow`` imports the module ``chat.uow``
                found |= {(where, f"{target}.{alias.name}") for alias in node.names}
                found.add((where, target))
    return frozenset(found)


def imports(package: str) -> set[tuple[str, str]]:
    """(file, top-level module) for every import in a package, including function-level ones."""
    return {(f, m.split(".")[0]) for f, m in _imports_of(package)}


def full_imports(package: str) -> set[tuple[str, str]]:
    """(file, dotted module or ``module.name``) for every import in a package."""
    return set(_imports_of(package))


def _bad(package: str, forbidden: set[str]) -> list[tuple[str, str]]:
    return sorted((f, m) for f, m in imports(package) if m in forbidden)


# What each package must not import (the layers above it, and the test tools).
FORBIDDEN: dict[str, set[str]] = {
    # pure: no Telegram, no database, nothing of the layers above
    "domain": {"telegram", "sqlalchemy", "scoring", *PROJECT - {"domain"}},
    "scoring": {"telegram", "sqlalchemy", *PROJECT - {"domain", "scoring"}},
    # infrastructure: settings, database, models, i18n, intake; nothing above it
    "infra": {"services", "chat", "conversations", "bot", "fakebotapi", "web", "bench", "tests"},
    # the rules: no chat layer, no flows, no application, no web
    "services": {"chat", "conversations", "bot", "fakebotapi", "web", "bench", "tests"},
    # the chat layer: no flows (they register through hooks), no application
    "chat": {"bot", "fakebotapi", "web", "bench", "tests"},
    "conversations": {"bot", "fakebotapi", "web", "bench", "tests"},
    "bot": {"bench", "tests"},
    # the fake Telegram is a stand-alone server: it knows nothing of the bot
    "fakebotapi": PROJECT - {"fakebotapi"},
    # the survey page: the services' rules over HTTP; nothing of Telegram or the chat
    "web": {"telegram", "chat", "conversations", "bot", "fakebotapi", "bench", "tests"},
}


@pytest.mark.parametrize("package", FORBIDDEN)
def test_layers(package: str) -> None:
    forbidden = FORBIDDEN[package]
    bad = _bad(package, forbidden)
    assert not bad, f"{package} must not import {sorted(forbidden)}: {bad}"


# The chat layer may reach a flow only through a registry hook the composition root fills
# (``chat.resume.set_home``, ``chat.renderers.register_renderers``). An import the chat layer
# cannot avoid goes here, file and module, with the reason.
CHAT_IMPORTS_OF_CONVERSATIONS: dict[tuple[str, str], str] = {}


def test_chat_imports_no_flow() -> None:
    found = {(f, m) for f, m in full_imports("chat") if m.split(".")[0] == "conversations"}
    allowed = set(CHAT_IMPORTS_OF_CONVERSATIONS)
    assert not found - allowed, (
        f"chat/ reaches conversations/ only through hooks: {sorted(found - allowed)}"
    )


# The demo presses the flows' buttons through their codecs, as the tests' drivers do.
PRESSES_FLOW_BUTTONS = ("bot/demo.py",)


def test_only_the_composition_root_imports_flows() -> None:
    """Flows are wired by ``bot/app.py``; the CLI and everything below render for themselves."""
    found = {
        (f, m)
        for package in PACKAGES
        if package not in ("conversations", "chat")
        for f, m in imports(package)
        if m == "conversations" and f != "bot/app.py"
    }
    allowed = {(f, "conversations") for f in PRESSES_FLOW_BUTTONS}
    assert not found - allowed, f"only bot/app.py imports conversations/: {sorted(found - allowed)}"


def test_the_cli_imports_no_flow() -> None:
    found = sorted(
        (f, m)
        for f, m in full_imports("bot")
        if m.startswith("conversations") and f not in ("bot/app.py", *PRESSES_FLOW_BUTTONS)
    )
    assert not found, f"the CLI renders its own output: {found}"


def test_fakebotapi_only_in_tests_bench_and_demo() -> None:
    """The fake Telegram serves tests, benchmarks and ``jixiao demo``; nothing in production."""
    found = {
        (f, m)
        for package in PACKAGES
        if package != "fakebotapi"
        for f, m in imports(package)
        if m == "fakebotapi" and f != "bot/demo.py"
    }
    assert not found, f"fakebotapi is imported outside tests/, bench/ and bot/demo.py: {found}"


def _telegram_importers() -> set[str]:
    return {
        f for package in ("services", "domain", "scoring") for f, m in _bad(package, {"telegram"})
    }


def test_services_domain_and_scoring_import_no_telegram() -> None:
    """Services decide and record; the chat layer renders text and keyboards."""
    found = sorted(_telegram_importers())
    assert not found, f"services, domain and scoring know nothing of Telegram: {found}"


def _settings_readers() -> set[str]:
    """Modules of services/ that use ``load_settings`` (imported or called, at any level)."""
    found = set()
    for path in sorted((ROOT / "services").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                (isinstance(node, ast.Name) and node.id == "load_settings")
                or (isinstance(node, ast.Attribute) and node.attr == "load_settings")
                or (
                    isinstance(node, ast.ImportFrom)
                    and any(a.name == "load_settings" for a in node.names)
                )
            ):
                found.add(str(path.relative_to(ROOT)))
    return found


def test_services_never_load_settings() -> None:
    """Settings are passed in (the injected ``Settings``), never re-read from the environment."""
    found = sorted(_settings_readers())
    assert not found, f"services take settings as arguments, never load_settings(): {found}"


def test_the_bot_sends_no_markdown() -> None:
    """Messages are HTML or plain text (``domain/text.py``); the fake server refuses Markdown,
    and this catches a ``parse_mode`` that only a rare path would send."""
    found = [
        str(path.relative_to(ROOT))
        for package in ("bot", "chat", "conversations", "services", "infra", "domain")
        for path in sorted((ROOT / package).rglob("*.py"))
        if "markdown" in path.read_text(encoding="utf-8").lower()
    ]
    assert not found, f"parse_mode is HTML or none, never Markdown: {found}"


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
