"""Result push benchmark: publish N results, then deliver them through the outbox.

``python -m bench.push [--results 3000] [--limit 30] [--limited 600] [--database-url URL]
[--bot-root DIR] [--profile-bot FILE]``

Printed, each measured in this run: the time to publish (the approving transaction, then the
chunks of ``bot.result_pushes``, each chunk's charts drawn ahead in the drawing processes, as
the bot does) and the worst wait of a chat's write during it (a probe transaction every
50 ms, as a user's answer would be stored); the CPU to draw one result chart; the sender's
rate with the limit lifted; the achieved rate ÷ the limit at ``--limit`` msg/s overall and 1
per chat (the floor is the limit itself), over the first ``--limited`` messages sent again
(their charts drawn ahead again: a picture is dropped once sent); 429s and their share; what
is left unsent; the CPU per message of the sending process (``python -m bot.outbox --drain``
in a child process, with any drawing processes it starts; the fake Bot API server stays in
this one), also net of its start-up (measured by a drain with nothing to send). It asserts that every chat received each of its messages once. ``--database-url`` takes a fresh
database (``createdb bench_push``; ``postgresql://…`` is accepted as is) and migrates it.
``--bot-root`` runs the sender from another checkout (before/after with one harness);
``--profile-bot`` writes the sender's cProfile of the lifted run to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from bench import common
from bench.common import TOKEN
from bot.result_pushes import push_pending
from chat.draw_ahead import draw_ahead
from chat.render_pool import render_pool
from chat.renderers import register_renderers
from domain.enums import CycleKind, CyclePhase, Dimension, Grade, OutboxStatus, UnitKind
from fakebotapi import FakeBotApi
from infra.db import SessionFactory, make_engine, make_sessions, upgrade
from infra.models import (
    Cycle,
    OrgUnit,
    OutboxMessage,
    Result,
    Staff,
    TelegramAccount,
    TemplateVersion,
)
from services import charts, result_review


def _breakdown(total: Decimal) -> dict[str, Any]:
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


def _driver_url(url: str) -> str:
    """The plain URLs people type, with the async driver (as ``Settings`` does)."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


async def _seed(sessions: SessionFactory, count: int, now: dt.datetime) -> tuple[int, int]:
    """A unit of ``count`` linked people with scored results, waiting for approval."""
    async with sessions.begin() as s:
        if await s.scalar(select(func.count()).select_from(Cycle)):
            raise SystemExit("bench.push needs an empty database (createdb a fresh one)")
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
        return cycle.id, unit.id


async def _probe(
    sessions: SessionFactory, unit_id: int, stop: asyncio.Event, waits: list[float]
) -> None:
    """A chat's write every 50 ms while publishing: how long it waits to be stored."""
    while not stop.is_set():
        started = time.perf_counter()
        async with sessions.begin() as s:
            await s.execute(
                update(OrgUnit).where(OrgUnit.id == unit_id).values(name="应急指挥中心")
            )
        waits.append(time.perf_counter() - started)
        await asyncio.sleep(0.05)


async def _publish(
    sessions: SessionFactory, cycle_id: int, unit_id: int, now: dt.datetime
) -> tuple[float, list[float]]:
    waits: list[float] = []
    stop = asyncio.Event()
    probe = asyncio.create_task(_probe(sessions, unit_id, stop, waits))
    await asyncio.sleep(0.2)
    started = time.perf_counter()
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await result_review.publish(s, cycle, now=now)
    await push_pending(sessions)
    seconds = time.perf_counter() - started
    stop.set()
    await probe
    return seconds, waits


async def _chart_cpu(sessions: SessionFactory, n: int = 40) -> float:
    """CPU seconds to draw one queued result chart, in this process (specs from the queue)."""
    async with sessions() as s:
        specs = [
            row.payload["render"]
            for row in await s.scalars(
                select(OutboxMessage).where(OutboxMessage.method == "sendPhoto").limit(n)
            )
        ]
    charts.draw(specs[0])  # the first loads the fonts
    started = time.process_time()
    for spec in specs:
        charts.draw(spec)
    return (time.process_time() - started) / len(specs)


def _sender_env(server: FakeBotApi, url: str, root: Path) -> dict[str, str]:
    """The sender's environment: this run's server and database, the code of ``root``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env.update(
        JIXIAO_BOT_TOKEN=TOKEN,
        JIXIAO_TELEGRAM_BASE_URL=server.base_url,
        JIXIAO_DATABASE_URL=url,
        PYTHONPATH=str(root),
    )
    return env


async def _deliver(
    server: FakeBotApi,
    url: str,
    sessions: SessionFactory,
    rate: float,
    workdir: str,
    *,
    root: Path = common.ROOT,
    profile: Path | None = None,
) -> tuple[int, float, float]:
    """``python -m bot.outbox --drain`` in a child: (sent, msg/s between the first and the
    last send, CPU seconds of the child and its drawing processes)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = _sender_env(server, url, root)
    module = ["-m", "bot.outbox", "--drain", "--rate", str(rate), "--concurrency", "8"]
    if profile is not None:
        module = ["-m", "cProfile", "-o", str(profile), *module]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *module,
        env=env,
        cwd=workdir,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await proc.wait()  # the server answers from this loop meanwhile
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    async with sessions() as s:
        first, last, sent = (
            await s.execute(
                select(
                    func.min(OutboxMessage.sent_at), func.max(OutboxMessage.sent_at), func.count()
                ).where(OutboxMessage.status == OutboxStatus.SENT)
            )
        ).one()
    span = (last - first).total_seconds() if first and last and sent > 1 else 0.0
    return int(sent), (sent - 1) / span if span > 0 else 0.0, cpu


async def _draw_again(sessions: SessionFactory, first_id: int, limited: int) -> int:
    """Draw the charts of the first ``limited`` rows ahead again, as publishing did (a
    picture is dropped once sent)."""
    async with sessions.begin() as s:
        rows = list(
            await s.scalars(select(OutboxMessage).where(OutboxMessage.id < first_id + limited))
        )
        return await draw_ahead(rows)


def _received(server: FakeBotApi, count: int) -> list[int]:
    """How many messages each chat received."""
    return [len(server.sent_messages(5_000_000 + n)) for n in range(count)]


async def _unsent(sessions: SessionFactory) -> int:
    async with sessions() as s:
        return int(
            await s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status != OutboxStatus.SENT)
            )
            or 0
        )


async def main(
    count: int,
    limit: float,
    limited: int,
    database_url: str | None,
    *,
    root: Path = common.ROOT,
    profile: Path | None = None,
) -> None:
    workdir = common.workdir("jixiao-bench-push-")
    url = _driver_url(database_url or f"sqlite+aiosqlite:///{workdir}/bench.db")
    engine = make_engine(url)
    await upgrade(engine)
    sessions = make_sessions(engine)
    register_renderers()  # publishing draws the charts ahead, as the bot does
    render_pool().submit(int).result()  # its drawing processes start, as in a running bot
    now = dt.datetime.now(dt.UTC)
    cycle_id, unit_id = await _seed(sessions, count, now)
    publish_seconds, waits = await _publish(sessions, cycle_id, unit_id, now)
    async with sessions() as s:
        queued = int(await s.scalar(select(func.count()).select_from(OutboxMessage)) or 0)
    chart_cpu = await _chart_cpu(sessions)

    server = FakeBotApi()
    await server.start()
    server.add_bot(token=TOKEN, username="bench_bot", first_name="bench")
    for n in range(count):
        server.user(5_000_000 + n, language_code="zh-hans")
    # lifted: only the per-chat limit remains (every chat gets a chart, then a text)
    server.set_rate_limits(global_per_second=1_000_000, per_chat_per_second=1, retry_after=1)
    sent, lifted_rate, lifted_cpu = await _deliver(
        server, url, sessions, 1_000_000, workdir, root=root, profile=profile
    )
    lifted_unsent = await _unsent(sessions)
    received = _received(server, count)
    assert received == [2] * count, f"chats received {sorted(set(received))} messages, not 2"
    # the floor: the sending process with nothing to send (imports, getMe, the database)
    _nothing, _rate, start_cpu = await _deliver(server, url, sessions, limit, workdir, root=root)
    # the same messages again, the first ``limited`` of them, under Telegram's limit
    async with sessions() as s:
        first_id = int(await s.scalar(select(func.min(OutboxMessage.id))) or 0)
    redrawn = await _draw_again(sessions, first_id, limited)
    async with sessions.begin() as s:
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id < first_id + limited)
            .values(status=OutboxStatus.PENDING, sent_at=None, attempts=0, next_attempt_at=now)
        )
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id >= first_id + limited)
            .values(status=OutboxStatus.BLOCKED)  # out of this run
        )
    sends_before = server.stats.requests["sendMessage"] + server.stats.requests["sendPhoto"]
    limited_before = server.stats.rate_limited
    server.set_rate_limits(global_per_second=limit, per_chat_per_second=1, retry_after=1)
    resent, rate, cpu = await _deliver(server, url, sessions, limit * 0.95, workdir, root=root)
    left = await _unsent(sessions) - (queued - limited)
    sends = server.stats.requests["sendMessage"] + server.stats.requests["sendPhoto"] - sends_before
    rate_limited = server.stats.rate_limited - limited_before
    received = _received(server, count)
    assert sum(received) == queued + resent and max(received) <= 4, "a message sent twice"
    await server.stop()
    await engine.dispose()
    worst = max(waits) if waits else 0.0
    print(
        f"{count} results published in {publish_seconds:.2f} s ({queued} messages queued: "
        f"a chart and a text each); a chat's worst wait meanwhile {worst * 1000:.0f} ms "
        f"(p99 {sorted(waits)[int(0.99 * (len(waits) - 1))] * 1000:.0f} ms, {len(waits)} probes)"
    )
    print(
        f"result chart: {chart_cpu * 1000:.1f} ms CPU each, drawn ahead while publishing "
        f"({redrawn} drawn again for the limited run)"
    )
    print(
        f"limit lifted: {sent} sent at {lifted_rate:.1f} msg/s, {lifted_unsent} left unsent; "
        f"sending process {lifted_cpu / max(sent, 1) * 1000:.2f} ms CPU per message "
        f"({(lifted_cpu - start_cpu) / max(sent, 1) * 1000:.2f} past its start-up; "
        "charts drawn ahead)"
    )
    print(
        f"limit {limit:.0f} msg/s overall, 1 per chat (sender paced at {limit * 0.95:.1f}): "
        f"{resent} sent at {rate:.1f} msg/s; achieved ÷ limit = {rate / limit:.2f}; "
        f"{cpu / max(resent, 1) * 1000:.2f} ms CPU per message "
        f"({(cpu - start_cpu) / max(resent, 1) * 1000:.2f} past its start-up)"
    )
    print(f"sending process start-up with nothing to send: {start_cpu * 1000:.0f} ms CPU")
    share = rate_limited / sends if sends else 0.0
    print(f"429 answers: {rate_limited} of {sends} sends ({share:.1%}); left unsent: {left}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=3000)
    parser.add_argument("--limit", type=float, default=30.0)
    parser.add_argument("--limited", type=int, default=600, help="messages sent under --limit")
    common.add_arguments(parser)
    args = parser.parse_args()
    asyncio.run(
        main(
            args.results,
            args.limit,
            args.limited,
            args.database_url,
            root=args.bot_root.resolve(),
            profile=args.profile_bot.resolve() if args.profile_bot else None,
        )
    )
