"""Replies to an update: a transient failure is retried, and one that stays failed is noticed.

Every Bot API call goes through the application's rate limiter, so wrapping it covers
every reply of every handler (a sent prompt, an edited message, a document) without a
helper each flow must remember to use. While the dispatcher handles an update
(``watch``), a 5xx, a network error or a time-out is retried a few times with a short
back-off; if the call still fails, the update's ``ReplyOutcome`` says so and the
dispatcher leaves the update "not replied", so the chat is re-prompted from the
database instead of being left without its next question.

The one window: the Bot API has no idempotency key, so a ``sendMessage`` that timed out
after Telegram had accepted it is sent again by the retry (or by the re-prompt), and the
user sees that message twice. A duplicate, never a loss; edits are idempotent (a repeated
edit is "not modified"). Pushed messages are not retried here: the outbox sender has its
own retries and runs outside ``watch``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter, BaseRateLimiter

log = logging.getLogger(__name__)

# Seconds before each retry of a transient failure: three retries, about 3.5 s in all.
RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0)

# Calls whose failure costs the user nothing they need: the spinner on a pressed button,
# the typing indicator, the command menu. They are not retried (a late answer to a button
# is useless, and may be asked inside a transaction), and their failure is not a lost reply.
OPTIONAL_ENDPOINTS = frozenset({"answerCallbackQuery", "sendChatAction", "setMyCommands"})


@dataclass
class ReplyOutcome:
    """What happened to the replies of one update; ``failed`` means the user may lack one."""

    failed: bool = False
    error: Exception | None = None


_outcome: ContextVar[ReplyOutcome | None] = ContextVar("jixiao_reply_outcome", default=None)


@contextmanager
def watch() -> Iterator[ReplyOutcome]:
    """Retry and record the Bot API calls made inside (the handling of one update)."""
    outcome = ReplyOutcome()
    token = _outcome.set(outcome)
    try:
        yield outcome
    finally:
        _outcome.reset(token)


def is_transient(exc: BaseException) -> bool:
    """5xx, network errors and time-outs may succeed if tried again; a 400 never will."""
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)


class RetryingRateLimiter(BaseRateLimiter[int]):
    """PTB's ``AIORateLimiter`` (429s) plus retries of transient failures while replying."""

    def __init__(self, inner: AIORateLimiter, delays: tuple[float, ...] = RETRY_DELAYS) -> None:
        self.inner = inner
        self.delays = delays

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        outcome = _outcome.get()
        attempt = 0
        while True:
            try:
                return await self.inner.process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except Exception as exc:
                if outcome is None:  # not a reply: polling, the outbox sender, start-up
                    raise
                transient = is_transient(exc)
                optional = endpoint in OPTIONAL_ENDPOINTS
                if transient and not optional and attempt < len(self.delays):
                    log.info("%s failed (%s); retry %d", endpoint, exc, attempt + 1)
                    await asyncio.sleep(self.delays[attempt])
                    attempt += 1
                    continue
                if (transient or isinstance(exc, RetryAfter)) and not optional:
                    outcome.failed, outcome.error = True, exc
                raise
