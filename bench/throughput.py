"""Throughput benchmark: N staff do their whole self-assessment at once, against an echo floor.

``python -m bench.throughput [--staff 200] [--database-url URL] [--bot-root DIR]``

A bureau with a quarter collecting on the shipped template (``bench.bureau``); N linked
staff start together, each one the whole way: the home screen, the self-assessment opened
from it, every question of the template answered (a level tapped, each written part and
the comment written), submit and its confirming tap, back at the home screen. Then a bare
python-telegram-bot echo bot on the same server gets the same number of users and
messages. Printed: updates per second, p50/p99 time from a user's action to the bot's
reply, the bot's CPU per update and peak memory (``VmHWM``), and jixiao ÷ echo. Afterwards
every form is checked in the database: submitted, with every item answered.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from bench import bureau, common, staff_steps
from bench.common import BotChild, Harness, Result, echo_step, ratio_line, table
from conversations.form_view import OPEN, SCORE, SUBMIT
from conversations.home import OPEN_SELF
from domain.enums import AssignmentStatus, Source
from fakebotapi import BotMessage, SimUser
from infra.db import make_engine, make_sessions
from infra.models import Assignment, TelegramAccount
from services import forms

STAFF = 3_000_000
ECHO = 1_000_000
Walk = Callable[[SimUser, list[float]], Awaitable[None]]
MAX_PROMPTS = 200  # a template with more questions than this is not the shipped one


async def _walk(user: SimUser, latencies: list[float]) -> None:
    """One member of staff's whole self-assessment, each action timed to the bot's reply."""

    async def timed(action: Awaitable[BotMessage]) -> BotMessage:
        started = time.perf_counter()
        msg = await action
        latencies.append(time.perf_counter() - started)
        return msg

    shown = await timed(staff_steps.home(user))
    done = 0  # a section's head assesses himself and his section: two forms, from a list
    while staff_steps.offered(shown, OPEN_SELF):
        shown = await timed(staff_steps.open_self(user, shown))
        listed = staff_steps.offered(shown, OPEN)
        if listed:
            await user.press(listed[done], shown)
            shown = await timed(staff_steps.until(user, staff_steps.form_prompt))
        shown = await _answer_all(user, shown, timed)
        done += 1


async def _answer_all(
    user: SimUser,
    shown: BotMessage,
    timed: Callable[[Awaitable[BotMessage]], Awaitable[BotMessage]],
) -> BotMessage:
    """Every question of one form, then submit and confirm; returns the home screen."""
    for _ in range(MAX_PROMPTS):
        if staff_steps.offered(shown, SUBMIT):
            confirmation = await timed(staff_steps.press(user, shown, SUBMIT))
            return await timed(staff_steps.confirm(user, confirmation))
        if staff_steps.offered(shown, SCORE):
            shown = await timed(staff_steps.press(user, shown, SCORE))
        else:
            shown = await timed(staff_steps.write(user))
    raise AssertionError(f"user {user.id}: no summary; last shown {shown.text!r} {shown.buttons}")


async def _measure(
    harness: Harness, bot: BotChild, name: str, users: list[SimUser], walk: Walk
) -> Result:
    latencies: list[float] = []
    async with harness.measured(name, bot) as result:
        await asyncio.gather(*(walk(u, latencies) for u in users))
    result.latencies = latencies
    result.steps = result.updates  # the rate printed is updates per second
    return result


async def _check_stored(harness: Harness, telegram_ids: list[int]) -> tuple[int, int]:
    """Every linked user's self-assessments are submitted with every item answered; returns
    how many forms, and the most items one has."""
    engine = make_engine(harness.database_url)
    try:
        async with make_sessions(engine)() as s:
            rows = (
                await s.execute(
                    select(TelegramAccount.telegram_id, Assignment.id, Assignment.status)
                    .join(Assignment, Assignment.rater_staff_id == TelegramAccount.staff_id)
                    .where(
                        TelegramAccount.telegram_id.in_(telegram_ids),
                        Assignment.source == Source.SELF,
                    )
                )
            ).all()
            if {r[0] for r in rows} != set(telegram_ids):
                raise SystemExit(f"expected one self-assessment per user, found {len(rows)}")
            sizes = set()
            for telegram_id, assignment_id, status in rows:
                form = await forms.load_form(s, assignment_id)
                missing = [i.key for i in form.items if i.key not in form.answers]
                if status != AssignmentStatus.SUBMITTED or missing:
                    raise SystemExit(f"user {telegram_id}: {status}, unanswered {missing}")
                sizes.add(len(form.items))
    finally:
        await engine.dispose()
    return len(rows), max(sizes)


async def main(args: argparse.Namespace) -> None:
    harness = Harness(args, "jixiao-throughput-")
    harness.migrate()
    ids = [STAFF + n for n in range(args.staff + 1)]  # the last one warms the bot up
    engine = make_engine(harness.database_url)
    sessions = make_sessions(engine)
    await bureau.build(sessions, staff=len(ids))
    await bureau.link_staff(sessions, ids)
    await engine.dispose()

    results: list[Result] = []
    peaks: list[float] = []
    async with harness.running():
        staff = [harness.server.user(i, first_name=f"用户{i % 1000}") for i in ids]
        bot = harness.spawn(["-m", "bot.cli", "run"])
        try:
            await _walk(staff[-1], [])  # start-up, first queries, caches
            results.append(await _measure(harness, bot, "jixiao (self)", staff[:-1], _walk))
            peaks.append(bot.peak_memory_mb())
        except BaseException:
            print(bot.tail())
            raise
        finally:
            await bot.stop()
        per_user = results[0].updates // args.staff  # the echo users send as many messages

        async def echo_walk(user: SimUser, latencies: list[float]) -> None:
            for i in range(per_user):
                started = time.perf_counter()
                await echo_step(user, i)
                latencies.append(time.perf_counter() - started)

        echo_users = [harness.server.user(ECHO + n) for n in range(args.staff + 1)]
        bot = harness.spawn(["-m", "bench.echo_bot"])
        try:
            await echo_walk(echo_users[-1], [])
            results.insert(
                0, await _measure(harness, bot, "echo (bare PTB)", echo_users[:-1], echo_walk)
            )
            peaks.insert(0, bot.peak_memory_mb())
        except BaseException:
            print(bot.tail())
            raise
        finally:
            await bot.stop()
    stored, items = await _check_stored(harness, ids)
    echo, jx = results
    print(
        f"{args.staff} staff at once, each the whole self-assessment ({per_user} updates on average), "
        f"fake Bot API server on loopback, {harness.database_url.split(':', 1)[0]}"
    )
    header, *rows = table(results, unit="updates/s").splitlines()
    print(f"{header}{'peak MiB':>10}")
    for row, peak in zip(rows, peaks, strict=True):
        print(f"{row}{peak:>10.0f}")
    print(ratio_line(jx, echo) + f"{'':>17}{peaks[1] / peaks[0]:>9.2f}x")
    print(
        f"{stored} self-assessments of {len(ids)} staff stored submitted, every answer ({items} items at most)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=200)
    common.add_arguments(parser)
    asyncio.run(main(parser.parse_args()))
