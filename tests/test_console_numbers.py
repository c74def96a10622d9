"""The console's entries for commands that take employee numbers (工号): the number is asked
for as a typed reply and checked; then the command runs as if typed, with its own reply,
refusal and audit. Staff and leaders are refused each entry, audited, and nothing changes."""

from __future__ import annotations

from sqlalchemy import func, select

from conversations import console_view as console
from domain.enums import AssignmentStatus
from fakebotapi import BotMessage, FakeBotApi, SimUser
from infra.db import SessionFactory
from infra.models import Assignment, AuditEntry, Invite, Staff, TelegramAccount
from tests.drivers import console as desk
from tests.factories import bind, fill_all_forms, make_org, open_cycle

ADMIN = 900001  # in the settings' JIXIAO_ADMIN_IDS
KEYS = ("reissue", "unbind", "reopen", "reassign", "proxy")


async def _count(sessions: SessionFactory, action: str) -> int:
    async with sessions() as s:
        found = await s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        )
    return int(found or 0)


async def _numbers(sessions: SessionFactory) -> dict[int, str]:
    async with sessions() as s:
        return dict((await s.execute(select(Staff.id, Staff.employee_no))).all())


async def _ask(admin: SimUser, view: BotMessage, key: str, question: str) -> None:
    """Press the entry; its question arrives below the console."""
    await desk.go(admin, view, key)
    await admin.expect_text(question)


async def test_reissue_and_unbind_ask_for_the_number_and_refuse_an_unknown_one(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:  # type: ignore[no-untyped-def]
    org = await make_org(sessions)
    await bind(sessions, 6101, org.staff_ids[0])  # 张伟, A002
    admin = server.user(ADMIN, language_code="zh-hans")
    view = await desk.open_console(admin)
    await _ask(admin, view, "reissue", "重新发放邀请码人员的工号")
    await admin.send("Z999")
    await admin.expect_text("没有工号为 Z999 的工作人员，请核对后重新输入")
    await admin.expect_text("重新发放邀请码人员的工号")  # asked again
    await admin.send("A003 A004")
    await admin.expect_text("请输入1个工号")
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Invite)) == 0  # nothing yet
    await admin.send("ａ００３")  # full-width, lower case: as a phone's IME may type it
    issued = await admin.expect_text("的新邀请码")
    assert "刘芳" in (issued.text or "")
    assert await _count(sessions, "invite.reissue") == 1

    await _ask(admin, view, "unbind", "解除 Telegram 账号绑定人员的工号")
    await admin.send("A002")
    await admin.expect_text("已解除绑定")
    async with sessions() as s:
        account = await s.get(TelegramAccount, 6101)
        assert account is None or account.staff_id is None
    assert await _count(sessions, "account.unbind") == 1
    await admin.send("A004")  # the question was answered: text is no longer taken as a number
    assert await _count(sessions, "invite.reissue") == 1


async def test_reopen_and_reassign_take_their_numbers_in_one_reply(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:  # type: ignore[no-untyped-def]
    await make_org(sessions, people=4)
    cycle_id = await open_cycle(sessions, peer_count=3)
    number = await _numbers(sessions)
    async with sessions() as s:
        forms = list(
            await s.scalars(
                select(Assignment)
                .where(Assignment.cycle_id == cycle_id, Assignment.ratee_staff_id.is_not(None))
                .order_by(Assignment.id)
            )
        )
    others = [f for f in forms if f.ratee_staff_id != f.rater_staff_id]
    moved, done = others[0], others[1]
    assert moved.ratee_staff_id is not None and done.ratee_staff_id is not None
    raters = {f.rater_staff_id for f in forms if f.ratee_staff_id == moved.ratee_staff_id}
    new_rater = next(sid for sid in number if sid not in {*raters, moved.ratee_staff_id})
    admin = server.user(ADMIN, language_code="zh-hans")
    view = await desk.open_console(admin)

    await _ask(admin, view, "reassign", "被评价人、原评价人（缺席）、新评价人")
    await admin.send(number[moved.ratee_staff_id])
    await admin.expect_text("请输入3个工号")
    ratee, old, new = (number[moved.ratee_staff_id], number[moved.rater_staff_id],
                       number[new_rater])  # fmt: skip
    await admin.send(f"{ratee}，{old}、{new}")  # Chinese punctuation between them
    await admin.expect_text("已改派")
    async with sessions() as s:
        replaced = await s.scalar(  # the absent rater's form is retired, a new one given
            select(func.count())
            .select_from(Assignment)
            .where(
                Assignment.cycle_id == cycle_id,
                Assignment.ratee_staff_id == moved.ratee_staff_id,
                Assignment.rater_staff_id == new_rater,
                Assignment.active.is_(True),
            )
        )
        assert replaced == 1
    assert await _count(sessions, "form.reassign") == 1

    await fill_all_forms(sessions, cycle_id)
    await _ask(admin, view, "reopen", "评价人、被评价人")
    await admin.send(f"{number[done.rater_staff_id]} X404")
    await admin.expect_text("没有工号为 X404 的工作人员")
    async with sessions() as s:
        still = await s.get(Assignment, done.id)
        assert still is not None and still.status == AssignmentStatus.SUBMITTED
    await admin.send(f"{number[done.rater_staff_id]} {number[done.ratee_staff_id]}")
    await admin.expect_text("已重新开放")
    async with sessions() as s:
        reopened = await s.get(Assignment, done.id)
        assert reopened is not None and reopened.status != AssignmentStatus.SUBMITTED
    assert await _count(sessions, "form.reopen") == 1


async def test_proxy_opens_the_paper_form_list_and_cancel_changes_nothing(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:  # type: ignore[no-untyped-def]
    await make_org(sessions)
    await open_cycle(sessions)
    admin = server.user(ADMIN, language_code="zh-hans")
    view = await desk.open_console(admin)
    # the command's own refusal: paper forms need the admin's own linked staff account
    await _ask(admin, view, "proxy", "代录纸质评估表所属人员的工号")
    await admin.send("A002")
    await admin.expect_text("需要使用已绑定的工作人员账号")
    async with sessions() as s:
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
    assert chief is not None
    await bind(sessions, ADMIN, chief)
    await _ask(admin, view, "proxy", "代录纸质评估表所属人员的工号")
    await admin.send("/cancel")
    await admin.expect_text("已取消")
    await _ask(admin, view, "proxy", "代录纸质评估表所属人员的工号")
    await admin.send("A002")
    await admin.expect_text("请选择要代张伟录入的纸质评估表")


async def test_staff_and_leaders_are_refused_each_entry_and_audited(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:  # type: ignore[no-untyped-def]
    org = await make_org(sessions)
    await open_cycle(sessions)
    async with sessions() as s:
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
    assert chief is not None
    await bind(sessions, 6201, org.staff_ids[0])
    await bind(sessions, 6202, chief)
    clerk = server.user(6201, language_code="zh-hans")
    leader = server.user(6202, language_code="zh-hans")
    leader_view = await desk.open_console(leader)
    assert not [d for d in leader_view.button_data() if d.split(":")[-1] in KEYS]  # read-only
    await clerk.send("/start")
    own = await clerk.expect()
    refused = 0
    for user, message in ((clerk, own), (leader, leader_view)):
        for n, key in enumerate(KEYS, start=1):
            await user.press(console.GO.data(key), message)
            await user.wait_until(lambda u=user, n=n: len(u.callback_answers) >= n, timeout=120)  # type: ignore[misc]
            answer = user.callback_answers[-1]
            assert answer["show_alert"] and "工作小组" in (answer["text"] or ""), (key, answer)
            refused += 1
        await user.send("A002")  # not asked for a number: nothing takes this as one
    assert await _count(sessions, "access.denied") == refused
    assert not [m for m in clerk.messages + leader.messages if "工号" in (m.text or "")]
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Invite)) == 0
    assert await _count(sessions, "account.unbind") == 0
