"""Shared fixtures: a real database per test, the fake Bot API server, the real bot."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.engine import make_url

from infra.config import Settings
from infra.db import SessionFactory, make_engine, make_sessions

if TYPE_CHECKING:
    from fakebotapi import FakeBotApi
    from tests.harness import InProcessBot
from fakebotapi.sim import SimUser
from tests.dbs import PG_URL, DatabaseFactory, backend

# A reply is awaited until it comes: generous, so a loaded machine cannot fail a test;
# a passing wait ends the moment its condition holds (item 19 of issue 9).
SimUser.default_timeout = 120.0


def _database() -> str:
    if backend() == "postgresql":
        url = make_url(PG_URL)
        where = f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
        return f"database: PostgreSQL ({where}, from JIXIAO_TEST_DATABASE_URL)"
    return f"database: SQLite {sqlite3.sqlite_version} (JIXIAO_TEST_DATABASE_URL unset)"


def pytest_report_header(config: pytest.Config) -> str:
    """Say which database this run uses: the same suite runs on SQLite and on PostgreSQL."""
    return _database()


_NODB_DESELECTED = pytest.StashKey[int]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, leave out the tests marked ``nodb``: they use no database, so CI's
    SQLite run has already run them (``-m nodb`` asks for them anyway).

    A ``nodb`` test that asks for a database would quietly run on SQLite only: refused here.
    """
    nodb = [item for item in items if item.get_closest_marker("nodb")]
    if wrong := [i.nodeid for i in nodb if "db_url" in getattr(i, "fixturenames", ())]:
        raise pytest.UsageError(f"marked nodb but uses a database: {', '.join(wrong)}")
    if backend() != "postgresql" or not nodb or "nodb" in (config.option.markexpr or ""):
        return
    items[:] = [item for item in items if not item.get_closest_marker("nodb")]
    config.hook.pytest_deselected(items=nodb)
    config.stash[_NODB_DESELECTED] = len(nodb)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent with -p no:xdist
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject's addopts): two workers per core, at most eight.

    A test spends most of its time waiting for the bot, the fake server or a child process,
    not computing, so two per core keep the cores busy; eight bound the PostgreSQL
    connections (each worker has its own template and per-test databases).
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` or ``-n N`` choose otherwise, ``-n 0`` runs in one process.
    """
    return min(8, 2 * (os.cpu_count() or 1))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its count to the controller, which prints the summary."""
    if (output := getattr(session.config, "workeroutput", None)) is not None:
        output["nodb_deselected"] = session.config.stash.get(_NODB_DESELECTED, 0)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent with -p no:xdist
def pytest_testnodedown(node: Any, error: object) -> None:
    """The controller keeps the largest count any worker reported (they all collect alike)."""
    count = int(getattr(node, "workeroutput", {}).get("nodb_deselected", 0))
    config: pytest.Config = node.config
    config.stash[_NODB_DESELECTED] = max(count, config.stash.get(_NODB_DESELECTED, 0))


def _nodb_line(config: pytest.Config) -> str | None:
    count = config.stash.get(_NODB_DESELECTED, 0)
    if not count:
        return None
    return f"{count} database-free tests (marked nodb) deselected: the SQLite run covers them"


def pytest_report_collectionfinish(config: pytest.Config) -> str | list[str]:
    """One line under "collected …" saying what was left out and why."""
    return _nodb_line(config) or []


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Repeat it at the end, where a quiet run (``-q``, no header) still shows it."""
    terminalreporter.write_line(_database())
    if line := _nodb_line(config):
        terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def no_malformed_markup(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail any test during which the fake Bot API refused a message as malformed markup.

    Telegram answers such a message with "can't parse entities" (or "unsupported parse_mode"
    for Markdown, which the bot never sends); in production it would be a message nobody
    reads, so every test is also a check that values were escaped. A test that
    sends bad markup on purpose opts out with ``@pytest.mark.malformed_markup``.
    """
    watched = "server" in request.fixturenames and not request.node.get_closest_marker(
        "malformed_markup"
    )
    stats = request.getfixturevalue("server").hub.stats if watched else None
    yield
    if stats is not None and (refused := stats.parse_errors):
        pytest.fail("Telegram would refuse malformed markup:\n" + "\n".join(refused))


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("db"))
    factory.prepare()
    yield factory
    factory.close()


@pytest.fixture
def db_url(database_factory: DatabaseFactory, tmp_path: Path) -> Iterator[str]:
    url = database_factory.new(tmp_path)
    yield url
    database_factory.drop(url)


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[SessionFactory]:
    engine = make_engine(db_url)
    yield make_sessions(engine)
    await engine.dispose()


@pytest.fixture
def settings(db_url: str) -> Settings:
    """Settings for a test bot: no .env file is read, so the developer's own never leaks in."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token="123456:TEST-token",
        bot_username="jixiao_test_bot",
        database_url=db_url,
        admin_ids="900001",
    )


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[FakeBotApi]:
    from fakebotapi import FakeBotApi

    api = FakeBotApi()
    await api.start()
    api.add_bot(
        token=settings.bot_token or "",
        username=settings.bot_username or "jixiao_test_bot",
        first_name="绩效助手",
    )
    yield api
    await api.stop()


@pytest.fixture
def bot_settings(settings: Settings, server: FakeBotApi) -> Settings:
    return settings.model_copy(update={"telegram_base_url": server.base_url})


@pytest.fixture
async def bot(bot_settings: Settings, server: FakeBotApi) -> AsyncIterator[InProcessBot]:
    """The real Application, polling the local server from this event loop."""
    from tests.harness import InProcessBot

    running = InProcessBot(server, bot_settings)
    await running.start()
    yield running
    await running.stop()
