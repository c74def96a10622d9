"""A bound on the requests that work at once, so a crowd waits in line instead of failing.

Each page touches the database; with no bound, 2,000 citizens at once each take a pooled
connection and most wait past the pool's timeout, to be answered 500 (``bench.web`` showed
1,411 of 2,000 refused a step). Here a request waits its turn in memory, in arrival order,
before it reaches the app: slower under a crowd, never refused for it. The chat has the
same kind of bound (16 updates at a time). Static files and refusals by the guard (which
sits outside) do not wait.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

# below the PostgreSQL pool (10 per worker, infra.db), so a page never waits on the pool
IN_FLIGHT = 8


class InFlight:
    """ASGI middleware: at most ``limit`` HTTP requests inside the app at once."""

    def __init__(self, app: ASGIApp, limit: int = IN_FLIGHT) -> None:
        self.app = app
        self.slots = asyncio.Semaphore(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        async with self.slots:
            await self.app(scope, receive, send)
