"""Working-group commands in the chat, role checks, menus and stray input."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from fakebotapi import FakeBotApi, scope_key
from infra.db import SessionFactory
from infra.models import AuditEntry, Invite, TelegramAccount
from tests.factories import bind, invite_code, make_org

ADMIN = 900001


async def test_reissue_kills_the_old_code(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    old = await invite_code(sessions, "A002")
    admin = server.user(ADMIN, language_code="zh-hans")
    await admin.send("/reissue A002")
    new_msg = await admin.expect_text("in_")
    new = next(
        w for w in new_msg.text.replace("\n", " ").split() if w.startswith("in_") or "in_" in w
    )
    new = new[new.index("in_") :].rstrip("。.,，")
    user = server.user(5101, language_code="zh-hans")
    await user.send(f"/start {old}")
    await user.expect_text("新的")  # replaced by a newer code
    await user.send(f"/start {new}")
    await user.expect_text("请确认")


async def test_unbind_detaches_and_is_audited(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    await bind(sessions, 5102, org.staff_ids[0])
    admin = server.user(ADMIN, language_code="zh-hans")
    await admin.send("/unbind A002")
    await admin.expect_text("/reissue A002")
    async with sessions() as s:
        assert (await s.get(TelegramAccount, 5102)).staff_id is None  # type: ignore[union-attr]
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "account.unbind"))
    assert entry is not None and entry.actor_telegram_id == ADMIN


async def test_non_admin_commands_are_refused_and_audited(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    await bind(sessions, 5103, org.staff_ids[1])
    staff = server.user(5103, language_code="zh-hans")
    for command in ("/invites", "/reissue A002", "/unbind A002"):
        await staff.send(command)
        await staff.expect_text("工作小组")
    async with sessions() as s:
        denied = await s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "access.denied")
        )
        assert denied == 3
        assert await s.scalar(select(func.count()).select_from(Invite)) == 0


async def test_invites_document_in_chat(server: FakeBotApi, bot, sessions: SessionFactory) -> None:
    org = await make_org(sessions, people=3)
    await bind(sessions, 5104, org.staff_ids[0])
    admin = server.user(ADMIN, language_code="zh-hans")
    await admin.send("/invites")
    doc = await admin.expect()
    assert doc.kind == "document" and doc.document is not None
    rows = list(csv.DictReader(io.StringIO(doc.document.decode("utf-8-sig"))))
    # everyone active but the one already linked: chief, head and two staff
    assert len(rows) == 4 and all(
        r["link"].startswith("https://t.me/jixiao_test_bot?start=in_") for r in rows
    )


async def test_bound_staff_get_their_menu_in_their_language(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    await bind(sessions, 5105, org.staff_ids[0])
    staff = server.user(5105, language_code="zh-hant")
    await staff.send("/start")
    home = await staff.expect_text("张伟")  # names are shown as the roster writes them
    assert "待辦" in home.text
    commands = server.commands()
    mine = commands.get((scope_key({"type": "chat", "chat_id": 5105}), ""))
    assert mine is not None and any(c["command"] == "language" for c in mine)
    admin = server.user(ADMIN, language_code="en")
    await admin.send("/start")
    await admin.expect_text("working group")
    admin_menu = server.commands()[(scope_key({"type": "chat", "chat_id": ADMIN}), "")]
    assert any(c["command"] == "invites" for c in admin_menu)


async def test_menu_failure_does_not_stop_the_bot(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    server.fail_next("setMyCommands", 400, "Bad Request: BOT_COMMAND_INVALID")
    user = server.user(5106, language_code="zh-hans")
    await user.send("/start")
    await user.expect_text("二维码")


async def test_stray_input_during_a_flow_changes_nothing(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    code = await invite_code(sessions, "A002")
    user = server.user(5107, language_code="zh-hans")
    await user.send(f"/start {code}")
    await user.expect_text("请确认")
    await user.send_sticker()
    await user.expect()  # a polite "please use the buttons"
    again = await user.expect_text("请确认")
    assert again.buttons
    await user.send_photo()
    await user.expect()
    await user.expect_text("请确认")
    await user.press("iv1:ok:999999")  # forged: another invite's id
    await user.expect_text("请确认")
    async with sessions() as s:
        assert await s.get(TelegramAccount, 5107) is None
    await user.send("/cancel")
    await user.expect()
    await user.press_button("是我本人")  # stale after /cancel
    await user.expect()
    async with sessions() as s:
        assert await s.get(TelegramAccount, 5107) is None
