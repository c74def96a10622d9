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


@pytest.mark.slow
async def test_jixiao_web_serves_the_survey_and_masks_tokens(
    sessions: SessionFactory, db_url: str, tmp_path: Path
) -> None:
    await make_org(sessions)
    [payload] = await links(sessions)
    token = payload.split("_", 1)[1]
    port = _free_port()
    # on PostgreSQL, two worker processes (each builds the app from the environment)
    workers = "2" if db_url.startswith("postgresql") else "1"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env.update(
        {k: "" for k in LOCALE_VARS},
        LANG="C.UTF-8",
        PYTHONPATH=str(ROOT),
        JIXIAO_DATABASE_URL=db_url,
        JIXIAO_BOT_USERNAME="jixiao_test_bot",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "web", "--port", str(port), "--workers", workers],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base, page = f"http://127.0.0.1:{port}", None
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=base) as client:
            while page is None and time.monotonic() < deadline:
                try:
                    page = await client.get(f"/s/{token}")
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
            assert page is not None and page.status_code == 200 and "应急指挥中心" in page.text
            assert page.headers["content-security-policy"] == CSP
            assert "server" not in page.headers
            missing = await client.get("/s/nosuchtoken0000")
            assert missing.status_code == 404
    finally:
        server.send_signal(signal.SIGINT)
        _out, err = server.communicate(timeout=30)
    assert "/s/…" in err and token not in err
