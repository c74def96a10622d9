"""Round-trip benchmark: simulated users against a bare echo bot and against jixiao.

``python -m bench.roundtrip [--users 100] [--messages 20] [--mix strangers|staff]
[--database-url URL] [--bot-root DIR]``

Both bots run as child processes polling the fake Bot API server of this process (the
harness, with the simulated users). Each user sends its messages one after the other and
waits for the bot's answer. Printed: steps per second, p50/p99 time from a user's action
to the bot's answer, the bot's CPU per update it handled and the harness's CPU per step,
and jixiao's figures as ratios to the echo bot's from the same run.

``--mix strangers``: ``/start``, ``/help``, ``/language`` and a button press that stores
the chosen language. ``--mix staff``: linked staff in a collecting quarter with the
shipped template: the home screen, the self-assessment opened from it, and one answer of
that form (a level tapped, or a text written), round and round.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

from bench import bureau, common, staff_steps
from bench.common import Harness, Result, echo_step, ratio_line, table
from conversations.form_view import CONTINUE, EDIT, KEEP, SCORE, SUBMIT
from fakebotapi import BotMessage, SimUser
from infra.db import make_engine, make_sessions

Step = Callable[[SimUser, int], Awaitable[None]]
STRANGERS, STAFF = 2_000_000, 3_000_000


async def _stranger_step(user: SimUser, i: int) -> None:
    kind = i % 4
    if kind == 0:
        await user.send("/start")
        await user.expect(timeout=300)
    elif kind == 1:
        await user.send("/help")
        await user.expect(timeout=300)
    elif kind == 2:
        await user.send("/language")
        await user.expect(timeout=300)
    else:
        await user.press_button(("English", "简体中文", "繁體中文")[i // 4 % 3])
        await user.expect(timeout=300)  # the prompt turns into the confirmation
        await user.expect(timeout=300)  # the home screen in the new language


class _Staff:
    """A linked member of staff going round: home screen, self-assessment, one answer."""

    def __init__(self) -> None:
        self.shown: dict[int, BotMessage] = {}

    async def step(self, user: SimUser, i: int) -> None:
        kind = i % 3
        if kind == 0:
            self.shown[user.id] = await staff_steps.home(user)
        elif kind == 1:
            self.shown[user.id] = await staff_steps.open_self(user, self.shown[user.id])
        else:
            self.shown[user.id] = await self._answer(user, self.shown[user.id])

    @staticmethod
    async def _answer(user: SimUser, prompt: BotMessage) -> BotMessage:
        """One step of the form, whatever it shows: a level, a kept text, a written text."""
        for action in (CONTINUE, SCORE, EDIT, KEEP):  # EDIT: at the summary, change an answer
            if staff_steps.offered(prompt, action):
                return await staff_steps.press(user, prompt, action)
        assert not staff_steps.offered(prompt, SUBMIT)
        return await staff_steps.write(user)


async def _run_users(
    harness: Harness,
    bot: common.BotChild,
    name: str,
    step: Step,
    ids: list[int],
    messages: int,
) -> Result:
    sims = [harness.server.user(i, first_name=f"用户{i % 1000}") for i in ids]
    latencies: list[float] = []

    async def one(user: SimUser) -> None:
        for i in range(messages):
            started = time.perf_counter()
            await step(user, i)
            latencies.append(time.perf_counter() - started)

    async with harness.measured(name, bot) as result:
        await asyncio.gather(*(one(u) for u in sims))
    result.steps, result.latencies = len(latencies), latencies
    return result


async def main(args: argparse.Namespace) -> None:
    harness = Harness(args, "jixiao-bench-")
    harness.migrate()
    staff_step: Step = _stranger_step
    if args.mix == "staff":
        engine = make_engine(harness.database_url)
        sessions = make_sessions(engine)
        await bureau.build(sessions, staff=args.users + 1)
        await bureau.link_staff(sessions, [STAFF + n for n in range(args.users + 1)])
        await engine.dispose()
        staff_step = _Staff().step
    first = STAFF if args.mix == "staff" else STRANGERS
    results = []
    async with harness.running():
        for name, module, step, base in (
            ("echo (bare PTB)", ["-m", "bench.echo_bot"], echo_step, 1_000_000),
            (f"jixiao ({args.mix})", ["-m", "bot.cli", "run"], staff_step, first),
        ):
            bot = harness.spawn(module)
            try:
                warm = harness.server.user(base + args.users, language_code="zh-hans")
                for i in range(3):  # start-up, first queries, caches
                    await step(warm, i)
                ids = [base + n for n in range(args.users)]
                results.append(await _run_users(harness, bot, name, step, ids, args.messages))
            except BaseException:
                print(bot.tail())
                raise
            finally:
                await bot.stop()
    echo, jx = results
    print(
        f"{args.users} users × {args.messages} steps each ({args.mix}), "
        f"fake Bot API server on loopback, {harness.database_url.split(':', 1)[0]}"
    )
    print(table(results))
    print(ratio_line(jx, echo))
    print(
        f"updates handled: echo {echo.updates}, jixiao {jx.updates} "
        f"({jx.updates / max(jx.steps, 1):.2f} per step)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--mix", choices=("strangers", "staff"), default="strangers")
    common.add_arguments(parser)
    asyncio.run(main(parser.parse_args()))
