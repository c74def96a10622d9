"""reply_markup decoding and validation (inline keyboards, reply keyboards, remove, force reply)."""

from __future__ import annotations

import json
import re
from typing import Any

from fakebotapi import errors
from fakebotapi.errors import ApiError, bad_request

_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_URL_RE = re.compile(r"^(https?://[^\s/?#]+[^\s]*|tg://\S+|ton://\S+)$", re.IGNORECASE)


def decode_json(value: Any, description: str) -> Any:
    """Form-encoded requests carry nested objects as JSON strings; JSON bodies carry them as-is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(description) from None
    return value


def _check_inline_button(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    if not any(key in button for key in _INLINE_ACTIONS):
        raise ApiError(400, errors.TEXT_BUTTONS_UNALLOWED)
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
            raise ApiError(400, errors.BUTTON_DATA_INVALID)
    if "url" in button and not (isinstance(button["url"], str) and _URL_RE.match(button["url"])):
        raise bad_request("Bad Request: BUTTON_URL_INVALID")
    return dict(button)


def _rows(value: Any, field: str) -> list[list[Any]]:
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise bad_request(f'Bad Request: field "{field}" must be an Array of Arrays')
    return value


def parse_reply_markup(value: Any) -> dict[str, Any] | None:
    """Validate ``reply_markup`` like Telegram does; returns the normalised object or ``None``."""
    if value is None or value == "":
        return None
    markup = decode_json(value, errors.REPLY_MARKUP_JSON)
    if not isinstance(markup, dict):
        raise ApiError(400, errors.REPLY_MARKUP_JSON)
    if "inline_keyboard" in markup:
        rows = _rows(markup["inline_keyboard"], "inline_keyboard")
        return {"inline_keyboard": [[_check_inline_button(b) for b in row] for row in rows]}
    if "keyboard" in markup:
        rows = _rows(markup["keyboard"], "keyboard")
        for row in rows:
            for button in row:
                if not isinstance(button, str | dict) or (
                    isinstance(button, dict) and not isinstance(button.get("text"), str)
                ):
                    raise bad_request(
                        "Bad Request: can't parse keyboard button: "
                        'Field "text" must be of type String'
                    )
        return dict(markup)
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return dict(markup)
    raise ApiError(400, errors.REPLY_MARKUP_JSON)


def inline_part(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """Only inline keyboards are attached to (and returned with) the Message object."""
    if markup and "inline_keyboard" in markup:
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None
