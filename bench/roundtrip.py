"""Round-trip benchmark: simulated users against a bare echo bot and against jixiao.

``python -m bench.roundtrip [--users 100] [--messages 20] [--database-url URL]``

Both bots run as child processes polling the same fake Bot API server (in this
process, with the simulated users). Each user sends its messages one after the
other and waits for the bot's answer; we print updates per second and the p50/p99
time from a user's message to the bot's reply, and jixiao's figures as ratios to
the echo bot's. jixiao's users go through ``/start``, ``/help``, ``/language`` and a
button press that stores their choice, with the real database and persistence.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from bench import common
from bench.common import TOKEN, Result, bot_env, echo_step, spawn
from fakebotapi import FakeBotApi, SimUser

Step = Callable[[SimUser, int], Awaitable[None]]


async def _jixiao_step(user: SimUser, i: int) -> None:
    kind = i % 4
    if kind == 0:
        await user.send("/start")
        await user.expect(timeout=60)
    elif kind == 1:
        await user.send("/help")
        await user.expect(timeout=60)
    elif kind == 2:
        await user.send("/language")
        await user.expect(timeout=60)
    else:
        await user.press_button(("English", "简体中文", "繁體中文")[i // 4 % 3])
        await user.expect(timeout=60)  # the prompt turns into the confirmation
        await user.expect(timeout=60)  # the home screen in the new language


async def _run_users(
    server: FakeBotApi, name: str, step: Step, users: int, messages: int, first_id: int
) -> Result:
    sims = [
        server.user(first_id + n, first_name=f"用户{n}", language_code="zh-hans")
        for n in range(users)
    ]
    latencies: list[float] = []

    async def one(user: SimUser) -> None:
        for i in range(messages):
            started = time.perf_counter()
            await step(user, i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(u) for u in sims))
    return Result(name, users * messages, time.perf_counter() - started, latencies)


async def _warm_up(server: FakeBotApi, step: Step, user_id: int) -> None:
    user = server.user(user_id, language_code="zh-hans")
    await step(user, 0)


async def main(users: int, messages: int, database_url: str | None) -> None:
    server = FakeBotApi()
    await server.start()
    server.add_bot(token=TOKEN, username="bench_bot", first_name="bench")
    workdir = common.workdir("jixiao-bench-")
    env = bot_env(server, database_url or f"sqlite:///{workdir}/bench.db")
    results = []
    for name, module, step, first in (
        ("echo (bare PTB)", ["-m", "bench.echo_bot"], echo_step, 1_000_000),
        ("jixiao", ["-m", "bot.cli", "run"], _jixiao_step, 2_000_000),
    ):
        proc = spawn(module, env, workdir)
        try:
            await _warm_up(server, step, first - 1)
            results.append(await _run_users(server, name, step, users, messages, first))
        finally:
            proc.terminate()
            proc.wait(30)
    await server.stop()
    echo, jx = results
    print(f"{users} users × {messages} messages each, fake Bot API server on loopback")
    print(f"{'bot':<18}{'updates/s':>12}{'p50 ms':>10}{'p99 ms':>10}")
    for r in results:
        print(f"{r.name:<18}{r.rate:>12.1f}{r.pct(0.50):>10.1f}{r.pct(0.99):>10.1f}")
    print(
        f"{'jixiao ÷ echo':<18}{jx.rate / echo.rate:>11.2f}x{jx.pct(0.5) / echo.pct(0.5):>9.2f}x"
        f"{jx.pct(0.99) / echo.pct(0.99):>9.2f}x"
    )
    print(
        f"(mean step latency: echo {statistics.mean(echo.latencies) * 1000:.1f} ms, "
        f"jixiao {statistics.mean(jx.latencies) * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    asyncio.run(main(args.users, args.messages, args.database_url))
