"""What the harness itself costs: CPU per step of the fake server and the simulated users.

``python -m bench.harness [--users 200 2000] [--steps 5]``

The other chat benchmarks must measure the bot, not the harness, so the harness's CPU per
step must not grow with the number of users waiting at once. Here the bot is a stand-in
in this process that answers each update straight into the chat (no HTTP, no bot
process): all the CPU left is the users' sending and waiting, and the server's
bookkeeping. Printed: CPU per step for each number of users, all waiting at once.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.common import TOKEN
from fakebotapi import FakeBotApi
from fakebotapi.state import BotState, StoredMessage


async def _answer_forever(server: FakeBotApi, bot: BotState) -> None:
    """Reply to every text message, as a bot's sendMessage would (one server event each)."""
    hub = server.hub
    while True:
        await hub.notifier.wait_for(lambda: bool(bot.updates), 3600)
        while bot.updates:
            update = bot.updates.popleft()
            message = update.get("message")
            if message is None:
                continue
            chat = bot.chats[message["chat"]["id"]]
            raw = {
                "message_id": chat.allocate_id(),
                "from": bot.user_json(),
                "chat": chat.info,
                "date": hub.now(),
                "text": message["text"],
            }
            chat.add(StoredMessage(raw=raw, from_bot=True))
            hub.notify()  # as the server does after every request
            await asyncio.sleep(0)  # one request per turn of the loop, as over HTTP


async def _measure(users: int, steps: int) -> tuple[float, float]:
    """(ms of CPU per step, steps per second) with ``users`` users all waiting at once."""
    server = FakeBotApi()
    await server.start()
    server.add_bot(token=TOKEN, username="bench_bot", first_name="bench")
    bot = server.hub.bots[TOKEN]
    answering = asyncio.create_task(_answer_forever(server, bot))
    sims = [server.user(1_000 + n) for n in range(users)]

    async def one(n: int) -> None:
        for i in range(steps):
            await sims[n].send(f"hello {i}")
            await sims[n].expect(timeout=600)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(users)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    answering.cancel()
    await server.stop()
    return cpu / (users * steps) * 1000, users * steps / wall


async def main(args: argparse.Namespace) -> None:
    print(f"{'users at once':>14}{'CPU ms/step':>13}{'steps/s':>10}")
    for users in args.users:
        per_step, rate = await _measure(users, args.steps)
        print(f"{users:>14}{per_step:>13.3f}{rate:>10.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--steps", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
