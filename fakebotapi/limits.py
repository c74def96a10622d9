"""Flood limits and fault injection, applied by the dispatcher before a method runs."""

from __future__ import annotations

import dataclasses
import math
from collections import deque

from fakebotapi import errors
from fakebotapi.errors import ApiError


@dataclasses.dataclass
class _Fault:
    error_code: int
    description: str
    remaining: int
    retry_after: int | None


class RateLimiter:
    """Sliding-window counters per bot (global) and per (bot, chat)."""

    def __init__(self) -> None:
        self.global_per_second: float | None = None
        self.per_chat_per_second: float | None = None
        self.retry_after = 1
        self._hits: dict[tuple[int, int | None], deque[float]] = {}

    @staticmethod
    def _budget(rate: float) -> tuple[float, int]:
        """(window seconds, allowed hits): 1 s windows, widened for rates below 1/s."""
        window = max(1.0, 1.0 / rate) if rate > 0 else math.inf
        return window, max(1, math.floor(rate * window)) if rate > 0 else 0

    def _full(self, key: tuple[int, int | None], rate: float | None, now: float) -> bool:
        if rate is None:
            return False
        window, allowed = self._budget(rate)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        return len(hits) >= allowed

    def check(self, bot_id: int, chat_id: int | None, now: float) -> None:
        """Raise 429 if this send/edit would exceed a limit."""
        over = self._full((bot_id, None), self.global_per_second, now)
        if chat_id is not None:
            over = over or self._full((bot_id, chat_id), self.per_chat_per_second, now)
        if over:
            raise ApiError(429, errors.too_many_requests(self.retry_after), self.retry_after)

    def record(self, bot_id: int, chat_id: int | None, now: float) -> None:
        """Count a successful send/edit."""
        self._hits.setdefault((bot_id, None), deque()).append(now)
        if chat_id is not None:
            self._hits.setdefault((bot_id, chat_id), deque()).append(now)


DROP = 0
"""The ``error_code`` of an injected fault that hangs up instead of answering."""


class FaultInjector:
    """Queued errors per method (case-insensitive), consumed by the next matching calls."""

    def __init__(self) -> None:
        self._queues: dict[str, list[_Fault]] = {}

    def add(
        self, method: str, error_code: int, description: str, times: int, retry_after: int | None
    ) -> None:
        """Queue ``times`` failures of ``method``."""
        fault = _Fault(error_code, description, times, retry_after)
        self._queues.setdefault(method.lower(), []).append(fault)

    def clear(self, method: str | None = None) -> None:
        """Forget the failures still queued for ``method`` (every method without one)."""
        if method is None:
            self._queues.clear()
        else:
            self._queues.pop(method.lower(), None)

    def take(self, method: str) -> ApiError | None:
        """The error the next ``method`` call must answer, if one is queued."""
        queue = self._queues.get(method.lower())
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        return ApiError(fault.error_code, fault.description, fault.retry_after)
