"""Webhook delivery: POST each pending update, in order, to the registered URL.

One task per bot sleeps on the hub's notifier, so an update is pushed as soon as it exists. A
failing receiver is retried a few times with a short backoff, then the update is dropped and the
error is reported via getWebhookInfo (real Telegram retries for longer, which tests don't want).
"""

from __future__ import annotations

import asyncio
import json
import logging

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from fakebotapi.state import JSON, BotState, Hub, Webhook

log = logging.getLogger(__name__)


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
    return f"Wrong response from the webhook: {response.code} {response.reason}"


async def deliver_forever(
    hub: Hub,
    bot: BotState,
    client: AsyncHTTPClient,
    max_attempts: int = 3,
    backoff: float = 0.05,
) -> None:
    """Push ``bot``'s pending updates to its webhook until the server stops."""
    attempts = 0
    while not hub.stopping:
        ready = await hub.notifier.wait_for(
            lambda: hub.stopping or (bot.webhook is not None and bool(bot.updates)), 3600.0
        )
        if not ready or hub.stopping:
            continue
        hook = bot.webhook
        assert hook is not None
        update = bot.updates[0]
        error = await _post(client, hook, update)
        if error is not None:
            attempts += 1
            hook.last_error_date = hub.now()
            hook.last_error_message = error
            log.warning("webhook delivery of update %s failed: %s", update["update_id"], error)
            if attempts < max_attempts:
                await asyncio.sleep(backoff * 2 ** (attempts - 1))
                continue
        attempts = 0
        if bot.updates and bot.updates[0] is update:
            bot.updates.popleft()
        hub.notify()
