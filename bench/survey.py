"""Citizen survey benchmark: citizens answer the template's survey through the fake Bot API server.

``python -m bench.survey [--citizens 2000] [--rate R] [--database-url URL] [--bot-root DIR]``

A quarter collects with the shipped template, so the survey is the template's own: the
overall level, its questions, tags, and after a 差评 (every fifth citizen) a reason chosen
and typed and whether they want an answer. Each citizen opens their own single-use link
and answers step by step, waiting for the bot's answer to each.

Closed loop (no ``--rate``): all citizens at once. Open loop (``--rate 20``): a new
citizen every 1/20 s, whatever the bot's pace, so the time per step shows whether the bot
keeps up. Printed: citizens per second, p50/p99 time per step, the bot's CPU per update
and the harness's CPU per step, beside the floor — a bare python-telegram-bot echo bot
answering the same number of steps from users arriving the same way, in the same run.
Every response is then read back and must be stored complete with exactly what was given.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from bench import bureau, common
from bench.common import Harness, Result, ratio_line, table
from chat.callbacks import CallbackAction
from conversations.survey import NEXT, RATE, TOGGLE, WANTS_REPLY
from domain.enums import ResponseStatus
from fakebotapi import BotMessage, SimUser
from infra.db import make_engine, make_sessions
from infra.models import SurveyAnswer, SurveyResponse
from services.surveys import LEVELS

CITIZENS, ECHO_USERS, WARM = 5_000_000, 6_000_000, 4_999_999


def _offered(msg: BotMessage, action: CallbackAction) -> list[str]:
    return [d for d in msg.button_data() if d and action.parse(d) is not None]


def _is_end(msg: BotMessage) -> bool:
    return bool(msg.text) and not any(_offered(msg, a) for a in (RATE, TOGGLE, NEXT, WANTS_REPLY))


@dataclass
class Given:
    """What one citizen answered, to compare with what was stored."""

    link_id: int
    levels: dict[str, int] = field(default_factory=dict)  # question code → level index
    tag: int | None = None
    reason: str | None = None
    wants_reply: bool | None = None


class Citizen:
    """One citizen's whole survey; every step timed from the tap to the bot's next prompt."""

    def __init__(self, user: SimUser, n: int, link_id: int, latencies: list[float]) -> None:
        self.user, self.n, self.latencies = user, n, latencies
        self.given = Given(link_id)
        self.bad = n % 5 == 4

    async def _step(
        self, act: Awaitable[object], wanted: Callable[[BotMessage], bool]
    ) -> BotMessage:
        started = time.perf_counter()
        await act
        while True:
            msg = await self.user.expect(timeout=600)
            if wanted(msg):
                self.latencies.append(time.perf_counter() - started)
                return msg

    def _level(self, position: int) -> int:
        if position == 0:  # the overall level decides a 差评
            return 3 + self.n % 2 if self.bad else self.n % 3
        return (self.n + position) % 5

    async def run(self, payload: str) -> None:
        user, given = self.user, self.given
        msg = await self._step(user.send(f"/start {payload}"), lambda m: bool(_offered(m, RATE)))
        while rates := _offered(msg, RATE):
            parsed = RATE.parse(rates[0])
            assert parsed is not None
            code = str(parsed[1])
            level = self._level(len(given.levels))
            given.levels[code] = level

            def moved_on(m: BotMessage, code: str = code) -> bool:
                shown = [RATE.parse(d) for d in _offered(m, RATE)]
                return bool(_offered(m, TOGGLE)) or any(p and p[1] != code for p in shown)

            msg = await self._step(user.press(rates[level], msg), moved_on)
        tags = _offered(msg, TOGGLE)
        given.tag = self.n % len(tags)
        msg = await self._step(
            user.press(tags[given.tag], msg), lambda m: bool(_offered(m, TOGGLE))
        )
        if not self.bad:
            await self._step(user.press(_offered(msg, NEXT)[0], msg), _is_end)
            return
        given.reason = f"窗口无人，等候{self.n % 50 + 10}分钟"
        msg = await self._step(user.send(given.reason), lambda m: bool(_offered(m, WANTS_REPLY)))
        given.wants_reply = self.n % 2 == 0
        answer = next(
            d for d in _offered(msg, WANTS_REPLY) if d.endswith(":1" if given.wants_reply else ":0")
        )
        await self._step(user.press(answer, msg), lambda m: _is_end(m) and "转交" in (m.text or ""))


async def _arrivals(
    count: int, rate: float | None, start: Callable[[int], Coroutine[Any, Any, None]]
) -> None:
    """Start ``count`` runs: all at once, or one every ``1/rate`` s on a fixed schedule."""
    if rate is None:
        await asyncio.gather(*(start(n) for n in range(count)))
        return
    loop = asyncio.get_running_loop()
    began = loop.time()
    tasks: list[asyncio.Task[None]] = []
    for n in range(count):
        delay = began + n / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(start(n)))
    await asyncio.gather(*tasks)


async def _check_stored(harness: Harness, given: list[Given]) -> int:
    """Every citizen's response, read back: complete, and holding exactly what they gave."""
    engine = make_engine(harness.database_url)
    async with make_sessions(engine)() as s:
        responses = {r.link_id: r for r in await s.scalars(select(SurveyResponse))}
        answers: dict[int, dict[str, str]] = {}
        for a in await s.scalars(select(SurveyAnswer)):
            answers.setdefault(a.response_id, {})[a.question] = a.level.value
    await engine.dispose()
    problems = []
    for g in given:
        r = responses.get(g.link_id)
        expected = {code: LEVELS[level].value for code, level in g.levels.items()}
        if r is None or r.status != ResponseStatus.COMPLETE:
            problems.append(f"link {g.link_id}: {r.status if r else 'no response'}")
        elif answers.get(r.id) != expected:
            problems.append(f"link {g.link_id}: answers {answers.get(r.id)} != {expected}")
        elif (r.problems if g.reason else r.praise) != [g.tag]:
            problems.append(f"link {g.link_id}: tags {r.praise} {r.problems}, gave {g.tag}")
        elif g.reason and (r.problem_text != g.reason or r.wants_reply != g.wants_reply):
            problems.append(f"link {g.link_id}: {r.problem_text!r} {r.wants_reply}")
    if problems:
        raise SystemExit(
            f"{len(problems)} responses not stored as given:\n" + "\n".join(problems[:20])
        )
    return len(given)


async def _echo(harness: Harness, args: argparse.Namespace, steps: int) -> Result:
    bot = harness.spawn(["-m", "bench.echo_bot"])
    latencies: list[float] = []

    async def echo_user(n: int) -> None:
        user = harness.server.user(ECHO_USERS + n)
        for i in range(steps):
            started = time.perf_counter()
            await common.echo_step(user, i)
            latencies.append(time.perf_counter() - started)

    try:
        await common.echo_step(harness.server.user(ECHO_USERS - 1), 0)
        async with harness.measured("echo (bare PTB)", bot) as result:
            await _arrivals(args.citizens, args.rate, echo_user)
    except BaseException:
        print(bot.tail())
        raise
    finally:
        await bot.stop()
    result.steps, result.latencies = args.citizens, latencies
    return result


async def _jixiao(
    harness: Harness, args: argparse.Namespace, links: list[tuple[str, int]]
) -> tuple[Result, list[Citizen]]:
    bot = harness.spawn(["-m", "bot.cli", "run"])
    latencies: list[float] = []
    citizens: list[Citizen] = []

    async def citizen(n: int) -> None:
        payload, link_id = links[n]
        c = Citizen(harness.server.user(CITIZENS + n), n, link_id, latencies)
        citizens.append(c)
        await c.run(payload)

    try:
        payload, link_id = links[-1]
        await Citizen(harness.server.user(WARM), 0, link_id, []).run(payload)
        async with harness.measured("jixiao survey", bot) as result:
            await _arrivals(args.citizens, args.rate, citizen)
    except BaseException:
        print(bot.tail())
        raise
    finally:
        await bot.stop()
    result.steps, result.latencies = args.citizens, latencies
    return result, citizens


async def main(args: argparse.Namespace) -> None:
    harness = Harness(args, "jixiao-bench-survey-")
    harness.migrate()
    engine = make_engine(harness.database_url)
    sessions = make_sessions(engine)
    await bureau.build(sessions)
    links = list((await bureau.survey_payloads(sessions, args.citizens + 1)).items())
    await engine.dispose()
    async with harness.running():
        survey, citizens = await _jixiao(harness, args, links)
        per_citizen = round(len(survey.latencies) / args.citizens)
        echo = await _echo(harness, args, per_citizen)
    stored = await _check_stored(harness, [c.given for c in citizens])
    loop = f"one every {1 / args.rate * 1000:.0f} ms" if args.rate else "all at once"
    print(
        f"{args.citizens} citizens, {loop}, {per_citizen} steps each "
        f"({sum(c.bad for c in citizens)} 差评); {harness.database_url.split(':', 1)[0]}"
    )
    print(f"{stored} responses stored complete, every answer, tag and reason as given")
    print(table([echo, survey], unit="citizens/s"))
    print(ratio_line(survey, echo))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=2000)
    parser.add_argument("--rate", type=float, help="new citizens per second (default: all at once)")
    common.add_arguments(parser)
    asyncio.run(main(parser.parse_args()))
