"""The citizen's journey in real Chromium (issue 14, "shown by"): a phone opens the link of
a QR code, answers the whole survey in its language, leaves a 差评 with a reason and gets a
number and receipt code; the unit head answers in the chat; the citizen reads the reply
under 查询处理结果 and rates it. What the citizen sees is asserted (the right script, no
English on a Chinese page), and so is what was stored.

The survey page (``web.app.create_app``) is served by uvicorn in the test's loop on the
test database; the bot runs through the fake Bot API server where the unit head answers.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import opencc
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from domain.enums import RectificationStatus, ResponseStatus, Satisfaction
from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import Rectification, SurveyAnswer, SurveyResponse
from services.qr import qr_png
from tests.browser import Phones, Screens, english_words, serve
from tests.drivers import rectification as rect_chat
from tests.drivers.phone import Citizen
from tests.factories import make_org
from tests.factories import survey_links as links
from tests.harness import InProcessBot
from tests.test_rectification import HEAD, RECORD_TEXT, bind_en
from web.app import create_app

pytestmark = pytest.mark.browser

VERY_SATISFIED, SATISFIED, BASIC, DISSATISFIED, VERY_DISSATISFIED = range(5)
REPLY_TEXT = "已调整午间窗口值班安排，您反映的问题已整改，感谢监督。"
REASON = "中午窗口没人，等了一个多小时。"
# Words a Chinese page may show in Latin letters: the app's name and the switch's English.
LATIN_ALLOWED = ("Telegram", "English")

# What each language shows, as the citizen reads it.
SEES = {
    "zh_Hans": {
        "unit": "应急指挥中心",
        "overall": "总体而言，您对本次服务是否满意？",
        "levels": ["非常满意", "满意", "基本满意", "不满意", "非常不满意"],
        "first": "您对工作人员的服务态度是否满意？",
        "praise": ["服务态度好", "办事效率高", "业务水平高", "政策解释清楚", "一次办成"],
        "problems": ["等待时间长", "态度生硬", "办事效率低", "政策解释不清", "多次跑腿"],
        "thanks": "感谢您的评价",
        "telegram": "用 Telegram 评价",
        "staff": "工作人员：张伟",
        "comment": "窗口工作人员很耐心，一次就办好了。",
        "switch": "简体",
        "sorry": "很抱歉未能让您满意。请问哪里做得不好？",
        "yes_reply": "需要，请回复我",
        "number": "编号：{id}",
        "call_back": "谢谢，我们将电话回访您。",
        "submitted": "已提交",
        "query": "查询处理结果",
        "handling": "正在办理",
        "rate_question": "您对处理结果是否满意？",
        "ratings": ["满意", "基本满意", "不满意"],
        "rated": "您对处理结果的评价：满意",
    },
    "zh_Hant": {
        "unit": "應急指揮中心",
        "overall": "總體而言，您對本次服務是否滿意？",
        "levels": ["非常滿意", "滿意", "基本滿意", "不滿意", "非常不滿意"],
        "first": "您對工作人員的服務態度是否滿意？",
        "praise": ["服務態度好", "辦事效率高", "業務水平高", "政策解釋清楚", "一次辦成"],
        "problems": ["等待時間長", "態度生硬", "辦事效率低", "政策解釋不清", "多次跑腿"],
        "thanks": "感謝您的評價",
        "telegram": "用 Telegram 評價",
        "staff": "工作人員：張偉",
        "comment": "窗口工作人員很耐心，一次就辦好了。",
        "switch": "繁體",
        "sorry": "很抱歉未能讓您滿意。請問哪裡做得不好？",
        "yes_reply": "需要，請回覆我",
        "number": "編號：{id}",
        "call_back": "謝謝，我們將電話回訪您。",
        "submitted": "已提交",
        "query": "查詢處理結果",
        "handling": "正在辦理",
        "rate_question": "您對處理結果是否滿意？",
        "ratings": ["滿意", "基本滿意", "不滿意"],
        "rated": "您對處理結果的評價：滿意",
    },
    "en": {
        "unit": "应急指挥中心",  # a unit's name has no English: shown as the roster has it
        "overall": "Overall, are you satisfied with this service?",
        "levels": [
            "Very satisfied",
            "Satisfied",
            "Fairly satisfied",
            "Dissatisfied",
            "Very dissatisfied",
        ],
        "first": "How satisfied are you with the staff's attitude?",
        "praise": [
            "Courteous staff",
            "Quick handling",
            "Knowledgeable staff",
            "Rules explained clearly",
            "Done in one visit",
        ],
        "problems": [
            "Long wait",
            "Unfriendly attitude",
            "Slow handling",
            "Rules not explained clearly",
            "Had to come back several times",
        ],
        "thanks": "Thank you for your rating",
        "telegram": "Rate with Telegram",
        "staff": "Staff member: 张伟",
        "comment": "The staff were patient and it was done at once.",
        "switch": "English",
        "sorry": "We are sorry the service fell short. What went wrong?",
        "yes_reply": "Yes, please reply",
        "number": "No. {id}",
        "call_back": "Thank you. We will call you back.",
        "submitted": "Submitted",
        "query": "Check the result of a complaint",
        "handling": "is handling it",
        "rate_question": "Are you satisfied with how it was handled?",
        "ratings": ["Satisfied", "Fairly satisfied", "Dissatisfied"],
        "rated": "Your rating of the handling: Satisfied",
    },
}
TO_SIMPLIFIED = opencc.OpenCC("t2s")
TO_TRADITIONAL = opencc.OpenCC("s2tw")
ALSO_TRADITIONAL = set("布准")  # s2tw changes them, but Traditional writes them too


@pytest.fixture
async def phones(tmp_path: Path) -> AsyncIterator[Phones]:
    running = Phones(tmp_path)
    await running.start()
    yield running
    await running.close()


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[str]:
    """The survey page on the test's database, told its own address as its public URL."""

    def make(base: str) -> object:
        return create_app(settings.model_copy(update={"public_url": base}))

    async with serve(make) as base:
        yield base


async def _link(sessions: SessionFactory, site: str, **kw: object) -> str:
    """A new survey code's web address (the public URL, /s/, the token), as a phone's camera
    reads it from the printed code (``services.qr``)."""
    [payload] = await links(sessions, **kw)  # type: ignore[arg-type]
    url = f"{site}/s/{payload.split('_', 1)[1]}"
    card = Image.open(io.BytesIO(qr_png(url, caption="应急指挥中心")))
    [code] = zxingcpp.read_barcodes(card, formats=zxingcpp.BarcodeFormat.QRCode)
    assert code.text == url
    return code.text


async def _responses(sessions: SessionFactory) -> list[SurveyResponse]:
    async with sessions() as s:
        return list(await s.scalars(select(SurveyResponse).order_by(SurveyResponse.id)))


async def _answers(sessions: SessionFactory) -> list[SurveyAnswer]:
    async with sessions() as s:
        return list(await s.scalars(select(SurveyAnswer).order_by(SurveyAnswer.id)))


async def assert_reads(citizen: Citizen, language: str) -> None:
    """The page is in ``language`` alone: no English word on a Chinese page, and the
    script asked for (the switch's own names, a receipt code and what people wrote aside)."""
    text = await citizen.main()
    if await citizen.page.locator("footer").count():  # not every page has links to offer
        text += "\n" + await citizen.page.inner_text("footer")
    # shown as they are: a code of letters, and the unit's reply in its writer's own words
    for verbatim in ("#receipt", "blockquote.reply"):
        if await citizen.page.locator(verbatim).count():
            text = text.replace(await citizen.page.inner_text(verbatim), "")
    where = f"on {citizen.page.url}:\n{text}"
    if language == "en":
        return
    assert english_words(text, LATIN_ALLOWED) == [], where
    if language == "zh_Hans":
        changed = {a for a, b in zip(text, TO_SIMPLIFIED.convert(text), strict=True) if a != b}
        assert not changed, f"Traditional {''.join(sorted(changed))} {where}"
    else:
        converted = TO_TRADITIONAL.convert(text)
        changed = {a for a, b in zip(text, converted, strict=True) if a != b} - ALSO_TRADITIONAL
        assert not changed, f"Simplified {''.join(sorted(changed))} {where}"


# --- a whole survey in each language ---------------------------------------------------


async def test_every_tap_target_of_the_query_page_is_large_enough(
    sessions: SessionFactory, site: str, phones: Phones
) -> None:
    await make_org(sessions)
    citizen = Citizen(await phones.phone("zh_Hans"), Screens("query-targets"))
    await citizen.open(await _link(sessions, site), "overall")
    await citizen.answer_all(VERY_DISSATISFIED)
    await citizen.tick(0)
    await citizen.primary("reason-given")
    await citizen.press("需要，请回复我", "reply-wanted")
    reference = (await citizen.page.inner_text("#reference")).strip()
    receipt = (await citizen.page.inner_text("#receipt")).strip()
    await citizen.follow("查询处理结果", "query-form")
    await citizen.write(reference, "#reference")
    await citizen.write(receipt, "#receipt")
    await citizen.primary("query-open")
    assert await citizen.page.locator("main a", has_text="查询其他").count() == 1
    assert citizen.layout == []


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant", "en"])
async def test_a_citizen_answers_the_whole_survey_in_the_language_of_the_phone(
    language: str,
    sessions: SessionFactory,
    site: str,
    phones: Phones,
) -> None:
    await make_org(sessions)
    url = await _link(sessions, site, staff="A002")  # the longest greeting: unit and staff
    sees = SEES[language]
    citizen = Citizen(await phones.phone(language), Screens(f"survey-{language}"))

    await citizen.open(url, "overall")
    assert citizen.status == 200
    assert await citizen.title() == sees["unit"]  # the heading, in the page's script
    assert [await citizen.page.inner_text(".greeting")] == [sees["staff"]]  # one short line
    assert sees["overall"] in await citizen.question()
    assert await citizen.levels() == sees["levels"]
    # an unhappy citizen sees 非常不满意 without scrolling, as the happy one sees 非常满意
    assert await citizen.below_the_fold("button.level") == []
    assert await citizen.page.locator("button.level img, button.level span").count() == 0
    assert await citizen.current_language() == sees["switch"]
    assert await citizen.switch() == ["简体", "繁體", "English"]
    assert await citizen.links() == [
        f"{sees['telegram']} -> https://t.me/jixiao_test_bot?start=sv_{url.rsplit('/', 1)[1]}",
        f"{sees['query']} -> /q",
    ]
    await assert_reads(citizen, language)
    assert await _responses(sessions) == []  # opening the link stores nothing

    await citizen.rate(SATISFIED)
    assert sees["first"] in await citizen.question()
    assert (await citizen.question()).startswith("2/4")
    assert await citizen.links() == [f"{sees['query']} -> /q"]  # begun here, not in the chat
    await assert_reads(citizen, language)
    assert await citizen.answer_all(SATISFIED) == 3

    assert await citizen.tags() == sees["praise"]
    assert await citizen.below_the_fold("main button.primary, label.tag, textarea") == []
    await assert_reads(citizen, language)
    await citizen.tick(0, 4)
    await citizen.write(sees["comment"])
    await citizen.primary("thanks")
    assert sees["thanks"] in await citizen.main()
    await assert_reads(citizen, language)

    [response] = await _responses(sessions)
    assert response.status == ResponseStatus.COMPLETE and response.channel == "web"
    assert response.locale == language and response.overall == Satisfaction.SATISFIED
    assert response.praise == [0, 4] and response.comment == sees["comment"]
    assert response.receipt_hash is None and response.reply_chat_id is None
    answers = await _answers(sessions)
    assert len(answers) == 4 and all(a.points == 80 for a in answers)  # overall + 3 questions
    assert citizen.layout == []


async def test_the_switch_changes_the_language_and_a_reload_resumes_where_the_citizen_was(
    sessions: SessionFactory, site: str, phones: Phones
) -> None:
    """An English phone switches to 繁體 mid-way, reloads, then to 简体: each page follows the
    last choice, and the survey resumes at the next unanswered question."""
    await make_org(sessions)
    url = await _link(sessions, site)
    citizen = Citizen(await phones.phone("en"), Screens("switch-and-reload"))
    await citizen.open(url, "english")
    assert SEES["en"]["overall"] in await citizen.question()

    await citizen.choose_language("繁體", "switched-to-traditional")
    assert await citizen.current_language() == "繁體"
    assert SEES["zh_Hant"]["overall"] in await citizen.question()
    await assert_reads(citizen, "zh_Hant")
    await citizen.rate(VERY_SATISFIED)
    await citizen.rate(SATISFIED)
    second = await citizen.question()
    assert second.startswith("3/4")

    await citizen.reload("reloaded")  # in the middle: the same step, nothing answered twice
    assert await citizen.question() == second
    assert await citizen.current_language() == "繁體"
    await citizen.open(url, "opened-again")  # the QR code scanned again later
    assert await citizen.question() == second
    assert len(await _answers(sessions)) == 2

    await citizen.back("back")  # the back button: the page is asked afresh, not an old form
    await citizen.back("back-again")
    assert await citizen.question() == second
    assert [a.level for a in await _answers(sessions)] == [
        Satisfaction.VERY_SATISFIED,
        Satisfaction.SATISFIED,
    ]

    await citizen.choose_language("简体", "switched-to-simplified")
    assert (await citizen.question()).startswith("3/4")
    await assert_reads(citizen, "zh_Hans")
    await citizen.answer_all(VERY_SATISFIED)
    await citizen.primary("thanks")  # no tag, no words: praise is optional
    assert SEES["zh_Hans"]["thanks"] in await citizen.main()
    [response] = await _responses(sessions)
    assert response.status == ResponseStatus.COMPLETE and response.locale == "zh_Hant"
    assert response.praise == [] and response.comment == ""
    assert len(await _answers(sessions)) == 4
    assert citizen.layout == []


# --- a 差评, answered in the chat, read and rated on the page --------------------------


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant", "en"])
async def test_a_bad_review_answered_by_the_unit_head_in_the_chat_is_read_and_rated_on_the_page(
    language: str,
    server: FakeBotApi,
    bot: InProcessBot,
    sessions: SessionFactory,
    bot_settings: Settings,
    site: str,
    phones: Phones,
) -> None:
    org = await make_org(sessions)
    await bind_en(sessions, HEAD, org.head_id)
    head = server.user(HEAD, first_name="李明", language_code="en")
    url = await _link(sessions, site)
    sees = SEES[language]
    citizen = Citizen(await phones.phone(language), Screens(f"bad-review-{language}"))
    await citizen.open(url, "overall")
    await citizen.answer_all(VERY_DISSATISFIED)
    assert await citizen.tags() == sees["problems"]
    assert await citizen.question() == sees["sorry"]
    assert await citizen.below_the_fold("main button.primary, label.tag, textarea") == []

    await citizen.primary("no-reason")  # a 差评 needs its reason: asked again, in words
    assert citizen.status == 400
    assert await citizen.page.inner_text("[role=alert]")
    await assert_reads(citizen, language)
    assert (await _responses(sessions))[0].problem_text is None

    await citizen.tick(0, 2)
    await citizen.write(REASON)
    await citizen.primary("reason-given")
    await assert_reads(citizen, language)
    assert await citizen.page.locator(".greeting").count() == 0  # greeted once, at the start
    assert await citizen.below_the_fold("button.level") == []
    await citizen.press(sees["yes_reply"], "reply-wanted")
    # the survey is over: its number and receipt lead to 查询处理结果, not to the chat
    assert await citizen.links() == [f"{sees['query']} -> /q"]

    async with sessions() as s:
        rect = await s.scalar(select(Rectification))
    assert rect is not None and rect.status == RectificationStatus.OPEN
    shown = await citizen.main()
    assert sees["number"].format(id=rect.id) in shown and sees["unit"] in shown
    reference = (await citizen.page.inner_text("#reference")).strip()
    receipt = (await citizen.page.inner_text("#receipt")).strip()
    assert reference == str(rect.id) and 6 <= len(receipt) <= 8
    await assert_reads(citizen, language)
    await citizen.write("138 0013 8000", "#phone")
    await citizen.primary("phone-left")
    assert sees["call_back"] in await citizen.main()
    # the next person at a shared phone opens the link again: the number, never the code
    await citizen.open(url, "reopened")
    reopened = await citizen.main()
    assert sees["submitted"] in reopened and sees["number"].format(id=rect.id) in reopened
    assert receipt not in await citizen.page.content()
    assert await citizen.page.locator("#receipt, #phone").count() == 0
    await assert_reads(citizen, language)
    [response] = await _responses(sessions)
    assert response.channel == "web" and response.wants_reply and response.locale == language
    assert response.overall == Satisfaction.VERY_DISSATISFIED
    assert response.problems == [0, 2] and response.problem_text == REASON
    assert response.receipt_hash and receipt not in response.receipt_hash  # only its hash
    assert response.callback_phone == "13800138000" and response.reply_chat_id is None

    # before the unit answers: the item's state, nothing to rate yet
    await citizen.follow(sees["query"], "query-form")
    await assert_reads(citizen, language)
    assert await citizen.links() == []  # its one link would lead to this very page
    await citizen.write(reference, "#reference")
    await citizen.write(receipt.lower(), "#receipt")  # typed in small letters: still found
    await citizen.primary("query-open")
    assert sees["handling"] in await citizen.main()
    assert await citizen.page.locator("button[name=rating]").count() == 0
    await assert_reads(citizen, language)

    # the unit head answers in the chat, as for a 差评 made in the chat
    notice = await head.expect_text(f"#{rect.id}", timeout=60)
    detail = await rect_chat.open_item(head, rect.id, notice)
    assert REASON in detail.text and "13800138000" not in notice.text
    done = await rect_chat.answer(head, rect.id, detail, RECORD_TEXT, reply=REPLY_TEXT)
    assert "Saved" in done.text

    await citizen.reload("query-answered")
    shown = await citizen.main()
    assert REPLY_TEXT in shown and RECORD_TEXT not in shown  # the reply, never the record
    assert sees["rate_question"] in await citizen.question()
    ratings = citizen.page.locator("button[name=rating]")
    assert [t.strip() for t in await ratings.all_inner_texts()] == sees["ratings"]
    await assert_reads(citizen, language)
    await citizen.press(sees["ratings"][0], "query-rated")
    assert sees["rated"] in await citizen.main()
    assert await citizen.page.locator("button[name=rating]").count() == 0
    await assert_reads(citizen, language)
    async with sessions() as s:
        rated = await s.get(Rectification, rect.id)
        assert rated is not None and rated.status == RectificationStatus.CLOSED
        assert rated.citizen_rating == Satisfaction.SATISFIED.value
    rating_notice = await head.expect_text("The citizen rated", timeout=60)
    assert f"#{rect.id}" in rating_notice.text
    assert citizen.layout == []


# --- a used link ----------------------------------------------------------------------


async def test_a_used_single_use_link_shows_the_not_found_page(
    sessions: SessionFactory, site: str, phones: Phones
) -> None:
    """Once answered, a single-use code shows another phone the same 404 page as a code that
    never existed: nothing tells a stranger that it was real."""
    await make_org(sessions)
    url = await _link(sessions, site)
    screens = Screens("used-link")
    first = Citizen(await phones.phone("zh_Hans"), screens)
    await first.open(url, "first-phone")
    await first.answer_all(VERY_SATISFIED)
    await first.primary("thanks")

    second = Citizen(await phones.phone("zh_Hans"), screens)
    await second.open(url, "used-link")
    assert second.status == 404
    used = await second.main()
    assert "页面不存在" in used and "此评价二维码无效或已停用。" in used
    await assert_reads(second, "zh_Hans")
    assert await second.page.locator("button.level").count() == 0
    await second.open(f"{site}/s/NoSuchTokenAtAll123", "unknown-link")
    assert second.status == 404 and await second.main() == used
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(SurveyResponse)) == 1
    assert first.layout == [] and second.layout == []


@pytest.mark.nodb
def test_english_words_finds_latin_words_only() -> None:
    assert english_words("您的编号：123，Telegram 评价 OK", allowed=("Telegram",)) == []
    assert english_words("提交 Submit") == ["Submit"]
