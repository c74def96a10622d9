"""Webhook mode: the same bot, fed by Telegram's POSTs instead of getUpdates.

The fake Bot API server delivers as Telegram does (``fakebotapi.webhook``): an update not
answered with 2xx stays first in line and is POSTed again until it is accepted, so a bot
killed between storing an update and answering 200 gets it a second time, and must not
apply it twice. The slow tests run ``jixiao run`` as a child process and kill it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.runner import serve
from chat.webhook import webhook_secret
from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import AuditEntry, Base, InboxUpdate, TelegramAccount
from services import survey_links
from tests.factories import invite_code, make_org
from tests.harness import BotProcess, eventually, wait_for
from tests.outage import outage_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hooked(settings: Settings, port: int) -> Settings:
    return settings.model_copy(
        update={"webhook_url": f"http://127.0.0.1:{port}/telegram", "webhook_port": port}
    )


def _hook_env(port: int) -> dict[str, str]:
    """What makes ``jixiao run`` a webhook receiver instead of a poller."""
    return {
        "JIXIAO_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
        "JIXIAO_WEBHOOK_PORT": str(port),
    }


async def _every_table(sessions: SessionFactory) -> dict[str, list[str]]:
    """Every row of every table, as text: to show that a request changed nothing at all."""
    async with sessions() as s:
        return {
            table.name: sorted(repr(tuple(row)) for row in await s.execute(select(table)))
            for table in Base.metadata.sorted_tables
        }


async def _nothing_owed(sessions: SessionFactory) -> bool:
    async with sessions() as s:
        owed = await s.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.replied_at.is_(None))
        )
    return owed == 0


async def _binds(sessions: SessionFactory) -> int:
    async with sessions() as s:
        return int(
            await s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "account.bind")
            )
            or 0
        )


def _update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    """A message update as Telegram would POST it (the forger knows the format)."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1700000000,
            "chat": {"id": user_id, "type": "private", "first_name": "A"},
            "from": {"id": user_id, "is_bot": False, "first_name": "A", "language_code": "en"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


async def test_webhook_delivers_and_replies(server: FakeBotApi, bot_settings: Settings) -> None:
    port = _free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(_hooked(bot_settings, port), stop=stop, migrate=False))
    try:
        await wait_for(lambda: server.webhook() is not None or task.done(), 120)
        assert server.webhook()["url"].endswith("/telegram")  # type: ignore[index]
        user = server.user(8101, language_code="en")
        await user.send("/start")
        assert "QR code" in (await user.expect()).text
    finally:
        stop.set()
        await asyncio.wait_for(task, 120)


async def test_a_survey_token_posted_to_the_webhook_is_stored_redacted(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory
) -> None:
    """The webhook stores the same redacted copy as polling, and hands on the original."""
    await make_org(sessions)
    async with sessions.begin() as s:
        [issued] = await survey_links.create_links(
            s,
            unit_name="应急指挥中心",
            staff_employee_no=None,
            count=1,
            single_use=True,
            actor_label="test",
            now=dt.datetime.now(dt.UTC),
        )
    port = _free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(_hooked(bot_settings, port), stop=stop, migrate=False))
    try:
        await wait_for(lambda: server.webhook() is not None or task.done(), 120)
        citizen = server.user(8102, language_code="zh-hans")
        await citizen.send(f"/start {issued.payload}")
        assert "应急指挥中心" in (await citizen.expect()).text  # handled from the original
        async with sessions() as s:
            stored = json.dumps(list(await s.scalars(select(InboxUpdate.payload))))
        assert issued.payload.token not in stored and "sv_[redacted]" in stored
    finally:
        stop.set()
        await asyncio.wait_for(task, 120)


async def test_updates_sent_during_a_database_outage_arrive_once_it_is_back(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory
) -> None:
    """While the database is away the webhook answers 503; Telegram keeps the updates and
    POSTs them again, and once the database is back each is handled once, in order."""
    port = _free_port()
    async with outage_for(bot_settings.database_url) as outage:
        settings = _hooked(bot_settings.model_copy(update={"database_url": outage.bot_url}), port)
        stop = asyncio.Event()
        task = asyncio.create_task(serve(settings, stop=stop, migrate=False))
        try:
            await wait_for(lambda: server.webhook() is not None or task.done(), 120)
            user = server.user(8103, language_code="en")
            await outage.begin()
            first = await user.send("/help")
            second = await user.send("/language")
            await wait_for(lambda: server.hub.stats.webhook_posts[first] >= 2, 60)
            assert "503" in (server.webhook() or {}).get("last_error_message", "")
            assert len(server.pending_updates()) == 2  # Telegram still holds both
            await outage.end()
            await user.expect_text("How to use this bot", timeout=60)
            await user.expect_text("language", timeout=60)
            await server.wait_until(lambda: not server.pending_updates(), 60)
            await eventually(lambda: _nothing_owed(sessions), 60)
            async with sessions() as s:
                stored = list(await s.scalars(select(InboxUpdate.update_id)))
            assert sorted(stored) == [first, second]
            assert sum("How to use this bot" in (m.text or "") for m in user.messages) == 1
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)


@pytest.mark.slow
async def test_jixiao_run_registers_a_secret_and_refuses_posts_without_it(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    """A forged POST (no secret, a wrong one) gets 403 and leaves every table as it was."""
    port = _free_port()
    proc = BotProcess(server, bot_settings, tmp_path, extra_env=_hook_env(port))
    try:
        await proc.start()
        await wait_for(lambda: server.webhook() is not None, 60)
        hook = server.webhook() or {}
        assert hook["url"] == f"http://127.0.0.1:{port}/telegram"
        assert hook["secret_token"] == webhook_secret(bot_settings)
        user = server.user(8104, language_code="en")
        await user.send("/help")
        await user.expect_text("How to use this bot", timeout=60)
        await eventually(lambda: _nothing_owed(sessions), 60)
        before = await _every_table(sessions)
        forged = _update(990001, 8105, "/help")
        url = f"http://127.0.0.1:{port}/telegram"
        async with httpx.AsyncClient(timeout=120) as client:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"}):
                response = await client.post(url, json=forged, headers=headers)
                assert response.status_code == 403
        assert await _every_table(sessions) == before
        assert not server.sent_messages(8105)
        await user.send("/language")  # and the real updates still arrive
        await user.expect_text("language", timeout=60)
    finally:
        await proc.stop()
    assert "Traceback" not in proc.output()


@pytest.mark.slow
async def test_killed_between_storing_and_answering_200_nothing_is_applied_twice(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    """kill -9 after the update is stored, before Telegram hears 200: Telegram delivers it
    again to the restarted bot, which has it already: one binding, one reply."""
    await make_org(sessions)
    code = await invite_code(sessions, "A002")
    port = _free_port()
    proc = BotProcess(server, bot_settings, tmp_path, extra_env=_hook_env(port))
    user = server.user(6011, language_code="zh-hans")
    try:
        await proc.start()
        await user.send(f"/start {code}")
        await user.expect_text("请确认", timeout=60)
        await eventually(lambda: _nothing_owed(sessions), 60)
        proc.kill()

        await proc.start(failpoints="stored")  # dies after storing, before answering 200
        user.drain()
        await user.press_button("是我本人")
        press = int(server.pending_updates()[-1]["update_id"])  # held until answered 200
        assert await proc.wait_exit(120) != 0
        async with sessions() as s:
            [row] = await s.scalars(select(InboxUpdate).where(InboxUpdate.update_id == press))
            assert row.handled_at is None  # stored, not handled
            assert await s.get(TelegramAccount, 6011) is None
        assert [u["update_id"] for u in server.pending_updates()] == [press]  # not confirmed

        await proc.start(failpoints="")
        await user.expect_text("绑定成功", timeout=60)
        await server.wait_until(lambda: not server.pending_updates(), 60)  # accepted at last
        await eventually(lambda: _nothing_owed(sessions), 60)
        assert server.hub.stats.webhook_posts[press] >= 2  # delivered again after the kill
        async with sessions() as s:
            assert (await s.get(TelegramAccount, 6011)).staff_id is not None  # type: ignore[union-attr]
            stored = await s.scalar(
                select(func.count()).select_from(InboxUpdate).where(InboxUpdate.update_id == press)
            )
        assert stored == 1
        assert await _binds(sessions) == 1
        assert sum("绑定成功" in (m.text or "") for m in user.messages) == 1
    finally:
        await proc.stop()
