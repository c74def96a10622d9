"""The working group sends a template file to the bot and opens a cycle with buttons."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from domain.enums import CyclePhase
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import Cycle, TemplateVersion
from tests.factories import make_org
from tests.forms_driver import data_of

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


async def test_admin_opens_a_cycle_from_a_template_file(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    admin = server.user(900001, language_code="zh-hans")
    await admin.send_document("template.toml", (EXAMPLES / "template.toml").read_bytes())
    choose = await admin.expect()
    assert "60%" in choose.text
    period = data_of(choose, "tu1:p:")[0]
    await admin.press(period, choose)
    deadline = await admin.expect()
    await admin.press(data_of(deadline, "tu1:d:")[0], deadline)
    confirm = await admin.expect()
    await admin.press(data_of(confirm, "tu1:ok:")[0], confirm)
    await admin.expect()
    async with sessions() as s:
        cycle = await s.scalar(select(Cycle))
        assert cycle is not None and cycle.period == period.split(":")[2]
        assert cycle.phase == CyclePhase.PREPARING  # until a leader approves
        assert await s.scalar(select(TemplateVersion.approved_at)) is None


async def test_a_bad_template_is_refused_with_its_row(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    text = (EXAMPLES / "template.toml").read_text(encoding="utf-8")
    broken = text.replace("performance = 60", "performance = 59", 1)
    assert broken != text
    admin = server.user(900001, language_code="zh-hans")
    await admin.send_document("bad.toml", broken.encode())
    refusal = await admin.expect()
    assert "59" in refusal.text and not refusal.buttons
    async with sessions() as s:
        assert await s.scalar(select(TemplateVersion)) is None


async def test_a_typed_deadline_in_the_past_is_refused(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    admin = server.user(900001, language_code="zh-hans")
    await admin.send_document("template.toml", (EXAMPLES / "template.toml").read_bytes())
    choose = await admin.expect()
    await admin.press(data_of(choose, "tu1:p:")[0], choose)
    await admin.expect()
    await admin.send("2020-01-01")
    await admin.expect()  # a polite refusal
    again = await admin.expect()
    assert data_of(again, "tu1:d:")
    await admin.send("明天")
    await admin.expect()
    await admin.expect()
    async with sessions() as s:
        assert await s.scalar(select(Cycle)) is None
