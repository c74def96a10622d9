"""The ``jixiao`` command line, run as a user would run it: a subprocess with only the
``JIXIAO_*`` settings a test gives it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = ROOT / "examples"
# the terminal's language, which the CLI speaks when JIXIAO_LOCALE is unset: a test sets it
LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def jixiao(
    *args: str, cwd: Path, stdout: int = subprocess.PIPE, **env: str
) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess with only the given JIXIAO_* settings (and ``LANG=C.UTF-8``
    unless given: 简体中文); ``stdout`` may be a file descriptor (a pipe nobody reads, say)
    instead of being captured."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_") and k not in LOCALE_VARS
    }
    clean.update({"LANG": "C.UTF-8"}, **env, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=clean,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
