"""``bench.web`` still runs (five citizens): it is how the survey page's speed is watched.

On the test database, so it runs on SQLite (one worker) and on PostgreSQL (one and two).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
PRINTED = (
    "floor, 1 worker(s)",
    "jixiao, 1 worker(s)",
    "jixiao ÷ floor, 1w",
    "server CPU ms/step",
    "client CPU ms/step",
)


def test_web_benchmark_runs(db_url: str, tmp_path: Path) -> None:
    temp = tmp_path / "tmp"  # the benchmark's temporary files go here, so we see what it leaves
    temp.mkdir()
    workers = ["1", "2"] if db_url.startswith("postgresql") else ["1"]
    result = subprocess.run(
        [sys.executable, "-m", "bench.web", "--citizens", "5", "--database-url", db_url],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(temp)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:] + result.stdout[-2000:]
    stored = f"{5 * len(workers)} responses stored complete, channel web, every answer, tag and reason as given"
    for text in (*PRINTED, stored, *(f"jixiao ÷ floor, {w}w" for w in workers)):
        assert text in result.stdout, result.stdout
    assert not list(temp.iterdir()), "the benchmark left its temporary files behind"
