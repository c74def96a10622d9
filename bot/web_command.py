"""``jixiao web``: check the database and the bot's username, then serve ``web.app`` by uvicorn.

Workers are separate processes that build the app from the environment
(``web.app.from_environment``), so the username found here is handed to them there.
The username is optional: a host that cannot reach Telegram (a mainland server) serves the
page without the "Rate with Telegram" link, and asks Telegram nothing when no token is set.
uvicorn's own access log is off: ``web.guard`` logs each request with survey tokens masked.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import ipaddress
import os
import sys
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from bot.cli_errors import REFUSED, CliFailure
from bot.commands import bot_username, open_database
from infra.config import Settings
from infra.i18n import Translator


async def _check(settings: Settings, tr: Translator) -> str | None:
    """The database is there and up to date (one line and status 3 if not); the username.

    No username and no token: None, and Telegram is not asked. A token Telegram cannot be
    asked with (out of reach, or rejected): one warning, and None, since the page works
    without the link.
    """
    engine = await open_database(settings, tr)
    await engine.dispose()
    if not settings.bot_username and not settings.bot_token:
        return None
    try:
        return await bot_username(settings, tr)
    except CliFailure as failure:
        print(
            tr._("Warning: {problem} The page is served without the Telegram link.").format(
                problem=failure.line
            ),
            file=sys.stderr,
        )
        return None


def loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.1, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def log_config() -> dict[str, Any]:
    """uvicorn's logging, plus the app's request lines (``jixiao.web``) in every worker."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["jixiao"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def serve(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    if not 1 <= args.workers <= 64:
        raise CliFailure(tr._("--workers must be between 1 and 64."), REFUSED)
    if args.workers > 1 and settings.database_url.startswith("sqlite"):
        raise CliFailure(
            tr._("Several workers need PostgreSQL: SQLite takes one writer at a time."), REFUSED
        )
    if not loopback(args.host):
        print(
            tr._(
                "Warning: listening on {host}. The page should be reached only through the HTTPS reverse proxy (examples/nginx-jixiao.conf)."
            ).format(host=args.host),
            file=sys.stderr,
        )
    username = asyncio.run(_check(settings, tr))
    if username:
        os.environ["JIXIAO_BOT_USERNAME"] = username
    uvicorn.run(
        "web.app:from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        access_log=False,
        server_header=False,
        # a citizen reads a page before the next tap: keep the connection that long
        # (uvicorn's 5 s closes it under the reader's thumb, and under load mid-reuse)
        timeout_keep_alive=75,
        log_config=log_config(),
    )
    return 0
