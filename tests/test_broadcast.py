"""Publishing 300 results through the outbox while the sender is killed half way.

The local Bot API server enforces Telegram's limits (answering 429 with retry_after).
After the SIGKILL and a restart, every person has their result message and chart;
duplicates are counted and stay within what was in flight at the kill (README,
"Outbox and its one unavoidable window"); every 429 was honoured: the refused message
came back no sooner than its ``retry_after``, and was delivered in the end. These are
what the design guarantees, whatever the machine's load; how often a 429 happens
depends on scheduling, so it is printed here and measured in ``bench.push``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.result_pushes import push_pending
from domain.enums import CyclePhase, Dimension, Grade, OutboxStatus
from fakebotapi import FakeBotApi, LimitedCall
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import Cycle, OutboxMessage, Result, Staff, TelegramAccount
from services import result_review
from tests.factories import make_org, open_cycle

pytestmark = pytest.mark.slow
PEOPLE = 300
CONCURRENCY = 8
ROOT = Path(__file__).resolve().parent.parent


def _breakdown(total: Decimal) -> dict:  # type: ignore[type-arg]
    return {
        "format": 1,
        "total": str(total),
        "grade": "good",
        "notes": [],
        "dimensions": [
            {
                "dimension": d.value,
                "score": str(total),
                "weight": w,
                "contribution": str(total * Decimal(w) / 100),
                "indicators": [],
            }
            for d, w in zip(Dimension, ("60", "15", "15", "10"), strict=True)
        ],
    }


async def _published(sessions: SessionFactory) -> int:
    org = await make_org(sessions, people=1)
    cycle_id = await open_cycle(sessions)
    now = dt.datetime.now(dt.UTC)
    async with sessions.begin() as s:
        staff = [
            Staff(
                employee_no=f"B{n:04d}",
                name=f"员工{n}",
                unit_id=org.unit_id,
                supervisor_id=org.head_id,
            )
            for n in range(PEOPLE)
        ]
        s.add_all(staff)
        await s.flush()
        for n, person in enumerate(staff):
            s.add(
                TelegramAccount(
                    telegram_id=700_000 + n, staff_id=person.id, language="zh_Hans", bound_at=now
                )
            )
            total = Decimal(60 + n % 40)
            s.add(
                Result(
                    cycle_id=cycle_id,
                    subject_key=f"p:{person.id}",
                    staff_id=person.id,
                    unit_id=org.unit_id,
                    total=total,
                    grade=Grade.GOOD,
                    rank_in_unit=1,
                    rank_overall=1,
                    bonus_coefficient=Decimal(1),
                    weakest=Dimension.ABILITY,
                    breakdown=_breakdown(total),
                )
            )
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        cycle.phase = CyclePhase.REVIEW
        cycle.scored_at, cycle.scored_revision = now, cycle.revision  # as if freshly scored
        await result_review.publish(s, cycle, now=now)
    await push_pending(sessions)  # more than one chunk: told right after the publication
    return cycle_id


def _sender(
    settings: Settings, server: FakeBotApi, tmp_path: Path, *extra: str
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env.update(
        JIXIAO_BOT_TOKEN=settings.bot_token or "",
        JIXIAO_DATABASE_URL=settings.database_url,
        JIXIAO_TELEGRAM_BASE_URL=server.base_url,
        PYTHONPATH=str(ROOT),
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.outbox",
            "--rate",
            "28",
            "--per-chat-interval",
            "1",
            "--concurrency",
            str(CONCURRENCY),
            *extra,
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "sender.log").open("ab"),
    )


def _early_retries(journal: list[LimitedCall], restart_at: float) -> list[str]:
    """Messages sent again sooner than the ``retry_after`` of the 429 that refused them.

    Both times are the server's, so load can only make a retry later, never earlier. A
    message refused just before the kill and sent by the restarted sender is not
    counted: the new process never saw that 429.
    """
    early = []
    for n, refused in enumerate(journal):
        if refused.retry_after is None:
            continue
        again = next(
            (
                c
                for c in journal[n + 1 :]
                if (c.method, c.chat_id) == (refused.method, refused.chat_id)
            ),
            None,
        )
        if again is None or (refused.at < restart_at <= again.at):
            continue
        if again.at - refused.at < refused.retry_after:
            early.append(
                f"{refused.method} to {refused.chat_id}: again after "
                f"{again.at - refused.at:.3f} s, asked to wait {refused.retry_after} s"
            )
    return early


async def test_broadcast_survives_a_kill(
    server: FakeBotApi, settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    await _published(sessions)
    async with sessions() as s:
        queued = await s.scalar(select(func.count()).select_from(OutboxMessage))
    assert queued == 2 * PEOPLE  # a chart and a message each, queued with the publication
    users = [server.user(700_000 + n, language_code="zh-hans") for n in range(PEOPLE)]
    server.set_rate_limits(global_per_second=30, per_chat_per_second=1, retry_after=1)
    server.stats.journal = []
    loop = asyncio.get_running_loop()

    def delivered() -> int:
        return sum(len(u.messages) for u in users)

    first = _sender(settings, server, tmp_path)
    try:
        # generous: the sender needs ~11 s at its pace, far longer on a busy machine
        await users[0].wait_until(lambda: delivered() >= PEOPLE, timeout=600)
    finally:
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait, 60)
    at_kill = delivered()
    assert at_kill < 2 * PEOPLE, "the kill came too late to test anything"
    restart_at = loop.time()
    second = _sender(settings, server, tmp_path, "--drain")
    # wait without blocking this loop: the local Bot API server runs on it
    assert await asyncio.to_thread(second.wait, 900) == 0, (tmp_path / "sender.log").read_text()[
        -3000:
    ]
    for user in users:
        kinds = Counter(m.kind for m in user.messages)
        assert kinds["photo"] >= 1 and kinds["text"] >= 1, user.history()
    duplicates = sum(max(0, len(u.messages) - 2) for u in users)
    print(
        f"\nbroadcast: {2 * PEOPLE} messages, {duplicates} duplicates after the kill, "
        f"{server.stats.rate_limited} answers 429 of {server.stats.total} requests"
    )
    assert duplicates <= CONCURRENCY
    assert _early_retries(server.stats.journal, restart_at) == []
    async with sessions() as s:
        left = await s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status != OutboxStatus.SENT)
        )
    assert left == 0  # every 429 was retried to success
    photo = next(m for m in users[0].messages if m.kind == "photo")
    assert photo.photo and photo.photo.startswith(b"\x89PNG")


def test_an_early_retry_is_caught() -> None:
    """The check itself: a retry inside the window is reported, one after it or across
    the restart is not."""
    journal = [
        LimitedCall(10.0, "sendMessage", 1, 1),
        LimitedCall(10.4, "sendMessage", 1, None),  # too early
        LimitedCall(11.0, "sendPhoto", 2, 1),
        LimitedCall(12.0, "sendPhoto", 2, None),  # waited the full second
        LimitedCall(19.9, "sendMessage", 3, 1),
        LimitedCall(20.2, "sendMessage", 3, None),  # the restarted sender never saw the 429
    ]
    assert [line.split(":")[0] for line in _early_retries(journal, restart_at=20.0)] == [
        "sendMessage to 1"
    ]
