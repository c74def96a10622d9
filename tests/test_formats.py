"""Periods, dates, punctuation and numbers as each language writes them (issue 11, 6/7/10).

The Translator helpers in all three languages, the pieces built on them (ranks with their
base, weights without trailing zeros, refusals that name a period), and the dates the bot
suggests, which never fall on a day off.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.jobs import run_reminders
from domain.numbers import plain_number
from domain.period import Period, parse_period
from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.container import Services
from infra.db import SessionFactory
from infra.i18n import Translator
from infra.models import Cycle, OutboxMessage, Staff, TelegramAccount
from services import cycles
from services.cycles import extended_deadline, suggested_deadlines
from services.errors import DomainError
from services.result_notices import rank_text
from services.workdays import PACKAGED
from tests.drivers import results as results_driver
from tests.drivers import templates
from tests.drivers.cli import EXAMPLES, jixiao
from tests.factories import bind, fill_all_forms, make_org, open_cycle
from tests.harness import InProcessBot

TZ = ZoneInfo("Asia/Shanghai")
DEADLINE = dt.datetime(2027, 1, 10, 23, 59, 59, tzinfo=TZ)  # a Sunday
TEMPLATE = (Path(__file__).resolve().parent.parent / "examples" / "template.toml").read_bytes()
CJK_PUNCTUATION = re.compile("[、：【】（），；。]")


@pytest.mark.parametrize(
    ("locale", "quarter", "year", "day", "moment"),
    [
        ("zh_Hans", "2026年第四季度", "2026年度", "2027年1月10日", "2027年1月10日（星期日）23:59"),
        ("zh_Hant", "2026年第四季度", "2026年度", "2027年1月10日", "2027年1月10日（星期日）23:59"),
        ("en", "Q4 2026", "2026 (annual)", "10 Jan 2027", "Sun 10 Jan 2027, 23:59"),
    ],
)
def test_periods_and_dates_one_way_per_language(
    locale: str, quarter: str, year: str, day: str, moment: str
) -> None:
    tr = Translator(locale, TZ)
    assert tr.period("2026Q4") == quarter
    assert tr.period(Period(2026, 4)) == quarter
    assert tr.period("2026") == year
    assert tr.period("not a period") == "not a period"  # shown as typed
    assert tr.date(dt.date(2027, 1, 10)) == day
    assert tr.date(DEADLINE.astimezone(dt.UTC)) == day  # the bureau's day, not UTC's
    assert tr.datetime(DEADLINE.astimezone(dt.UTC)) == moment


@pytest.mark.parametrize(
    ("locale", "joined", "label", "paren", "heading"),
    [
        ("zh_Hans", "自评、互评", "责任人：周杰", "城东所（城东窗口）", "【工作业绩】"),
        ("zh_Hant", "自评、互评", "责任人：周杰", "城东所（城东窗口）", "【工作业绩】"),
        ("en", "自评, 互评", "责任人: 周杰", "城东所 (城东窗口)", "[工作业绩] "),
    ],
)
def test_punctuation_follows_the_language(
    locale: str, joined: str, label: str, paren: str, heading: str
) -> None:
    tr = Translator(locale)
    assert tr.join(["自评", "互评"]) == joined
    assert tr.label("责任人", "周杰") == label
    assert "城东所" + tr.paren("城东窗口") == paren
    assert tr.heading("工作业绩") == heading


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant", "en"])
def test_weights_without_false_precision(locale: str) -> None:
    tr = Translator(locale)
    assert tr.percent(Decimal("60.00")) == "60%"
    assert tr.percent(Decimal("12.50")) == "12.5%"
    assert tr.percent(40) == "40%"
    assert [plain_number(v) for v in ("60.00", Decimal("12.50"), 40, "—")] == [
        "60",
        "12.5",
        "40",
        "—",
    ]


@pytest.mark.parametrize(
    ("locale", "rank"),
    [("zh_Hans", "第1名（共7人）"), ("zh_Hant", "第1名（共7人）"), ("en", "No. 1 of 7")],
)
def test_a_rank_carries_its_base(locale: str, rank: str) -> None:
    tr = Translator(locale)
    assert rank_text(tr, 1, 7) == rank
    assert rank_text(tr, 3, None) == "3"  # no base known: the bare rank, never "of 0"


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("zh_Hans", "2026年第四季度"),
        ("zh_Hant", "2026年第四季度"),
        ("en", "Q4 2026"),
    ],
)
def test_a_refusal_names_the_period_and_date_as_people_write_them(locale: str, text: str) -> None:
    tr = Translator(locale)
    refusal = DomainError("The cycle {period} already exists.", period="2026Q4")
    assert text in refusal.plain(tr) and "2026Q4" not in refusal.plain(tr)
    assert text in refusal.render(tr)
    dated = DomainError(
        "Line {line}: the date {date} is not in the future.", line=1, date=dt.date(2027, 1, 10)
    )
    assert tr.date(dt.date(2027, 1, 10)) in dated.plain(tr)


def test_suggested_deadlines_fall_on_working_days() -> None:
    # Q4 2026 ends on Thursday 31 Dec; ten days later is Sunday 10 Jan 2027
    offered = suggested_deadlines(Period(2026, 4), PACKAGED)
    assert offered[0] == dt.date(2027, 1, 11)
    assert all(PACKAGED.is_working_day(d) for d in offered) and offered == sorted(set(offered))
    # Saturday 10 Oct 2020 was a make-up working day (调休): the official calendar keeps it
    assert suggested_deadlines(Period(2020, 3), PACKAGED)[0] == dt.date(2020, 10, 10)


def test_a_holiday_rolls_forward_to_the_next_working_day() -> None:
    # 国庆 and 中秋 2025: 1–8 October off; Thursday 9 October is the next working day
    assert PACKAGED.next_working_day(dt.date(2025, 10, 1)) == dt.date(2025, 10, 9)
    assert PACKAGED.next_working_day(dt.date(2025, 10, 9)) == dt.date(2025, 10, 9)
    # extending a deadline by a week that lands in the holiday moves to its end
    later = extended_deadline(dt.datetime(2025, 9, 26, 23, 59, 59, tzinfo=TZ), 7, TZ, PACKAGED)
    assert later.astimezone(TZ) == dt.datetime(2025, 10, 9, 23, 59, 59, tzinfo=TZ)


# --- driving the real bot -------------------------------------------------------------------

ADMIN = 900001


async def _language(sessions: SessionFactory, telegram_id: int, language: str) -> None:
    async with sessions.begin() as s:
        account = await s.scalar(
            select(TelegramAccount).where(TelegramAccount.telegram_id == telegram_id)
        )
        assert account is not None
        account.language = language


async def test_cycle_open_notice_and_reminder_name_the_period_and_deadline(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory
) -> None:
    t0 = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    clock = [t0]
    deadline = dt.datetime(2026, 12, 11, 23, 59, 59, tzinfo=TZ)  # a Friday
    org = await make_org(sessions, people=2)
    await bind(sessions, 5601, org.staff_ids[0])
    await bind(sessions, 5602, org.staff_ids[1])
    await _language(sessions, 5602, "en")
    await open_cycle(sessions, now=t0, deadline=deadline.astimezone(dt.UTC))
    services = Services(settings=bot_settings, sessions=sessions, clock=lambda: clock[0])
    zh, en = server.user(5601), server.user(5602)
    running = InProcessBot(server, bot_settings, clock=lambda: clock[0])
    await running.start()
    try:
        opened = await zh.expect_text("2026年第四季度", timeout=120)
        assert "2026年12月11日（星期五）23:59" in (opened.text or "")
        opened_en = await en.expect_text("Q4 2026", timeout=120)
        assert "Fri 11 Dec 2026, 23:59" in (opened_en.text or "")
        clock[0] = (deadline - dt.timedelta(days=2, hours=12)).astimezone(dt.UTC)
        assert await run_reminders(services) == 2
        reminder = await zh.expect_text("提醒", timeout=120)
        reminder_en = await en.expect_text("Reminder", timeout=120)
    finally:
        await running.stop()
    for zh_text in (opened.text or "", reminder.text or ""):
        assert "2026Q4" not in zh_text and ": " not in zh_text
    assert "2026年第四季度" in (reminder.text or "")
    assert "2026年12月11日（星期五）23:59" in (reminder.text or "")
    for en_text in (opened_en.text or "", reminder_en.text or ""):
        assert "2026Q4" not in en_text and not CJK_PUNCTUATION.search(en_text)
    assert "Q4 2026" in (reminder_en.text or "")
    assert "Fri 11 Dec 2026, 23:59" in (reminder_en.text or "")


async def test_a_published_result_names_the_period_and_ranks_with_a_base(
    server: FakeBotApi, bot: object, sessions: SessionFactory
) -> None:
    org = await make_org(sessions, people=4)
    cycle_id = await open_cycle(sessions, peer_count=3)
    await fill_all_forms(sessions, cycle_id)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await cycles.close(s, cycle.period, now=dt.datetime.now(dt.UTC), actor=cycles.Actor("t"))
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
    assert chief is not None
    await bind(sessions, 5700, chief)
    await bind(sessions, 5701, org.staff_ids[0])
    await bind(sessions, 5702, org.staff_ids[1])
    await _language(sessions, 5702, "en")
    admin = server.user(ADMIN, language_code="zh-hans")
    await admin.send("/score 2026Q4")
    scored = await admin.expect_text("2026年第四季度")
    assert re.search(r"个人\d+、单位\d+", scored.text or ""), scored.text
    await results_driver.send_for_approval(admin, scored)
    leader = server.user(5700, language_code="zh-hans")
    request = await leader.expect_text("审定")
    assert "2026年第四季度" in (request.text or "") and "2026Q4" not in (request.text or "")
    await results_driver.approve(leader, request)
    zh, en = server.user(5701), server.user(5702)
    mine = await zh.expect_text("总分", timeout=120)
    theirs = await en.expect_text("Total", timeout=120)
    text, text_en = mine.text or "", theirs.text or ""
    assert "2026年第四季度" in text and "2026Q4" not in text
    assert re.search(r"单位内排名：第\d+名（共\d+人）\n", text), text
    assert re.search(r"（权重\d+%）", text) and ".00%" not in text, text  # 60%, not 60.00%
    assert re.search(r"\d+\.\d\d", text)  # scores to two places, as on the chart
    assert "Q4 2026" in text_en and re.search(r"No\. \d+ of \d+", text_en), text_en
    assert not CJK_PUNCTUATION.search(text_en), text_en
    async with sessions() as s:
        charts = await s.scalars(select(OutboxMessage).where(OutboxMessage.method == "sendPhoto"))
        titles = [m.payload["render"]["title"] for m in charts if "render" in m.payload]
    assert titles and all("2026Q4" not in t for t in titles)
    assert any("2026年第四季度" in t for t in titles) and any("Q4 2026" in t for t in titles)


async def test_a_suggested_deadline_on_a_day_off_rolls_forward(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory
) -> None:
    # 6 Dec 2026: the cycles offered are Q4 2026, Q1 2027 and the year 2026; Q4 ends on
    # Thursday 31 Dec, and ten days later is Sunday 10 Jan 2027, so Monday 11 Jan is offered
    clock = [dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC)]
    await make_org(sessions)
    admin = server.user(ADMIN, language_code="zh-hans")
    running = InProcessBot(server, bot_settings, clock=lambda: clock[0])
    await running.start()
    try:
        choose = await templates.send_template(admin, "template.toml", TEMPLATE)
        assert choose.button_texts()[:3] == ["2026年第四季度", "2027年第一季度", "2026年度"]
        assert "2026Q4" not in (choose.text or "")
        ask = await templates.choose_period(admin, choose)
        offered = templates.deadlines(ask)
        assert offered[0] == "2027-01-11"
        assert all(PACKAGED.is_working_day(dt.date.fromisoformat(d)) for d in offered)
        labels = ask.button_texts()
        assert labels[0] == "2027年1月11日" and "2027-01-11" not in labels
        confirm = await templates.choose_deadline(admin, ask)
    finally:
        await running.stop()
    assert "2027年1月11日（星期一）23:59" in (confirm.text or "")
    assert "2026年第四季度" in (confirm.text or "")


def test_periods_are_read_as_written() -> None:
    """What screens now write (2026年第四季度) is what commands take, besides the code."""
    for typed in ("2026Q4", "2026q4", "2026年第四季度", "2026年第4季度", "Q4 2026"):
        assert parse_period(typed) == Period(2026, 4), typed
    assert parse_period("2026年度") == Period(2026) and parse_period("第四季度") is None


async def test_a_deadline_typed_on_a_day_off_is_kept_but_said(db_url: str, tmp_path: Path) -> None:
    env = {"JIXIAO_DATABASE_URL": db_url, "JIXIAO_BOT_USERNAME": "jixiao_test_bot"}
    imported = await asyncio.to_thread(
        jixiao, "staff", "import", str(EXAMPLES / "staff.csv"), cwd=tmp_path, **env
    )
    assert imported.returncode == 0, imported.stderr
    opened = await asyncio.to_thread(
        jixiao,
        "cycle",
        "open",
        "2026Q4",
        "--template",
        str(EXAMPLES / "template.toml"),
        "--deadline",
        "2027-01-10",  # a Sunday
        cwd=tmp_path,
        LANG="zh_CN.UTF-8",
        **env,
    )
    assert opened.returncode == 0, opened.stderr
    assert "2027年1月10日（星期日）不是工作日" in opened.stderr, opened.stderr
    assert "2027年1月11日（星期一）" in opened.stderr
