"""A worker process of ``jixiao run --workers N``: handles the updates of its share of the chats.

``python -m bot.shard_worker INDEX COUNT``, started by ``chat.shards.ShardWorker`` only. Its
stdin carries the settings (one JSON line), then one stored update per line; its stdout
carries ``ready`` once the chats' positions are loaded and ``wake`` after a handler queued
outbox rows. Logs go to stderr, beside the parent's. EOF on stdin, SIGTERM or SIGINT: it
finishes the updates it holds and exits 0. It exits with its parent, even a killed one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys

import uvloop

from bot.app import build_application
from bot.runner import open_engines
from chat.dispatch import UpdateDispatcher
from chat.shards import READY, WAKE
from infra.child_process import die_with_parent
from infra.config import Settings
from infra.container import Services
from infra.db import make_readers, make_sessions
from infra.outage import DatabaseOutage, DatabaseWatch
from infra.secret_store import with_survey_key

log = logging.getLogger("bot.shard_worker")

EXIT_DATABASE_OUTAGE = 75  # as ``jixiao run`` (bot.runner)


async def serve_shard(
    index: int, reader: asyncio.StreamReader, out: asyncio.WriteTransport
) -> None:
    """Read the settings, load, say ``ready``, then handle forwarded updates until EOF or a signal."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    settings = Settings.model_validate_json(await reader.readline())
    async with open_engines(settings) as (engine, read_engine):
        watch = DatabaseWatch(engine, settings.db_outage_limit)
        await watch.wait_reachable(stop)
        sessions = make_sessions(engine)
        settings = await with_survey_key(sessions, settings)
        services = Services(
            settings=settings,
            sessions=sessions,
            readers=make_readers(read_engine),
            outbox_wake=lambda: out.write(WAKE),
        )
        application = build_application(services)
        async with application:
            services.bot_username = application.bot.username
            await application.start()
            dispatcher = UpdateDispatcher(application, sessions, watch=watch)
            watcher = asyncio.create_task(watch.run(stop), name="database-watch")
            out.write(READY)
            log.info("worker %d is handling its chats", index)
            intake = asyncio.create_task(_intake(reader, dispatcher), name="shard-intake")
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({intake, stopping, watcher}, return_when=asyncio.FIRST_COMPLETED)
            stop.set()
            intake.cancel()
            stopping.cancel()
            error = watcher.exception() if watcher.done() else None
            if error is not None:
                raise error  # DatabaseOutage: the watch has logged it
            watch.close()
            watcher.cancel()
            await dispatcher.wait_idle()
            await application.stop()


async def _intake(reader: asyncio.StreamReader, dispatcher: UpdateDispatcher) -> None:
    while line := await reader.readline():
        dispatcher.submit(json.loads(line))


async def _main(index: int) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)  # an update is at most a few kB; be generous
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    # the parent reads our stdout as the protocol: anything printed goes to stderr instead
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    out, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(protocol_fd, "wb", 0))
    await serve_shard(index, reader, out)


def main(argv: list[str]) -> int:
    index, count = int(argv[0]), int(argv[1])
    die_with_parent(os.getppid())
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s %(levelname)s [worker {index}/{count}] %(name)s: %(message)s",
    )
    for noisy in ("httpx", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(_main(index))
    except DatabaseOutage:
        return EXIT_DATABASE_OUTAGE
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
