"""Survey codes and statistics from the chat and the command line."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from domain.period import current_quarter
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import SurveyLink, SurveyResponse
from infra.secret_store import with_survey_key
from services import surveys
from services.survey_stats import period_bounds, unit_stats
from tests.drivers import survey
from tests.drivers.survey import complete
from tests.factories import bind, make_org
from tests.factories import survey_links as links

ROOT = Path(__file__).resolve().parent.parent


async def test_unit_head_makes_codes_for_their_own_unit(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    await bind(sessions, 8101, org.head_id)
    head = server.user(8101, language_code="zh-hans")
    await head.send("/links")
    choose = await head.expect()
    assert len(survey.units(choose)) == 1  # only the unit they head
    await survey.make_codes(head, choose, kind="s10")
    await head.wait_until(lambda: any(m.kind == "document" for m in head.messages), timeout=120)
    sheet = next(m for m in head.messages if m.kind == "document")
    assert sheet.document and sheet.document.startswith(b"%PDF")
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(SurveyLink)) == 10
    clerk_id = org.staff_ids[0]
    await bind(sessions, 8102, clerk_id)
    clerk = server.user(8102, language_code="zh-hans")
    await clerk.send("/links")
    await clerk.expect_text("单位负责人")


async def test_a_code_for_one_case_carries_its_number_to_the_unit(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    """一事一评: one single-use code with the case number it was handed out for; the citizen
    sees it, and the unit is shown it with the rating."""
    org = await make_org(sessions)
    await bind(sessions, 8110, org.head_id)
    head = server.user(8110, language_code="zh-hans")
    await head.send("/links")
    await survey.make_codes(head, await head.expect(), kind="s1")
    ask = await head.expect_text("办件编号")
    assert "不填编号" in " ".join(ask.button_texts())
    await head.send("x" * 65)
    await head.expect_text("不能超过64字")
    await head.send("危化品经营许可  2026-0815")
    await head.wait_until(
        lambda: sum(m.kind == "document" for m in head.messages) == 2, timeout=120
    )
    sheet, table = (m.document or b"" for m in head.messages if m.kind == "document")
    assert sheet.startswith(b"%PDF")
    [row] = csv.DictReader(io.StringIO(table.decode("utf-8-sig")))
    payload = row["link"].split("start=", 1)[1]
    async with sessions() as s:
        link = await s.scalar(select(SurveyLink))
    assert link is not None and link.single_use and link.reference == "危化品经营许可 2026-0815"

    citizen = server.user(8111, language_code="zh-hans")
    first = await survey.open_link(citizen, payload)
    assert "办理事项：危化品经营许可 2026-0815" in first.text
    tags = await survey.rate_all(citizen, first, survey.VERY_DISSATISFIED)
    await citizen.send("材料退回三次，没有一次性告知")
    await survey.want_reply(citizen, await citizen.expect(), yes=False)
    await citizen.expect_text("转交")
    assert survey.tags(tags)
    notice = await head.expect_text("办理事项：危化品经营许可 2026-0815", timeout=120)
    assert "非常不满意" in notice.text


async def test_statistics_count_and_rate(server: FakeBotApi, bot, sessions: SessionFactory) -> None:
    await make_org(sessions)
    payloads = await links(sessions, count=4)
    for n, (payload, level) in enumerate(zip(payloads, (0, 1, 2, 3), strict=True)):
        citizen = server.user(8200 + n, language_code="zh-hans")
        if level < 3:
            await complete(citizen, payload, level=level)
        else:  # an overall 不满意: one problem chosen, no reply wanted
            msg = await survey.open_link(citizen, payload)
            msg = await survey.rate_all(citizen, msg, survey.DISSATISFIED)
            msg = await survey.tick(citizen, msg)
            msg = await survey.done(citizen, msg)
            await survey.want_reply(citizen, msg, yes=False)
            await citizen.expect()
    admin = server.user(900001, language_code="zh-hans")
    await admin.send("/surveys")
    stats = await admin.expect_text("75.0%")  # (the working group was also told of the 差评)
    assert "应急指挥中心" in stats.text and "4" in stats.text
    # the overall level is listed first, by name, then the questions
    assert stats.text.index("• 总体评价") < stats.text.index("• 您对工作人员的服务态度是否满意？")
    assert "• 总体评价：非常满意 1 满意 1 基本满意 1 不满意 1 非常不满意 0" in stats.text
    assert not re.search(r"[\u3400-\u9fff？]: ", stats.text)  # the full-width colon throughout
    assert "网页评价0条（占0.0%），Telegram评价4条" in stats.text
    async with sessions.begin() as s:  # one of them as the survey page stores it
        first = await s.scalar(select(SurveyResponse).order_by(SurveyResponse.id).limit(1))
        assert first is not None
        first.channel = "web"
    await admin.send("/surveys")
    again = await admin.expect_text("网页评价1条（占25.0%），Telegram评价3条")
    assert "75.0%" in again.text  # the same responses, counted once


async def test_an_excluded_bad_review_no_longer_counts(sessions: SessionFactory, settings) -> None:  # type: ignore[no-untyped-def]
    await make_org(sessions)
    settings = await with_survey_key(sessions, settings)
    now = dt.datetime.now(dt.UTC)
    [good, bad] = await links(sessions, count=2)
    from domain.payload import parse_payload

    async with sessions.begin() as s:
        for telegram_id, payload, level in ((1, good, 0), (2, bad, 4)):
            response, _ = await surveys.begin(
                s,
                parse_payload(payload),
                respondent=surveys.telegram_respondent(settings, telegram_id),
                settings=settings,
                now=now,
                locale="zh_Hans",
            )  # type: ignore[arg-type]
            view = await surveys.load_view(s, response.id)
            key = surveys.respondent_key(settings, telegram_id)
            for code in (surveys.OVERALL, *(q.code for q in view.spec.questions)):
                await surveys.answer(s, view, code, level, key=key, now=now)
            surveys.finish_tags(view, "reason" if view.bad else None, key=key)
            await surveys.finish(
                s,
                view,
                wants_reply=False,
                respondent=surveys.telegram_respondent(settings, telegram_id),
                now=now,
                settings=settings,
            )
    period = current_quarter(now.astimezone(settings.tz).date())
    start, end = period_bounds(period, settings.tz)
    async with sessions() as s:
        before = await unit_stats(s, period, tz=settings.tz, now=now)
        points_before = await surveys.citizen_points(s, start=start, end=end)
    assert before[0].responses == 2 and before[0].rate == 50
    async with sessions.begin() as s:  # what the working group's 申诉复核 decision "excluded" does
        response = await s.scalar(
            select(SurveyResponse).where(SurveyResponse.overall == "very_dissatisfied")
        )
        response.excluded = True  # type: ignore[union-attr]
    async with sessions() as s:
        after = await unit_stats(s, period, tz=settings.tz, now=now)
        points_after = await surveys.citizen_points(s, start=start, end=end)
    assert after[0].responses == 1 and after[0].rate == 100
    [target] = points_after
    counted_after = sum(len(v) for v in points_after[target].values())
    counted_before = sum(len(v) for v in points_before[target].values())
    assert counted_before == 2 * counted_after


def test_survey_stats_command(db_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env.update(JIXIAO_DATABASE_URL=db_url, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "survey", "stats", "--period", "2026Q4"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        result.returncode == 0 and "2026年第四季度" in result.stdout and "<b>" not in result.stdout
    )
