"""Result push benchmark: publish N results and deliver them through the outbox under a rate limit.

``python -m bench.push [--results 3000] [--limit 30] [--database-url URL]``

The fake Bot API server enforces ``--limit`` messages per second overall (Telegram's
broadcast limit is about 30) and 1 per second per chat, answering 429 beyond; the
outbox sender runs as in production, drawing each chart when it is sent. Printed: the
achieved rate ÷ the limit (the floor is the limit itself), 429s and their share of the
sends (it depends on scheduling, so it is measured here, not asserted in the tests), and
the time to publish (one transaction that queues everything).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from decimal import Decimal

from sqlalchemy import func, select

from bench import common
from bench.common import TOKEN
from chat.outbox_sender import OutboxSender
from chat.renderers import register_renderers
from domain.enums import CycleKind, CyclePhase, Dimension, Grade, OutboxStatus, UnitKind
from fakebotapi import FakeBotApi
from infra.db import make_engine, make_sessions, upgrade
from infra.models import (
    Cycle,
    OrgUnit,
    OutboxMessage,
    Result,
    Staff,
    TelegramAccount,
    TemplateVersion,
)
from services import result_review


def _breakdown(total: Decimal) -> dict:  # type: ignore[type-arg]
    return {
        "format": 1,
        "total": str(total),
        "grade": "good",
        "notes": [],
        "dimensions": [
            {
                "dimension": d.value,
                "score": str(total - i),
                "weight": w,
                "contribution": "0",
                "indicators": [],
            }
            for i, (d, w) in enumerate(zip(Dimension, ("60", "15", "15", "10"), strict=True))
        ],
    }


async def main(count: int, limit: float, database_url: str | None) -> None:
    workdir = common.workdir("jixiao-bench-push-")
    url = database_url or f"sqlite+aiosqlite:///{workdir}/bench.db"
    engine = make_engine(url)
    await upgrade(engine)
    sessions = make_sessions(engine)
    now = dt.datetime.now(dt.UTC)
    async with sessions.begin() as s:
        unit = OrgUnit(name="应急指挥中心", kind=UnitKind.SECTION)
        s.add(unit)
        version = TemplateVersion(name="t", digest="bench", content={}, created_at=now)
        s.add(version)
        await s.flush()
        cycle = Cycle(
            period="2026Q4",
            kind=CycleKind.QUARTER,
            phase=CyclePhase.REVIEW,
            template_id=version.id,
            deadline=now,
            scored_at=now,  # the synthetic results below count as freshly scored
            scored_revision=0,
            peer_count=5,
            reminder_days=[3, 1],
        )
        s.add(cycle)
        staff = [
            Staff(employee_no=f"P{n:05d}", name=f"员工{n}", unit_id=unit.id) for n in range(count)
        ]
        s.add_all(staff)
        await s.flush()
        for n, person in enumerate(staff):
            s.add(
                TelegramAccount(
                    telegram_id=5_000_000 + n, staff_id=person.id, language="zh_Hans", bound_at=now
                )
            )
            total = Decimal(60 + n % 40)
            s.add(
                Result(
                    cycle_id=cycle.id,
                    subject_key=f"p:{person.id}",
                    staff_id=person.id,
                    unit_id=unit.id,
                    total=total,
                    grade=Grade.GOOD,
                    rank_in_unit=1,
                    rank_overall=1,
                    bonus_coefficient=Decimal(1),
                    weakest=Dimension.ABILITY,
                    breakdown=_breakdown(total),
                )
            )
        cycle_id = cycle.id
    started = time.perf_counter()
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await result_review.publish(s, cycle, now=now)
    publish_seconds = time.perf_counter() - started
    async with sessions() as s:
        queued = int(await s.scalar(select(func.count()).select_from(OutboxMessage)) or 0)

    server = FakeBotApi()
    await server.start()
    server.add_bot(token=TOKEN, username="bench_bot", first_name="bench")
    for n in range(count):
        server.user(5_000_000 + n, language_code="zh-hans")
    server.set_rate_limits(global_per_second=limit, per_chat_per_second=1, retry_after=1)
    from telegram import Bot

    register_renderers()
    bot = Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url)
    await bot.initialize()
    sender = OutboxSender(
        bot, sessions, global_rate=limit * 0.95, per_chat_interval=1.0, concurrency=8
    )
    started = time.perf_counter()
    sent = await sender.drain(max_wait=120)
    seconds = time.perf_counter() - started
    async with sessions() as s:
        left = int(
            await s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status != OutboxStatus.SENT)
            )
            or 0
        )
    await bot.shutdown()
    await server.stop()
    await engine.dispose()
    rate = sent / seconds
    print(
        f"{count} results published in {publish_seconds:.2f} s ({queued} messages queued: a chart and a text each)"
    )
    print(
        f"server limit {limit:.0f} msg/s overall, 1 per chat; sender paced at {limit * 0.95:.1f} msg/s"
    )
    print(
        f"delivered {sent} in {seconds:.1f} s = {rate:.1f} msg/s; achieved ÷ limit = {rate / limit:.2f}"
    )
    sends = server.stats.requests["sendMessage"] + server.stats.requests["sendPhoto"]
    share = server.stats.rate_limited / sends if sends else 0.0
    print(
        f"429 answers: {server.stats.rate_limited} of {sends} sends ({share:.1%}); "
        f"left unsent: {left}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=3000)
    parser.add_argument("--limit", type=float, default=30.0)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    asyncio.run(main(args.results, args.limit, args.database_url))
