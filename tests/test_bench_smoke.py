"""The benchmarks still run (tiny sizes): they are how speed is watched, so they must not rot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.nodb]  # nodb: its own SQLite, whatever the run uses


@pytest.mark.parametrize(
    "argv",
    [
        ["bench.roundtrip", "--users", "3", "--messages", "4"],
        ["bench.roundtrip", "--users", "3", "--messages", "6", "--mix", "staff"],
        ["bench.survey", "--citizens", "5"],  # closed loop: all at once
        ["bench.survey", "--citizens", "5", "--rate", "10"],  # open loop
    ],
)
def test_benchmark_runs(argv: list[str], tmp_path: Path) -> None:
    temp = tmp_path / "tmp"  # the benchmark's temporary files go here, so we see what it leaves
    temp.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(temp)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "jixiao ÷ echo" in result.stdout and "CPU ms/update" in result.stdout
    if argv[0] == "bench.survey":  # every response read back, complete and as given
        assert "5 responses stored complete" in result.stdout, result.stdout
    assert not list(temp.iterdir()), "the benchmark left its temporary files behind"
