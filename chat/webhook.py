"""Webhook mode: Telegram POSTs updates; each is stored in the inbox before we answer 200.

Answering only after the commit means Telegram retries anything we failed to
store; the inbox's primary key turns those retries into no-ops. While the database is
away every POST gets 503 at once, so Telegram keeps the update and tries again later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from urllib.parse import urlsplit

from tornado.httpserver import HTTPServer
from tornado.web import Application as TornadoApp
from tornado.web import RequestHandler

from chat.shards import Dispatcher
from infra import inbox
from infra.config import Settings
from infra.db import SessionFactory
from infra.failpoints import failpoint
from infra.outage import DatabaseWatch, describe, is_outage

log = logging.getLogger(__name__)


def webhook_secret(settings: Settings) -> str:
    """The configured secret, else one derived from the token (Telegram allows A-Za-z0-9_-).

    Derived from the token on purpose: it is registered with Telegram at every start and
    nothing stored depends on it, so a rotated token just registers a new one (a token
    holder could call ``setWebhook`` anyway). Survey pseudonyms use ``infra.secret_store``.
    """
    if settings.webhook_secret:
        return settings.webhook_secret
    return hashlib.sha256(f"jixiao-webhook:{settings.bot_token}".encode()).hexdigest()[:48]


class _UpdateHandler(RequestHandler):
    def initialize(
        self,
        sessions: SessionFactory,
        dispatcher: Dispatcher,
        secret: str,
        watch: DatabaseWatch | None,
    ) -> None:
        self.sessions = sessions
        self.dispatcher = dispatcher
        self.secret = secret
        self.watch = watch

    async def post(self) -> None:
        given = self.request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given, self.secret):
            self.set_status(403)
            return
        try:
            payload = json.loads(self.request.body)
            int(payload["update_id"])
        except (ValueError, KeyError, TypeError):
            self.set_status(400)
            return
        if self.watch is not None and not self.watch.up:
            self.set_status(503)  # not stored: Telegram must keep it and try again
            return
        try:
            new = await inbox.store(self.sessions, [payload])
        except Exception as exc:
            if self.watch is None or not is_outage(exc):
                raise  # tornado answers 500: Telegram retries this update too
            self.watch.failed(exc)
            log.warning(
                "update %s not stored (%s): answered 503", payload["update_id"], describe(exc)
            )
            self.set_status(503)
            return
        failpoint("stored")  # stored, Telegram not yet told: it must deliver this again
        self.set_status(200)
        if new:
            self.dispatcher.submit(payload)


def start_webhook_server(
    settings: Settings,
    sessions: SessionFactory,
    dispatcher: Dispatcher,
    watch: DatabaseWatch | None = None,
) -> HTTPServer:
    """Listen on ``JIXIAO_WEBHOOK_LISTEN:PORT`` at the path of ``JIXIAO_WEBHOOK_URL``."""
    assert settings.webhook_url
    path = urlsplit(settings.webhook_url).path or "/"
    app = TornadoApp(
        [
            (
                path,
                _UpdateHandler,
                {
                    "sessions": sessions,
                    "dispatcher": dispatcher,
                    "secret": webhook_secret(settings),
                    "watch": watch,
                },
            )
        ]
    )
    server = HTTPServer(app, xheaders=True)
    server.listen(settings.webhook_port, settings.webhook_listen)
    log.info("webhook listening on %s:%s%s", settings.webhook_listen, settings.webhook_port, path)
    return server
