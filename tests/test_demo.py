"""``jixiao demo`` — the newcomer's first command — runs a whole cycle and exits 0."""

from __future__ import annotations

import os
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
