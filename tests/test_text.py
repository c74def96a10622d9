"""HTML built safely and text cut as Telegram counts it (domain/text.py), without a database."""

from __future__ import annotations

import pytest

from domain.text import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    Html,
    clip,
    clip_html,
    escape,
    html_format,
    html_join,
    html_len,
    share,
    unescape,
    utf16_len,
)
from fakebotapi.html_markup import parse_html
from infra.i18n import Translator
from services.errors import DomainError

pytestmark = pytest.mark.nodb


def test_values_are_escaped_exactly_once() -> None:
    name = "A&B <Ltd>"
    inner = html_format("<b>{name}</b>", name=name)
    assert inner == "<b>A&amp;B &lt;Ltd&gt;</b>"
    outer = html_format("{who} · {unit}", who=inner, unit=escape("R&D"))
    assert outer == "<b>A&amp;B &lt;Ltd&gt;</b> · R&amp;D"
    assert isinstance(outer, Html) and escape(outer) is outer
    assert html_join("、", ["<x>", Html("<i>y</i>")]) == "&lt;x&gt;、<i>y</i>"
    assert parse_html(outer)[0] == "A&B <Ltd> · R&D"


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_len("张三") == 2
    assert utf16_len("😀") == 2
    assert utf16_len("a😀b") == 4


def test_clip_never_splits_a_surrogate_pair_or_a_grapheme() -> None:
    emoji = "😀" * 2000
    cut = clip(emoji, 1001)
    assert utf16_len(cut) <= 1001 and cut == "😀" * 500 + "…"
    family = "👨\u200d👩\u200d👧" * 10  # one grapheme of 5 code points, 8 UTF-16 units
    cut = clip(family, 20)
    assert cut == "👨\u200d👩\u200d👧" * 2 + "…"
    flags = "🇨🇳" * 10
    assert clip(flags, 7) == "🇨🇳" + "…"
    accents = "e\u0301" * 10
    assert clip(accents, 6) == "e\u0301" * 2 + "…"
    assert clip("short", 10) == "short"


@pytest.mark.parametrize("limit", [MESSAGE_LIMIT, CAPTION_LIMIT, 50])
def test_clip_html_fits_as_telegram_counts_and_stays_well_formed(limit: int) -> None:
    reason = "<" * 5000
    text = html_format("<b>Reason:</b> {text}\n<i>{more}</i>", text=reason, more="😀" * 3000)
    cut = clip_html(text, limit)
    shown, _ = parse_html(cut)  # raises on malformed markup
    assert utf16_len(shown) <= limit and html_len(cut) == utf16_len(shown)
    assert "…" in shown


def test_clip_html_keeps_short_messages_and_closes_tags() -> None:
    assert clip_html("<b>x</b>", 10) == "<b>x</b>"
    cut = clip_html("<b>" + "字" * 20 + "</b>", 10)
    assert cut == "<b>" + "字" * 9 + "…</b>"
    assert unescape(cut) == "字" * 9 + "…"


def test_clip_html_prefers_a_line_end() -> None:
    lines = "\n".join(f"{n}. " + "名" * 20 for n in range(300))
    cut = clip_html(lines, 1000)
    assert parse_html(cut)[0].endswith("名" * 20 + "…")


def test_a_refusal_escapes_its_parameters_for_html_and_not_for_alerts() -> None:
    refusal = DomainError("Unit {unit} is closed.", unit="R&D <north>")
    tr = Translator("en")
    assert refusal.render(tr) == "Unit R&amp;D &lt;north&gt; is closed."
    assert refusal.plain(tr) == "Unit R&D <north> is closed."
    assert parse_html(refusal.render(tr))[0] == refusal.plain(tr)


def test_share_keeps_short_texts_whole_and_splits_the_rest() -> None:
    short, long_a, long_b = share(100, ["a" * 10, "b" * 200, "😀" * 200])
    assert short == "a" * 10
    assert utf16_len(long_a) <= 45 and utf16_len(long_b) <= 45
    assert utf16_len(short + long_a + long_b) <= 100
    assert share(100, ["x", "y"]) == ["x", "y"]
