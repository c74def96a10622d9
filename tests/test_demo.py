"""``jixiao demo`` — the newcomer's first command — runs a whole cycle and exits 0."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.nodb]  # nodb: its own SQLite, whatever the run uses


def test_demo_runs_a_whole_cycle(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env["PYTHONPATH"] = str(ROOT)
    temp = tmp_path / "tmp"  # the demo's temporary files go here, so we can see what it leaves
    temp.mkdir()
    env["TMPDIR"] = str(temp)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--out", str(tmp_path / "out")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    for chapter in ("一、", "二、", "三、", "四、", "五、", "六、", "七、", "八、"):
        assert chapter in out
    assert (
        "绑定成功" in out and "已提交" in out and "感谢" in out and "申诉" in out and "批准" in out
    )
    assert "不合格" in out and "优秀" in out  # the final table
    chart = tmp_path / "out" / "result-chart.png"
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert not list(temp.iterdir()), "the demo left its temporary database behind"


def test_demo_keep_leaves_a_published_cycle_for_the_offline_commands(tmp_path: Path) -> None:
    """``--keep``: the database stays, complete (results, an appeal, a rectification, a plan),
    and ``cycle status``, ``export``, ``report`` and ``audit`` run on it as printed, with no bot token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env["PYTHONPATH"] = str(ROOT)

    def jixiao(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            cwd=tmp_path,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=600,
        )

    demo = jixiao("demo", "--out", "out", "--keep", "kept")
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    database = tmp_path / "kept" / "jixiao.db"
    export = f"export JIXIAO_DATABASE_URL=sqlite:///{database}"
    assert str(database) in demo.stdout and export in demo.stdout
    assert not database.with_name("jixiao.db.lock").exists()  # nothing serves it any more
    with contextlib.closing(sqlite3.connect(database)) as db:
        assert db.execute("SELECT phase, published_at IS NOT NULL FROM cycle").fetchall() == [
            ("appeals", 1)  # published; the appeal window is open
        ]
        assert db.execute("SELECT count(*) FROM result").fetchone()[0] > 40
        assert db.execute("SELECT status FROM appeal").fetchall() == [("decided",)]
        assert db.execute("SELECT status FROM rectification").fetchall() == [("closed",)]
        assert db.execute("SELECT status FROM improvement_plan").fetchall() == [("approved",)]

    url = export.removeprefix("export JIXIAO_DATABASE_URL=")
    status = jixiao("cycle", "status", JIXIAO_DATABASE_URL=url)  # no JIXIAO_BOT_TOKEN
    assert status.returncode == 0, status.stderr
    assert "申诉受理中" in status.stdout and "应急指挥中心" in status.stdout
    log = jixiao("audit", "--limit", "500", JIXIAO_DATABASE_URL=url)
    assert log.returncode == 0, log.stderr
    for done in (
        "开启评估周期",
        "发布评估结果",
        "提出申诉",
        "答复差评整改事项",
        "批准绩效改进计划",
    ):
        assert done in log.stdout
    for command in ("export", "report"):  # the lines the demo printed, as a newcomer types them
        line = next(  # "jixiao export …", or ".venv/bin/jixiao export …" when not on PATH
            x.split()
            for x in demo.stdout.splitlines()
            if len(x.split()) > 1
            and Path(x.split()[0]).name == "jixiao"
            and x.split()[1] == command
        )
        made = jixiao(*line[1:], JIXIAO_DATABASE_URL=url)
        assert made.returncode == 0, made.stderr
        assert (tmp_path / line[-1]).stat().st_size > 1000

    # the survey page: the printed JIXIAO_PUBLIC_URL, survey links on it, then jixiao web
    public = next(x.split("=", 1)[1] for x in demo.stdout.split() if "JIXIAO_PUBLIC_URL=" in x)
    printed = [x.split() for x in demo.stdout.splitlines() if len(x.split()) > 1]
    links = next(
        x for x in printed if Path(x[0]).name == "jixiao" and x[1:3] == ["survey", "links"]
    )
    assert any(Path(x[0]).name == "jixiao" and x[1] == "web" for x in printed)
    made = jixiao(*links[1:], JIXIAO_DATABASE_URL=url, JIXIAO_PUBLIC_URL=public)
    assert made.returncode == 0, made.stderr
    assert f"{public}/s/" in (tmp_path / "qr" / "links.csv").read_text(encoding="utf-8-sig")

    again = jixiao("demo", "--out", "out", "--keep", "kept")  # never over a kept database
    assert again.returncode == 1 and str(database) in again.stderr
    assert "Traceback" not in again.stderr
