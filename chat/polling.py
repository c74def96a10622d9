"""Long polling that stores each batch before confirming it (PTB's Updater confirms first).

``getUpdates(offset=N)`` tells Telegram to forget everything below N, so the next
call happens only after the batch is committed to the inbox: a crash at any
point either leaves updates unconfirmed (Telegram sends them again) or stored
(``UpdateDispatcher.recover`` handles them).

While the database is away the batch is held in memory and the store retried (``infra.outage``):
no offset is confirmed, so Telegram keeps everything newer, and nothing is lost if we die.

The batch is fetched as Telegram's JSON (``do_api_request``): ``Bot.get_updates`` returns
objects only, and turning them back into the dicts the inbox stores cost about a tenth of the
CPU per update (issue 12). Each update is built from its dict once, by the process that
handles it (``chat.shards``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import warnings
from typing import Any

from telegram import Update
from telegram.error import (
    Conflict,
    EndPointNotFound,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.warnings import PTBUserWarning

from chat.shards import Dispatcher
from infra import inbox
from infra.db import SessionFactory
from infra.failpoints import failpoint
from infra.outage import DatabaseWatch, Stopping

log = logging.getLogger(__name__)

# do_api_request warns that getUpdates has a method of its own: we want its raw JSON on purpose
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning)


async def poll(
    bot: object,
    sessions: SessionFactory,
    dispatcher: Dispatcher,
    stop: asyncio.Event,
    watch: DatabaseWatch,
    *,
    timeout: int = 30,
) -> None:
    """Fetch, store, then dispatch, until ``stop`` is set."""
    offset: int | None = None
    backoff = 1.0
    while not stop.is_set():
        try:
            payloads: list[dict[str, Any]] = await bot.do_api_request(  # type: ignore[attr-defined]
                "getUpdates",
                api_kwargs={
                    "offset": offset,
                    "timeout": timeout,
                    "allowed_updates": list(Update.ALL_TYPES),
                },
                read_timeout=timeout + 10,
            )
            backoff = 1.0
        except (TimeoutError, TimedOut):
            continue
        except RetryAfter as exc:
            await _pause(
                stop,
                float(
                    exc.retry_after
                    if isinstance(exc.retry_after, int)
                    else exc.retry_after.total_seconds()
                ),
            )
            continue
        except EndPointNotFound as exc:  # how do_api_request words a token Telegram refuses
            raise InvalidToken(str(exc)) from exc
        except InvalidToken:
            raise
        except (NetworkError, Conflict) as exc:
            log.warning("getUpdates failed (%s); retrying in %.0f s", exc, backoff)
            await _pause(stop, backoff)
            backoff = min(backoff * 2, 60)
            continue
        if not payloads:
            continue
        failpoint("polled")
        try:
            new_ids = await watch.call(functools.partial(inbox.store, sessions, payloads))
        except Stopping:
            return  # the batch was never confirmed: Telegram sends it again after the restart
        failpoint("stored")
        offset = max(int(p["update_id"]) for p in payloads) + 1
        for payload in payloads:
            if payload["update_id"] in new_ids:
                dispatcher.submit(payload)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
