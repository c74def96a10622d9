"""Every failure of the ``jixiao`` command line is one line on stderr and a non-zero status.

Never a traceback: unreachable or missing databases, an unmigrated schema, a rejected
token, no network, missing files, a folder given as a file, and refusals of the cycle
commands (a collecting cycle is not scored without ``--close``; stale results are not sent).
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import os
import socket
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from domain.enums import CyclePhase
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import Cycle, Invite, Staff
from tests.dbs import PG_URL, backend
from tests.drivers.cli import EXAMPLES, jixiao
from tests.factories import bind, fill_all_forms, make_org, open_cycle


def one_line_failure(result, *expected: str) -> str:  # type: ignore[no-untyped-def]
    """The run failed with exactly one line on stderr, containing every ``expected`` part."""
    assert result.returncode != 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for part in expected:
        assert part in lines[0], lines[0]
    return str(lines[0])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{_free_port()}/jixiao"
    result = jixiao("cycle", "status", cwd=tmp_path, JIXIAO_DATABASE_URL=url, JIXIAO_LOCALE="en")
    one_line_failure(result, "database")


def test_unusable_sqlite_path_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    url = f"sqlite:///{blocker}/jixiao.db"
    result = jixiao("cycle", "status", cwd=tmp_path, JIXIAO_DATABASE_URL=url, JIXIAO_LOCALE="en")
    one_line_failure(result, "database")


def test_a_missing_sqlite_database_is_one_line_and_is_not_created(tmp_path: Path) -> None:
    """Run from the wrong folder or with a typo, a command says so; it does not answer from
    a new, empty database (only `staff import` and `run` create one)."""
    url = f"sqlite:///{tmp_path}/typo/jixiao.db"
    env = {"JIXIAO_DATABASE_URL": url, "JIXIAO_LOCALE": "en"}
    for command in (("cycle", "status"), ("staff", "invites"), ("survey", "stats")):
        result = jixiao(*command, cwd=tmp_path, **env)
        assert result.returncode == 3
        one_line_failure(result, "no database", "typo/jixiao.db")
    assert not (tmp_path / "typo").exists()
    imported = jixiao("staff", "import", str(EXAMPLES / "staff.csv"), cwd=tmp_path, **env)
    assert imported.returncode == 0, imported.stderr
    assert (tmp_path / "typo" / "jixiao.db").exists()


def test_a_closed_output_pipe_is_not_a_database_failure(tmp_path: Path) -> None:
    """`jixiao cycle status | head -1`: the reader went away; nothing is blamed on the database."""
    url = f"sqlite:///{tmp_path}/jixiao.db"
    env = {"JIXIAO_DATABASE_URL": url, "JIXIAO_LOCALE": "en"}
    assert (
        jixiao("staff", "import", str(EXAMPLES / "staff.csv"), cwd=tmp_path, **env).returncode == 0
    )
    read, write = os.pipe()
    os.close(read)  # nobody reads: the first write fails with EPIPE
    result = jixiao("staff", "invites", cwd=tmp_path, stdout=write, **env)
    os.close(write)
    assert "database" not in result.stderr.lower(), result.stderr
    assert "Traceback" not in result.stderr, result.stderr


needs_pg = pytest.mark.skipif(backend() != "postgresql", reason="a PostgreSQL server is needed")


async def _pg(sql: str) -> None:
    admin = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@needs_pg
def test_missing_database_is_one_line(tmp_path: Path) -> None:
    url = make_url(PG_URL).set(database="jx_no_such_database").render_as_string(False)
    result = jixiao("cycle", "status", cwd=tmp_path, JIXIAO_DATABASE_URL=url, JIXIAO_LOCALE="en")
    one_line_failure(result, "jx_no_such_database")


@needs_pg
def test_unmigrated_schema_says_run_db_upgrade(tmp_path: Path) -> None:
    name = f"jx_empty_{os.getpid()}"
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(PG_URL).set(database=name).render_as_string(False)
        result = jixiao(
            "cycle", "status", cwd=tmp_path, JIXIAO_DATABASE_URL=url, JIXIAO_LOCALE="en"
        )
        one_line_failure(result, "jixiao db upgrade")
        current = jixiao("db", "current", cwd=tmp_path, JIXIAO_DATABASE_URL=url, JIXIAO_LOCALE="en")
        one_line_failure(current, "jixiao db upgrade")
        upgraded = jixiao("db", "upgrade", cwd=tmp_path, JIXIAO_DATABASE_URL=url)
        assert upgraded.returncode == 0, upgraded.stderr
        after = jixiao("cycle", "status", cwd=tmp_path, JIXIAO_DATABASE_URL=url)
        assert after.returncode == 0, after.stderr
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_rejected_token_is_one_line(db_url: str, server: FakeBotApi, tmp_path: Path) -> None:
    result = await asyncio.to_thread(
        jixiao,
        "staff",
        "invites",
        cwd=tmp_path,
        JIXIAO_DATABASE_URL=db_url,
        JIXIAO_BOT_TOKEN="999:not-a-token-this-server-knows",
        JIXIAO_TELEGRAM_BASE_URL=server.base_url,
        JIXIAO_LOCALE="en",
    )
    one_line_failure(result, "JIXIAO_BOT_TOKEN")


async def test_no_network_is_one_line(db_url: str, tmp_path: Path) -> None:
    result = await asyncio.to_thread(
        jixiao,
        "staff",
        "invites",
        cwd=tmp_path,
        JIXIAO_DATABASE_URL=db_url,
        JIXIAO_BOT_TOKEN="123:abc",
        JIXIAO_TELEGRAM_BASE_URL=f"http://127.0.0.1:{_free_port()}/bot",
        JIXIAO_LOCALE="en",
    )
    one_line_failure(result, "Telegram")


async def test_missing_or_folder_template_is_one_line(db_url: str, tmp_path: Path) -> None:
    for template, expected in ((tmp_path / "nope.toml", "nope.toml"), (tmp_path, str(tmp_path))):
        result = jixiao(
            "cycle",
            "open",
            "2026Q4",
            "--template",
            str(template),
            "--deadline",
            "2099-01-15",
            cwd=tmp_path,
            JIXIAO_DATABASE_URL=db_url,
            JIXIAO_LOCALE="en",
        )
        one_line_failure(result, expected)
    folder = jixiao(
        "staff",
        "import",
        str(tmp_path),
        cwd=tmp_path,
        JIXIAO_DATABASE_URL=db_url,
        JIXIAO_LOCALE="en",
    )
    one_line_failure(folder, "folder")


async def test_invites_into_a_folder_fail_before_any_code_is_issued(
    db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    env = {
        "JIXIAO_DATABASE_URL": db_url,
        "JIXIAO_BOT_USERNAME": "jixiao_bot",
        "JIXIAO_LOCALE": "en",
    }
    assert (
        jixiao("staff", "import", str(EXAMPLES / "staff.csv"), cwd=tmp_path, **env).returncode == 0
    )
    result = jixiao("staff", "invites", "--out", str(tmp_path), cwd=tmp_path, **env)
    one_line_failure(result, "folder")
    async with sessions() as s:
        assert not await s.scalar(select(func.count()).select_from(Invite))


async def test_survey_stats_with_a_bad_period_fails(db_url: str, tmp_path: Path) -> None:
    result = jixiao(
        "survey", "stats", "--period", "2026Q7", cwd=tmp_path, JIXIAO_DATABASE_URL=db_url
    )
    one_line_failure(result, "2026Q7")


async def test_status_of_a_missing_cycle_says_so(
    db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    await make_org(sessions, people=2)
    await open_cycle(sessions, period="2026Q4")
    result = jixiao(
        "cycle", "status", "2025Q1", cwd=tmp_path, JIXIAO_DATABASE_URL=db_url, JIXIAO_LOCALE="en"
    )
    one_line_failure(result, "2025Q1")
    garbage = jixiao(
        "cycle", "status", "garbage", cwd=tmp_path, JIXIAO_DATABASE_URL=db_url, JIXIAO_LOCALE="en"
    )
    one_line_failure(garbage, "garbage", "2026Q4 for a quarter")


async def test_reopen_of_an_unsubmitted_form_says_it_was_not_submitted(
    db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    await make_org(sessions, people=2)
    await open_cycle(sessions, period="2026Q4")
    result = jixiao(
        "cycle",
        "reopen",
        "2026Q4",
        "A002",
        "A002",
        cwd=tmp_path,
        JIXIAO_DATABASE_URL=db_url,
        JIXIAO_LOCALE="en",
    )
    one_line_failure(result, "not been submitted")


async def test_dry_run_import_says_nothing_changed(
    db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    result = jixiao(
        "staff",
        "import",
        "--dry-run",
        str(EXAMPLES / "staff.csv"),
        cwd=tmp_path,
        JIXIAO_DATABASE_URL=db_url,
        JIXIAO_LOCALE="en",
    )
    assert result.returncode == 0, result.stderr
    assert "nothing was changed" in result.stdout.lower(), result.stdout
    async with sessions() as s:
        assert not await s.scalar(select(func.count()).select_from(Staff))


async def test_invites_keep_an_earlier_batch_unless_reissued(
    db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    env = {
        "JIXIAO_DATABASE_URL": db_url,
        "JIXIAO_BOT_USERNAME": "jixiao_bot",
        "JIXIAO_LOCALE": "en",
    }
    assert (
        jixiao("staff", "import", str(EXAMPLES / "staff.csv"), cwd=tmp_path, **env).returncode == 0
    )
    first = jixiao("staff", "invites", cwd=tmp_path, **env)
    assert first.returncode == 0, first.stderr
    codes = [row["code"] for row in csv.DictReader(io.StringIO(first.stdout))]
    assert codes
    # running it again issues nothing new and kills nothing
    again = jixiao("staff", "invites", cwd=tmp_path, **env)
    assert again.returncode == 0, again.stderr
    assert not list(csv.DictReader(io.StringIO(again.stdout)))
    assert "--reissue" in again.stderr and "hash" in again.stderr
    async with sessions() as s:
        live = await s.scalar(
            select(func.count()).select_from(Invite).where(Invite.revoked_at.is_(None))
        )
    assert live == len(codes)
    # re-issuing for everyone is explicit, and warns that the earlier codes die
    reissued = jixiao("staff", "invites", "--reissue", cwd=tmp_path, **env)
    assert reissued.returncode == 0, reissued.stderr
    assert len(list(csv.DictReader(io.StringIO(reissued.stdout)))) == len(codes)
    assert "no longer work" in reissued.stderr
    async with sessions() as s:
        live = await s.scalar(
            select(func.count()).select_from(Invite).where(Invite.revoked_at.is_(None))
        )
    assert live == len(codes)


async def test_cli_score_refuses_a_collecting_cycle_without_close(
    db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    await make_org(sessions, people=3)
    cycle_id = await open_cycle(sessions, period="2026Q4", peer_count=2)
    env = {"JIXIAO_DATABASE_URL": db_url, "JIXIAO_LOCALE": "en"}
    refused = jixiao("cycle", "score", "2026Q4", cwd=tmp_path, **env)
    one_line_failure(refused, "--close")
    async with sessions() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert (
            cycle is not None and cycle.phase == CyclePhase.COLLECTING and cycle.scored_at is None
        )
    closed = jixiao("cycle", "score", "2026Q4", "--close", cwd=tmp_path, **env)
    assert closed.returncode == 0, closed.stderr
    assert "not submitted" in closed.stdout + closed.stderr
    async with sessions() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None and cycle.phase == CyclePhase.SCORING
    # and it can be extended again afterwards
    later = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    extended = jixiao("cycle", "extend", "2026Q4", "--deadline", later, cwd=tmp_path, **env)
    assert extended.returncode == 0, extended.stderr


async def test_cli_submit_refuses_stale_results(
    db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    await make_org(sessions, people=3)
    await open_cycle(sessions, period="2026Q4", peer_count=2)
    await fill_all_forms(sessions, (await _cycle_id(sessions)))
    async with sessions() as s:
        chief = int(await s.scalar(select(Staff.id).where(Staff.employee_no == "L001")) or 0)
    await bind(sessions, 700001, chief)  # a leader who can receive the request
    env = {"JIXIAO_DATABASE_URL": db_url, "JIXIAO_LOCALE": "en"}
    assert jixiao("cycle", "close", "2026Q4", cwd=tmp_path, **env).returncode == 0
    assert jixiao("cycle", "score", "2026Q4", cwd=tmp_path, **env).returncode == 0
    assert jixiao("cycle", "reopen", "2026Q4", "A002", "A002", cwd=tmp_path, **env).returncode == 0
    one_line_failure(jixiao("cycle", "submit", "2026Q4", cwd=tmp_path, **env), "score")
    assert jixiao("cycle", "score", "2026Q4", cwd=tmp_path, **env).returncode == 0
    sent = jixiao("cycle", "submit", "2026Q4", cwd=tmp_path, **env)
    assert sent.returncode == 0, sent.stderr


async def _cycle_id(sessions: SessionFactory) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(Cycle.id)) or 0)


def test_a_worker_count_out_of_range_is_refused_in_the_users_language(tmp_path: Path) -> None:
    for count in ("0", "33", "two"):
        result = jixiao("run", "--workers", count, cwd=tmp_path, JIXIAO_LOCALE="zh_Hans")
        assert result.returncode == 2, result.stderr
        assert "应为 1 到 32 之间的整数" in result.stderr and "Traceback" not in result.stderr
