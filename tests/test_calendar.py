"""The bureau's calendar beyond the packages' data: deadlines in 2027 keep 春节 out, the
working group loads the State Council's notice, and the admins are told once per year."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from sqlalchemy import func, select

from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import AuditEntry, Cycle, OutboxMessage
from services import official_calendar
from services.calendar_notice import CalendarFileInvalid, parse_notice
from services.calendar_view import year_view
from services.workdays import PACKAGED, Source, WorkCalendar
from tests.drivers import cycle_admin
from tests.factories import make_org, open_cycle

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
EXAMPLE = ROOT / "examples" / "calendar-2026.toml"

# A 2027 notice as the working group would type it (the dates are this test's, not the
# State Council's): 春节 from 除夕, Friday 5 February, to Saturday 13 February, with
# Saturday 20 February worked instead.
NOTICE_2027 = """
year = 2027
notice = "国务院办公厅通知"

[[holiday]]
name = "春节"
from = 2027-02-05
to = 2027-02-13
workdays = [2027-02-20]
""".encode()


def _january_20(cal: WorkCalendar) -> dt.date:
    """The due day of a 15-working-day rectification opened on Wednesday 20 January 2027."""
    start = dt.datetime(2027, 1, 20, 10, 0, tzinfo=TZ)
    return cal.add_working_days(start, 15, TZ).astimezone(TZ).date()


@pytest.mark.nodb
def test_fifteen_working_days_from_20_january_2027_skip_the_spring_festival() -> None:
    # Monday to Friday would give Wednesday 10 February, in the middle of 春节
    assert PACKAGED.source(2027) is Source.ESTIMATE and not PACKAGED.is_official(2027)
    assert _january_20(PACKAGED) == dt.date(2027, 2, 16)  # 5–10 Feb off, by the statutory rule
    notice = parse_notice(NOTICE_2027)
    loaded = WorkCalendar(notice.days(), frozenset({2027}))
    assert loaded.source(2027) is Source.NOTICE
    assert _january_20(loaded) == dt.date(2027, 2, 18)  # 5–14 Feb off as the notice says
    assert loaded.is_working_day(dt.date(2027, 2, 20))  # its Saturday of 调休
    assert not loaded.is_working_day(dt.date(2027, 2, 9))


@pytest.mark.nodb
def test_the_packages_agree_and_the_example_file_matches_them() -> None:
    days = [dt.date(2004, 1, 1) + dt.timedelta(days=n) for n in range(8401)]
    differ = [d for d in days if chinese_calendar.is_workday(d) != PACKAGED.is_working_day(d)]
    assert differ == [dt.date(2005, 12, 31)]  # the one day the two packages read differently
    assert PACKAGED.source(2026) is Source.PACKAGE
    notice = parse_notice(EXAMPLE.read_bytes())
    loaded = WorkCalendar(notice.days(), frozenset({notice.year}))
    year = [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(365)]
    assert [loaded.is_working_day(d) for d in year] == [PACKAGED.is_working_day(d) for d in year]


@pytest.mark.nodb
def test_a_year_shows_its_breaks_its_weekend_working_days_and_working_days_by_month() -> None:
    view = year_view(PACKAGED, 2026)
    spring = next(b for b in view.breaks if b.name == "春节")
    assert (spring.first, spring.last, spring.days) == (
        dt.date(2026, 2, 15),
        dt.date(2026, 2, 23),
        9,
    )
    assert (dt.date(2026, 2, 14), "") in view.workdays  # the packages do not name its holiday
    assert view.per_month[1] == 16 and view.total == 248


@pytest.mark.nodb
def test_a_bad_notice_is_refused_with_every_problem() -> None:
    bad = """
year = 2027
colour = "red"

[[holiday]]
name = "春节"
from = 2027-02-13
to = 2027-02-05

[[holiday]]
name = "劳动节"
from = 2027-05-01
to = 2027-05-05
workdays = [2027-04-28, 2028-05-08]

[[holiday]]
name = ""
from = "2027-10-01"
to = 2027-10-07
""".encode()
    with pytest.raises(CalendarFileInvalid) as caught:
        parse_notice(bad)
    found = [p.message for p in caught.value.problems]
    assert "Unknown key {key}." in found
    assert "{name}: the last day off ({last}) is before the first ({first})." in found
    assert any("is a weekday" in m for m in found)  # 28 April 2027 is a Wednesday
    assert any("is not in {year}" in m for m in found)  # 2028-05-08
    assert any("name must be text" in m for m in found)
    assert any("{key} must be a date" in m for m in found)  # "2027-10-01" in quotes
    for data in (b"year = ", b"\xff\xfe", b"year = 1999\n"):
        with pytest.raises(CalendarFileInvalid):
            parse_notice(data)
    overlapping = NOTICE_2027 + b'\n[[holiday]]\nname = "x"\nfrom = 2027-02-12\nto = 2027-02-14\n'
    with pytest.raises(CalendarFileInvalid) as caught:
        parse_notice(overlapping)
    assert [p.message for p in caught.value.problems] == ["{a} and {b} overlap."]


async def test_a_loaded_notice_takes_precedence_and_is_audited(sessions: SessionFactory) -> None:
    now = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
    async with sessions.begin() as s:
        assert _january_20(await official_calendar.calendar(s)) == dt.date(2027, 2, 16)
        assert not await official_calendar.import_notice(
            s, parse_notice(NOTICE_2027), actor_label="cli", now=now
        )
    async with sessions.begin() as s:
        cal = await official_calendar.calendar(s)
        assert cal.is_official(2027) and _january_20(cal) == dt.date(2027, 2, 18)
        assert await official_calendar.import_notice(
            s, parse_notice(NOTICE_2027), actor_label="cli", now=now
        )  # a second load replaces the first
        audits = await s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "calendar.import")
        )
        assert audits == 2


def _cli(*args: str, cwd: Path, db_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env.update(JIXIAO_DATABASE_URL=db_url, PYTHONPATH=str(ROOT), JIXIAO_LOCALE="zh_Hans")
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_calendar_import_and_show(
    db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    before = _cli("calendar", "show", "2027", cwd=tmp_path, db_url=db_url)
    assert before.returncode == 0, before.stderr
    assert "calendar import" in before.stdout and "春节" in before.stdout
    assert "数据来源：" in before.stdout and "评价来源" not in before.stdout
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'year = 2027\n[[holiday]]\nname = "x"\nfrom = 2027-02-13\nto = 2027-02-05\n')
    refused = _cli("calendar", "import", str(bad), cwd=tmp_path, db_url=db_url)
    assert refused.returncode == 1 and "没有载入" in refused.stderr and "早于" in refused.stderr
    bad.write_bytes(b'year = 2027\nnotice = "x" y\n')  # tomllib: "... (at line 2, column 14)"
    malformed = _cli("calendar", "import", str(bad), cwd=tmp_path, db_url=db_url)
    assert malformed.returncode == 1 and "第2行第14列格式有误" in malformed.stderr
    assert "at line" not in malformed.stderr  # no English inside the Chinese
    notice = tmp_path / "2027.toml"
    notice.write_bytes(NOTICE_2027)
    loaded = _cli("calendar", "import", str(notice), cwd=tmp_path, db_url=db_url)
    assert loaded.returncode == 0, loaded.stderr
    shown = _cli("calendar", "show", "2027", cwd=tmp_path, db_url=db_url)
    assert shown.returncode == 0, shown.stderr
    assert "国务院办公厅通知" in shown.stdout and "2027年2月20日（星期六）" in shown.stdout
    # the Sunday after the notice's last day off is part of the break as the calendar shows it
    assert "2027年2月5日至2027年2月14日，共10天" in shown.stdout
    example = _cli("calendar", "import", str(EXAMPLE), cwd=tmp_path, db_url=db_url)
    assert example.returncode == 0 and "248" in example.stdout
    assert _cli("calendar", "show", "20x7", cwd=tmp_path, db_url=db_url).returncode == 1


async def test_admins_are_told_once_when_a_deadline_falls_in_a_year_without_official_data(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    end_of_2026 = dt.datetime(2026, 12, 30, 23, 59, 59, tzinfo=TZ).astimezone(dt.UTC)
    cycle_id = await open_cycle(sessions, deadline=end_of_2026)
    admin = server.user(900001, language_code="zh-hans")
    for _ in range(2):  # two extensions into 2027: one notice
        await admin.send("/cycle")
        view = await admin.expect_text("2026年第四季度")
        await cycle_admin.extend(admin, view, days=7)

    def warnings() -> list[str]:
        return [m.text or "" for m in admin.messages if "calendar import" in (m.text or "")]

    await admin.wait_until(lambda: bool(warnings()))
    warning = warnings()[0]
    assert "2027年" in warning and "调休" in warning
    async with sessions() as s:
        deadline = (await s.get(Cycle, cycle_id)).deadline  # type: ignore[union-attr]
        assert deadline.astimezone(TZ).year == 2027
        sent = await s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.dedupe_key.like("calendar:2027:%"))
        )
        told = await s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "calendar.unofficial", AuditEntry.object_id == "2027")
        )
    assert sent == 1 and told == 1
    await admin.send("/cycle")
    await admin.expect_text("2026年第四季度")
    assert len(warnings()) == 1
