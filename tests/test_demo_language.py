"""``jixiao demo --language``: every message a zh_Hant user reads is Traditional (people's
names aside, shown as stored), and every message an English user reads has English
punctuation. The demo drives the real bot through a whole cycle, so this reads the
messages of every flow it passes through."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import opencc
import pytest

from bot.demo import aligned, run_demo
from fakebotapi import BotMessage
from services.staff_import import parse_roster

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.nodb]  # nodb: its own SQLite, whatever the run uses

# Chinese punctuation; “ ” are left out, being English quotation marks as well.
CJK_PUNCTUATION = re.compile(r"[、：【】（）「」，。；！？]")
# A Chinese name or text shown as stored (a unit, a template, a goal without English) keeps
# its own punctuation: a run that starts with a Chinese character.
CHINESE_RUN = re.compile(r"[\u4e00-\u9fff][\u4e00-\u9fff0-9A-Za-z、：（）「」，。；！？%]*")
# Hard-coded list joins (、) and headings (【…】) in code that engineer h4 is moving onto
# Translator.join / .heading in parallel; anything else fails here.
CODE_JOINS = set("、【】")
# Characters s2tw would change but that Traditional Chinese writes too: 公布 (the form
# Taiwan's dictionary gives) and 批准.
ALSO_TRADITIONAL = set("布准")
PEOPLE = sorted(
    {p.name for p in parse_roster((ROOT / "examples" / "staff.csv").read_bytes(), "x.csv").people}
    | {"周杰"},
    key=len,
    reverse=True,
)


def _demo(tmp_path: Path, language: str) -> list[tuple[str, str]]:
    """(reader, text with its buttons) of every message the demo's people got."""
    got: list[tuple[str, str]] = []

    def keep(reader: str, msg: BotMessage) -> None:
        got.append((reader, "\n".join([msg.text or "", *msg.button_texts()])))

    lines: list[str] = []
    assert asyncio.run(run_demo(tmp_path, lines.append, language=language, on_message=keep)) == 0
    assert len(got) > 50, "\n".join(lines)
    assert (tmp_path / "result-chart.png").read_bytes().startswith(b"\x89PNG")
    return got


def _without_names(text: str) -> str:
    for name in PEOPLE:
        text = text.replace(name, "")
    return text


PERIOD_CODE = re.compile(r"(?<!\d)\d{4}Q[1-4](?!\d)")
COMMAND = re.compile(r"/\w+ \d{4}Q[1-4]")  # a command to type takes the code: /score 2026Q4


def test_a_zh_hant_user_reads_traditional_chinese_only(tmp_path: Path) -> None:
    s2t = opencc.OpenCC("s2tw")
    simplified = []
    for reader, text in _demo(tmp_path, "zh_Hant"):
        if PERIOD_CODE.search(COMMAND.sub("", text)):  # as people write it: 2026年第四季度
            simplified.append(f"{reader}: a period code in {text[:120]!r}")
        text = _without_names(text)
        converted = s2t.convert(text)
        chars = {a for a, b in zip(text, converted, strict=False) if a != b} - ALSO_TRADITIONAL
        if chars:
            simplified.append(f"{reader}: {''.join(sorted(chars))} in {text[:120]!r}")
    assert not simplified, "\n".join(simplified)


def test_an_english_user_reads_english_punctuation_only(tmp_path: Path) -> None:
    joins, wrong = [], []
    for reader, text in _demo(tmp_path, "en"):
        found = set(CJK_PUNCTUATION.findall(CHINESE_RUN.sub("", text)))
        if found:
            line = f"{reader}: {''.join(sorted(found))} in {text[:160]!r}"
            (joins if found <= CODE_JOINS else wrong).append(line)
    assert not wrong and not joins, "\n".join(wrong + joins)


def test_the_table_lines_up_by_display_width() -> None:
    rows = aligned([("排名", "Name", "总分"), ("1", "孙浩", "95.5"), ("12", "Li", "8")], right=(2,))
    assert rows == ["排名  Name  总分", "1     孙浩  95.5", "12    Li       8"]
