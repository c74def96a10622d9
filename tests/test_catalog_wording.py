"""The catalogs read as the bureau writes: zh_Hant all Traditional, in one (Taiwan)
vocabulary; no calques of the English in either script; one term for one thing."""

from __future__ import annotations

import re

import opencc
import pytest
from babel.messages.pofile import read_po

from infra.i18n import catalog_path

pytestmark = pytest.mark.nodb

# Taiwan's word on the left of each pair is the one the zh_Hant catalog uses.
TAIWAN_NOT_MAINLAND = {
    "計畫": "計劃",
    "傳送": "發送",
    "點選": "點擊",
    "儲存": "保存",
    "訊息": "信息",
    "QR Code": "二維碼",
    "首頁": "主頁",
    "第{row}行": "第{row}列",
    "公布": "公佈",
    "分布": "分佈",
    "目前": "當前",
    "聯絡": "聯繫",
    "檢視": "查看",
}
# a converter's Taiwan words that are wrong here: 服務對象 (the public served) is no 物件
# (an object), and a service window (窗口) is no 視窗 (a screen's window)
MACHINE_CONVERSIONS = ("物件", "視窗")
CALQUES = (
    "当天结束前",  # "by the end of the day": 前（含当日）
    "在聊天中",  # "in the chat"
    "以消息形式",  # "as a message"
    "以下是您当前的步骤",  # "here is where you are now"
    "干得好",  # "well done"
    "我们会在此对话中",  # "in this conversation"
)
# A citizen reads the bureau's answer: 查看答覆, as the bureau writes to the public (issue
# 14); 檢視 stays the word of the bot's buttons and commands. Feedback is 意見回饋, not 反饋.
CITIZEN_READS = re.compile(r"查看(您的)?答覆")
ZH_HANT_NOT = ("檢視答覆", "檢視您的答覆", "反饋")
ONE_TERM = ("群众满意度", "办事群众", "问卷链接", "满意度调查二维码", "调查链接")


def _strings(locale: str) -> list[tuple[str, str]]:
    with catalog_path(locale).open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    found = []
    for m in catalog:
        if not m.id:
            continue
        for s in m.string if isinstance(m.string, tuple) else (m.string,):
            found.append((m.id if isinstance(m.id, str) else m.id[0], s))
    return found


def test_zh_hant_is_traditional_throughout() -> None:
    s2t = opencc.OpenCC("s2tw")
    simplified = [
        (msgid, s)
        for msgid, s in _strings("zh_Hant")
        if {a for a, b in zip(s, s2t.convert(s), strict=False) if a != b} - set("布准")
    ]
    assert not simplified


def test_zh_hant_uses_one_regional_vocabulary() -> None:
    mainland = [
        (word, s)
        for _id, s in _strings("zh_Hant")
        for word in (*TAIWAN_NOT_MAINLAND.values(), *MACHINE_CONVERSIONS, *ZH_HANT_NOT)
        if word in CITIZEN_READS.sub("", s)
    ]
    assert not mainland


def test_zh_hant_citizens_read_the_answer_with_one_word() -> None:
    about_the_answer = [s for _id, s in _strings("zh_Hant") if "答覆" in s and "看" in s]
    assert about_the_answer and all(CITIZEN_READS.search(s) for s in about_the_answer)


def test_zh_hans_has_no_calques_and_one_term_per_thing() -> None:
    wrong = [(w, s) for _id, s in _strings("zh_Hans") for w in (*CALQUES, *ONE_TERM) if w in s]
    assert not wrong


# an ASCII colon after Chinese (or after a placeholder or tag that ends a Chinese phrase)
ASCII_COLON_AFTER_CJK = re.compile(r"[\u3400-\u9fff\u3001-\u303f\uff01-\uff5e}>](?::\s|:$)")


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant"])
def test_chinese_writes_the_full_width_colon(locale: str) -> None:
    """总体评价：非常满意 1, never 总体评价: … (the survey statistics, and every other line)."""
    ascii_colon = [s for _id, s in _strings(locale) if ASCII_COLON_AFTER_CJK.search(s)]
    assert not ascii_colon


def test_english_says_negative_rating_and_fairly_satisfied() -> None:
    msgids = {msgid for msgid, _s in _strings("en")}
    assert "Fairly satisfied" in msgids and "Basically satisfied" not in msgids
    assert not [m for m in msgids if "bad review" in m.lower() or "in the chat" in m]
