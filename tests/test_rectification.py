"""整改: a citizen's bad review goes to the unit head, who answers in time; the citizen rates
the handling; 申诉复核 by the working group; overdue reminders; official working days."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.jobs import run_rectification_reminders
from domain.enums import (
    RectificationOutcome,
    RectificationStatus,
    ResponseStatus,
    Role,
    Satisfaction,
)
from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.container import Services
from infra.db import SessionFactory
from infra.models import (
    AuditEntry,
    OutboxMessage,
    Rectification,
    RoleGrant,
    SurveyAnswer,
    SurveyLink,
    SurveyResponse,
    TelegramAccount,
)
from infra.secret_store import with_survey_key
from services import rectification as rc
from services import rectification_view as rv
from services import survey_links
from services.cases import Env
from services.errors import DomainError
from services.surveys import respondent_key
from services.workdays import PACKAGED, Source
from tests.drivers import rectification as rect_chat
from tests.factories import Org, bind, make_org
from tests.forms_driver import data_of
from tests.harness import InProcessBot

SHANGHAI = ZoneInfo("Asia/Shanghai")
IMMEDIATE = RectificationOutcome.IMMEDIATE
HEAD, MEMBER, CITIZEN, STRANGER, ADMIN = 6101, 6102, 6201, 6202, 900001
CITIZEN_NAME, CITIZEN_USERNAME = "赵小明", "zxm_citizen"
ANSWER_TEXT = "已约谈窗口工作人员，调整了午间值班安排。"
RECORD_TEXT = "12月7日约谈当班人员王某，午间增设一人值守，列入整改台账，月底复查。"


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


# --- working days --------------------------------------------------------------------


def test_the_package_knows_the_2025_national_day_make_up_sundays() -> None:
    assert PACKAGED.is_working_day(dt.date(2025, 9, 28))  # Sunday, 调休 working day
    assert PACKAGED.is_working_day(dt.date(2025, 10, 11))  # Saturday, 调休 working day
    assert not PACKAGED.is_working_day(dt.date(2025, 9, 27))  # plain Saturday
    assert not any(PACKAGED.is_working_day(dt.date(2025, 10, d)) for d in range(1, 9))  # 国庆+中秋


@pytest.mark.parametrize(
    ("days", "due"),
    [
        (0, dt.date(2025, 9, 26)),
        (1, dt.date(2025, 9, 28)),  # Saturday off, Sunday worked
        (2, dt.date(2025, 9, 29)),
        (3, dt.date(2025, 9, 30)),
        (4, dt.date(2025, 10, 9)),  # 1–8 October off
        (5, dt.date(2025, 10, 10)),
        (6, dt.date(2025, 10, 11)),  # Saturday worked
        (7, dt.date(2025, 10, 13)),
        (15, dt.date(2025, 10, 23)),
    ],
)
def test_working_days_over_national_day_2025(days: int, due: dt.date) -> None:
    start = local(2025, 9, 26, 10)  # a Friday morning
    end = PACKAGED.add_working_days(start, days, SHANGHAI)
    assert end.tzinfo is not None and end.utcoffset() == dt.timedelta(0)
    assert end == dt.datetime.combine(due, dt.time(23, 59, 59), tzinfo=SHANGHAI)
    assert end.astimezone(SHANGHAI).date() == due


def test_the_local_date_counts_not_the_utc_one() -> None:
    # 17:30 UTC on 30 September is already 1 October in Shanghai: the count starts there.
    start = dt.datetime(2025, 9, 30, 17, 30, tzinfo=dt.UTC)
    assert PACKAGED.add_working_days(start, 1, SHANGHAI).astimezone(SHANGHAI).date() == dt.date(
        2025, 10, 9
    )
    end = PACKAGED.add_working_days(start, 1, SHANGHAI)
    assert end == dt.datetime(2025, 10, 9, 15, 59, 59, tzinfo=dt.UTC)


def test_years_the_packages_do_not_cover_are_estimated_by_the_statutory_holidays() -> None:
    assert PACKAGED.source(2035) is Source.ESTIMATE  # no schedule published for 2035
    assert not PACKAGED.is_working_day(dt.date(2035, 10, 1))  # a Monday, but 国庆 by statute
    assert PACKAGED.is_working_day(dt.date(2035, 10, 4))  # Thursday: no 调休 is guessed
    assert not PACKAGED.is_working_day(dt.date(2035, 10, 6))  # Saturday
    assert PACKAGED.nth_working_day_after(dt.date(2035, 10, 5), 1) == dt.date(
        2035, 10, 8
    )  # Fri → Mon
    with pytest.raises(ValueError):
        PACKAGED.add_working_days(dt.datetime(2025, 9, 26, 10), 1, SHANGHAI)  # naive
    with pytest.raises(ValueError):
        PACKAGED.nth_working_day_after(dt.date(2025, 9, 26), -1)


# --- helpers ---------------------------------------------------------------------------


async def bad_review(
    sessions: SessionFactory,
    settings: Settings,
    org: Org,
    *,
    citizen: int = CITIZEN,
    completed_at: dt.datetime | None = None,
    wants_reply: bool = True,
    locale: str = "zh_Hans",
) -> int:
    """A completed 差评 about the unit's first staff member, as the survey would store it."""
    completed_at = completed_at or dt.datetime.now(dt.UTC)
    keyed = await with_survey_key(sessions, settings)  # the key the bot will load too
    async with sessions.begin() as s:
        link = SurveyLink(
            token_hash=secrets.token_hex(32),
            unit_id=org.unit_id,
            staff_id=org.staff_ids[0],
            single_use=True,
            created_at=completed_at,
        )
        s.add(link)
        await s.flush()
        key = respondent_key(keyed, citizen)
        link.claimed_by, link.claimed_at = key, completed_at
        response = SurveyResponse(
            link_id=link.id,
            unit_id=org.unit_id,
            staff_id=org.staff_ids[0],
            target_key=f"s:{org.staff_ids[0]}",
            respondent_key=key,
            dedupe_key=f"link:{link.id}",
            day=completed_at.astimezone(SHANGHAI).date(),
            locale=locale,
            status=ResponseStatus.COMPLETE,
            cursor="done",
            overall=Satisfaction.VERY_DISSATISFIED,
            comment="窗口中午没人，等了一个多小时。",
            problems=[0, 2],
            problem_text="电话也打不通",
            wants_reply=wants_reply,
            reply_chat_id=citizen if wants_reply else None,
            started_at=completed_at - dt.timedelta(minutes=3),
            completed_at=completed_at,
        )
        s.add(response)
        await s.flush()
        for code, indicator, level, points in (
            ("Q1", "T05", Satisfaction.DISSATISFIED, 40),
            ("Q2", "T05", Satisfaction.VERY_DISSATISFIED, 20),
            ("Q3", "P03", Satisfaction.BASIC, 60),
        ):
            s.add(
                SurveyAnswer(
                    response_id=response.id,
                    question=code,
                    indicator=indicator,
                    level=level,
                    points=Decimal(points),
                    answered_at=completed_at,
                )
            )
        return response.id


async def open_item(
    sessions: SessionFactory,
    settings: Settings,
    response_id: int,
    *,
    now: dt.datetime | None = None,
    working_days: int = 15,
) -> int:
    async with sessions.begin() as s:
        response = await s.get(SurveyResponse, response_id)
        assert response is not None
        rect = await rc.open_for_response(
            s,
            response,
            now=now or dt.datetime.now(dt.UTC),
            working_days=working_days,
            env=Env.of(settings),
        )
        return rect.id


async def bind_en(sessions: SessionFactory, telegram_id: int, staff_id: int) -> None:
    await bind(sessions, telegram_id, staff_id)
    async with sessions.begin() as s:
        account = await s.get(TelegramAccount, telegram_id)
        assert account is not None
        account.language = "en"


async def audits(sessions: SessionFactory, action: str) -> list[AuditEntry]:
    async with sessions() as s:
        return list(
            await s.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


async def item(sessions: SessionFactory, rect_id: int) -> tuple[Rectification, SurveyResponse]:
    async with sessions() as s:
        rect = await s.get(Rectification, rect_id)
        assert rect is not None
        response = await s.get(SurveyResponse, rect.response_id)
        assert response is not None
        return rect, response


# --- the whole path ----------------------------------------------------------------------


async def test_bad_review_answered_by_the_head_and_rated_by_the_citizen(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory, bot_settings: Settings
) -> None:
    org = await make_org(sessions)
    await bind_en(sessions, HEAD, org.head_id)
    head = server.user(HEAD, first_name="李明", language_code="en")
    citizen = server.user(
        CITIZEN, first_name=CITIZEN_NAME, username=CITIZEN_USERNAME, language_code="zh-hans"
    )
    response_id = await bad_review(sessions, bot_settings, org)
    # the respondent key is the survey's keyed hash of the Telegram id
    key = (await with_survey_key(sessions, bot_settings)).hmac_key
    async with sessions() as s:
        response = await s.get(SurveyResponse, response_id)
        assert response is not None
        assert (
            response.respondent_key
            == hmac.new(key, str(CITIZEN).encode(), hashlib.sha256).hexdigest()
        )
    rect_id = await open_item(sessions, bot_settings, response_id)
    assert await open_item(sessions, bot_settings, response_id) == rect_id  # idempotent
    async with sessions() as s:
        assert (
            await s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.dedupe_key.like(f"rect-open:{rect_id}:%"))
            )
            == 1
        )

    notice = await head.expect_text(f"#{rect_id}", timeout=120)
    assert "New negative rating to rectify" in notice.text
    assert notice.button_data() == [rect_chat.OPEN.data(rect_id)]
    detail = await rect_chat.open_item(head, rect_id, notice)
    assert "窗口中午没人" in detail.text
    for secret in (str(CITIZEN), CITIZEN_NAME, CITIZEN_USERNAME):
        assert secret not in detail.text  # never who the citizen is
    assert "应急指挥中心" in detail.text and "张伟" in detail.text
    assert "Long wait, Slow handling" in detail.text  # the template's list, in English
    assert "电话也打不通" in detail.text
    assert "asked for a reply" in detail.text
    assert rect_chat.has(detail, rect_chat.ANSWER, rect_id)
    assert rect_chat.has(detail, rect_chat.REVIEW, rect_id)

    # two texts kept apart: the record (internal), then the reply the citizen reads
    await rect_chat.start_answer(head, rect_id, detail, outcome="deadline")
    await head.send(" ")  # empty after trimming: asked again, nothing saved
    await head.expect_text("empty")
    await head.send(RECORD_TEXT)
    await head.expect_text("Now please write the reply to the citizen")
    rect, _ = await item(sessions, rect_id)
    assert rect.status == RectificationStatus.OPEN and rect.answer is None  # nothing yet
    await head.send(ANSWER_TEXT)
    await head.expect_text("Saved. Your reply was sent")
    rect, response = await item(sessions, rect_id)
    assert rect.status == RectificationStatus.ANSWERED
    assert rect.answer == RECORD_TEXT and rect.reply == ANSWER_TEXT
    assert rect.outcome == RectificationOutcome.DEADLINE
    assert rect.answered_by_staff_id == org.head_id
    assert response.reply_chat_id is None  # the raw id is erased once the reply is queued
    async with sessions() as s:
        queued = await s.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == f"rect-reply:{rect_id}")
        )
        assert queued is not None and queued.erase_chat_id  # forgets the chat once sent
        assert queued.chat_id in (CITIZEN, None)  # (the sender may have been quicker)

    reply = await citizen.expect_text(ANSWER_TEXT, timeout=120)
    assert "应急指挥中心" in reply.text and f"编号：{rect_id}" in reply.text
    assert "处理方式：限期整改" in reply.text and RECORD_TEXT not in reply.text
    assert reply.button_data() == rect_chat.rating_buttons(rect_id)
    await head.send("/rectify")
    listing = await head.expect_text("Negative ratings to rectify")
    shown = await rect_chat.open_item(head, rect_id, listing)
    assert "Outcome: Put right by a deadline" in shown.text
    assert f"What was done: {RECORD_TEXT}" in shown.text
    assert f"Reply to the citizen: {ANSWER_TEXT}" in shown.text


async def test_no_reply_wanted_only_the_record_is_asked_with_the_outcome(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory, bot_settings: Settings
) -> None:
    """解释说明, and no reply asked for: the record alone closes the item; nothing is sent."""
    org = await make_org(sessions)
    await bind_en(sessions, HEAD, org.head_id)
    head = server.user(HEAD, language_code="en")
    citizen = server.user(CITIZEN, language_code="zh-hans")
    response_id = await bad_review(sessions, bot_settings, org, wants_reply=False)
    rect_id = await open_item(sessions, bot_settings, response_id)
    notice = await head.expect_text(f"#{rect_id}", timeout=120)
    detail = await rect_chat.open_item(head, rect_id, notice)
    done = await rect_chat.answer(head, rect_id, detail, RECORD_TEXT, outcome="explained")
    assert "did not ask for a reply" in done.text
    rect, _ = await item(sessions, rect_id)
    assert rect.status == RectificationStatus.CLOSED and rect.answer == RECORD_TEXT
    assert rect.outcome == RectificationOutcome.EXPLAINED and rect.reply is None
    assert citizen.messages == []  # the citizen hears nothing they did not ask for


async def test_the_citizen_rates_the_handling_once_by_pseudonym(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory, bot_settings: Settings
) -> None:
    org = await make_org(sessions)
    await bind_en(sessions, HEAD, org.head_id)
    head = server.user(HEAD, language_code="en")
    citizen = server.user(CITIZEN, language_code="zh-hans")
    rect_id = await open_item(sessions, bot_settings, await bad_review(sessions, bot_settings, org))
    async with sessions.begin() as s:
        await rc.answer(
            s, rect_id, "记录：" + ANSWER_TEXT, outcome=IMMEDIATE, reply=ANSWER_TEXT,
            staff_id=org.head_id, now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
    reply = await citizen.expect_text(ANSWER_TEXT, timeout=120)
    stranger = server.user(STRANGER, language_code="zh-hans")
    await stranger.send("/start")
    own = await stranger.expect()
    await rect_chat.refused(stranger, rect_chat.RATE, rect_id, "d", on=own)  # not theirs
    assert (await item(sessions, rect_id))[0].status == RectificationStatus.ANSWERED
    denied = await audits(sessions, "access.denied")
    assert denied and denied[-1].actor_telegram_id is None  # a citizen: by pseudonym only
    assert denied[-1].actor_label.startswith("citizen:")

    await rect_chat.rate(citizen, rect_id, reply, "s")
    await citizen.expect()
    rect, _ = await item(sessions, rect_id)
    assert rect.status == RectificationStatus.CLOSED
    assert rect.citizen_rating == Satisfaction.SATISFIED.value
    await rect_chat.refused(citizen, rect_chat.RATE, rect_id, "d", on=reply)  # once only
    assert (await item(sessions, rect_id))[0].citizen_rating == Satisfaction.SATISFIED.value
    rated = await head.expect_text("The citizen rated", timeout=120)
    assert f"#{rect_id}" in rated.text
    entries = await audits(sessions, "rectification.rate")
    assert [e.actor_label for e in entries] == ["citizen"]
    for entry in entries:
        assert entry.actor_telegram_id is None and str(CITIZEN) not in str(entry.detail)
    async with sessions() as s:  # the sent reply's row forgot the citizen's chat too
        rows = await s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == CITIZEN))
        assert list(rows) == []


async def test_buttons_of_the_old_format_still_open_and_rate_the_rest_are_expired(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory, bot_settings: Settings
) -> None:
    """Notices sent before the codec carry ``rc1:o:<id>`` (open) and ``rc1:r:<id>:<s|b|d>``
    (the citizen's rating): those still work; any other old single letter changes nothing."""
    org = await make_org(sessions)
    await bind_en(sessions, HEAD, org.head_id)
    head = server.user(HEAD, language_code="en")
    rect_id = await open_item(sessions, bot_settings, await bad_review(sessions, bot_settings, org))
    notice = await head.expect_text(f"#{rect_id}", timeout=120)
    await head.press(f"rc1:o:{rect_id}", notice)
    await head.expect_text(f"#{rect_id}")
    for old in (f"rc1:a:{rect_id}", f"rc1:q:{rect_id}"):
        before = len(head.callback_answers)
        await head.press(old, notice)
        await head.wait_until(lambda n=before: len(head.callback_answers) > n)
        assert "expired" in head.callback_answers[-1]["text"]
    rect, _ = await item(sessions, rect_id)
    assert rect.status == RectificationStatus.OPEN and rect.citizen_rating is None


async def test_only_the_unit_head_may_answer(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory, bot_settings: Settings
) -> None:
    org = await make_org(sessions)
    await bind_en(sessions, HEAD, org.head_id)
    await bind_en(sessions, MEMBER, org.staff_ids[1])
    rect_id = await open_item(sessions, bot_settings, await bad_review(sessions, bot_settings, org))
    member = server.user(MEMBER, language_code="en")
    refused = await rect_chat.rectify(member)
    assert "unit heads" in refused.text
    forged = await rect_chat.refused(member, rect_chat.ANSWER, rect_id, on=refused)
    assert "not for you" in forged  # someone else's unit
    await rect_chat.refused(member, rect_chat.OPEN, rect_id, on=refused)
    await rect_chat.refused(member, rect_chat.OPEN, 999999, on=refused)  # no such item
    denied = await audits(sessions, "access.denied")
    assert [(d.actor_telegram_id, d.object_type, d.object_id) for d in denied] == [
        (MEMBER, "rectification", str(rect_id)),
        (MEMBER, "rectification", str(rect_id)),
        (MEMBER, "rectification", "999999"),
    ]
    await member.send("we fixed it")  # not in a text step: nothing is saved
    await member.expect()
    async with sessions.begin() as s:
        with pytest.raises(rc.Refused):
            await rc.answer(
                s, rect_id, "x", outcome=IMMEDIATE, reply="x", staff_id=org.staff_ids[1],
                now=dt.datetime.now(dt.UTC),
            )  # fmt: skip
    rect, response = await item(sessions, rect_id)
    assert rect.status == RectificationStatus.OPEN and rect.answer is None
    assert response.reply_chat_id == CITIZEN

    # the working group sees every unit's items, read-only
    admin = server.user(ADMIN, language_code="en")
    listing = await rect_chat.rectify(admin)
    assert f"#{rect_id}" in listing.text
    view = await rect_chat.open_item(admin, rect_id, listing)
    assert "窗口中午没人" in view.text
    assert not rect_chat.has(view, rect_chat.ANSWER, rect_id)


async def test_review_request_and_exclusion_across_a_restart(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    await bind_en(sessions, HEAD, org.head_id)
    rect_id = await open_item(sessions, bot_settings, await bad_review(sessions, bot_settings, org))
    head = server.user(HEAD, language_code="en")
    admin = server.user(ADMIN, language_code="en")
    running = InProcessBot(server, bot_settings)
    await running.start()
    try:
        notice = await head.expect_text(f"#{rect_id}", timeout=120)
        await rect_chat.start_review_request(head, rect_id, notice)
    finally:
        await running.stop()
    running = InProcessBot(server, bot_settings)  # the text step survives a restart
    await running.start()
    try:
        await head.send("该评价人反映的是隔壁政务大厅的问题，不属于本单位。")
        await head.expect_text("Sent to the working group")
        rect, _ = await item(sessions, rect_id)
        assert rect.status == RectificationStatus.UNDER_REVIEW

        request = await admin.expect_text(f"#{rect_id}", timeout=120)
        assert "隔壁政务大厅" in request.text
        assert rect_chat.has(request, rect_chat.UPHOLD, rect_id)
        assert rect_chat.has(request, rect_chat.EXCLUDE, rect_id)
        own = await rect_chat.rectify(head)  # the head cannot decide their own request
        await rect_chat.refused(head, rect_chat.EXCLUDE, rect_id, on=own)

        reviews = await rect_chat.reviews(admin)
        assert f"#{rect_id}" in reviews.text
        await rect_chat.start_decision(admin, rect_id, reviews, exclude=True)
        await admin.send("   ")
        await admin.expect_text("empty")  # the reason is required
        await admin.send("经核实，评价对象有误，予以剔除。")
        await admin.expect_text("Excluded")
        rect, response = await item(sessions, rect_id)
        assert rect.status == RectificationStatus.EXCLUDED and response.excluded is True
        assert rect.review_decision == "excluded" and rect.reviewed_by == ADMIN
        (entry,) = await audits(sessions, "rectification.review_decide")
        assert entry.actor_telegram_id == ADMIN
        assert entry.detail["old"] == "under_review" and entry.detail["new"] == "excluded"
        assert entry.detail["note"] == "经核实，评价对象有误，予以剔除。"
        decided = await head.expect_text("excluded", timeout=120)
        assert f"#{rect_id}" in decided.text
        stale = await rect_chat.refused(admin, rect_chat.UPHOLD, rect_id, on=reviews)
        assert "already been decided" in stale  # decided already: a stale button
    finally:
        await running.stop()


async def test_upheld_returns_the_item_to_the_unit(
    sessions: SessionFactory, settings: Settings
) -> None:
    org = await make_org(sessions)
    await bind_en(sessions, HEAD, org.head_id)
    now, env = dt.datetime.now(dt.UTC), Env.of(settings)
    rect_id = await open_item(sessions, settings, await bad_review(sessions, settings, org))
    async with sessions.begin() as s:
        await rc.request_review(s, rect_id, "恶意差评", staff_id=org.head_id, now=now, env=env)
        with pytest.raises(rc.Refused):  # a unit head is not the working group
            await rc.decide_review(
                s, rect_id, "upheld", "x", admin_telegram_id=HEAD, now=now, env=env
            )
        with pytest.raises(DomainError):
            await rc.answer(
                s, rect_id, "done", outcome=IMMEDIATE, reply="done", staff_id=org.head_id, now=now
            )
        await rc.decide_review(
            s,
            rect_id,
            "upheld",
            "证据不足",
            admin_telegram_id=ADMIN,
            now=now,
            env=Env(admin_ids=frozenset({ADMIN}), tz=settings.tz),
        )
    rect, response = await item(sessions, rect_id)
    assert rect.status == RectificationStatus.OPEN and response.excluded is False
    async with sessions.begin() as s:
        with pytest.raises(DomainError):  # once per item
            await rc.request_review(s, rect_id, "再次申请", staff_id=org.head_id, now=now, env=env)


async def test_overdue_reminder_once_across_two_job_runs(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory, bot_settings: Settings
) -> None:
    org = await make_org(sessions)
    await bind_en(sessions, HEAD, org.head_id)
    friday = dt.datetime(2025, 9, 26, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    response_id = await bad_review(sessions, bot_settings, org, completed_at=friday)
    rect_id = await open_item(sessions, bot_settings, response_id, now=friday, working_days=1)
    rect, _ = await item(sessions, rect_id)
    assert rect.deadline == dt.datetime(2025, 9, 28, 15, 59, 59, tzinfo=dt.UTC)  # 调休 Sunday
    clock = [dt.datetime(2025, 9, 28, 15, 0, tzinfo=dt.UTC)]
    services = Services(settings=bot_settings, sessions=sessions, clock=lambda: clock[0])
    assert await run_rectification_reminders(services) == 0  # not yet due
    clock[0] = dt.datetime(2025, 9, 29, 1, 0, tzinfo=dt.UTC)
    assert await run_rectification_reminders(services) == 1
    assert await run_rectification_reminders(services) == 0  # once only
    head = server.user(HEAD, language_code="en")

    def overdue() -> list[str]:
        return [m.text for m in server.sent_messages(HEAD) if "Overdue" in (m.text or "")]

    await head.wait_until(lambda: len(overdue()) == 1, timeout=120)
    assert f"#{rect_id}" in overdue()[0]
    rect, _ = await item(sessions, rect_id)
    assert rect.overdue_notified_at == clock[0]
    async with sessions() as s:
        assert [r.id for r in await rv.overdue(s, clock[0])] == [rect_id]


async def test_deadline_counts_official_working_days_over_a_holiday(
    sessions: SessionFactory, settings: Settings
) -> None:
    org = await make_org(sessions)
    received = dt.datetime(2025, 9, 30, 3, 0, tzinfo=dt.UTC)  # Tuesday before 国庆
    response_id = await bad_review(sessions, settings, org, completed_at=received)
    rect_id = await open_item(sessions, settings, response_id, now=received)
    rect, _ = await item(sessions, rect_id)
    # 15 working days from 1 October: 9,10,11(Sat, worked),13–17,20–24,27,28 October
    assert rect.deadline == dt.datetime(2025, 10, 28, 15, 59, 59, tzinfo=dt.UTC)
    assert rect.deadline.astimezone(SHANGHAI) == local(2025, 10, 28, 23, 59).replace(second=59)
    async with sessions.begin() as s:  # no bound head: the working group is told instead
        rows = list(
            await s.scalars(
                select(OutboxMessage).where(OutboxMessage.dedupe_key.like("rect-open:%"))
            )
        )
    assert [r.chat_id for r in rows] == [ADMIN]


async def test_no_reply_wanted_closes_on_answer(
    sessions: SessionFactory, settings: Settings
) -> None:
    org = await make_org(sessions)
    response_id = await bad_review(sessions, settings, org, wants_reply=False)
    rect_id = await open_item(sessions, settings, response_id)
    now = dt.datetime.now(dt.UTC)
    async with sessions.begin() as s:
        with pytest.raises(DomainError):
            await rc.answer(
                s, rect_id, "x" * 1001, outcome=IMMEDIATE, staff_id=org.head_id, now=now
            )
        rect = await rc.answer(
            s, rect_id, "已整改", outcome=IMMEDIATE, staff_id=org.head_id, now=now
        )
        assert rect.status == RectificationStatus.CLOSED
    stranger = respondent_key(await with_survey_key(sessions, settings), STRANGER)
    async with sessions.begin() as s:
        with pytest.raises(rc.Refused):
            await rc.rate(
                s,
                rect_id,
                "satisfied",
                respondent_key=stranger,
                now=now,
                env=Env.of(settings),
            )


async def test_a_review_request_is_never_decided_by_the_unit_that_asked_for_it(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory, bot_settings: Settings
) -> None:
    """申诉复核 has a conflict check, as appeals do: the unit's head and members stand aside."""
    admin = server.user(ADMIN, language_code="en")  # someone outside the unit decides
    org = await make_org(sessions)
    await bind_en(sessions, HEAD, org.head_id)
    await bind_en(sessions, MEMBER, org.staff_ids[1])
    async with sessions.begin() as s:  # the head and a colleague both sit in the working group
        s.add_all(
            [
                RoleGrant(staff_id=org.head_id, role=Role.ADMIN),
                RoleGrant(staff_id=org.staff_ids[1], role=Role.ADMIN),
            ]
        )
    rect_id = await open_item(sessions, bot_settings, await bad_review(sessions, bot_settings, org))
    now = dt.datetime.now(dt.UTC)
    async with sessions.begin() as s:
        await rc.request_review(
            s, rect_id, "恶意差评", staff_id=org.head_id, now=now, env=Env(frozenset({ADMIN}))
        )
    async with sessions() as s:
        told = set(
            await s.scalars(
                select(OutboxMessage.chat_id).where(
                    OutboxMessage.dedupe_key.like(f"rect-review:{rect_id}:%")
                )
            )
        )
    assert told == {ADMIN}  # the unit's own members are not asked to judge it
    await admin.expect_text(f"复核申请 · #{rect_id}", timeout=120)  # taken before deciding

    member = server.user(MEMBER, language_code="en")
    listing = await rect_chat.reviews(member)
    assert f"#{rect_id}" in listing.text
    assert not rect_chat.has(listing, rect_chat.EXCLUDE, rect_id)
    forged = await rect_chat.refused(member, rect_chat.EXCLUDE, rect_id, on=listing)
    assert "your own unit" in forged  # forged from an older keyboard
    (denied,) = await audits(sessions, "access.denied")
    assert denied.actor_telegram_id == MEMBER and denied.object_id == str(rect_id)
    for telegram_id in (HEAD, MEMBER):
        async with sessions.begin() as s:
            with pytest.raises(rc.Refused):
                await rc.decide_review(
                    s,
                    rect_id,
                    "excluded",
                    "剔除",
                    admin_telegram_id=telegram_id,
                    now=now,
                    env=Env(tz=bot_settings.tz),
                )
    rect, response = await item(sessions, rect_id)
    assert rect.status == RectificationStatus.UNDER_REVIEW and response.excluded is False

    reviews = await rect_chat.reviews(admin)
    done = await rect_chat.decide(admin, rect_id, reviews, exclude=True, note="经核实，予以剔除。")
    assert "Excluded" in done.text
    rect, response = await item(sessions, rect_id)
    assert rect.status == RectificationStatus.EXCLUDED and response.excluded is True


async def test_rotating_the_bot_token_changes_nothing_for_citizens(
    server: FakeBotApi, sessions: SessionFactory, bot_settings: Settings
) -> None:
    """The respondent key is its own secret: a rotated token keeps every pending citizen
    button working, and a token holder cannot recompute anyone's pseudonym."""
    org = await make_org(sessions)
    await bind_en(sessions, HEAD, org.head_id)
    async with sessions.begin() as s:
        issued = await survey_links.create_links(
            s,
            unit_name="应急指挥中心",
            staff_employee_no=None,
            count=2,
            single_use=True,
            actor_label="test",
            now=dt.datetime.now(dt.UTC),
        )
    complaint, halfway = (str(i.payload) for i in issued)
    citizen = server.user(CITIZEN, language_code="zh-hans")
    other = server.user(STRANGER, language_code="zh-hans")
    old_token = bot_settings.bot_token or ""
    running = InProcessBot(server, bot_settings)
    await running.start()
    try:
        await citizen.send(f"/start {complaint}")
        msg = await citizen.expect()
        while data_of(msg, "sv1:a:"):
            await citizen.press(data_of(msg, "sv1:a:")[4], msg)  # 非常不满意
            msg = await citizen.expect()
        await citizen.send("窗口无人")  # the reason, at the tags
        ask = await citizen.expect()
        await citizen.press(data_of(ask, "sv1:r:")[0], ask)  # yes, reply to me
        await citizen.expect_text("转交")
        await other.send(f"/start {halfway}")  # a second citizen stops after one question
        first = await other.expect()
        await other.press(data_of(first, "sv1:a:")[0], first)
        second = await other.expect()
        async with sessions.begin() as s:
            rect_id = int(await s.scalar(select(Rectification.id)) or 0)
            await rc.answer(
                s, rect_id, "记录", outcome=IMMEDIATE, reply=ANSWER_TEXT, staff_id=org.head_id,
                now=dt.datetime.now(dt.UTC),
            )  # fmt: skip
        reply = await citizen.expect_text(ANSWER_TEXT, timeout=120)
    finally:
        await running.stop()

    new_token = old_token.split(":")[0] + ":ROTATED-token"
    server.revoke_token(old_token, new_token)  # the operator rotates the token
    rotated = InProcessBot(server, bot_settings.model_copy(update={"bot_token": new_token}))
    await rotated.start()
    try:
        await other.press(data_of(second, "sv1:a:")[0], second)  # carries on where they were
        third = await other.expect()
        assert "3/4" in third.text and data_of(third, "sv1:a:")
        await rect_chat.rate(citizen, rect_id, reply, "s")
        await citizen.expect()  # thanked for the rating
    finally:
        await rotated.stop()
    rect, response = await item(sessions, rect_id)
    assert rect.status == RectificationStatus.CLOSED
    assert rect.citizen_rating == Satisfaction.SATISFIED.value
    for token in (old_token, new_token):  # whoever holds a token learns nothing from it
        derived = hmac.new(f"jixiao:{token}".encode(), str(CITIZEN).encode(), hashlib.sha256)
        assert response.respondent_key != derived.hexdigest()
