"""回访 (issue 14, item 3): the number a web 差评 leaves for a return call is shown to the unit
head alone, in the item's view in the chat, and erased in the transaction that ends the item
— closed on the answer, closed by the citizen's rating, excluded after review, or upheld back
to closed. It never reaches the staff member rated, other staff, the working group, the
notices or the audit log."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import select

from domain.enums import RectificationOutcome, RectificationStatus, Role, Satisfaction
from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import AuditEntry, OutboxMessage, Staff, SurveyResponse
from infra.secret_store import with_survey_key
from services import rectification as rc
from services import rectification_view as rv
from services.access import Actor
from services.cases import Env
from services.surveys import respondent_key
from tests.drivers import rectification as rect_chat
from tests.factories import Org, bind, make_org
from tests.harness import InProcessBot
from tests.test_rectification import (
    ADMIN,
    CITIZEN,
    HEAD,
    MEMBER,
    RECORD_TEXT,
    bad_review,
    bind_en,
    item,
    open_item,
)

PHONE = "13912345678"
RATED = 6103  # the staff member the 差评 is about (make_org's first staff member)
IMMEDIATE = RectificationOutcome.IMMEDIATE


async def web_bad_review(
    sessions: SessionFactory, settings: Settings, org: Org, *, wants_reply: bool = True
) -> int:
    """A 差评 as the survey page stores it: channel web, with a number for the 回访."""
    response_id = await bad_review(sessions, settings, org, wants_reply=wants_reply)
    async with sessions.begin() as s:
        response = await s.get(SurveyResponse, response_id)
        assert response is not None
        response.channel, response.callback_phone = "web", PHONE
    return await open_item(sessions, settings, response_id)


async def phone_of(sessions: SessionFactory, rect_id: int) -> str | None:
    return (await item(sessions, rect_id))[1].callback_phone


async def nowhere_but_the_row(sessions: SessionFactory) -> None:
    """Neither the audit log nor any queued notice ever carries the number."""
    async with sessions() as s:
        for entry in await s.scalars(select(AuditEntry)):
            assert PHONE not in str(entry.detail) and PHONE not in entry.actor_label
        for row in await s.scalars(select(OutboxMessage)):
            assert PHONE not in str(row.payload)


async def test_the_head_alone_sees_the_number_and_it_is_gone_once_closed(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory, bot_settings: Settings
) -> None:
    org = await make_org(sessions)
    await bind_en(sessions, HEAD, org.head_id)
    await bind_en(sessions, MEMBER, org.staff_ids[1])
    await bind_en(sessions, RATED, org.staff_ids[0])
    rect_id = await web_bad_review(sessions, bot_settings, org, wants_reply=False)
    head = server.user(HEAD, language_code="en")
    notice = await head.expect_text(f"#{rect_id}", timeout=120)
    assert PHONE not in notice.text  # the notice is queued text: it never carries the number
    detail = await rect_chat.open_item(head, rect_id, notice)
    assert f"return call: {PHONE}" in detail.text

    for staff_id in (MEMBER, RATED):  # other staff, and the person rated, never see it
        user = server.user(staff_id, language_code="en")
        refused = await rect_chat.rectify(user)
        await rect_chat.refused(user, rect_chat.OPEN, rect_id, on=refused)
        assert all(PHONE not in (m.text or "") for m in user.messages)
        assert all(PHONE not in str(a.get("text")) for a in user.callback_answers)
    admin = server.user(ADMIN, language_code="en")  # the working group reads the item, not it
    listing = await rect_chat.rectify(admin)
    shown = await rect_chat.open_item(admin, rect_id, listing)
    assert "窗口中午没人" in shown.text and PHONE not in shown.text

    done = await rect_chat.answer(head, rect_id, detail, RECORD_TEXT, outcome="explained")
    assert PHONE not in done.text
    rect, response = await item(sessions, rect_id)
    assert rect.status == RectificationStatus.CLOSED and response.callback_phone is None
    again = await rect_chat.open_item(head, rect_id, notice)  # the closed item, read again
    assert "closed" in again.text and "return call" not in again.text
    await nowhere_but_the_row(sessions)


async def test_every_way_an_item_ends_erases_the_number(
    sessions: SessionFactory, settings: Settings
) -> None:
    """Rated by the citizen; excluded after review; upheld back to closed after a rating
    given while under review. A review request alone (still active) keeps it."""
    org = await make_org(sessions)
    await bind(sessions, HEAD, org.head_id)
    now = dt.datetime.now(dt.UTC)
    env = Env(admin_ids=frozenset({ADMIN}), tz=settings.tz)
    key = respondent_key(await with_survey_key(sessions, settings), CITIZEN)

    rated = await web_bad_review(sessions, settings, org)
    async with sessions.begin() as s:
        await rc.answer(
            s, rated, "记录", outcome=IMMEDIATE, reply="答复", staff_id=org.head_id, now=now, env=env
        )  # fmt: skip
    assert await phone_of(sessions, rated) == PHONE  # answered: waiting for the citizen
    async with sessions.begin() as s:
        await rc.rate(s, rated, Satisfaction.SATISFIED, respondent_key=key, now=now, env=env)
    assert (await item(sessions, rated))[0].status == RectificationStatus.CLOSED
    assert await phone_of(sessions, rated) is None

    excluded = await web_bad_review(sessions, settings, org)
    async with sessions.begin() as s:
        await rc.request_review(s, excluded, "不属本单位", staff_id=org.head_id, now=now, env=env)
    assert await phone_of(sessions, excluded) == PHONE  # under review: still active
    async with sessions.begin() as s:
        await rc.decide_review(
            s, excluded, "excluded", "评价对象有误", admin_telegram_id=ADMIN, now=now, env=env
        )
    assert (await item(sessions, excluded))[0].status == RectificationStatus.EXCLUDED
    assert await phone_of(sessions, excluded) is None

    upheld = await web_bad_review(sessions, settings, org)
    async with sessions.begin() as s:
        await rc.answer(
            s, upheld, "记录", outcome=IMMEDIATE, reply="答复", staff_id=org.head_id, now=now, env=env
        )  # fmt: skip
        await rc.request_review(s, upheld, "恶意差评", staff_id=org.head_id, now=now, env=env)
        await rc.rate(s, upheld, Satisfaction.DISSATISFIED, respondent_key=key, now=now, env=env)
    assert await phone_of(sessions, upheld) == PHONE  # rated while under review: still active
    async with sessions.begin() as s:
        await rc.decide_review(
            s, upheld, "upheld", "证据不足", admin_telegram_id=ADMIN, now=now, env=env
        )
    assert (await item(sessions, upheld))[0].status == RectificationStatus.CLOSED
    assert await phone_of(sessions, upheld) is None
    await nowhere_but_the_row(sessions)


@pytest.mark.nodb
def test_who_is_shown_the_number() -> None:
    """The unit's current head; not its staff, not the working group, not a chat without a
    binding; and not a head who is the person rated (they do not call their own critic)."""
    view = cast(Any, SimpleNamespace(head_staff_id=10, response=SimpleNamespace(staff_id=11)))
    head, member = Staff(id=10, unit_id=5), Staff(id=11, unit_id=5)
    assert rv.may_see_callback(view, Actor(1, head, headed_unit_ids=frozenset({5})))
    assert not rv.may_see_callback(view, Actor(2, member))
    assert not rv.may_see_callback(view, Actor(3, None, roles=frozenset({Role.ADMIN})))
    assert not rv.may_see_callback(view, None)
    rated_head = cast(Any, SimpleNamespace(head_staff_id=10, response=SimpleNamespace(staff_id=10)))
    assert not rv.may_see_callback(rated_head, Actor(1, head, headed_unit_ids=frozenset({5})))
    headless = cast(Any, SimpleNamespace(head_staff_id=None, response=SimpleNamespace(staff_id=11)))
    assert not rv.may_see_callback(headless, Actor(1, head))
