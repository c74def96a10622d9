"""Staff link their Telegram account with a one-time invite code (foundation issue, onboarding)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import AuditEntry, TelegramAccount
from tests.drivers import invite
from tests.factories import invite_code, make_org


async def test_invite_shows_person_and_binds_on_confirmation(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    code = await invite_code(sessions, "A002")
    user = server.user(5001, first_name="Wei", language_code="zh-hans")
    prompt = await invite.open_code(user, code)
    assert "请确认" in prompt.text and "张伟" in prompt.text and "应急指挥中心" in prompt.text
    async with sessions() as s:
        assert await s.get(TelegramAccount, 5001) is None  # nothing bound before the tap
    await invite.confirm(user, prompt)
    await user.expect_text("绑定成功")
    home = await user.expect_text("张伟")
    assert "应急指挥中心" in home.text
    async with sessions() as s:
        account = await s.get(TelegramAccount, 5001)
        assert account is not None and account.staff_id == org.staff_ids[0]
        assert (
            await s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "account.bind")
            )
            == 1
        )


async def test_not_me_links_nothing_and_an_older_codes_button_has_expired(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    old = await invite_code(sessions, "A002")
    user = server.user(5006, language_code="zh-hans")
    stale = await invite.open_code(user, old)
    newer = await invite.open_code(user, await invite_code(sessions, "A003"))
    assert "刘芳" in newer.text
    await invite.confirm(user, stale)  # the button of the code opened before
    await user.wait_until(lambda: bool(user.callback_answers))
    assert "失效" in user.callback_answers[-1]["text"]
    await invite.decline(user, newer)
    await user.expect_text("未进行绑定")
    async with sessions() as s:
        assert await s.get(TelegramAccount, 5006) is None


async def test_same_code_twice_is_refused(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    code = await invite_code(sessions, "A002")
    first = server.user(5001, language_code="zh-hans")
    prompt = await invite.open_code(first, code)
    assert "请确认" in prompt.text
    await invite.confirm(first, prompt)
    await first.expect_text("绑定成功")
    other = server.user(5002, language_code="zh-hans")
    await other.send(f"/start {code}")
    await other.expect_text("已被使用")
    async with sessions() as s:
        assert await s.get(TelegramAccount, 5002) is None


async def test_expired_and_wrong_codes_are_refused_politely(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    old = await invite_code(sessions, "A002", now=dt.datetime.now(dt.UTC) - dt.timedelta(days=15))
    user = server.user(5003, language_code="zh-hans")
    await user.send(f"/start {old}")
    await user.expect_text("已过期")
    await user.send("/start in_AAAAAAAAAAAAAAAAAAAA")
    await user.expect_text("无效")


async def test_five_wrong_codes_lock_the_user_out(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    good = await invite_code(sessions, "A003")
    user = server.user(5004, language_code="zh-hans")
    for i in range(5):
        await user.send(f"/start in_WRONGwrong{i:02d}abcdef")
        await user.expect_text("无效")
    await user.send(f"/start {good}")
    await user.expect_text("后再试")
    async with sessions() as s:
        assert await s.get(TelegramAccount, 5004) is None


async def test_unknown_user_gets_citizen_welcome(server: FakeBotApi, bot) -> None:
    user = server.user(7001, language_code="zh-hans")
    await user.send("/start")
    msg = await user.expect_text("二维码")
    assert "邀请" in msg.text


async def test_languages_follow_telegram(server: FakeBotApi, bot) -> None:
    hans = server.user(7002, language_code="zh-hans")
    hant = server.user(7003, language_code="zh-hant")
    en = server.user(7004, language_code="en")
    for u in (hans, hant, en):
        await u.send("/start")
    assert "二维码" in (await hans.expect()).text
    assert "QR Code" in (await hant.expect()).text
    assert "QR code" in (await en.expect()).text


async def test_language_command_is_remembered(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    user = server.user(7005, language_code="zh-hans")
    await user.send("/language")
    await user.expect_text("语言")
    await user.press_button("English")
    await user.expect_text("English")
    await user.send("/help")
    assert "How to use" in (await user.expect_text("How to use")).text
    async with sessions() as s:
        account = await s.get(TelegramAccount, 7005)
        assert account is not None and account.language == "en"
