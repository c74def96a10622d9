"""One Bot API call: decoded parameters plus the registry every method module registers into."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fakebotapi import errors
from fakebotapi.errors import ApiError, bad_request
from fakebotapi.markup import decode_json
from fakebotapi.state import BotState, Chat, Hub


@dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str
    body: bytes
    content_type: str | None = None


class Params:
    """Request parameters, whatever the encoding (form values are strings, JSON values typed)."""

    def __init__(self, values: dict[str, Any], files: dict[str, Upload] | None = None) -> None:
        self.values = values
        self.files = files or {}

    def raw(self, name: str) -> Any:
        """The value as received, or ``None``."""
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        """A string parameter (numbers sent in JSON bodies are stringified)."""
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else str(value)

    def integer(self, name: str, *, required: bool = True) -> int | None:
        """An integer parameter; missing and malformed values get Telegram-style 400s."""
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"Bad Request: {name} is empty")
            return None
        try:
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"Bad Request: {name} is invalid") from None

    def number(self, name: str) -> float | None:
        """A float parameter (e.g. getUpdates timeout)."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"Bad Request: {name} is invalid") from None

    def flag(self, name: str) -> bool:
        """A boolean parameter ("true"/"1" or JSON ``true``)."""
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def obj(self, name: str) -> Any:
        """A nested object; JSON-decoded when it arrived as a form string."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        return decode_json(value, f"Bad Request: can't parse {name} JSON object")


@dataclass
class Call:
    """Everything a method implementation may touch."""

    hub: Hub
    bot: BotState
    method: str
    params: Params
    closed: Callable[[], bool] = field(default=lambda: False)

    def chat(self, *, writable: bool = True) -> Chat:
        """The target chat from ``chat_id``; 400 if unknown, 403 if the user blocked the bot."""
        value = self.params.raw("chat_id")
        if value is None or value == "":
            raise bad_request("Bad Request: chat_id is empty")
        try:
            chat = self.bot.chat(int(value))
        except (TypeError, ValueError):
            chat = None
        if chat is None:
            raise ApiError(400, errors.CHAT_NOT_FOUND)
        if writable and chat.blocked:
            raise ApiError(403, errors.BLOCKED)
        return chat


Method = Callable[[Call], Awaitable[Any]]
METHODS: dict[str, Method] = {}
_BY_LOWER: dict[str, str] = {}


def method(name: str) -> Callable[[Method], Method]:
    """Register a Bot API method implementation under its canonical camelCase name."""

    def register(func: Method) -> Method:
        METHODS[name] = func
        _BY_LOWER[name.lower()] = name
        return func

    return register


def lookup(name: str) -> str | None:
    """Canonical method name for a case-insensitive request path segment."""
    return _BY_LOWER.get(name.lower())
