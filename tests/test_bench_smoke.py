"""The benchmarks still run (tiny sizes): they are how speed is watched, so they must not rot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.nodb]  # nodb: its own SQLite, whatever the run uses
RATIOS = ("jixiao ÷ echo", "CPU ms/update", "harness ms/step")
STORED = "5 responses stored complete, every answer, tag and reason as given"


@pytest.mark.parametrize(
    ("argv", "printed"),
    [
        (["bench.roundtrip", "--users", "3", "--messages", "4"], RATIOS),
        (["bench.roundtrip", "--users", "3", "--messages", "6", "--mix", "staff"], RATIOS),
        (
            ["bench.throughput", "--staff", "3"],
            (*RATIOS, "peak MiB", "of 4 staff stored submitted, every answer"),
        ),
        (["bench.survey", "--citizens", "5"], (*RATIOS, STORED, "all at once")),
        (
            ["bench.survey", "--citizens", "5", "--rate", "10"],
            (*RATIOS, STORED, "one every 100 ms"),
        ),
        (["bench.harness", "--users", "5", "50", "--steps", "2"], ("CPU ms/step",)),
        (
            ["bench.push", "--results", "60", "--limited", "20"],
            ("60 results published", "limit lifted: 120 sent", "left unsent: 0"),
        ),
    ],
    ids=["roundtrip", "roundtrip-staff", "throughput", "survey", "survey-rate", "harness", "push"],
)
def test_benchmark_runs(argv: list[str], printed: tuple[str, ...], tmp_path: Path) -> None:
    temp = tmp_path / "tmp"  # the benchmark's temporary files go here, so we see what it leaves
    temp.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(temp)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:] + result.stdout[-2000:]
    for text in printed:
        assert text in result.stdout, result.stdout
    assert not list(temp.iterdir()), "the benchmark left its temporary files behind"
