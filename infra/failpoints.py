"""Crash points for restart tests: ``JIXIAO_FAILPOINTS=stored,carried,committed`` kills the process there.

A failpoint fires once per process with SIGKILL — no cleanup, no flush — which is
exactly the crash the durability guarantees are about. Unset in production.
"""

from __future__ import annotations

import os
import signal

_armed = {p.strip() for p in os.environ.get("JIXIAO_FAILPOINTS", "").split(",") if p.strip()}


def failpoint(name: str) -> None:
    """Kill this process right here if the failpoint ``name`` is armed."""
    if name in _armed:
        os.kill(os.getpid(), signal.SIGKILL)
