"""Webhook delivery: POST each pending update, in order, to the registered URL.

One task per bot sleeps on the hub's notifier, so an update is pushed as soon as it exists.
As Telegram does, an update the receiver did not answer with 2xx (refused connection, timeout,
403, 503, a process killed mid-request) stays first in line and is POSTed again, with a
growing pause, until it is accepted or older than Telegram keeps updates (24 hours); later
updates wait behind it. A new setWebhook (a restarted bot registering again) retries at once.
The pauses are scaled down from Telegram's (seconds to minutes) so tests need not wait.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from fakebotapi.state import JSON, BotState, Hub, Webhook

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed delivery is repeated: doubling pauses from ``first`` up to ``longest``,
    until the update is ``keep_for`` seconds old (Telegram keeps updates for 24 hours)."""

    first: float = 0.05
    longest: float = 2.0
    keep_for: float = 24 * 3600.0

    def pause(self, failures: int) -> float:
        """The pause after the ``failures``-th failed attempt at one update."""
        return float(min(self.first * 2 ** (failures - 1), self.longest))


async def _post(client: AsyncHTTPClient, hook: Webhook, update: JSON) -> str | None:
    """POST one update; returns an error text like Telegram's last_error_message, or None."""
    headers = {"Content-Type": "application/json"}
    if hook.secret_token:
        headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
    request = HTTPRequest(
        hook.url,
        method="POST",
        body=json.dumps(update, ensure_ascii=False).encode("utf-8"),
        headers=headers,
        request_timeout=10.0,
    )
    try:
        response = await client.fetch(request, raise_error=False)
    except Exception as exc:  # connection refused, DNS, timeout: all are delivery failures
        return f"Connection failed: {exc}"
    if 200 <= response.code < 300:
        return None
    if response.code == 599:  # tornado's code for a connection lost before any answer
        return f"Connection failed: {response.error}"
    return f"Wrong response from the webhook: {response.code} {response.reason}"


def _renewed(hub: Hub, bot: BotState, hook: Webhook) -> Callable[[], bool]:
    """True once the server stops or the bot registers its webhook anew."""
    return lambda: hub.stopping or bot.webhook is not hook


async def deliver_forever(
    hub: Hub, bot: BotState, client: AsyncHTTPClient, policy: RetryPolicy | None = None
) -> None:
    """Push ``bot``'s pending updates to its webhook until the server stops."""
    policy = policy or RetryPolicy()
    failures = 0
    failing_since = 0.0
    while not hub.stopping:
        ready = await hub.notifier.wait_for(
            lambda: hub.stopping or (bot.webhook is not None and bool(bot.updates)), 3600.0
        )
        if not ready or hub.stopping:
            continue
        hook = bot.webhook
        assert hook is not None
        update = bot.updates[0]
        hub.stats.webhook_posts[int(update["update_id"])] += 1
        error = await _post(client, hook, update)
        if error is not None:
            failures += 1
            if failures == 1:
                failing_since = hub.monotonic()
            hook.last_error_date = hub.now()
            hook.last_error_message = error
            log.warning("webhook delivery of update %s failed: %s", update["update_id"], error)
            if hub.monotonic() - failing_since < policy.keep_for:
                # a new registration (the bot restarted) ends the pause early
                await hub.notifier.wait_for(_renewed(hub, bot, hook), policy.pause(failures))
                continue
            log.warning("update %s dropped after %d attempts", update["update_id"], failures)
        failures = 0
        if bot.updates and bot.updates[0] is update:
            bot.updates.popleft()
        hub.notify()
