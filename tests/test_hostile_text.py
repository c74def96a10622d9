"""Names and free text with HTML's special characters reach everyone readable (issue 9, items 6, 9).

A value is escaped once, when it is put into a message; a message is cut as Telegram counts
it. Any message the local Bot API refuses as malformed also fails these tests (tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update
from telegram import Bot, Update

from chat.flow import reply
from domain.enums import CyclePhase, OutboxStatus
from domain.text import MESSAGE_LIMIT, utf16_len
from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import Cycle, OrgUnit, OutboxMessage, Staff
from services import appeals as ap
from services import cycles
from services.access import load_actor
from services.cases import Env
from services.outbox import enqueue
from tests.drivers import appeal
from tests.drivers import results as results_driver
from tests.factories import (
    SHANGHAI,
    bind,
    fill_all_forms,
    invite_code,
    make_org,
    open_cycle,
    published_cycle,
)
from tests.forms_driver import answer_until_summary, submit

APPELLANT = 7101

ADMIN = 900001
PERSON = "张<伟> & <b>Co</b>"
UNIT = "指挥<中心>&调度 <i>"
HEAD = "李&明 >_<"


async def _hostile_org(sessions: SessionFactory) -> tuple[int, int, int]:
    """The usual org with a roster name, a head's name and a unit name full of markup."""
    org = await make_org(sessions, people=3)
    async with sessions.begin() as s:
        await s.execute(update(Staff).where(Staff.id == org.staff_ids[0]).values(name=PERSON))
        await s.execute(update(Staff).where(Staff.id == org.head_id).values(name=HEAD))
        await s.execute(update(OrgUnit).where(OrgUnit.id == org.unit_id).values(name=UNIT))
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
    assert chief is not None
    return org.head_id, org.staff_ids[0], chief


async def test_markup_in_names_is_delivered_readable_through_the_whole_cycle(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:  # type: ignore[no-untyped-def]
    head_id, _person, chief = await _hostile_org(sessions)
    # linking: the person sees their own name as written, and binds
    person = server.user(7001, language_code="zh-hans")
    await person.send(f"/start {await invite_code(sessions, 'A002')}")
    confirm = await person.expect_text("请确认")
    assert PERSON in confirm.text and UNIT in confirm.text, confirm.text
    await person.press_button("是我本人")
    await person.expect_text("绑定成功")
    # forms: the head rates the person; the list and the form show both names as written
    cycle_id = await open_cycle(sessions, peer_count=2)
    await bind(sessions, 7002, head_id)
    head = server.user(7002, language_code="zh-hans")
    await head.send("/review")
    listing = await head.expect()
    assert PERSON in listing.text + " ".join(listing.button_texts()), listing.text
    target = next(
        d
        for d, t in zip(listing.button_data(), listing.button_texts(), strict=True)
        if d and d.startswith("fm1:p:") and PERSON in t
    )
    await head.press(target, listing)
    first = await head.expect()
    assert PERSON in first.text, first.text
    await submit(head, await answer_until_summary(head, first))
    await head.expect_text("已提交")
    # results: scored, sent for 审定, approved, pushed
    await fill_all_forms(sessions, cycle_id)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await cycles.close(s, cycle.period, now=dt.datetime.now(dt.UTC), actor=cycles.Actor("t"))
    await bind(sessions, 7003, chief)
    admin = server.user(ADMIN, language_code="zh-hans")
    leader = server.user(7003, language_code="zh-hans")  # before the 审定 request is queued
    await admin.send("/score 2026Q4")
    scored = await admin.expect_text("2026年第四季度")
    await results_driver.send_for_approval(admin, scored)
    request = await leader.expect_text("审定", timeout=120)
    assert UNIT in request.text, request.text
    await results_driver.approve(leader, request)
    await leader.expect_text("公布")
    await person.wait_until(
        lambda: any(PERSON in (m.text or "") and "总分" in m.text for m in person.messages),
        timeout=120,
    )
    await head.wait_until(
        lambda: any(UNIT in (m.text or "") for m in head.messages[-5:]), timeout=120
    )
    async with sessions() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None and cycle.phase == CyclePhase.APPEALS  # not stuck in 审定
        failed = list(
            await s.scalars(
                select(OutboxMessage.last_error).where(OutboxMessage.status == OutboxStatus.FAILED)
            )
        )
    assert failed == []


@pytest.mark.parametrize(
    "hostile",
    ["😀" * ap.MAX_REASON, "<" * ap.MAX_REASON, "A&B 👨\u200d👩\u200d👧 <i>" * 150],
    ids=["emoji", "angle-brackets", "mixed"],
)
async def test_a_long_appeal_in_emoji_or_markup_still_opens_for_the_working_group(
    server: FakeBotApi, bot, sessions: SessionFactory, hostile: str
) -> None:  # type: ignore[no-untyped-def]
    """Reason, question and answer at their limits: the case opens, cut as Telegram counts."""
    # both chats exist before anything is queued: the running sender may deliver the notice
    # at once, and to a chat the fake Telegram does not know yet it is refused for good
    me = server.user(APPELLANT, language_code="zh-hans")
    admin = server.user(ADMIN, language_code="zh-hans")
    p = await published_cycle(sessions)
    now = dt.datetime.now(dt.UTC)
    async with sessions.begin() as s:
        filed = await ap.file_appeal(
            s,
            p.mine,
            staff_id=p.org.staff_ids[0],
            target="total",
            reason=hostile,
            evidence=[],
            now=now,
            tz=SHANGHAI,
            admin_ids=frozenset({ADMIN}),
        )
        appeal_id = filed.id
    await bind(sessions, APPELLANT, p.org.staff_ids[0])
    await admin.expect_text(f"#{appeal_id}", timeout=120)  # the new-appeal notice
    await admin.send("/appeals")
    queue = await admin.expect_text(f"#{appeal_id}")
    await appeal.open_case(admin, appeal_id, queue)
    case = await admin.expect_text(hostile[:20])
    assert utf16_len(case.text or "") <= MESSAGE_LIMIT
    async with sessions.begin() as s:
        admin_actor = await load_actor(s, ADMIN, frozenset({ADMIN}))
        await ap.ask(s, appeal_id, hostile, actor=admin_actor, now=now, env=Env({ADMIN}))
    asked = await me.expect_text(hostile[:20], timeout=120)
    async with sessions.begin() as s:
        appellant = await load_actor(s, APPELLANT, frozenset())
        await ap.answer(s, appeal_id, hostile, actor=appellant, now=now, env=Env({ADMIN}))
    await admin.expect_text(hostile[:20], timeout=120)  # the working group gets the answer
    admin.drain()
    await appeal.open_case(admin, appeal_id, queue)
    case = await admin.expect_text(hostile[:20])
    shown = case.text or ""
    assert utf16_len(shown) <= MESSAGE_LIMIT and shown.count(hostile[:20]) >= 3, shown[-300:]
    assert asked.text and utf16_len(asked.text) <= MESSAGE_LIMIT


@pytest.mark.malformed_markup  # on purpose: a message the fake Telegram refuses
async def test_a_push_refused_as_malformed_is_told_to_the_working_group(
    server: FakeBotApi, bot, sessions: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    org = await make_org(sessions, people=1)
    await bind(sessions, 7201, org.staff_ids[0])
    person = server.user(7201, language_code="zh-hans")
    admin = server.user(ADMIN, language_code="zh-hans")
    async with sessions.begin() as s:
        row = await enqueue(s, 7201, "<b>unclosed")  # bypassing html_format: a rendering bug
        assert row is not None
        row_id = row.id
    notice = await admin.expect_text(str(row_id), timeout=120)
    assert "格式" in (notice.text or "") and "张伟" in (notice.text or "")
    assert not notice.entities  # plain text: it cannot be refused the same way
    assert server.hub.stats.parse_errors  # the fake Telegram did refuse the push
    assert not [m for m in person.messages if m.text]
    async with sessions() as s:
        refused = await s.get(OutboxMessage, row_id)
        assert refused is not None and refused.status == OutboxStatus.FAILED
    assert any(r.levelname == "ERROR" and "malformed" in r.getMessage() for r in caplog.records)


@pytest.mark.malformed_markup  # on purpose: a reply the fake Telegram refuses
async def test_a_reply_with_broken_markup_still_reaches_the_person_as_plain_text(
    server: FakeBotApi, bot_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    person = server.user(7301, language_code="zh-hans")
    async with Bot(bot_settings.bot_token or "", base_url=server.base_url) as api:
        incoming = Update.de_json(
            {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": 7301, "type": "private"},
                    "from": {"id": 7301, "is_bot": False, "first_name": "张"},
                    "text": "/start",
                },
            },
            api,
        )
        await reply(incoming, "<b>张<三> & 李四")  # a value that skipped html_format
    shown = await person.expect_text("李四")
    assert shown.text == "张<三> & 李四"
    assert server.hub.stats.parse_errors  # refused first, then sent as plain text
    assert any(r.levelname == "ERROR" and "malformed" in r.getMessage() for r in caplog.records)
