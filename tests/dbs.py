"""Throw-away databases for tests: a migrated template per run, a fresh copy per test.

SQLite by default; PostgreSQL when ``JIXIAO_TEST_DATABASE_URL`` points at a server
(``CREATE DATABASE … TEMPLATE`` copies the migrated schema in milliseconds).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from infra.db import make_engine, upgrade

PG_URL = os.environ.get("JIXIAO_TEST_DATABASE_URL", "").strip()
_counter = itertools.count()


def backend() -> str:
    return "postgresql" if PG_URL else "sqlite"


def _pg_dsn(database: str) -> str:
    url = make_url(PG_URL).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


def _pg_async_url(database: str) -> str:
    return (
        make_url(PG_URL)
        .set(drivername="postgresql+asyncpg", database=database)
        .render_as_string(hide_password=False)
    )


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(_pg_dsn(make_url(PG_URL).database or "test"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


class DatabaseFactory:
    """Creates per-test databases from one migrated template."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.tag = uuid.uuid4().hex[:8]
        self.template: str | None = None
        self.created: list[str] = []
        # PostgreSQL's CREATE and DROP DATABASE, one at a time, off the tests' path: each
        # test's database is made while the test before it runs, and dropped after it
        self._admin = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-databases")
        self._ready: Future[str] | None = None

    def prepare(self) -> None:
        if backend() == "postgresql":
            self.template = f"jx_tpl_{self.tag}"
            asyncio.run(_pg_admin(f'CREATE DATABASE "{self.template}"'))
            asyncio.run(_migrate(_pg_async_url(self.template)))
        else:
            path = self.workdir / "template.db"
            asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
            self.template = str(path)

    def new(self, tmp_path: Path) -> str:
        """A fresh, migrated, empty database URL for one test."""
        assert self.template is not None
        if backend() == "postgresql":
            name = self._ready.result() if self._ready is not None else self._create()
            self._ready = self._admin.submit(self._create)  # the next test's, made meanwhile
            return _pg_async_url(name)
        path = tmp_path / f"jixiao-{next(_counter)}.db"
        shutil.copyfile(self.template, path)
        return f"sqlite+aiosqlite:///{path}"

    def _create(self) -> str:
        name = f"jx_t_{self.tag}_{next(_counter)}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        self.created.append(name)
        return name

    def drop(self, url: str) -> None:
        """Dropped in the background: DROP DATABASE waits for a checkpoint of the whole
        server (seconds on a busy one), which no test needs to wait for."""
        if backend() == "postgresql":
            name = make_url(url).database
            assert name is not None
            self._admin.submit(self._drop, name)

    def _drop(self, name: str) -> None:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.created.remove(name)

    def close(self) -> None:
        self._admin.shutdown(wait=True)  # the drops queued, and the database made ahead
        if backend() == "postgresql":
            for name in [*self.created, self.template]:
                asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
