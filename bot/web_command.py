"""``jixiao web``: check the database and the bot's username, then serve ``web.app`` by uvicorn.

Workers are separate processes that build the app from the environment
(``web.app.from_environment``), so the username found here is handed to them there.
uvicorn's own access log is off: ``web.guard`` logs each request with survey tokens masked.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from bot.cli_errors import REFUSED, CliFailure
from bot.commands import bot_username, open_database
from infra.config import Settings
from infra.i18n import Translator


async def _check(settings: Settings, tr: Translator) -> str:
    """The database is there and up to date (one line and status 3 if not); the username."""
    engine = await open_database(settings, tr)
    await engine.dispose()
    return await bot_username(settings, tr)


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
    os.environ["JIXIAO_BOT_USERNAME"] = asyncio.run(_check(settings, tr))
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
