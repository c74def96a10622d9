"""The outbox: queued with its cause, delivered within Telegram's limits, across crashes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

import bot.app
from chat.outbox_sender import OutboxSender
from domain.choice import Choice
from domain.choice import rows as choice_rows
from domain.enums import OutboxStatus
from fakebotapi import FakeBotApi
from fakebotapi.media import SAMPLE_PNG
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import AuditEntry, OutboxMessage, TelegramAccount
from services import outbox
from services.outbox import enqueue


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi()
    await api.start()
    api.add_bot(settings.require_token(), username="jixiao_test_bot")
    yield api
    await api.stop()


@pytest.fixture
async def bot(server: FakeBotApi, settings: Settings) -> AsyncIterator[Bot]:
    client = Bot(
        settings.require_token(), base_url=server.base_url, base_file_url=server.base_file_url
    )
    await client.initialize()
    yield client
    await client.shutdown()


async def rows(sessions: SessionFactory) -> list[OutboxMessage]:
    async with sessions() as s:
        return list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


# -- enqueue ---------------------------------------------------------------------------------


async def test_dedupe_key_queues_once(sessions: SessionFactory) -> None:
    async with sessions.begin() as s:
        first = await enqueue(s, 42, "reminder", dedupe_key="reminder:2026Q4:staff17:d3")
        again = await enqueue(s, 42, "reminder", dedupe_key="reminder:2026Q4:staff17:d3")
    async with sessions.begin() as s:  # a re-run job, in a later transaction
        later = await enqueue(s, 42, "reminder", dedupe_key="reminder:2026Q4:staff17:d3")
    assert first is not None and first.id is not None
    assert again is None and later is None
    assert len(await rows(sessions)) == 1


async def test_lost_dedupe_race_keeps_callers_transaction(
    sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent insert of the same key is absorbed by the SAVEPOINT, not the caller."""
    async with sessions.begin() as s:
        await enqueue(s, 42, "first", dedupe_key="k")
    real_exists = outbox._exists
    calls = 0

    async def racing_exists(session: object, key: str) -> bool:
        nonlocal calls
        calls += 1
        return False if calls == 1 else await real_exists(session, key)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox, "_exists", racing_exists)
    async with sessions.begin() as s:
        s.add(AuditEntry(action="caused-the-message"))
        assert await enqueue(s, 42, "second", dedupe_key="k") is None
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(AuditEntry)) == 1
    assert [r.payload["text"] for r in await rows(sessions)] == ["first"]


# -- in process ------------------------------------------------------------------------------


async def test_delivers_in_chat_order_within_limits(
    sessions: SessionFactory, server: FakeBotApi, bot: Bot
) -> None:
    users = [server.user(7000 + i, first_name=f"U{i}") for i in range(10)]
    server.set_rate_limits(global_per_second=20, per_chat_per_second=1, retry_after=1)
    async with sessions.begin() as s:
        for n in range(3):
            for user in users:
                await enqueue(s, user.id, f"<b>{n}</b> for {user.id}")
    sender = OutboxSender(bot, sessions)
    assert await sender.drain() == 30

    for user in users:
        assert [m.text for m in server.sent_messages(user.id)] == [
            f"{n} for {user.id}" for n in range(3)
        ]
    stats = server.stats
    print(f"429s: {stats.rate_limited}, sendMessage requests: {stats.requests['sendMessage']}")
    # Every request was either a delivery or a 429, and every 429 was retried to success.
    assert stats.requests["sendMessage"] == 30 + stats.rate_limited
    assert sender.totals["rate_limited"] == stats.rate_limited
    assert {r.status for r in await rows(sessions)} == {OutboxStatus.SENT}


async def test_run_wakes_on_enqueue_and_stops_cleanly(
    sessions: SessionFactory, server: FakeBotApi, bot: Bot
) -> None:
    user = server.user(7500)
    sender = OutboxSender(bot, sessions, poll_interval=600)  # only wake() can explain a fast send
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    async with sessions.begin() as s:
        await enqueue(s, user.id, "your result is out")
    sender.wake()
    await user.wait_until(lambda: len(server.sent_messages(user.id)) == 1, timeout=120)
    stop.set()  # while its success may still be unrecorded: a stop finishes what reached Telegram
    await asyncio.wait_for(task, 120)
    assert [r.status for r in await rows(sessions)] == [OutboxStatus.SENT]


async def test_outcomes_blocked_bad_request_network_and_media(
    sessions: SessionFactory, server: FakeBotApi, bot: Bot
) -> None:
    alice, blocker = server.user(8001), server.user(8002)
    blocker.block()
    gone = 8999  # never talked to the bot: "chat not found"
    async with sessions.begin() as s:
        s.add(TelegramAccount(telegram_id=blocker.id))
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Open", callback_data="open:1")]])
        await enqueue(s, alice.id, "flaky network", markup=keyboard)
        await enqueue(s, alice.id, "chart", method="sendPhoto", attachment=SAMPLE_PNG)
        await enqueue(
            s,
            alice.id,
            "",
            method="sendDocument",
            attachment=b"a;b\n",
            attachment_name="r.csv",
            caption="<i>report</i>",
        )
        await enqueue(s, blocker.id, "first")
        await enqueue(s, blocker.id, "second")
        await enqueue(s, gone, "to nobody")
    server.fail_next("sendMessage", 502, "Bad Gateway")  # NetworkError: back off, retry

    assert await OutboxSender(bot, sessions, per_chat_interval=0.1).drain() == 3

    sent = server.sent_messages(alice.id)
    assert [(m.kind, m.text) for m in sent] == [
        ("text", "flaky network"),
        ("photo", "chart"),
        ("document", "report"),
    ]
    assert sent[0].button_data() == ["open:1"] and sent[2].document == b"a;b\n"
    by_text = {r.payload.get("text") or r.payload.get("caption"): r for r in await rows(sessions)}
    assert by_text["flaky network"].attempts == 1 and by_text["flaky network"].last_error
    assert by_text["first"].status == by_text["second"].status == OutboxStatus.BLOCKED
    assert by_text["to nobody"].status == OutboxStatus.FAILED
    assert "chat not found" in (by_text["to nobody"].last_error or "").lower()
    # The second message to the blocker was dropped without a request.
    assert server.stats.requests["sendMessage"] == 1 + 1 + 1 + 1  # 502, retry, blocker, nobody
    async with sessions() as s:
        account = await s.get(TelegramAccount, blocker.id)
    assert account is not None and account.blocked_at is not None


# -- the kill test ---------------------------------------------------------------------------

CONCURRENCY = 8


async def start_sender(
    server: FakeBotApi, settings: Settings, workdir: Path, *args: str
) -> asyncio.subprocess.Process:
    """``python -m bot.outbox`` against the test's server and database, no .env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env.update(
        JIXIAO_BOT_TOKEN=settings.require_token(),
        JIXIAO_DATABASE_URL=settings.database_url,
        JIXIAO_TELEGRAM_BASE_URL=server.base_url,
    )
    log = (workdir / "sender.log").open("a")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.outbox",
            "--rate",
            "60",
            "--concurrency",
            str(CONCURRENCY),
            *args,
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=log,
        )
    finally:
        log.close()


@pytest.mark.slow
async def test_choices_become_the_flows_buttons_when_sent(
    sessions: SessionFactory, server: FakeBotApi, bot: Bot
) -> None:
    """A service queues named choices, no Telegram object; the sender spells each with its
    flow's codec. A keyboard dict queued by an older version goes out as it was, and a
    choice no flow understands fails its own message only."""
    alice = server.user(8101)
    async with sessions.begin() as s:
        await enqueue(
            s,
            alice.id,
            "your result",
            choices=choice_rows(
                [Choice("Why?", "results.why", (12,)), Choice("History", "results.history", (12,))],
                [Choice("Appeal", "appeal.new", (12,))],
                [Choice("Improvement plan", "plan.for_result", (12,))],
            ),
        )
        await enqueue(
            s,
            alice.id,
            "queued before the upgrade",
            markup={"inline_keyboard": [[{"text": "Why?", "callback_data": "rs1:w:12"}]]},
        )
        await enqueue(s, alice.id, "nobody's", choices=choice_rows([Choice("?", "gone.away")]))
    first, older, _ = await rows(sessions)
    assert first.payload["choices"][0][0] == {
        "label": "Why?",
        "action": "results.why",
        "args": [12],
    }
    assert "reply_markup" not in first.payload and "choices" not in older.payload

    assert await OutboxSender(bot, sessions, per_chat_interval=0.1).drain() == 2

    sent = server.sent_messages(alice.id)
    assert [(m.text, m.button_data()) for m in sent] == [
        ("your result", ["rs1:why:12", "rs1:history:12", "ap1:new:12", "ip1:for_result:12"]),
        ("queued before the upgrade", ["rs1:w:12"]),
    ]
    assert [r.status for r in await rows(sessions)] == [
        OutboxStatus.SENT,
        OutboxStatus.SENT,
        OutboxStatus.FAILED,
    ]
    assert "gone.away" in ((await rows(sessions))[2].last_error or "")


async def test_a_message_has_choices_or_a_markup(sessions: SessionFactory) -> None:
    async with sessions.begin() as s:
        with pytest.raises(ValueError, match="not both"):
            await enqueue(
                s,
                1,
                "x",
                choices=choice_rows([Choice("a", "results.why", (1,))]),
                markup={"inline_keyboard": []},
            )


async def test_the_standalone_sender_knows_every_flows_buttons(
    sessions: SessionFactory, server: FakeBotApi, settings: Settings, tmp_path: Path
) -> None:
    """``python -m bot.outbox`` builds no application, yet spells queued choices (it imports every flow)."""
    user = server.user(8201)
    async with sessions.begin() as s:
        await enqueue(
            s,
            user.id,
            "approve?",
            choices=choice_rows(
                [Choice("Approve", "template.approve", (5,))],
                [Choice("Why?", "results.why", (7,)), Choice("Appeal", "appeal.new", (7,))],
            ),
        )
    sender = await start_sender(server, settings, tmp_path, "--drain")
    code = await asyncio.wait_for(sender.wait(), 60)
    assert code == 0, (tmp_path / "sender.log").read_text()
    assert [m.button_data() for m in server.sent_messages(user.id)] == [
        ["tp1:approve:5", "rs1:why:7", "ap1:new:7"]
    ]


async def test_kill_and_restart_delivers_everything(
    sessions: SessionFactory, server: FakeBotApi, settings: Settings, tmp_path: Path
) -> None:
    """The issue's acceptance test: SIGKILL mid-flight, restart, nothing lost, few duplicates."""
    users = [server.user(10_000 + i, first_name=f"U{i}") for i in range(100)]
    blocker = users[37]
    blocker.block()
    async with sessions.begin() as s:
        s.add(TelegramAccount(telegram_id=blocker.id))
        for i, user in enumerate(users):
            await enqueue(s, user.id, f"Reminder #{i}", dedupe_key=f"kill-test:{i}")
    # 60/s against a 40/s limit: the sender really runs into flood control, plus one 429 up front.
    server.set_rate_limits(global_per_second=40, per_chat_per_second=1, retry_after=1)
    server.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)

    def delivered() -> int:
        return sum(len(server.sent_messages(u.id)) for u in users)

    first = await start_sender(server, settings, tmp_path)
    try:
        await server.wait_until(lambda: delivered() >= 50 or first.returncode is not None, 120)
        assert first.returncode is None, (tmp_path / "sender.log").read_text()
    finally:
        if first.returncode is None:
            first.send_signal(signal.SIGKILL)
        await first.wait()
    at_kill = delivered()

    second = await start_sender(server, settings, tmp_path, "--drain")
    code = await asyncio.wait_for(second.wait(), 60)
    log = (tmp_path / "sender.log").read_text()
    assert code == 0, log

    duplicates = 0
    for i, user in enumerate(users):
        texts = [m.text for m in server.sent_messages(user.id)]
        if user is blocker:
            assert texts == []
            continue
        assert texts and set(texts) == {f"Reminder #{i}"}, (i, texts)
        duplicates += len(texts) - 1
    stats = server.stats
    print(
        f"\nkill test: {at_kill} delivered at SIGKILL, {duplicates} duplicate(s), "
        f"{stats.rate_limited} 429(s), {stats.requests['sendMessage']} sendMessage requests"
    )
    assert duplicates <= CONCURRENCY

    outbox_rows = await rows(sessions)
    assert not [r for r in outbox_rows if r.status == OutboxStatus.PENDING]
    assert {r.chat_id for r in outbox_rows if r.status == OutboxStatus.BLOCKED} == {blocker.id}
    assert all(r.telegram_message_id for r in outbox_rows if r.status == OutboxStatus.SENT)
    async with sessions() as s:
        account = await s.get(TelegramAccount, blocker.id)
    assert account is not None and account.blocked_at is not None
    # Every request was a delivery, a 429 or the blocker's 403: so each 429 was retried to success.
    assert stats.rate_limited >= 1
    assert stats.requests["sendMessage"] == delivered() + stats.rate_limited + stats.errors
    assert 1 <= stats.errors <= 2  # the blocker, twice only if the kill hid the first answer
