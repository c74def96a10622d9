"""What keeps the survey page safe on the open internet, around every request.

Security headers on every response (a strict Content-Security-Policy: no script at all,
styles from our own stylesheet only); a request body limit (413); a per-address rate limit
(429 with Retry-After); and one access-log line per request in which a survey token never
appears (uvicorn's own access log is off).

What a cookie and an address can and cannot stop. The survey rules count a web "person" by
a random id in a signed cookie: one response per unit and day, ``MAX_PER_HOUR`` surveys,
a single-use link kept by whoever answered first. That stops double taps, reloads, a
second response from the same phone, and casual repeats. It cannot stop someone who
clears their cookies or opens a private window: they are a new person. The per-address
limits below bound that: requests per minute, new surveys per hour and wrong receipt
codes per hour from one address, so one machine cannot stuff a unit's results or guess
receipt codes. They cannot tell apart many citizens behind one address (a service hall's
Wi-Fi, a carrier's NAT: hence generous limits), nor stop someone with many addresses. So
wrong receipt codes typed on a shared Wi-Fi add up: past the limit, /q is locked for that
whole address until the hour's window frees (the page names the cause); they
are kept in each worker's memory, so with N workers an address gets up to N times the
limit, and a restart forgets them. Behind the reverse proxy the address is the client's
only when uvicorn trusts that proxy (``--forwarded-allow-ips``); otherwise every citizen
shares the proxy's address. The statistics count web responses apart from the chat's so
the working group can see the share and judge it.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("jixiao.web")

CSP: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS: Final = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"x-frame-options", b"DENY"),
]
# Pages hold a CSRF token and a citizen's answers: never cached. /static is the same for
# everyone and its URL carries the file's hash (``web.pages.STATIC_VERSION``), so a browser
# keeps it for a year and a release's new stylesheet has a new URL.
NO_STORE: Final = b"no-store"
STATIC_CACHE: Final = b"public, max-age=31536000, immutable"
_SLASHES = re.compile(r"/{2,}")
_TOKEN = re.compile(r"/s/[^/]+")


def masked(path: str) -> str:
    """The path as the log may show it: every ``/s/`` segment's token replaced by ``…``.

    Slashes are collapsed first, so ``//s/TOKEN``, ``/s//TOKEN`` and ``/x/s/TOKEN`` (which
    a browser or a scanner may send, and a router may or may not serve) are masked too.
    """
    return _TOKEN.sub("/s/…", _SLASHES.sub("/", path))


@dataclass
class Window:
    """At most ``limit`` events per ``seconds`` for each key (an address), in this process."""

    limit: int
    seconds: float
    _log: dict[str, deque[float]] = field(default_factory=dict)

    def retry_after(self, key: str, now: float) -> float | None:
        """Seconds until ``key`` may go on, or None if it may now (nothing is counted)."""
        times = self._log.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.seconds:
            times.popleft()
        if len(times) < self.limit:
            return None
        return max(1.0, times[0] + self.seconds - now)

    def hit(self, key: str, now: float) -> float | None:
        """Count one event; the wait (and nothing counted) if ``key`` is over the limit."""
        wait = self.retry_after(key, now)
        if wait is not None:
            return wait
        if len(self._log) > 50_000:  # forget quiet addresses rather than grow without end
            self._log = {k: v for k, v in self._log.items() if v and v[-1] > now - self.seconds}
        self._log.setdefault(key, deque()).append(now)
        return None


@dataclass
class Limits:
    """The per-address limits and the body limit (tests make them small)."""

    requests_per_minute: int = 240
    surveys_per_hour: int = 60
    wrong_receipts_per_hour: int = 10
    max_body: int = 16 * 1024
    requests: Window = field(init=False)
    surveys: Window = field(init=False)
    wrong_receipts: Window = field(init=False)

    def __post_init__(self) -> None:
        self.requests = Window(self.requests_per_minute, 60)
        self.surveys = Window(self.surveys_per_hour, 3600)
        self.wrong_receipts = Window(self.wrong_receipts_per_hour, 3600)


def address(scope: Scope) -> str:
    """The client's address (uvicorn puts the forwarded one here for trusted proxies only)."""
    client = scope.get("client")
    return str(client[0]) if client else "-"


Refusal = Callable[
    [Scope, int, float | None], Awaitable[tuple[int, list[tuple[bytes, bytes]], bytes]]
]
"""Renders a polite page for a status (413, 429), with the seconds to wait for a 429."""


class Guard:
    """The headers, the body limit, the request rate limit and the access log, in one pass."""

    def __init__(self, app: ASGIApp, *, limits: Limits, refusal: Refusal) -> None:
        self.app, self.limits, self.refusal = app, limits, refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [0]
        cache = STATIC_CACHE if scope.get("path", "").startswith("/static/") else NO_STORE

        async def send_guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                names = {name for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in [*HEADERS, (b"cache-control", cache)] if k not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self._guarded(scope, receive, send_guarded)
        finally:
            log.info(
                '%s "%s %s" %s %.0fms',
                address(scope),
                scope.get("method", "-"),
                masked(scope.get("path", "")),
                status[0],
                (time.perf_counter() - started) * 1000,
            )

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not scope.get("path", "").startswith("/static/"):
            wait = self.limits.requests.hit(address(scope), time.monotonic())
            if wait is not None:
                await self._refuse(scope, send, 429, wait)
                return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (
            not declared.isdigit() or int(declared) > self.limits.max_body
        ):
            await self._refuse(scope, send, 413, None)
            return
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        body, more = bytearray(), True
        while more:  # read it all first (small by the limit), so a long stream is cut early
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limits.max_body:
                await self._refuse(scope, send, 413, None)
                return
        replayed = [False]

        async def replay() -> Message:
            if not replayed[0]:
                replayed[0] = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send, status: int, wait: float | None) -> None:
        code, headers, body = await self.refusal(scope, status, wait)
        await send({"type": "http.response.start", "status": code, "headers": headers})
        await send({"type": "http.response.body", "body": body})
