"""The survey page over HTTP (``web.app.create_app`` on the test database): the chat's
survey and rules for citizens without Telegram, a web 差评 followed up on /q, and what keeps
the page safe on the open internet."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from domain.enums import RectificationStatus, ResponseStatus, Satisfaction
from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import OrgUnit, Rectification, SurveyAnswer, SurveyResponse
from services import survey_links
from services.surveys import OVERALL
from tests.drivers import rectification as rect_chat
from tests.drivers.web import Browser, answer_all, web_app
from tests.factories import make_org
from tests.factories import survey_links as links
from tests.harness import InProcessBot
from tests.test_rectification import HEAD, RECORD_TEXT, bind_en
from web.guard import CSP, Limits, Window, masked
from web.pages import STATIC

ANSWER_TEXT = "已调整午间窗口值班，您反映的问题已整改。"
VERY_DISSATISFIED, SATISFIED = 4, 1


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    async with web_app(settings) as running:
        yield running


@pytest.fixture
async def phone(app: Starlette) -> AsyncIterator[Browser]:
    browser = Browser(app)
    yield browser
    await browser.close()


async def _path(sessions: SessionFactory, **kw: object) -> str:
    [payload] = await links(sessions, **kw)  # type: ignore[arg-type]
    return "/s/" + payload.split("_", 1)[1]


async def _count(sessions: SessionFactory, model: type, *where: object) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _responses(sessions: SessionFactory) -> list[SurveyResponse]:
    async with sessions() as s:
        return list(await s.scalars(select(SurveyResponse).order_by(SurveyResponse.id)))


async def test_a_good_survey_from_first_question_to_thanks(
    sessions: SessionFactory, phone: Browser
) -> None:
    await make_org(sessions)
    path = await _path(sessions)
    page = await phone.get(path)
    assert page.status_code == 200 and "应急指挥中心" in phone.text
    assert phone.step == OVERALL and phone.text.count("满意") >= 5
    assert 'href="https://t.me/jixiao_test_bot?start=sv_' in page.text  # 用 Telegram 评价
    assert "用 Telegram 评价" in phone.text and "查询处理结果" in phone.text
    assert await _count(sessions, SurveyResponse) == 0  # a GET claims nothing
    await phone.tap(path, level=SATISFIED)
    assert phone.page is not None and phone.page.status_code == 200
    assert phone.step == "Q1" and "2/4" in phone.text
    await answer_all(phone, path, SATISFIED, words="窗口工作人员很耐心", tags=(0,))
    assert "感谢您的评价" in phone.text
    [response] = await _responses(sessions)
    assert response.status == ResponseStatus.COMPLETE and response.channel == "web"
    assert response.comment == "窗口工作人员很耐心" and response.praise == [0]
    assert response.reply_chat_id is None and response.receipt_hash is None
    assert len(response.respondent_key) == 64
    assert await _count(sessions, SurveyAnswer) == 4  # overall + 3 questions


async def test_a_single_use_link_takes_one_response(
    sessions: SessionFactory, app: Starlette, phone: Browser
) -> None:
    await make_org(sessions)
    path = await _path(sessions)
    await phone.get(path)
    await phone.tap(path, level=SATISFIED)  # claimed by the first answer
    other = Browser(app, address="198.51.100.9")
    page = await other.get(path)
    assert page.status_code == 404
    await answer_all(phone, path, SATISFIED)
    assert "感谢您的评价" in phone.text
    again = await other.get(path)
    assert again.status_code == 404
    forged = await other.client.post(path, data={"csrf": "x", "step": OVERALL, "level": "0"})
    assert forged.status_code in (403, 404)
    assert await _count(sessions, SurveyResponse) == 1
    await other.close()


async def test_one_response_per_person_unit_and_day_whatever_the_link(
    sessions: SessionFactory, app: Starlette, phone: Browser
) -> None:
    await make_org(sessions)
    first = await _path(sessions, single_use=False)
    second = await _path(sessions, single_use=False)
    await answer_all(phone, first, SATISFIED)
    await phone.get(second)
    assert "今天" in phone.text and phone.step is None  # already rated this unit today
    neighbour = Browser(app, address="198.51.100.10")  # another person, another cookie
    await answer_all(neighbour, first, SATISFIED)
    assert "感谢您的评价" in neighbour.text
    assert await _count(sessions, SurveyResponse) == 2
    await neighbour.close()


async def test_a_reload_resumes_at_the_next_unanswered_step(
    sessions: SessionFactory, phone: Browser
) -> None:
    await make_org(sessions)
    path = await _path(sessions)
    await phone.get(path)
    first_page = phone.csrf()
    await phone.tap(path, level=SATISFIED)
    second = phone.text
    await phone.get(path)  # a reload, or the link opened again later
    assert phone.text == second and phone.step == "Q1"
    # the first page's form sent again (back button): nothing changes, the current step shows
    await phone.post(path, {"step": OVERALL, "level": "0"}, csrf=first_page)
    assert phone.step == "Q1"
    assert await _count(sessions, SurveyAnswer) == 1
    async with sessions() as s:
        level = await s.scalar(select(SurveyAnswer.level))
    assert level == Satisfaction.SATISFIED


async def test_a_bad_review_needs_a_reason_and_ends_with_number_and_receipt(
    sessions: SessionFactory, phone: Browser
) -> None:
    await make_org(sessions)
    path = await _path(sessions)
    await answer_all(phone, path, VERY_DISSATISFIED)
    assert phone.step == "tags"
    await phone.tap(path, words="   ")  # no reason chosen or written: asked again
    assert phone.page is not None and phone.page.status_code == 400
    assert "请告诉我们" in phone.text or "至少" in phone.text
    await phone.tap(path, tag=[0, 2], words="中午窗口没人")
    assert phone.step == "reply"
    await phone.tap(path, reply="1")
    assert phone.step == "phone"
    [response] = await _responses(sessions)
    async with sessions() as s:
        rect = await s.scalar(select(Rectification))
    assert rect is not None and f"编号：{rect.id}" in phone.text
    assert response.channel == "web" and response.wants_reply and response.reply_chat_id is None
    assert response.problems == [0, 2] and response.problem_text == "中午窗口没人"
    receipt = _receipt(phone)
    assert 6 <= len(receipt) <= 8 and response.receipt_hash and receipt not in response.receipt_hash
    await phone.tap(path, phone="12345")  # not a phone number: said so, nothing stored
    assert "电话号码" in phone.text
    assert (await _responses(sessions))[0].callback_phone is None
    await phone.tap(path, phone="138 0013 8000")
    assert "电话回访" in phone.text
    assert (await _responses(sessions))[0].callback_phone == "13800138000"


async def test_the_receipt_code_is_shown_once_and_never_on_reopening_the_link(
    sessions: SessionFactory, phone: Browser
) -> None:
    """A counter pad or a borrowed phone: the next person who opens the link sees that it
    was submitted, with its number, but not the code that proves it, nor the phone field."""
    await make_org(sessions)
    path = await _path(sessions)
    await answer_all(phone, path, VERY_DISSATISFIED, tags=(1,))
    await phone.tap(path, reply="1")
    receipt, token = _receipt(phone), phone.csrf()
    assert phone.page is not None and phone.page.headers["cache-control"] == "no-store"
    assert "jx_r" not in phone.client.cookies and receipt not in str(phone.client.cookies)
    async with sessions() as s:
        rect_id = int(await s.scalar(select(Rectification.id)) or 0)
    await phone.tap(path, phone="12345")  # the phone step right after: its error, no code
    assert "电话号码格式不正确" in phone.text and 'name="phone"' in phone.page.text
    assert receipt not in phone.page.text
    await phone.get(path)  # the next person opens the same link
    assert phone.page.status_code == 200 and "已提交" in phone.text
    assert f"编号：{rect_id}" in phone.text and 'href="/q"' in phone.page.text
    assert receipt not in phone.page.text and 'name="phone"' not in phone.page.text
    await phone.post(path, {"step": "reply", "reply": "1"}, csrf=token)  # sent again
    assert "已提交" in phone.text and receipt not in phone.page.text
    await phone.get("/q")
    await phone.post("/q", {"reference": str(rect_id), "receipt": receipt})
    assert "正在办理" in phone.text  # the citizen who noted it down still reads the item


async def test_a_double_tap_on_the_last_answer_still_shows_the_receipt_code_once(
    sessions: SessionFactory, app: Starlette, phone: Browser
) -> None:
    """The browser shows the second request's response: it gets the code once more, within
    the minute, and no later request does."""
    seconds = [1000.0]
    app.state.web.monotonic = lambda: seconds[0]
    await make_org(sessions)
    late = Browser(app, address="198.51.100.14")
    for browser, wait in ((phone, 2), (late, 61)):  # the second taps again after the minute
        path = await _path(sessions)
        await answer_all(browser, path, VERY_DISSATISFIED, tags=(1,))
        token = browser.csrf()
        await browser.tap(path, reply="1")
        receipt = _receipt(browser)
        seconds[0] += wait
        await browser.post(path, {"step": "reply", "reply": "1"}, csrf=token)
        assert browser.page is not None
        if browser is phone:
            assert _receipt(browser) == receipt and 'name="phone"' in browser.page.text
            await browser.post(path, {"step": "reply", "reply": "1"}, csrf=token)
        assert "已提交" in browser.text and receipt not in browser.page.text
    await late.close()


def _receipt(browser: Browser) -> str:
    assert browser.page is not None
    body = browser.page.text
    start = body.index('id="receipt">') + len('id="receipt">')
    return body[start : body.index("<", start)]


async def test_the_unit_head_answers_in_the_chat_and_the_citizen_rates_on_the_page(
    server: FakeBotApi,
    bot: InProcessBot,
    sessions: SessionFactory,
    app: Starlette,
    phone: Browser,
) -> None:
    org = await make_org(sessions)
    await bind_en(sessions, HEAD, org.head_id)
    head = server.user(HEAD, language_code="en")
    path = await _path(sessions)
    await answer_all(phone, path, VERY_DISSATISFIED, tags=(1,))
    await phone.tap(path, reply="1")
    receipt = _receipt(phone)
    async with sessions() as s:
        rect_id = int(await s.scalar(select(Rectification.id)) or 0)
    # before the answer: the status, no buttons
    await phone.get("/q")
    await phone.post("/q", {"reference": str(rect_id), "receipt": receipt.lower()})
    assert "正在办理" in phone.text and 'name="rating"' not in (
        phone.page.text if phone.page else ""
    )
    # the unit head answers in the chat, as for a chat 差评; the reply waits on the page
    notice = await head.expect_text(f"#{rect_id}", timeout=120)
    detail = await rect_chat.open_item(head, rect_id, notice)
    done = await rect_chat.answer(head, rect_id, detail, RECORD_TEXT, reply=ANSWER_TEXT)
    assert "reads your reply on the survey page" in done.text
    async with sessions() as s:
        rect = await s.get(Rectification, rect_id)
        assert rect is not None and rect.status == RectificationStatus.ANSWERED
    # another phone: a wrong pair gets one message, whether the number exists or not
    other = Browser(app, address="198.51.100.13")
    await other.get("/q")
    await other.post("/q", {"reference": str(rect_id), "receipt": "AAAAAAAA"})
    wrong_code = other.text
    await other.post("/q", {"reference": "99999", "receipt": receipt})
    assert other.page is not None and other.page.status_code == 400
    assert other.text == wrong_code and "未查到" in wrong_code
    await other.close()
    # the citizen reads the reply (never the internal record) and rates it, once
    await phone.get("/q")
    assert ANSWER_TEXT in phone.text and RECORD_TEXT not in phone.text
    await phone.post("/q/rate", {"rating": "s"})
    assert "您对处理结果的评价：满意" in phone.text
    assert phone.page is not None and 'name="rating"' not in phone.page.text
    async with sessions() as s:
        rect = await s.get(Rectification, rect_id)
        assert rect is not None and rect.status == RectificationStatus.CLOSED
        assert rect.citizen_rating == Satisfaction.SATISFIED.value
    await phone.post("/q/rate", {"rating": "d"}, csrf=phone.csrf())  # a second rating: refused
    async with sessions() as s:
        rect = await s.get(Rectification, rect_id)
        assert rect is not None and rect.citizen_rating == Satisfaction.SATISFIED.value
    assert "已评价" in phone.text or "满意" in phone.text


async def test_a_post_without_the_csrf_token_is_refused_politely(
    sessions: SessionFactory, app: Starlette, phone: Browser
) -> None:
    await make_org(sessions)
    path = await _path(sessions)
    await phone.get(path)
    for token in ("", "0" * 32):
        refused = await phone.client.post(path, data={"csrf": token, "step": OVERALL, "level": "0"})
        assert refused.status_code == 403 and "页面已失效" in refused.text
    stranger = Browser(app)  # no cookie: another site's form posting blind
    refused = await stranger.client.post(
        path, data={"csrf": phone.csrf(), "step": OVERALL, "level": "0"}
    )
    assert refused.status_code == 403
    assert await _count(sessions, SurveyResponse) == 0
    await stranger.close()


async def test_unknown_revoked_and_used_links_are_the_same_404(
    sessions: SessionFactory, app: Starlette, phone: Browser
) -> None:
    await make_org(sessions)
    used, revoked = await _path(sessions), await _path(sessions)
    await answer_all(phone, used, SATISFIED)
    async with sessions.begin() as s:
        await survey_links.revoke(
            s,
            "sv_" + revoked.split("/")[-1],
            actor_label="test",
            now=dt.datetime.now(dt.UTC),
        )
    stranger = Browser(app, address="198.51.100.11")
    pages = [await stranger.get(p) for p in (used, revoked, "/s/nosuchtoken0000", "/s/%3Cb%3E")]
    assert [p.status_code for p in pages] == [404, 404, 404, 404]
    # the same page (but for the language switch's way back to it)
    assert len({re.sub(r'name="next" value="[^"]*"', "", p.text) for p in pages}) == 1
    assert "不再使用" in pages[0].text or "无效" in pages[0].text
    await stranger.close()


async def test_an_address_over_its_limits_gets_429_with_retry_after(
    sessions: SessionFactory, settings: Settings
) -> None:
    await make_org(sessions)
    path = await _path(sessions)
    async with web_app(settings, Limits(requests_per_minute=3, wrong_receipts_per_hour=2)) as app:
        phone = Browser(app)
        codes = [(await phone.get(path)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert phone.page is not None and int(phone.page.headers["retry-after"]) > 30
        assert "请1分钟后再试" in phone.text  # a minute's window: the words say a minute
        elsewhere = Browser(app, address="198.51.100.12")  # another address is not held up
        assert (await elsewhere.get(path)).status_code == 200
        await phone.close()
        await elsewhere.close()
    shared = await _path(sessions, single_use=False)  # a code at a service window
    async with web_app(settings, Limits(surveys_per_hour=1)) as app:
        # cleared cookies make a new person, not a new address: its new surveys are counted
        for n, expected in ((1, 200), (2, 429)):
            again = Browser(app)
            await again.get(shared)
            await again.tap(shared, level=SATISFIED)
            assert again.page is not None and again.page.status_code == expected, n
            await again.close()
        assert await _count(sessions, SurveyResponse) == 1
    async with web_app(settings, Limits(wrong_receipts_per_hour=2)) as app:
        guesser = Browser(app)
        await guesser.get("/q")
        for _ in range(2):
            await guesser.post("/q", {"reference": "1", "receipt": "AAAAAAAA"})
            assert guesser.page is not None and guesser.page.status_code == 400
        await guesser.post("/q", {"reference": "1", "receipt": "AAAAAAAA"}, csrf=guesser.csrf())
        assert guesser.page is not None and guesser.page.status_code == 429
        assert "查询码有误" in guesser.text and "访问次数较多" not in guesser.text
        assert int(guesser.page.headers["retry-after"]) > 60 and "分钟后再试" in guesser.text
        await guesser.close()


async def test_a_wait_under_a_minute_is_said_as_a_moment(
    sessions: SessionFactory, settings: Settings
) -> None:
    """The words follow Retry-After: a few seconds are "a moment", not "1 minute"."""
    await make_org(sessions)
    path = await _path(sessions)
    limits = Limits()
    limits.requests = Window(2, 5)  # two requests per five seconds
    async with web_app(settings, limits) as app:
        phone = Browser(app)
        codes = [(await phone.get(path)).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert phone.page is not None and int(phone.page.headers["retry-after"]) <= 5
        assert "请稍候片刻再试" in phone.text and "分钟" not in phone.text
        await phone.close()


async def test_a_body_over_the_limit_is_413_and_nothing_is_stored(
    sessions: SessionFactory, phone: Browser
) -> None:
    await make_org(sessions)
    path = await _path(sessions)
    await phone.get(path)
    big = await phone.client.post(
        path, data={"csrf": phone.csrf(), "step": OVERALL, "level": "0", "x": "字" * 8000}
    )
    assert big.status_code == 413 and "过长" in big.text
    assert await _count(sessions, SurveyResponse) == 0


async def test_security_headers_on_every_response(
    sessions: SessionFactory, app: Starlette, phone: Browser
) -> None:
    await make_org(sessions)
    path = await _path(sessions)
    await phone.get(path)
    csrf = phone.csrf()
    for response in (
        await phone.client.get(path),
        await phone.client.get("/s/nosuchtoken0000"),
        await phone.client.get("/static/site.css"),
        await phone.client.post(path, data={"csrf": csrf, "step": OVERALL, "level": "1"}),
        await phone.client.post(path, data={"csrf": "forged", "step": OVERALL, "level": "1"}),
    ):
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "permissions-policy" in response.headers
    page = await phone.client.get(path)
    assert "<script" not in page.text and "style=" not in page.text  # nothing inline
    newcomer = Browser(app, address="198.51.100.14")
    cookie = (await newcomer.client.get(path)).headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie
    await newcomer.close()


async def test_pages_are_never_cached_and_the_stylesheet_is_kept_until_it_changes(
    sessions: SessionFactory, phone: Browser
) -> None:
    await make_org(sessions)
    path = await _path(sessions)
    page = await phone.get(path)
    assert page.headers["cache-control"] == "no-store"
    found = re.search(
        r'<link rel="stylesheet" href="(/static/site\.css\?v=([0-9a-f]+))">', page.text
    )
    assert found is not None
    digest = hashlib.sha256((STATIC / "site.css").read_bytes()).hexdigest()
    assert digest.startswith(found.group(2))  # a new release's stylesheet, a new URL
    sheet = await phone.client.get(found.group(1))
    assert sheet.status_code == 200 and "text/css" in sheet.headers["content-type"]
    assert "public" in sheet.headers["cache-control"]
    assert "max-age=31536000" in sheet.headers["cache-control"]
    assert sheet.headers["content-security-policy"] == CSP


async def test_the_busy_page_for_the_proxy_is_served_in_both_languages(phone: Browser) -> None:
    """nginx shows it for 429, 413, 502 and 503 (examples/nginx-jixiao.conf)."""
    page = await phone.get("/static/busy.html")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "请稍后再试" in phone.text and "Please try again shortly" in phone.text
    assert 'href="/static/site.css"' in page.text and "<script" not in page.text
    assert "style=" not in page.text  # the CSP allows the stylesheet only


async def test_over_https_the_cookie_is_secure(sessions: SessionFactory, app: Starlette) -> None:
    await make_org(sessions)
    path = await _path(sessions)
    browser = Browser(app, base="https://jixiao.test")
    page = await browser.client.get(path)
    assert "Secure" in page.headers["set-cookie"]
    await browser.close()


async def test_the_language_follows_the_browser_then_the_switch(
    sessions: SessionFactory, app: Starlette
) -> None:
    await make_org(sessions)
    path = await _path(sessions)
    english = Browser(app, language="en-GB,en;q=0.9")
    await english.get(path)
    assert "Overall, are you satisfied with this service?" in english.text
    taiwan = Browser(app, language="zh-TW")
    page = await taiwan.get(path)
    assert "總體" in taiwan.text or "滿意" in taiwan.text
    assert '<html lang="zh-Hant">' in page.text  # site.css's :lang(zh-Hant): the TC fonts
    sheet = (await taiwan.client.get("/static/site.css")).text
    assert re.search(r':lang\(zh-Hant\)[^{]*\{[^}]*"PingFang TC"', sheet)
    await english.post("/lang", {"lang": "zh_Hant", "next": path})
    assert english.page is not None and english.page.url.path == path
    assert "滿意" in english.text and "Overall" not in english.text
    await english.post("/lang", {"lang": "zh_Hans", "next": "//evil.example/"})
    assert english.page is not None and english.page.url.host == "jixiao.test"
    await english.close()
    await taiwan.close()


async def test_the_bare_address_is_a_front_door_to_the_query_page(
    sessions: SessionFactory, app: Starlette
) -> None:
    visitor = Browser(app)
    page = await visitor.get("/")
    assert page.status_code == 200 and "满意度评价" in visitor.text  # no bureau yet
    await make_org(sessions)
    page = await visitor.get("/")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "应急管理局" in visitor.text and "服务窗口的二维码" in visitor.text
    assert '<a class="button" href="/q">查询处理结果</a>' in page.text
    taiwan = Browser(app, language="zh-TW")
    await taiwan.get("/")
    assert "應急管理局" in taiwan.text and "查詢處理結果" in taiwan.text
    await visitor.close()
    await taiwan.close()


async def test_a_unit_name_with_markup_is_shown_as_text(
    sessions: SessionFactory, phone: Browser
) -> None:
    await make_org(sessions)
    async with sessions.begin() as s:
        unit = await s.scalar(select(OrgUnit).where(OrgUnit.name == "应急指挥中心"))
        assert unit is not None
        unit.name = "<b>东城</b>服务窗口"
    path = await _path(sessions, unit="<b>东城</b>服务窗口")
    page = await phone.get(path)
    assert "&lt;b&gt;东城&lt;/b&gt;服务窗口" in page.text and "<b>东城" not in page.text


async def test_the_access_log_never_shows_a_token(
    sessions: SessionFactory, phone: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    await make_org(sessions)
    path = await _path(sessions)
    token = path.rsplit("/", 1)[1]
    with caplog.at_level(logging.INFO, logger="jixiao.web"):
        await phone.get(path)
        await phone.tap(path, level=SATISFIED)
    lines = [r.getMessage() for r in caplog.records if r.name == "jixiao.web"]
    assert any("/s/…" in line for line in lines)
    assert not any(token in line for line in lines)


async def test_the_access_log_masks_a_token_behind_extra_slashes(
    sessions: SessionFactory, phone: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    await make_org(sessions)
    token = (await _path(sessions)).rsplit("/", 1)[1]
    odd = (f"//s/{token}", f"/s//{token}", f"/x/s/{token}", f"///s///{token}/more")
    with caplog.at_level(logging.INFO, logger="jixiao.web"):
        for path in odd:  # absolute: httpx would read "//s/…" as a host named "s"
            await phone.client.get("http://jixiao.test" + path)
    lines = [r.getMessage() for r in caplog.records if r.name == "jixiao.web"]
    assert len(lines) == len(odd) and all("/s/…" in line for line in lines)
    assert not any(token in line for line in lines)
    assert masked("/q") == "/q" and masked("/static/site.css") == "/static/site.css"


async def test_a_double_tap_on_the_first_answer_stores_one_response(
    sessions: SessionFactory, phone: Browser
) -> None:
    """Two POSTs of the first answer at once (a double tap): one response, one answer, and
    both taps end on the next question, on either database."""
    await make_org(sessions)
    path = await _path(sessions, single_use=False)
    await phone.get(path)
    form = {"csrf": phone.csrf(), "step": OVERALL, "level": str(SATISFIED)}
    taps = await asyncio.gather(
        *(phone.client.post(path, data=form, follow_redirects=True) for _ in range(2))
    )
    assert [t.status_code for t in taps] == [200, 200]
    assert all('name="step" value="Q1"' in t.text for t in taps)
    assert await _count(sessions, SurveyResponse) == 1
    assert await _count(sessions, SurveyAnswer) == 1
