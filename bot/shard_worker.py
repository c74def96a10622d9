"""A worker process of ``jixiao run --workers N``: handles the updates of its share of the chats.

``python -P -m bot.shard_worker INDEX COUNT PARENT_PID``, started by ``chat.shards.ShardWorker``
only. Its stdin carries the settings (one JSON line), then one stored update per line; its
stdout carries ``ready`` once it has recovered its chats, ``alive`` every second and ``wake``
after a handler queued outbox rows. Logs go to stderr, beside the parent's. EOF on stdin,
SIGTERM or SIGINT: it finishes the updates it holds and exits 0 (75: the database stayed away).
It exits with its parent, even a killed one, from its first instruction on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from types import FrameType

from infra.child_process import die_with_parent


def _quit(signum: int, frame: FrameType | None) -> None:
    os._exit(0)  # stopped while still starting: it holds nothing yet


async def _main(index: int, count: int) -> None:
    # Deliberately imported here, after die_with_parent: the bot's stack takes a second to
    # import, and a worker orphaned meanwhile must not go on to serve.
    from bot.runner import serve_shard

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)  # an update is at most a few kB; be generous
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    # the parent reads our stdout as the protocol: anything printed goes to stderr instead
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    out, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(protocol_fd, "wb", 0))
    await serve_shard(index, count, reader, out)


def main(argv: list[str]) -> int:
    index, count, parent = (int(arg) for arg in argv[:3])
    die_with_parent(parent)
    signal.signal(signal.SIGTERM, _quit)
    signal.signal(signal.SIGINT, _quit)
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s %(levelname)s [worker {index}/{count}] %(name)s: %(message)s",
    )
    for noisy in ("httpx", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Deliberately imported here, after die_with_parent (see _main).
    import uvloop

    from bot.supervisor import BackgroundTaskFailed
    from infra.outage import EXIT_DATABASE_OUTAGE, DatabaseOutage

    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(_main(index, count))
    except DatabaseOutage:
        return EXIT_DATABASE_OUTAGE  # logged by the watch
    except BackgroundTaskFailed:
        return 1  # logged by the supervisor, with the traceback
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
