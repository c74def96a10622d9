"""bench.scoring still runs (a small bureau): its floor and jixiao each in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.nodb]  # nodb: its own SQLite, whatever the run uses


def test_scoring_benchmark_runs(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"  # the benchmark's temporary files go here, so we see what it leaves
    temp.mkdir()
    result = subprocess.run(
        # 40 units: 300 staff give each unit 7 or more, enough for 5 distinct peers
        [sys.executable, "-m", "bench.scoring", "--staff", "300"],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(temp)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "jixiao ÷ floor" in result.stdout
    assert result.stdout.count("   300 rows") == 2  # both sides scored every person
    assert not list(temp.iterdir()), "the benchmark left its temporary files behind"
