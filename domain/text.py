"""Text for Telegram: translatable markers, HTML built safely, and clipping as Telegram counts.

The rule for HTML messages: translated templates are HTML; values (names, unit names, periods,
reasons, error parameters) never are. A value is escaped exactly once, when it is put into a
template by ``html_format`` (or ``escape``), and the result is an ``Html`` string that is never
escaped again, so nesting one rendered piece in another cannot show ``&amp;lt;``.

Telegram measures a message in UTF-16 code units of the text *after* its entities are parsed
(``&lt;`` is one unit, a tag none, an emoji outside the BMP two): 4,096 per message, 1,024 per
caption, 200 per callback alert. ``clip`` cuts a plain value before it is escaped; ``clip_html``
is the last guard on a rendered message and cuts between tags and entities, closing what it
leaves open. Both cut between graphemes where they can, never inside a surrogate pair.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from typing import Final

MESSAGE_LIMIT: Final = 4096
CAPTION_LIMIT: Final = 1024
ALERT_LIMIT: Final = 200
ELLIPSIS: Final = "…"


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it here (pure code has no locale)."""
    return message


class Html(str):
    """A string that is already HTML (a rendered template or an escaped value): kept as is."""

    __slots__ = ()


def escape(value: object) -> Html:
    """``value`` as HTML text, escaped once: an ``Html`` value is returned unchanged."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=False))


def html_format(template: str, /, **params: object) -> Html:
    """Fill a (translated) HTML ``template``, escaping every parameter that is not ``Html``."""
    return Html(template.format(**{key: escape(value) for key, value in params.items()}))


def html_join(separator: str, parts: Iterable[object]) -> Html:
    """Join pieces into HTML; plain pieces are escaped, ``Html`` ones kept (``separator`` is HTML)."""
    return Html(separator.join(escape(part) for part in parts))


def unescape(text: str) -> str:
    """The text a reader sees of an HTML string (tags dropped, entities decoded)."""
    return html.unescape(_TAG.sub("", text))


# -- measuring and clipping ------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


_ZWJ = "\u200d"


def _extends(ch: str) -> bool:
    """Whether ``ch`` belongs to the grapheme before it (a cut must not fall before it)."""
    code = ord(ch)
    return (
        ch == _ZWJ
        or unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or 0xFE00 <= code <= 0xFE0F  # variation selectors (emoji vs text style)
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
    )


def _is_regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _boundary(text: str, end: int) -> int:
    """The largest grapheme boundary ≤ ``end`` (falls back to ``end`` for one huge cluster)."""
    cut = end
    while 0 < cut < len(text) and (_extends(text[cut]) or text[cut - 1] == _ZWJ):
        cut -= 1
    if 0 < cut < len(text) and _is_regional(text[cut]):
        run = 0  # flags are pairs of regional indicators: do not split one
        while cut - run > 0 and _is_regional(text[cut - run - 1]):
            run += 1
        cut -= run % 2
    return cut if cut > 0 else end


def _prefix(text: str, budget: int) -> int:
    """How many code points of ``text`` fit in ``budget`` UTF-16 units."""
    used = 0
    for index, ch in enumerate(text):
        used += _units(ch)
        if used > budget:
            return index
    return len(text)


def clip(text: str, limit: int, *, ellipsis: str = ELLIPSIS) -> str:
    """``text`` cut to at most ``limit`` UTF-16 units (``ellipsis`` included), between graphemes.

    Cut plain values with this *before* escaping them; Telegram counts the escaped text as the
    reader sees it, so escaping does not change the length that matters.
    """
    if utf16_len(text) <= limit:
        return text
    room = max(limit - utf16_len(ellipsis), 0)
    return text[: _boundary(text, _prefix(text, room))].rstrip() + ellipsis


def share(budget: int, values: list[str], *, ellipsis: str = ELLIPSIS) -> list[str]:
    """Clip ``values`` so that together they take at most ``budget`` UTF-16 units.

    Short values stay whole; the long ones split what is left evenly. For a message with
    several free texts (a reason, a question, an answer), measured before escaping.
    """
    left = max(budget, 0)
    out = list(values)
    order = sorted(range(len(values)), key=lambda i: utf16_len(values[i]))
    for rank, index in enumerate(order):
        room = left // (len(order) - rank)
        out[index] = clip(values[index], room, ellipsis=ellipsis)
        left -= utf16_len(out[index])
    return out


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>")
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,9});")


def html_len(text: str) -> int:
    """Length of an HTML message as Telegram counts it (after parsing tags and entities)."""
    return utf16_len(unescape(text))


def clip_html(text: str, limit: int = MESSAGE_LIMIT, *, ellipsis: str = ELLIPSIS) -> Html:
    """A rendered HTML message cut to ``limit`` units as Telegram counts them.

    Never cuts inside a tag or an entity (``&lt;`` cut to ``&l`` is a parse error), prefers
    the end of a line when one is near, and closes the tags it leaves open.
    """
    if html_len(text) <= limit:
        return Html(text)
    room = max(limit - utf16_len(ellipsis), 0)
    out: list[str] = []
    open_tags: list[str] = []
    used = 0
    pos = 0
    line_end: tuple[int, list[str]] | None = None  # (len(out), open tags) after the last "\n"
    while pos < len(text):
        if text[pos] == "<" and (tag := _TAG.match(text, pos)):
            out.append(tag.group(0))
            name = tag.group(2).lower()
            if tag.group(1):
                if name in open_tags:
                    del open_tags[len(open_tags) - 1 - open_tags[::-1].index(name)]
            else:
                open_tags.append(name)
            pos = tag.end()
            continue
        if text[pos] == "&" and (entity := _ENTITY.match(text, pos)):
            piece, shown = entity.group(0), html.unescape(entity.group(0))
            end = entity.end()
        else:
            end = pos + 1  # one grapheme: a character with its marks, ZWJ sequence or flag
            if _is_regional(text[pos]) and end < len(text) and _is_regional(text[end]):
                end += 1
            while end < len(text) and text[end] not in "<&":
                if not (_extends(text[end]) or text[end - 1] == _ZWJ):
                    break
                end += 1
            piece = shown = text[pos:end]
        size = utf16_len(shown)
        if used + size > room:
            break
        out.append(piece)
        used += size
        pos = end
        if shown == "\n":
            line_end = (len(out), list(open_tags))
    if line_end is not None and used - _shown_len(out[line_end[0] :]) >= room * 3 // 4:
        out, open_tags = out[: line_end[0]], line_end[1]  # a whole line rather than half of one
    body = "".join(out).rstrip()
    return Html(body + ellipsis + "".join(f"</{name}>" for name in reversed(open_tags)))


def _shown_len(pieces: list[str]) -> int:
    return html_len("".join(pieces))
