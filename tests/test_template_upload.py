"""The working group sends a template file to the bot and opens a cycle with buttons."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from domain.enums import CyclePhase
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import Cycle, TemplateVersion
from tests.drivers import templates
from tests.factories import make_org

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TEMPLATE = (EXAMPLES / "template.toml").read_bytes()


async def test_admin_opens_a_cycle_from_a_template_file(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    admin = server.user(900001, language_code="zh-hans")
    choose = await templates.send_template(admin, "template.toml", TEMPLATE)
    assert "60%" in choose.text
    period = templates.periods(choose)[0]
    deadline = await templates.choose_period(admin, choose)
    confirm = await templates.choose_deadline(admin, deadline)
    opened = await templates.open_cycle(admin, confirm)
    # make_org's chief has not linked: the admin is warned that nobody can approve yet
    assert "均未绑定" in (opened.text or ""), opened.text
    async with sessions() as s:
        cycle = await s.scalar(select(Cycle))
        assert cycle is not None and cycle.period == period
        assert cycle.phase == CyclePhase.PREPARING  # until a leader approves
        assert await s.scalar(select(TemplateVersion.approved_at)) is None


async def test_the_admin_can_cancel_at_any_step(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    admin = server.user(900001, language_code="zh-hans")
    choose = await templates.send_template(admin, "template.toml", TEMPLATE)
    deadline = await templates.choose_period(admin, choose)
    confirm = await templates.choose_deadline(admin, deadline)
    await templates.cancel(admin, confirm)
    assert not admin.messages[-1].buttons
    async with sessions() as s:
        assert await s.scalar(select(Cycle)) is None
        assert await s.scalar(select(TemplateVersion)) is None


async def test_a_button_of_another_step_is_expired_and_changes_nothing(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    admin = server.user(900001, language_code="zh-hans")
    choose = await templates.send_template(admin, "template.toml", TEMPLATE)
    deadline = await templates.choose_period(admin, choose)
    again = await templates.open_early(admin, deadline)
    assert templates.deadlines(again)  # still at the deadline step
    assert any("失效" in (a.get("text") or "") for a in admin.callback_answers)
    async with sessions() as s:
        assert await s.scalar(select(Cycle)) is None


async def test_a_bad_template_is_refused_with_its_row(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    text = TEMPLATE.decode("utf-8")
    broken = text.replace("performance = 60", "performance = 59", 1)
    assert broken != text
    admin = server.user(900001, language_code="zh-hans")
    refusal = await templates.send_template(admin, "bad.toml", broken.encode())
    assert "59" in refusal.text and not refusal.buttons
    async with sessions() as s:
        assert await s.scalar(select(TemplateVersion)) is None


async def test_a_typed_deadline_in_the_past_is_refused(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    admin = server.user(900001, language_code="zh-hans")
    choose = await templates.send_template(admin, "template.toml", TEMPLATE)
    await templates.choose_period(admin, choose)
    await admin.send("2020-01-01")
    await admin.expect()  # a polite refusal
    again = await admin.expect()
    assert templates.deadlines(again)
    await admin.send("明天")
    await admin.expect()
    await admin.expect()
    async with sessions() as s:
        assert await s.scalar(select(Cycle)) is None


async def test_levels_named_like_grades_are_accepted_with_a_note(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    """Rating an indicator 优秀 reads as grading the person: the working group is told."""
    text = TEMPLATE.decode("utf-8")
    graded = text.replace('label = "好"', 'label = "优秀"', 1)
    assert graded != text
    admin = server.user(900001, language_code="zh-hans")
    plain = await templates.send_template(admin, "template.toml", TEMPLATE)
    assert "⚠️" not in plain.text
    await templates.cancel(admin, plain)
    choose = await templates.send_template(admin, "graded.toml", graded.encode())
    assert (
        "⚠️" in choose.text and "“优秀”" in choose.text and "好、较好、一般、较差、差" in choose.text
    )
    assert templates.periods(choose)  # accepted: the cycle can still be opened
