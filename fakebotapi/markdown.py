"""MarkdownV2 and legacy Markdown parsing with Telegram's error texts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fakebotapi.errors import parse_error
from fakebotapi.textutil import Entity, TextBuilder, byte_offset, sort_entities

MARKDOWN_V2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
    "code": "Code",
    "pre": "Pre",
}


@dataclass
class _MdOpen:
    kind: str
    offset: int
    byte_pos: int
    language: str | None = None


def _read_link_target(text: str, pos: int) -> tuple[str, int]:
    """Read ``(url)`` starting at ``pos`` (which holds ``(``); ``\\`` escapes ``)``."""
    chars: list[str] = []
    i = pos + 1
    while i < len(text) and text[i] != ")":
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in ")\\":
            i += 1
        chars.append(text[i])
        i += 1
    if i >= len(text):
        raise parse_error(f"Can't find end of a url at byte offset {byte_offset(text, pos)}")
    return "".join(chars), i + 1


def _mdv2_closes(top: _MdOpen, text: str, i: int) -> int:
    """How many characters close ``top`` at ``i`` (0 if the entity does not end here)."""
    char = text[i]
    nxt = text[i + 1] if i + 1 < len(text) else ""
    kind = top.kind
    if kind == "bold" and char == "*":
        return 1
    if kind == "italic" and char == "_" and nxt != "_":
        return 1
    if kind == "underline" and text.startswith("__", i):
        return 2
    if kind == "strikethrough" and char == "~":
        return 1
    if kind == "spoiler" and text.startswith("||", i):
        return 2
    if kind in ("text_link", "custom_emoji") and char == "]":
        return 1
    if kind == "code" and char == "`":
        return 1
    if kind == "pre" and text.startswith("```", i):
        return 3
    return 0


def _mdv2_open(
    text: str, i: int, out: TextBuilder, at_line_start: bool
) -> tuple[_MdOpen | None, int]:
    """Open the entity at ``i``; returns it (``None`` for a blockquote marker) and its length."""
    char = text[i]
    byte_pos = byte_offset(text, i)
    reserved = parse_error(
        f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
    )
    if char == "_":
        if text.startswith("__", i):
            return _MdOpen("underline", out.offset, byte_pos), 2
        return _MdOpen("italic", out.offset, byte_pos), 1
    if char == "*":
        return _MdOpen("bold", out.offset, byte_pos), 1
    if char == "~":
        return _MdOpen("strikethrough", out.offset, byte_pos), 1
    if char == "|":
        if text.startswith("||", i):
            return _MdOpen("spoiler", out.offset, byte_pos), 2
        raise reserved
    if char == "[":
        return _MdOpen("text_link", out.offset, byte_pos), 1
    if char == "!" and text.startswith("![", i):
        return _MdOpen("custom_emoji", out.offset, byte_pos), 2
    if char == "`":
        if text.startswith("```", i):
            match = re.match(r"([^\s`]+)\n", text[i + 3 :])
            language = match.group(1) if match else None
            skip = 3 + (len(match.group(0)) if match else 0)
            if not match and text.startswith("\n", i + 3):
                skip += 1
            return _MdOpen("pre", out.offset, byte_pos, language), skip
        return _MdOpen("code", out.offset, byte_pos), 1
    if char == ">" and at_line_start:
        return None, 1
    raise reserved


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2: every reserved character outside an entity must be backslash-escaped."""
    out = TextBuilder()
    stack: list[_MdOpen] = []
    entities: list[Entity] = []
    quote_start: int | None = None
    at_line_start = True
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.add(text[i + 1])
            i += 2
            at_line_start = False
            continue
        in_code = bool(stack) and stack[-1].kind in ("code", "pre")
        if char == "\n":
            if quote_start is not None and not text.startswith(">", i + 1) and not in_code:
                if out.offset > quote_start:
                    entities.append(
                        {
                            "type": "blockquote",
                            "offset": quote_start,
                            "length": out.offset - quote_start,
                        }
                    )
                quote_start = None
            out.add(char)
            i += 1
            at_line_start = True
            continue
        if stack and (closing := _mdv2_closes(stack[-1], text, i)):
            top = stack.pop()
            i += closing
            entity: Entity | None = None
            length = out.offset - top.offset
            if top.kind in ("text_link", "custom_emoji"):
                if not text.startswith("(", i):
                    raise parse_error(
                        f"Can't find end of {_MDV2_NAMES[top.kind]} entity at byte offset "
                        f"{top.byte_pos}"
                    )
                target, i = _read_link_target(text, i)
                if length > 0 and top.kind == "text_link":
                    entity = {"type": "text_link", "offset": top.offset, "length": length}
                    entity["url"] = target
                elif length > 0:
                    emoji_id = target.removeprefix("tg://emoji?id=")
                    entity = {"type": "custom_emoji", "offset": top.offset, "length": length}
                    entity["custom_emoji_id"] = emoji_id
            elif length > 0:
                entity = {"type": top.kind, "offset": top.offset, "length": length}
                if top.kind == "pre" and top.language:
                    entity["language"] = top.language
            if entity is not None:
                entities.append(entity)
            at_line_start = False
            continue
        if in_code or char not in MARKDOWN_V2_RESERVED:
            out.add(char)
            i += 1
            at_line_start = False
            continue
        opened, consumed = _mdv2_open(text, i, out, at_line_start)
        i += consumed
        at_line_start = False
        if opened is None:
            if quote_start is None:
                quote_start = out.offset
            continue
        stack.append(opened)
    if stack:
        top = stack[-1]
        raise parse_error(
            f"Can't find end of {_MDV2_NAMES[top.kind]} entity at byte offset {top.byte_pos}"
        )
    if quote_start is not None and out.offset > quote_start:
        entities.append(
            {"type": "blockquote", "offset": quote_start, "length": out.offset - quote_start}
        )
    return out.text(), sort_entities(entities)


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    """Parse legacy Markdown: ``*bold*``, ``_italic_``, `` `code` ``, ``` ``` ```, ``[t](url)``."""
    out = TextBuilder()
    entities: list[Entity] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.add(char)
            i += 1
            continue
        begin = byte_offset(text, i)
        missing = parse_error(f"Can't find end of the entity starting at byte offset {begin}")
        start = out.offset
        entity: Entity | None
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise missing
            body = text[i + 3 : end]
            language = None
            first, newline, rest = body.partition("\n")
            if newline and not first:
                body = rest
            elif newline and not first.isspace() and " " not in first:
                language, body = first, rest
            out.add(body)
            entity = {"type": "pre", "offset": start, "length": out.offset - start}
            if language:
                entity["language"] = language
            i = end + 3
        elif char == "[":
            end = text.find("]", i + 1)
            if end < 0:
                raise missing
            out.add(text[i + 1 : end])
            i = end + 1
            entity = None
            if text.startswith("(", i):
                close = text.find(")", i)
                if close < 0:
                    raise missing
                url = text[i + 1 : close]
                entity = {"type": "text_link", "offset": start, "length": out.offset - start}
                entity["url"] = url
                i = close + 1
        else:
            end = text.find(char, i + 1)
            if end < 0:
                raise missing
            out.add(text[i + 1 : end])
            kind = {"*": "bold", "_": "italic", "`": "code"}[char]
            entity = {"type": kind, "offset": start, "length": out.offset - start}
            i = end + 1
        if entity is not None and entity["length"] > 0:
            entities.append(entity)
    return out.text(), sort_entities(entities)
