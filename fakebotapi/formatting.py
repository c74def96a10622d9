"""Message text validation: parse_mode parsing into plain text + entities, and length limits.

Telegram rejects malformed markup with "can't parse entities: ..." and measures lengths in UTF-16
code units of the *parsed* text; a bot that escapes user input wrongly or overflows a message must
fail here exactly like it would in production.

Only what the bot sends is understood: HTML, plain text, or explicit entities. Markdown and
MarkdownV2 are answered with a 400 "unsupported parse_mode" (which the test suite treats as
malformed markup), so a message written in Markdown cannot slip in unnoticed.
"""

from __future__ import annotations

from typing import Any

from fakebotapi import errors
from fakebotapi.errors import ApiError
from fakebotapi.html_markup import parse_html
from fakebotapi.textutil import Entity, utf16_len

__all__ = [
    "check_text",
    "parse_html",
    "parse_text",
    "utf16_len",
]

MAX_TEXT = 4096
MAX_CAPTION = 1024


def _strip(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Telegram trims surrounding whitespace; entity offsets shift and lengths clip accordingly."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    result: list[Entity] = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


def parse_text(
    text: str,
    parse_mode: str | None,
    entities: list[Entity] | None = None,
    *,
    strict_ampersand: bool = True,
) -> tuple[str, list[Entity]]:
    """Turn a request's text + parse_mode (or explicit entities) into what Telegram stores."""
    mode = (parse_mode or "").lower()
    if not mode:
        plain, found = text, [dict(e) for e in entities or []]
    elif mode == "html":
        plain, found = parse_html(text, strict_ampersand=strict_ampersand)
    else:  # Markdown and MarkdownV2 included: the bot never sends them
        raise ApiError(400, errors.UNSUPPORTED_PARSE_MODE)
    return _strip(plain, found)


def check_text(
    text: str | None,
    parse_mode: str | None,
    entities: Any,
    *,
    caption: bool,
    strict_ampersand: bool = True,
) -> tuple[str, list[Entity]]:
    """Parse and enforce Telegram's limits; an empty caption is allowed, an empty text is not."""
    plain, found = parse_text(
        text or "",
        parse_mode,
        entities if isinstance(entities, list) else None,
        strict_ampersand=strict_ampersand,
    )
    if not plain and not caption:
        raise ApiError(400, errors.TEXT_EMPTY)
    limit = MAX_CAPTION if caption else MAX_TEXT
    if utf16_len(plain) > limit:
        raise ApiError(400, errors.CAPTION_TOO_LONG if caption else errors.MESSAGE_TOO_LONG)
    return plain, found
