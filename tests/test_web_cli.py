"""``jixiao web``: refuses what cannot work in one line, and serves the page through uvicorn
with survey tokens masked in its log."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from infra.db import SessionFactory
from tests.drivers.cli import LOCALE_VARS, ROOT, jixiao
from tests.factories import make_org
from tests.factories import survey_links as links
from web.guard import CSP


def test_several_workers_on_sqlite_are_refused_in_one_line(tmp_path: Path) -> None:
    result = jixiao(
        "web", "--workers", "2", cwd=tmp_path, JIXIAO_DATABASE_URL=f"sqlite:///{tmp_path}/x.db"
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and "PostgreSQL" in lines[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """A ``jixiao web`` child process on a free port; its stderr once it has stopped."""

    def __init__(self, db_url: str, cwd: Path, *args: str, **settings: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
        env.update(
            {k: "" for k in LOCALE_VARS},
            LANG="C.UTF-8",
            PYTHONPATH=str(ROOT),
            JIXIAO_DATABASE_URL=db_url,
            **settings,
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "web", "--port", str(self.port), *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.err = ""

    async def first(self, client: httpx.AsyncClient, path: str) -> httpx.Response:
        """The first answer to ``path`` once the server listens (a minute at most)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                return await client.get(path)
            except httpx.TransportError:
                if self.process.poll() is not None:
                    break
                await asyncio.sleep(0.2)
        self.stop()
        raise AssertionError(f"jixiao web did not serve: {self.err}")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        _out, self.err = self.process.communicate(timeout=120)
        return self.err


@pytest.mark.slow
async def test_jixiao_web_serves_the_survey_and_masks_tokens(
    sessions: SessionFactory, db_url: str, tmp_path: Path
) -> None:
    await make_org(sessions)
    [payload] = await links(sessions)
    token = payload.split("_", 1)[1]
    # on PostgreSQL, two worker processes (each builds the app from the environment)
    workers = "2" if db_url.startswith("postgresql") else "1"
    server = Served(db_url, tmp_path, "--workers", workers, JIXIAO_BOT_USERNAME="jixiao_test_bot")
    try:
        async with httpx.AsyncClient(base_url=server.base) as client:
            page = await server.first(client, f"/s/{token}")
            assert page.status_code == 200 and "应急指挥中心" in page.text
            assert "t.me/jixiao_test_bot" in page.text
            assert page.headers["content-security-policy"] == CSP
            assert "server" not in page.headers
            missing = await client.get("/s/nosuchtoken0000")
            assert missing.status_code == 404
    finally:
        err = server.stop()
    assert "/s/…" in err and token not in err
    assert "HTTPS" not in err  # on loopback: no warning


@pytest.mark.slow
@pytest.mark.parametrize("token", [None, "123456:unreachable"])
async def test_jixiao_web_serves_without_a_username_or_telegram(
    sessions: SessionFactory, db_url: str, tmp_path: Path, token: str | None
) -> None:
    """No username: without a token Telegram is not asked; with one that cannot reach it
    (a closed port here, a mainland host in life), one warning. The page has no Telegram link."""
    await make_org(sessions)
    [payload] = await links(sessions)
    settings = {}
    if token:
        settings = {
            "JIXIAO_BOT_TOKEN": token,
            "JIXIAO_TELEGRAM_BASE_URL": f"http://127.0.0.1:{_free_port()}/bot",
        }
    # without a token, also on every address: one warning to keep it behind the TLS proxy
    host = ["--host", "0.0.0.0"] if token is None else []
    server = Served(db_url, tmp_path, *host, **settings)
    try:
        async with httpx.AsyncClient(base_url=server.base) as client:
            page = await server.first(client, "/s/" + payload.split("_", 1)[1])
            assert page.status_code == 200 and "应急指挥中心" in page.text
            assert "t.me" not in page.text and "用 Telegram 评价" not in page.text
    finally:
        err = server.stop()
    warnings = [line for line in err.splitlines() if "Telegram" in line]
    exposed = [line for line in err.splitlines() if "0.0.0.0" in line and "HTTPS" in line]
    if token:
        assert len(warnings) == 1 and "127.0.0.1" in warnings[0] and exposed == []
    else:
        assert warnings == [] and len(exposed) == 1
