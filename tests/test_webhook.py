"""Webhook mode: the same bot, fed by Telegram's POSTs instead of getUpdates."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket

import httpx
from sqlalchemy import select

from bot.runner import serve
from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import InboxUpdate
from services import survey_links
from tests.factories import make_org
from tests.harness import wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_delivers_and_replies(server: FakeBotApi, bot_settings: Settings) -> None:
    port = _free_port()
    settings = bot_settings.model_copy(
        update={
            "webhook_url": f"http://127.0.0.1:{port}/telegram",
            "webhook_port": port,
        }
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop=stop, migrate=False))
    try:
        await wait_for(lambda: server.webhook() is not None or task.done(), 20)
        assert server.webhook()["url"].endswith("/telegram")  # type: ignore[index]
        user = server.user(8101, language_code="en")
        await user.send("/start")
        assert "QR code" in (await user.expect()).text
        # the secret token is enforced: a forged POST is refused
        async with httpx.AsyncClient() as client:
            response = await client.post(f"http://127.0.0.1:{port}/telegram", json={"update_id": 1})
        assert response.status_code == 403
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


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
    settings = bot_settings.model_copy(
        update={"webhook_url": f"http://127.0.0.1:{port}/telegram", "webhook_port": port}
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop=stop, migrate=False))
    try:
        await wait_for(lambda: server.webhook() is not None or task.done(), 20)
        citizen = server.user(8102, language_code="zh-hans")
        await citizen.send(f"/start {issued.payload}")
        assert "应急指挥中心" in (await citizen.expect()).text  # handled from the original
        async with sessions() as s:
            stored = json.dumps(list(await s.scalars(select(InboxUpdate.payload))))
        assert issued.payload.token not in stored and "sv_[redacted]" in stored
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
