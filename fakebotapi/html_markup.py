"""Telegram's HTML subset: the allowed tags, their attributes and tdlib's error texts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fakebotapi.errors import parse_error
from fakebotapi.textutil import Entity, TextBuilder, byte_offset, sort_entities

HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "span",
        "tg-spoiler",
        "blockquote",
        "tg-emoji",
    }
)
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,9});")


def _decode_html_entity(text: str, pos: int) -> tuple[str, int] | None:
    match = _ENTITY_RE.match(text, pos)
    if match is None:
        return None
    name = match.group(1)
    if name[0] == "#":
        code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        return chr(code), match.end()
    if name in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[name], match.end()
    return None


def _unescape_match(match: re.Match[str]) -> str:
    decoded = _decode_html_entity(match.group(0), 0)
    return decoded[0] if decoded else match.group(0)


@dataclass
class _OpenTag:
    tag: str
    attrs: dict[str, str]
    offset: int
    byte_pos: int


def _parse_attributes(text: str, pos: int, tag: str, tag_byte: int) -> tuple[dict[str, str], int]:
    """Parse ``name="value"`` pairs up to ``>``; returns them and the index after ``>``."""
    attrs: dict[str, str] = {}
    n = len(text)
    while True:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            raise parse_error(f'Unclosed start tag "{tag}" at byte offset {tag_byte}')
        if text[pos] == ">":
            return attrs, pos + 1
        start = pos
        while pos < n and not text[pos].isspace() and text[pos] not in "=>/\"'":
            pos += 1
        name = text[start:pos].lower()
        if not name:
            raise parse_error(f'Empty attribute name in the tag "{tag}" at byte offset {tag_byte}')
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            raise parse_error(f'Unclosed start tag "{tag}" at byte offset {tag_byte}')
        if text[pos] != "=":
            attrs[name] = ""
            continue
        pos += 1
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            raise parse_error(f'Unclosed start tag "{tag}" at byte offset {tag_byte}')
        if text[pos] in "\"'":
            quote = text[pos]
            end = text.find(quote, pos + 1)
            if end < 0:
                raise parse_error(f"Unclosed start tag at byte offset {tag_byte}")
            raw = text[pos + 1 : end]
            attrs[name] = _ENTITY_RE.sub(_unescape_match, raw)
            pos = end + 1
        else:
            start = pos
            while pos < n and (text[pos].isalnum() or text[pos] in ".-"):
                pos += 1
            if pos < n and not text[pos].isspace() and text[pos] != ">":
                raise parse_error(
                    f"Unexpected end of name token at byte offset {byte_offset(text, pos)}"
                )
            attrs[name] = text[start:pos].lower()


def _html_entity(open_tag: _OpenTag, end_offset: int) -> Entity | None:
    length = end_offset - open_tag.offset
    if length <= 0:
        return None
    base: Entity = {"offset": open_tag.offset, "length": length}
    tag = open_tag.tag
    if tag in _SIMPLE_TAGS:
        return {"type": _SIMPLE_TAGS[tag], **base}
    if tag == "a":
        href = open_tag.attrs.get("href", "")
        return {"type": "text_link", **base, "url": href} if href else None
    if tag == "code":
        language = open_tag.attrs.get("class", "")
        if language.startswith("language-") and len(language) > len("language-"):
            return {"type": "code", **base, "language": language.removeprefix("language-")}
        return {"type": "code", **base}
    if tag == "pre":
        return {"type": "pre", **base}
    if tag == "blockquote":
        kind = "expandable_blockquote" if "expandable" in open_tag.attrs else "blockquote"
        return {"type": kind, **base}
    if tag == "tg-emoji":
        return {"type": "custom_emoji", **base, "custom_emoji_id": open_tag.attrs["emoji-id"]}
    return None


def _merge_pre_code(entities: list[Entity], new: Entity) -> None:
    """``<pre><code class="language-x">`` is one ``pre`` entity with a language, not two."""
    if entities and new["type"] == "pre":
        last = entities[-1]
        same_span = last["offset"] == new["offset"] and last["length"] == new["length"]
        if same_span and last["type"] == "code":
            last["type"] = "pre"
            return
    entities.append(new)


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[Entity]]:
    """Parse Telegram's HTML subset.

    ``strict_ampersand``: real Telegram keeps a bare ``&`` that starts no known entity as a
    literal; by default we reject it because it means the bot forgot ``html.escape``.
    """
    out = TextBuilder()
    stack: list[_OpenTag] = []
    entities: list[Entity] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                out.add(decoded[0])
                i = decoded[1]
                continue
            if strict_ampersand:
                raise parse_error(
                    f'Unescaped "&" at byte offset {byte_offset(text, i)}; use "&amp;"'
                )
        if char != "<":
            out.add(char)
            i += 1
            continue
        tag_byte = byte_offset(text, i)
        i += 1
        if i < n and text[i] == "/":
            if not stack:
                raise parse_error(f"Unexpected end tag at byte offset {tag_byte}")
            j = i + 1
            while j < n and not text[j].isspace() and text[j] != ">":
                j += 1
            name = text[i + 1 : j].lower()
            while j < n and text[j].isspace():
                j += 1
            if j >= n or text[j] != ">":
                raise parse_error(f"Unclosed end tag at byte offset {tag_byte}")
            top = stack.pop()
            if name and name != top.tag:
                raise parse_error(
                    f'Unmatched end tag at byte offset {tag_byte}, expected "</{top.tag}>", '
                    f'found "</{name}>"'
                )
            entity = _html_entity(top, out.offset)
            if entity is not None:
                _merge_pre_code(entities, entity)
            i = j + 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise parse_error(f"Unclosed start tag at byte offset {tag_byte}")
        tag = text[i:j].lower()
        if tag not in HTML_TAGS:
            raise parse_error(f'Unsupported start tag "{tag}" at byte offset {tag_byte}')
        attrs, i = _parse_attributes(text, j, tag, tag_byte)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise parse_error(f'Tag "span" must have class "tg-spoiler" at byte offset {tag_byte}')
        if tag == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise parse_error("Invalid custom emoji identifier specified")
        stack.append(_OpenTag(tag, attrs, out.offset, tag_byte))
    if stack:
        raise parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)  # only pre carries a language
    return out.text(), sort_entities(entities)
