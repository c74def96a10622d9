"""Citizens rate a service from a QR link: a few taps, stored as given, pseudonymous."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import ResponseStatus, UnitKind
from domain.period import current_quarter
from domain.template import Template
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import (
    Cycle,
    OrgUnit,
    Rectification,
    SurveyAnswer,
    SurveyLink,
    SurveyResponse,
    TemplateVersion,
)
from services import survey_links, survey_rows
from services import surveys as surveys_service
from services.survey_stats import unit_stats
from services.templates.stored import template_of
from tests.drivers import survey
from tests.drivers.survey import complete
from tests.factories import bind, make_org, open_cycle
from tests.factories import survey_links as links
from tests.harness import InProcessBot
from tests.statements import sent


async def _count(sessions: SessionFactory, model: type, *where) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_single_use_link_completed_then_refused(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    [payload] = await links(sessions)
    citizen = server.user(8001, language_code="zh-hans")
    first = await survey.open_link(citizen, payload)
    assert "应急指挥中心" in first.text and len(survey.levels(first)) == 5
    await survey.rate_all(citizen, first, survey.SATISFIED)
    await citizen.send("窗口工作人员很耐心，谢谢！")
    await citizen.expect_text("感谢")
    async with sessions() as s:
        response = await s.scalar(select(SurveyResponse))
        assert response is not None and response.status == ResponseStatus.COMPLETE
        assert response.comment == "窗口工作人员很耐心，谢谢！" and response.reply_chat_id is None
        # a keyed pseudonym: neither the chat id nor its plain hash (a random key may, rarely,
        # put the digits 8001 somewhere in the hex, so that is not what is checked)
        key = response.respondent_key
        assert len(key) == 64 and key != hashlib.sha256(b"8001").hexdigest()
        answers = list(await s.scalars(select(SurveyAnswer)))
    assert len(answers) == 4 and all(a.points == 80 for a in answers)  # overall + 3
    again = server.user(8002, language_code="zh-hans")
    await again.send(f"/start {payload}")
    await again.expect_text("已被使用")
    await citizen.send(f"/start {payload}")
    await citizen.expect_text("已完成")
    assert await _count(sessions, SurveyResponse) == 1


async def test_reusable_link_once_per_day(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    [payload] = await links(sessions, single_use=False)
    citizen = server.user(8003, language_code="zh-hans")
    await complete(citizen, payload)
    await citizen.send(f"/start {payload}")
    await citizen.expect_text("今天")
    other = server.user(8004, language_code="zh-hans")
    await complete(other, payload)
    assert await _count(sessions, SurveyResponse) == 2


async def test_abandoned_survey_is_finished_from_the_same_link(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    [payload] = await links(sessions)
    citizen = server.user(8005, language_code="zh-hans")
    first = await survey.open_link(citizen, payload)
    second = await survey.rate(citizen, first)
    await citizen.send("/start")  # wanders off: the survey is left, its answers kept
    await citizen.expect_text("已保存")
    await citizen.expect_text("您好")  # the home screen
    resumed = await survey.open_link(citizen, payload)
    assert resumed.text == second.text  # the next unanswered question, not the first
    assert await _count(sessions, SurveyAnswer) == 1


async def test_a_repeated_tap_is_already_saved_and_another_is_expired(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    [payload] = await links(sessions)
    citizen = server.user(8011, language_code="zh-hans")
    first = await survey.open_link(citizen, payload)
    second = await survey.rate(citizen, first, survey.SATISFIED)
    await survey.tap(citizen, first, survey.SATISFIED)  # a double tap
    await citizen.wait_until(lambda: len(citizen.callback_answers) == 2)
    assert "已保存" in citizen.callback_answers[-1]["text"]
    await survey.tap(citizen, first, survey.BASIC)  # another answer, from the older message
    await citizen.wait_until(lambda: len(citizen.callback_answers) == 3)
    assert "失效" in citizen.callback_answers[-1]["text"]
    assert (await citizen.expect()).text == second.text  # here is where you are
    async with sessions() as s:
        levels = list(await s.scalars(select(SurveyAnswer.level)))
        rid = await s.scalar(select(SurveyResponse.id))
    assert [level.value for level in levels] == ["satisfied"]
    # a problem button of the first release's format ("x" before the index), still in a chat
    await citizen.press(f"sv1:t:{rid}:x:0", second)
    await citizen.wait_until(lambda: len(citizen.callback_answers) == 4)
    assert "失效" in citizen.callback_answers[-1]["text"]
    assert (await citizen.expect()).text == second.text


async def test_revoked_and_forged_links_are_refused(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    [payload] = await links(sessions)
    async with sessions.begin() as s:
        await survey_links.revoke(s, payload, actor_label="test", now=dt.datetime.now(dt.UTC))
    citizen = server.user(8006, language_code="zh-hans")
    await citizen.send(f"/start {payload}")
    await citizen.expect_text("无效")
    await citizen.send("/start sv_AAAAAAAAAAAAAAAAAAA")
    await citizen.expect_text("无效")
    assert await _count(sessions, SurveyResponse) == 0


async def test_staff_cannot_rate_their_own_unit(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    await bind(sessions, 8007, org.staff_ids[0])
    [payload] = await links(sessions)
    staff = server.user(8007, language_code="zh-hans")
    await staff.send(f"/start {payload}")
    await staff.expect_text("本单位")
    assert await _count(sessions, SurveyResponse) == 0


async def test_surveys_in_traditional_chinese_and_english(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    hant_link, en_link = await links(sessions, count=2)
    hant = server.user(8008, language_code="zh-hant")
    first = await survey.open_link(hant, hant_link)
    assert "應急指揮中心" in first.text and "非常滿意" in " ".join(first.button_texts())
    en = server.user(8009, language_code="en")
    first_en = await survey.open_link(en, en_link)
    assert "Very satisfied" in " ".join(first_en.button_texts())
    await complete(en, en_link)
    assert (
        await _count(sessions, SurveyResponse, SurveyResponse.status == ResponseStatus.COMPLETE)
        == 1
    )


async def test_a_bad_review_opens_a_rectification_item(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    [payload] = await links(sessions)
    citizen = server.user(8010, language_code="zh-hans")
    msg = await survey.rate_all(
        citizen, await survey.open_link(citizen, payload), survey.VERY_DISSATISFIED
    )
    problems = await survey.tick(citizen, msg, 0)
    assert "✅" in problems.button_texts()[0] and "等待时间长" in problems.button_texts()[0]
    await citizen.send("等了两个小时没人处理")
    ask = await citizen.expect()
    await survey.want_reply(citizen, ask, yes=True)
    ending = await citizen.expect_text("转交")
    async with sessions() as s:
        response = await s.scalar(select(SurveyResponse))
        item = await s.scalar(select(Rectification))
        unit = await s.scalar(select(OrgUnit.id).where(OrgUnit.name == "应急指挥中心"))
    assert item is not None
    assert ending.text == (
        f"您的意见已转交应急指挥中心核实处理（编号：{item.id}），处理结果将在这里答复您。"
    )
    assert (
        response is not None
        and response.problems == [0]
        and response.problem_text == "等了两个小时没人处理"
        and response.comment is None  # the reason is asked once, not again as a comment
    )
    assert response.wants_reply and response.reply_chat_id == 8010
    assert item.unit_id == unit and item.deadline > dt.datetime.now(dt.UTC) + dt.timedelta(days=14)


Loader = Callable[[AsyncSession, int], Awaitable[surveys_service.SurveyView]]


async def _view_reading(
    sessions: SessionFactory, load: Loader = surveys_service.load_view
) -> tuple[surveys_service.SurveyView, int]:
    """The one response's view as a step loads it, and how many statements that took."""
    async with sessions() as s:
        rid = await s.scalar(select(SurveyResponse.id))
        assert rid is not None
        async with sent(s) as statements:
            view = await load(s, rid)
    return view, len(statements)


def _as_read(view: surveys_service.SurveyView) -> tuple[object, ...]:
    """What a step sees of a view, whichever way it was read."""
    r = view.response
    columns = {name: getattr(r, name) for name in survey_rows.COLUMNS}
    answers = {q: (a.level, a.points, a.indicator) for q, a in view.answers.items()}
    return columns, answers, view.unit, view.staff, view.reference, view.rectification_id


async def test_a_step_reads_the_response_in_one_statement(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    """Each tap loads the view: the response with its answers, unit, link and template in one
    statement (issue 12), as plain rows that read as the mapped objects do; the
    rectification's number only once the response is complete."""
    await make_org(sessions)
    await open_cycle(sessions)
    [payload] = await links(sessions)
    citizen = server.user(8011, language_code="zh-hans")
    first = await survey.open_link(citizen, payload)
    third = await survey.rate(citizen, await survey.rate(citizen, first, survey.VERY_DISSATISFIED))
    for load in (surveys_service.load_view, surveys_service.load_tap):
        view, statements = await _view_reading(sessions, load)
        assert statements == 1 and len(view.answers) == 2 and view.bad
        assert view.unit == "应急指挥中心" and view.spec.questions and view.rectification_id is None
    mapped, _ = await _view_reading(sessions, surveys_service.load_view)
    rows, _ = await _view_reading(sessions, surveys_service.load_tap)
    assert _as_read(mapped) == _as_read(rows)
    await survey.rate_all(citizen, third)
    await citizen.send("等了两个小时没人处理")
    await survey.want_reply(citizen, await citizen.expect(), yes=False)
    await citizen.expect_text("转交")
    view, statements = await _view_reading(sessions)
    async with sessions() as s:
        item = await s.scalar(select(Rectification.id))
    assert statements == 2 and view.rectification_id == item is not None
    rows, statements = await _view_reading(sessions, surveys_service.load_tap)
    assert statements == 2 and _as_read(rows) == _as_read(view)


async def test_a_tap_writes_what_it_changed_and_nothing_else(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    """``save_tap`` writes a tap's rows: a new answer inserted, an answer given another level
    updated, changed columns of the response updated; with nothing changed, no statement."""
    await make_org(sessions)
    [payload] = await links(sessions)
    citizen = server.user(8012, language_code="zh-hans")
    await survey.open_link(citizen, payload)
    view, _ = await _view_reading(sessions, surveys_service.load_tap)
    key, at = view.response.respondent_key, dt.datetime.now(dt.UTC)
    async with sessions() as s, s.begin():
        tap = await surveys_service.load_tap(s, view.response.id)
        await surveys_service.answer(s, tap, surveys_service.OVERALL, 0, key=key, now=at)
        await surveys_service.save_tap(s, tap)
        await surveys_service.answer(s, tap, surveys_service.OVERALL, 3, key=key, now=at)
        for code in [q.code for q in tap.spec.questions]:
            await surveys_service.answer(s, tap, code, 1, key=key, now=at)
        surveys_service.toggle_tag(tap, 0, key=key)
        surveys_service.toggle_tag(tap, 1, key=key)
        await surveys_service.save_tap(s, tap)
        async with sent(s) as statements:
            await surveys_service.save_tap(s, tap)
        assert statements == []
    stored, _ = await _view_reading(sessions)
    assert _as_read(stored) == _as_read(tap)
    assert stored.bad and stored.tags == [0, 1] and stored.next_step() == surveys_service.TAGS
    assert stored.answers[surveys_service.OVERALL].level == surveys_service.LEVELS[3]


async def test_overall_level_first_then_questions_that_fit_the_scale_then_praise_tags(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    [payload] = await links(sessions)
    citizen = server.user(8012, language_code="zh-hans")
    first = await survey.open_link(citizen, payload)
    assert "总体而言，您对本次服务是否满意？" in first.text and "1/4" in first.text
    assert [t.split(" ", 1)[1] for t in first.button_texts()] == [
        "非常满意", "满意", "基本满意", "不满意", "非常不满意",
    ]  # fmt: skip
    second = await survey.rate(citizen, first, survey.SATISFIED)
    assert "2/4" in second.text and "您对工作人员的服务态度是否满意？" in second.text
    tags = await survey.rate_all(citizen, second, survey.VERY_SATISFIED)
    assert "哪些方面让您满意" in tags.text and "服务态度好" in " ".join(tags.button_texts())
    assert not survey.asks_rating(tags)
    tags = await survey.tick(citizen, tags, 0)
    tags = await survey.tick(citizen, tags, 1)
    assert tags.button_texts()[0].startswith("✅") and tags.button_texts()[1].startswith("✅")
    ending = await survey.done(citizen, tags)
    assert ending.text == "感谢您的评价！我们将继续努力，为您提供更好的服务。"
    async with sessions() as s:
        response = await s.scalar(select(SurveyResponse))
        answers = {a.question: a for a in await s.scalars(select(SurveyAnswer))}
        items = await s.scalar(select(func.count()).select_from(Rectification))
    assert response is not None and response.status == ResponseStatus.COMPLETE
    assert response.overall is not None and response.overall.value == "satisfied"
    assert response.praise == [0, 1] and response.problems == [] and response.comment == ""
    # the overall level counts as an answer, for the first question's indicator
    assert answers[surveys_service.OVERALL].points == 80
    assert answers[surveys_service.OVERALL].indicator == "T05"
    assert {a.points for code, a in answers.items() if code != surveys_service.OVERALL} == {100}
    assert items == 0
    # the citizen source of scoring: the overall level counts beside the questions, one
    # response (the engine averages its answers to one indicator exactly: 280/3 for T05)
    async with sessions() as s:
        points = await surveys_service.citizen_points(
            s,
            start=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
            end=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        )
    [target] = points
    assert sorted(points[target]["T05"]) == [80, 100, 100] and points[target]["P03"] == [100]


async def test_a_bad_review_is_decided_by_the_overall_level_only(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    """An overall 满意 with one 不满意 question is no 差评; an overall 不满意 is, whatever follows."""
    await make_org(sessions)
    [praise, complaint] = await links(sessions, count=2)
    pleased = server.user(8013, language_code="zh-hans")
    msg = await survey.rate(pleased, await survey.open_link(pleased, praise), survey.SATISFIED)
    msg = await survey.rate(pleased, msg, survey.VERY_DISSATISFIED)  # one question 非常不满意
    msg = await survey.rate_all(pleased, msg, survey.SATISFIED)
    assert "哪些方面让您满意" in msg.text  # praise tags: no 差评
    await survey.done(pleased, msg)
    unhappy = server.user(8014, language_code="zh-hans")
    other = await survey.open_link(unhappy, complaint)
    msg = await survey.rate(unhappy, other, survey.DISSATISFIED)
    msg = await survey.rate_all(unhappy, msg, survey.VERY_SATISFIED)
    assert "问题出在哪里" in msg.text and "等待时间长" in " ".join(msg.button_texts())
    async with sessions() as s:
        items = await s.scalar(select(func.count()).select_from(Rectification))
    assert items == 0  # the pleased citizen opened no item


async def test_a_bad_review_needs_a_reason_asked_once(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    [payload] = await links(sessions)
    citizen = server.user(8015, language_code="zh-hans")
    msg = await survey.rate_all(
        citizen, await survey.open_link(citizen, payload), survey.DISSATISFIED
    )
    assert survey.tags(msg)  # problem choices first
    before = len(citizen.callback_answers)
    await citizen.press(survey.buttons(msg, survey.NEXT)[0], msg)  # 完成 with nothing chosen
    await citizen.wait_until(lambda: len(citizen.callback_answers) > before)
    assert "差评需要说明原因" in citizen.callback_answers[-1]["text"]
    again = await citizen.expect()
    assert survey.tags(again)  # still the reasons
    ticked = await survey.tick(citizen, again, 2)
    ask = await survey.done(citizen, ticked)
    assert "处理结果" in ask.text  # straight to "shall we reply": no second request for a comment
    await survey.want_reply(citizen, ask, yes=False)
    ending = await citizen.expect_text("转交")
    assert ending.text.endswith("感谢您的反馈！") and "答复您" not in ending.text
    async with sessions() as s:
        response = await s.scalar(select(SurveyResponse))
        item = await s.scalar(select(Rectification))
    assert response is not None and response.problems == [2] and response.problem_text == ""
    assert item is not None and f"编号：{item.id}" in ending.text


async def test_two_hundred_citizens_at_once(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    payloads = await links(sessions, count=200)
    citizens = [server.user(20_000 + n, language_code="zh-hans") for n in range(200)]
    # All 200 wait on one bot at once: on a busy machine a reply can take far longer
    # than a lone user's 10 s. What is guaranteed is that every answer is stored whole,
    # once; how fast is bench.survey's question.
    await asyncio.gather(
        *(
            complete(c, p, level=n % 3, timeout=300)
            for n, (c, p) in enumerate(zip(citizens, payloads, strict=True))
        )
    )
    assert (
        await _count(sessions, SurveyResponse, SurveyResponse.status == ResponseStatus.COMPLETE)
        == 200
    )
    async with sessions() as s:
        per_response = (
            await s.execute(
                select(SurveyAnswer.response_id, func.count()).group_by(SurveyAnswer.response_id)
            )
        ).all()
        keys = set((await s.scalars(select(SurveyResponse.respondent_key))).all())
    assert (
        len(per_response) == 200 and len({n for _, n in per_response}) == 1
    )  # every response whole
    assert len(keys) == 200  # none duplicated, none merged


async def test_many_surveys_fast_from_one_account_are_slowed_down(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    async with sessions.begin() as s:  # one response per unit and day: ten more units
        s.add_all(
            OrgUnit(name=f"乡镇应急办{n}", kind=UnitKind.OUTPOST, parent_id=org.bureau_id)
            for n in range(10)
        )
    payloads = [(await links(sessions, unit=f"乡镇应急办{n}"))[0] for n in range(10)]
    [last] = await links(sessions)
    citizen = server.user(8300, language_code="zh-hans")
    for payload in payloads:
        await complete(citizen, payload)
    await citizen.send(f"/start {last}")
    await citizen.expect_text("稍后")
    assert await _count(sessions, SurveyResponse) == 10


async def test_one_counted_response_per_person_per_unit_per_day_whatever_the_link(
    server: FakeBotApi, bot, sessions: SessionFactory, bot_settings
) -> None:
    """Thirty single-use links of one unit cannot turn one account into thirty responses."""
    org = await make_org(sessions)
    single = await links(sessions, count=5)
    [reusable] = await links(sessions, single_use=False)
    [for_staff] = await links(sessions, staff="A002")
    [other_unit] = await links(sessions, unit="应急管理局")
    citizen = server.user(8400, language_code="zh-hans")
    await complete(citizen, single[0])
    for payload in [*single[1:], reusable, for_staff]:
        await citizen.send(f"/start {payload}")
        refused = await citizen.expect_text("今天")
        assert "应急指挥中心" in refused.text and not survey.asks_rating(refused)
    await complete(citizen, other_unit)  # another unit the same day is its own response
    async with sessions() as s:
        mine = list(await s.scalars(select(SurveyResponse).order_by(SurveyResponse.id)))
        claimed = await s.scalar(
            select(func.count()).select_from(SurveyLink).where(SurveyLink.claimed_by.is_not(None))
        )
    assert [(r.unit_id, r.status) for r in mine] == [
        (org.unit_id, ResponseStatus.COMPLETE),
        (org.bureau_id, ResponseStatus.COMPLETE),
    ]
    assert claimed == 2  # the two answered; the refused ones stay free for the people they serve
    async with sessions() as s:
        stats = await unit_stats(
            s,
            current_quarter(dt.datetime.now(bot_settings.tz).date()),
            tz=bot_settings.tz,
            now=dt.datetime.now(dt.UTC),
        )
    assert {u.unit: u.responses for u in stats} == {"应急管理局": 1, "应急指挥中心": 1}
    neighbour = server.user(8401, language_code="zh-hans")
    await complete(neighbour, single[1])  # a refused link still serves someone else
    assert await _count(sessions, SurveyResponse) == 3


async def test_a_stranger_who_complains_is_told_where_to_go(
    server: FakeBotApi, bot_settings, sessions: SessionFactory
) -> None:
    """ "我要投诉" from someone with no account and no survey: the configured hotline, not
    "not understood"; staff still get the home-screen hint."""
    org = await make_org(sessions)
    settings = bot_settings.model_copy(update={"citizen_hotline": "0571-87654321"})
    running = InProcessBot(server, settings)
    await running.start()
    try:
        stranger = server.user(8500, language_code="zh-hans")
        await stranger.send("我要投诉")
        told = await stranger.expect()
        assert "咨询、投诉请拨打0571-87654321" in told.text and "119" in told.text
        assert "未能理解" not in told.text
        hant = server.user(8501, language_code="zh-hant")
        await hant.send("我要投訴")
        assert "投訴請撥打0571-87654321" in (await hant.expect()).text
        await bind(sessions, 8502, org.staff_ids[0])
        staff = server.user(8502, language_code="zh-hans")
        await staff.send("我要投诉")
        assert "投诉请拨打" not in (await staff.expect()).text
    finally:
        await running.stop()


async def test_a_template_version_is_parsed_once_and_read_as_stored(
    sessions: SessionFactory,
) -> None:
    """Survey steps take the parsed template from a cache keyed by the version's digest: the
    same version gives the same object, equal to parsing what is stored."""
    await make_org(sessions)
    cycle_id = await open_cycle(sessions)
    async with sessions() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        first = await template_of(s, cycle.template_id)
        again = await template_of(s, cycle.template_id)
        version = await s.get(TemplateVersion, cycle.template_id)
        assert version is not None
        assert await template_of(s, cycle.template_id + 1000) is None
    assert first is not None and again is first
    assert first == Template.from_dict(version.content)
