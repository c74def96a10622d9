"""The ``jixiao`` command line, run as a user would run it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from infra.db import SessionFactory
from infra.models import Invite, Staff
from tests.drivers.cli import EXAMPLES, jixiao


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["staff", "--help"],
        ["staff", "import", "--help"],
        ["staff", "invites", "--help"],
        ["db", "--help"],
        ["run", "--help"],
    ],
)
def test_help_on_every_level(argv: list[str], tmp_path: Path) -> None:
    result = jixiao(*argv, cwd=tmp_path)
    assert result.returncode == 0 and "usage: jixiao" in result.stdout


def test_run_without_token_names_it_and_exits_2(tmp_path: Path) -> None:
    result = jixiao("run", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "JIXIAO_BOT_TOKEN" in lines[0] and "Traceback" not in result.stderr


def test_malformed_setting_is_named(tmp_path: Path) -> None:
    result = jixiao("db", "upgrade", cwd=tmp_path, JIXIAO_TIMEZONE="Mars/Olympus")
    assert (
        result.returncode == 2
        and "JIXIAO_TIMEZONE" in result.stderr
        and "Traceback" not in result.stderr
    )


async def test_import_then_invites_csv(
    db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    result = jixiao(
        "staff", "import", str(EXAMPLES / "staff.csv"), cwd=tmp_path, JIXIAO_DATABASE_URL=db_url
    )
    assert result.returncode == 0, result.stderr
    again = jixiao(
        "staff", "import", str(EXAMPLES / "staff.xlsx"), cwd=tmp_path, JIXIAO_DATABASE_URL=db_url
    )
    assert again.returncode == 0, again.stderr
    async with sessions() as s:
        people = int(await s.scalar(select(func.count()).select_from(Staff)) or 0)
    assert people >= 40
    out = tmp_path / "invites.csv"
    result = jixiao(
        "staff",
        "invites",
        "--format",
        "csv",
        "--out",
        str(out),
        cwd=tmp_path,
        JIXIAO_DATABASE_URL=db_url,
        JIXIAO_BOT_USERNAME="jixiao_bot",
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert len(rows) == people
    assert {"employee_no", "name", "code", "link"} <= set(rows[0])
    for row in rows:
        assert row["link"] == f"https://t.me/jixiao_bot?start={row['code']}"
        assert len(row["code"]) <= 64 and row["code"].startswith("in_")
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Invite)) == people
        # only hashes are stored, never the codes themselves
        hashes = set((await s.scalars(select(Invite.token_hash))).all())
    assert not any(row["code"] in hashes or row["code"][3:] in hashes for row in rows)


async def test_bad_roster_exits_1_and_names_the_row(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    lines = (EXAMPLES / "staff.csv").read_text(encoding="utf-8-sig").splitlines()
    lines.append(lines[-1])  # duplicate employee number on row len(lines)+1
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = jixiao("staff", "import", str(bad), cwd=tmp_path, JIXIAO_DATABASE_URL=db_url)
    assert result.returncode == 1
    assert str(len(lines)) in result.stderr


@pytest.mark.parametrize("value", ["eighty", "0", "100.5"])
def test_a_training_threshold_out_of_range_is_named(value: str, tmp_path: Path) -> None:
    result = jixiao("db", "upgrade", cwd=tmp_path, JIXIAO_TRAINING_THRESHOLD=value)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "JIXIAO_TRAINING_THRESHOLD" in result.stderr and "100" in result.stderr
