"""``python -m fakebotapi``: run the server standalone until Ctrl-C, for manual demos."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from fakebotapi.server import FakeBotApi


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m fakebotapi", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:local-test-token")
    parser.add_argument("--username", default="jixiao_bot")
    parser.add_argument("--first-name", default="绩效助手")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    server = FakeBotApi(host=args.host, port=args.port)
    server.add_bot(args.token, username=args.username, first_name=args.first_name)
    await server.start()
    print(f"base_url={server.base_url}", flush=True)
    print(f"base_file_url={server.base_file_url}", flush=True)
    print(f"act as a user: curl '{server.url}/_sim/1001/send?text=/start'", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Our own handlers, so SIGINT works even where it was inherited as ignored (a shell's
    # background job), and SIGTERM (a service manager) stops the server the same way.
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(_parse_args(argv)))


if __name__ == "__main__":
    main()
