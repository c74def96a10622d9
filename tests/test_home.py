"""The home screen: a linked staff member's open tasks as buttons, a citizen's welcome."""

from __future__ import annotations

from domain.enums import Source
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from tests.drivers import home
from tests.factories import bind, make_org, open_cycle


async def test_staff_see_their_open_tasks_and_start_one(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    await open_cycle(sessions)
    await bind(sessions, 3101, org.staff_ids[0])
    user = server.user(3101, language_code="zh-hans")
    screen = await home.open_home(user, "自评")
    assert "未完成" in screen.text
    assert home.tasks(screen)[0] == Source.SELF
    first = await home.start_task(user, screen, Source.SELF)
    assert "第1题" in first.text


async def test_staff_without_a_collecting_cycle_get_no_task_buttons(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    await bind(sessions, 3102, org.staff_ids[0])
    user = server.user(3102, language_code="zh-hans")
    screen = await home.open_home(user)
    assert home.tasks(screen) == [] and not screen.buttons


async def test_a_citizen_gets_the_welcome_without_buttons(server: FakeBotApi, bot) -> None:
    citizen = server.user(7101, language_code="zh-hans")
    screen = await home.open_home(citizen, "二维码")
    assert not screen.buttons
