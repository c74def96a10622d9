"""``python -m bot.outbox``: the outbox sender on its own, without the bot.

It lives in the application layer because it needs every flow's callback codec to spell the
buttons queued as choices; importing ``bot.app`` (which imports every flow) registers them.
It takes no instance lock: run it only while the bot is stopped (README, "Operations").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from telegram import Bot

import bot.app  # noqa: F401  (registers every flow's callback codec)
from chat.outbox_sender import OutboxSender
from chat.renderers import register_renderers
from domain.enums import OutboxStatus
from infra.config import ConfigError, Settings, load_settings
from infra.db import SessionFactory, make_engine, make_sessions
from infra.models import OutboxMessage
from services.notices import Localization

log = logging.getLogger(__name__)


async def _pending(sessions: SessionFactory) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
        )
        return int(count or 0)


async def _serve(settings: Settings, token: str, *, drain: bool, options: dict[str, Any]) -> int:
    engine = make_engine(settings.database_url)
    sessions = make_sessions(engine)
    bot = Bot(
        token,
        base_url=settings.telegram_base_url,
        base_file_url=settings.telegram_file_base_url,
    )
    try:
        await bot.initialize()
        register_renderers()
        sender = OutboxSender(
            bot,
            sessions,
            admin_ids=settings.admin_id_set,
            local=Localization.of(settings),
            **options,
        )
        if drain:
            sent = await sender.drain()
            log.info("outbox drained: %d sent, %d still pending", sent, await _pending(sessions))
        else:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await sender.run(stop)
    finally:
        with contextlib.suppress(Exception):
            await bot.shutdown()
        await engine.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.outbox", description="Deliver the outbox.")
    parser.add_argument("--drain", action="store_true", help="send what is due, then exit")
    parser.add_argument("--rate", type=float, default=25.0, help="messages per second overall")
    parser.add_argument("--per-chat-interval", type=float, default=1.0, help="seconds per chat")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    try:
        settings = load_settings()
        token = settings.require_token()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    options = {
        "global_rate": args.rate,
        "per_chat_interval": args.per_chat_interval,
        "concurrency": args.concurrency,
    }
    return asyncio.run(_serve(settings, token, drain=args.drain, options=options))


if __name__ == "__main__":
    sys.exit(main())
