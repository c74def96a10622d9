"""Citizen survey benchmark: N citizens answer at the same time through the fake Bot API server.

``python -m bench.survey [--citizens 2000] [--database-url URL]``

Each citizen opens their own single-use link and answers every question and the
comment step. Printed: complete responses per second, and p50/p99 time per step
(from a tap to the bot's answer), beside the floor — a bare python-telegram-bot echo
bot answering the same number of steps from the same number of users in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time

from sqlalchemy import func, select

from bench import common
from bench.common import ROOT, TOKEN, Result, bot_env, echo_step, spawn, table, timed
from domain.enums import ResponseStatus
from fakebotapi import FakeBotApi, SimUser
from infra.db import make_engine, make_sessions, upgrade
from infra.models import SurveyResponse
from services import survey_links
from services.staff_import import apply_import, parse_roster


async def _prepare(database_url: str, count: int) -> list[str]:
    engine = make_engine(database_url)
    await upgrade(engine)
    sessions = make_sessions(engine)
    roster = parse_roster((ROOT / "examples" / "staff.csv").read_bytes(), "staff.csv")
    now = dt.datetime.now(dt.UTC)
    async with sessions.begin() as s:
        await apply_import(s, roster, actor_label="bench", now=now)
    async with sessions.begin() as s:
        issued = await survey_links.create_links(
            s,
            unit_name="办公室",
            staff_employee_no=None,
            count=min(count, 500),
            single_use=True,
            actor_label="bench",
            now=now,
        )
        while len(issued) < count:
            issued += await survey_links.create_links(
                s,
                unit_name="办公室",
                staff_employee_no=None,
                count=min(count - len(issued), 500),
                single_use=True,
                actor_label="bench",
                now=now,
            )
    await engine.dispose()
    return [str(i.payload) for i in issued]


async def _citizen(user: SimUser, payload: str, latencies: list[float]) -> int:
    steps = 0

    async def open_link() -> None:
        await user.send(f"/start {payload}")

    await timed(open_link, latencies)
    msg = await user.expect(timeout=300)
    while True:
        data = [d for d in msg.button_data() if d and d.startswith("sv1:a:")]
        if not data:
            break
        started = time.perf_counter()
        await user.press(data[steps % 2], msg)
        msg = await user.expect(timeout=300)
        latencies.append(time.perf_counter() - started)
        steps += 1
    started = time.perf_counter()
    await user.press(next(d for d in msg.button_data() if d and d.startswith("sv1:n:")), msg)
    await user.expect(timeout=300)
    latencies.append(time.perf_counter() - started)
    return steps + 2


async def main(citizens: int, database_url: str | None) -> None:
    workdir = common.workdir("jixiao-bench-survey-")
    url = database_url or f"sqlite+aiosqlite:///{workdir}/bench.db"
    payloads = await _prepare(url, citizens)
    server = FakeBotApi()
    await server.start()
    server.add_bot(token=TOKEN, username="bench_bot", first_name="bench")
    env = bot_env(server, url)

    jx = spawn(["-m", "bot.cli", "run"], env, workdir)
    latencies: list[float] = []
    users = [server.user(3_000_000 + n, language_code="zh-hans") for n in range(citizens)]
    try:
        warm = server.user(2_999_999, language_code="zh-hans")
        await warm.send("/start")
        await warm.expect(timeout=120)
        started = time.perf_counter()
        steps = await asyncio.gather(
            *(_citizen(u, p, latencies) for u, p in zip(users, payloads, strict=True))
        )
        survey = Result("jixiao survey", citizens, time.perf_counter() - started, latencies)
    finally:
        jx.terminate()
        jx.wait(60)
    engine = make_engine(url)
    async with make_sessions(engine)() as s:
        complete = await s.scalar(
            select(func.count())
            .select_from(SurveyResponse)
            .where(SurveyResponse.status == ResponseStatus.COMPLETE)
        )
    await engine.dispose()

    per_citizen = round(sum(steps) / citizens)
    echo = spawn(["-m", "bench.echo_bot"], env, workdir)
    echo_lat: list[float] = []
    try:
        warm = server.user(1_999_999)
        await echo_step(warm, 0)

        async def echo_user(n: int) -> None:
            user = server.user(4_000_000 + n)
            for i in range(per_citizen):
                await timed(lambda i=i: echo_step(user, i), echo_lat)

        started = time.perf_counter()
        await asyncio.gather(*(echo_user(n) for n in range(citizens)))
        floor = Result("echo (bare PTB)", citizens, time.perf_counter() - started, echo_lat)
    finally:
        echo.terminate()
        echo.wait(60)
    await server.stop()
    print(
        f"{citizens} citizens at once, {per_citizen} steps each; {complete} complete responses stored"
    )
    print(table([floor, survey], unit="citizens/s"))
    print(
        f"{'jixiao ÷ echo':<18}{survey.rate / floor.rate:>13.2f}x{survey.pct(0.5) / floor.pct(0.5):>9.2f}x"
        f"{survey.pct(0.99) / floor.pct(0.99):>9.2f}x"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=2000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    asyncio.run(main(args.citizens, args.database_url))
