"""What the outbox sender does after a Bot API call fails: the retry policy, in one place.

Telegram's answers sort into a few outcomes, each with its own fate for the row: a 429 waits
out flood control without counting as an attempt, network trouble (and any error that is not
the message's fault) is retried with capped, jittered exponential back-off, a blocked bot drops
the chat's queue, a migrated group is followed, and a refused or unbuildable message fails. A
refusal for bad markup or length is the bot's own rendering bug (``malformed``), so the working
group is told. Kept apart from the sender so the policy reads, and changes, without the pacing.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import warnings
from dataclasses import dataclass
from typing import Literal

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from chat.outbox_rows import Queued

# The sender's log lines keep the logger name they have always had.
log = logging.getLogger("chat.outbox_sender")

Kind = Literal["sent", "rate_limited", "deferred", "blocked", "failed", "migrated"]

MAX_BACKOFF = 300.0


@dataclass(frozen=True)
class Outcome:
    """What became of one message, and what that asks of its row."""

    kind: Kind
    message_id: int | None = None
    delay: float = 0.0
    error: str | None = None
    new_chat_id: int | None = None


def failure(exc: Exception, row: Queued) -> Outcome:
    """A failed Bot API call for ``row``, sorted into what to do with the row (call it while
    handling ``exc``: an unexpected error is logged with its traceback)."""
    if isinstance(exc, RetryAfter):
        seconds = retry_seconds(exc)
        return Outcome("rate_limited", delay=seconds, error=f"429: retry after {seconds:g} s")
    if isinstance(exc, Forbidden):
        return Outcome("blocked", error=exc.message)
    if isinstance(exc, ChatMigrated):
        return Outcome("migrated", error=exc.message, new_chat_id=exc.new_chat_id)
    if isinstance(exc, BadRequest):
        if malformed(exc.message):
            log.error(
                "outbox: message %d to chat %d refused as malformed, a rendering bug"
                " (the working group is told): %s",
                row.id,
                row.chat_id,
                exc.message,
            )
        else:
            log.error("outbox: message %d to chat %d refused: %s", row.id, row.chat_id, exc.message)
        return Outcome("failed", error=exc.message)
    if isinstance(exc, NetworkError):  # includes TimedOut
        return Outcome("deferred", delay=backoff(row.attempts + 1), error=exc.message)
    if isinstance(exc, TelegramError):  # InvalidToken, Conflict…: not the message's fault
        log.warning("outbox: message %d deferred: %s", row.id, exc.message)
        return Outcome("deferred", delay=backoff(row.attempts + 1), error=exc.message)
    # a payload we cannot even build: retrying will not help
    log.exception("outbox: message %d cannot be sent", row.id)
    return Outcome("failed", error=f"{type(exc).__name__}: {exc}")


def malformed(error: str) -> bool:
    """Whether Telegram refused the message itself (bad markup, too long): the bot's fault."""
    text = error.lower()
    return any(
        sign in text
        for sign in ("can't parse entities", "message is too long", "caption is too long")
    )


def backoff(attempt: int) -> float:
    """1, 2, 4 … seconds, capped at five minutes, plus up to 25 % jitter against stampedes."""
    delay = min(MAX_BACKOFF, 2.0 ** (attempt - 1))
    return delay + random.uniform(0, delay / 4)


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # int vs timedelta: PTB 22 warns on either reading
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    return max(seconds, 1.0)
