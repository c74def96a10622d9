"""Shared fixtures: a real database per test, the local Bot API server, the real bot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.db import SessionFactory, make_engine, make_sessions
from tests.dbs import DatabaseFactory


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
