"""In-memory state of the fake Telegram: bots, private chats, messages, updates, files.

Everything lives on one asyncio loop, so plain mutation is race-free; waiters (long polls,
``wait_until``, webhook delivery) sleep on a shared :class:`Notifier` that is poked after
every state change instead of polling on a timer. ``SimUser.expect`` sleeps on its own
chat's notifier instead, poked only when the bot sends or edits there: with thousands of
simulated users waiting at once, a broadcast would wake them all on every request.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import mimetypes
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

#: Update types Telegram leaves out unless explicitly listed in ``allowed_updates``.
NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
MAX_DOWNLOAD = 20 * 1024 * 1024
#: One order for every message and edit across all chats, so a transcript of several
#: chats (``jixiao demo``) can show them in the order the bot sent them.
_EVENT_ORDER = itertools.count(1)


class Notifier:
    """A broadcast "something changed" signal: each notify wakes every current waiter once."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.version = 0

    def notify(self) -> None:
        """Wake all waiters; they re-check their own condition."""
        self.version += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` holds (re-checked on every notify) or ``timeout`` passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            event = self._event
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return predicate()
        return True


@dataclass(frozen=True)
class LimitedCall:
    """One flood-limited call (send*/edit*) as the server saw it: when it arrived (the
    server loop's clock), what for, and the ``retry_after`` of a 429 answer (else None)."""

    at: float
    method: str
    chat_id: int | None
    retry_after: int | None


@dataclass
class Stats:
    """Request counters, for benchmarks and for asserting a bot backs off correctly.

    ``journal``: set it to a list to record every flood-limited call (off by default, so a
    long benchmark keeps no history); tests check with it that each 429 was honoured.
    """

    requests: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0
    errors: int = 0
    total: int = 0
    journal: list[LimitedCall] | None = None
    # Webhook POSTs per update_id, failed ones included: a re-delivery shows as a count above 1.
    webhook_posts: Counter[int] = field(default_factory=Counter)
    # Requests refused for malformed markup ("can't parse entities"), as "method: description":
    # a bot that escapes values correctly never causes one, so the test suite fails on any.
    parse_errors: list[str] = field(default_factory=list)

    def reset(self) -> None:
        """Zero all counters (and empty the journal, if one is kept)."""
        self.requests.clear()
        self.parse_errors.clear()
        self.webhook_posts.clear()
        self.rate_limited = self.errors = self.total = 0
        if self.journal is not None:
            self.journal.clear()


@dataclass
class StoredFile:
    """An uploaded file; ``file_path`` is what getFile returns and the download URL uses."""

    file_id: str
    file_unique_id: str
    content: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None

    @property
    def file_size(self) -> int:
        """Size in bytes, as Telegram reports it."""
        return len(self.content)


_KIND_DIRS = {
    "photo": ("photos", ".jpg"),
    "document": ("documents", ""),
    "voice": ("voice", ".oga"),
    "sticker": ("stickers", ".webp"),
}


class FileStore:
    """All files known to the server, by file_id and by download path."""

    def __init__(self) -> None:
        self.by_id: dict[str, StoredFile] = {}
        self.by_path: dict[str, StoredFile] = {}
        self._counter = 0

    def add(
        self,
        content: bytes,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        """Store ``content`` under fresh, Telegram-looking identifiers."""
        self._counter += 1
        folder, ext = _KIND_DIRS.get(kind, ("documents", ""))
        if file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1].lower()
        if kind == "document" and mime_type is None and file_name:
            mime_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        stored = StoredFile(
            file_id="BQACAgIAAxkBAAI" + secrets.token_urlsafe(36),
            file_unique_id="AgAD" + secrets.token_urlsafe(9),
            content=content,
            file_path=f"{folder}/file_{self._counter}{ext}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self.by_id[stored.file_id] = stored
        self.by_path[stored.file_path] = stored
        return stored


@dataclass
class StoredMessage:
    """A message in a chat; ``raw`` is its current Bot API ``Message`` JSON."""

    raw: JSON
    from_bot: bool
    parse_mode: str | None = None
    reply_markup: JSON | None = None
    file: StoredFile | None = None
    deleted: bool = False
    edited: bool = False
    seq: int = field(default_factory=lambda: next(_EVENT_ORDER))

    @property
    def message_id(self) -> int:
        """The per-chat message id."""
        return int(self.raw["message_id"])

    def snapshot(self, *, edited: bool | None = None) -> StoredMessage:
        """An independent copy, so later edits don't rewrite what an event already showed."""
        return StoredMessage(
            raw=copy.deepcopy(self.raw),
            from_bot=self.from_bot,
            parse_mode=self.parse_mode,
            reply_markup=copy.deepcopy(self.reply_markup),
            file=self.file,
            deleted=self.deleted,
            edited=self.edited if edited is None else edited,
        )

    def describe(self) -> str:
        """One line for assertion messages."""
        who = "bot" if self.from_bot else "user"
        body = self.raw.get("text") or self.raw.get("caption") or ""
        for kind in ("photo", "document", "sticker", "voice"):
            if kind in self.raw:
                body = f"[{kind}] {body}".rstrip()
        buttons = [
            b.get("text", "")
            for row in (self.raw.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        ]
        extra = f"  buttons={buttons}" if buttons else ""
        flags = "".join(
            f" ({f})" for f, on in (("edited", self.edited), ("deleted", self.deleted)) if on
        )
        return f"#{self.message_id} {who}{flags}: {body!r}{extra}"


@dataclass
class CallbackRecord:
    """A callback query sent to the bot, so answerCallbackQuery can be validated."""

    chat_id: int
    created: float
    answered: bool = False


@dataclass
class Chat:
    """A private chat between one bot and one simulated user (chat id == user id)."""

    id: int
    user: JSON
    next_message_id: int = 1
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    events: list[StoredMessage] = field(default_factory=list)
    consumed: int = 0
    blocked: bool = False
    last_action: str | None = None
    callback_answers: list[JSON] = field(default_factory=list)
    # Poked when ``events`` grows, so a user waiting here sleeps through other chats' traffic.
    changed: Notifier = field(default_factory=Notifier, repr=False, compare=False)

    @property
    def info(self) -> JSON:
        """The ``Chat`` JSON object of this private chat."""
        chat: JSON = {"id": self.id, "first_name": self.user["first_name"]}
        for key in ("last_name", "username"):
            if self.user.get(key):
                chat[key] = self.user[key]
        chat["type"] = "private"
        return chat

    def add(self, message: StoredMessage) -> StoredMessage:
        """Append a message; bot messages also become an event for ``SimUser.expect``."""
        self.messages[message.message_id] = message
        if message.from_bot:
            self.add_event(message.snapshot())
        return message

    def add_event(self, snapshot: StoredMessage) -> None:
        """Record what the bot sent or edited, and wake whoever waits for this chat."""
        self.events.append(snapshot)
        self.changed.notify()

    def allocate_id(self) -> int:
        """Message ids are a per-chat counter shared by both sides, like in private chats."""
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def bot_messages(self) -> list[StoredMessage]:
        """Everything the bot sent here, oldest first."""
        return [m for m in self.messages.values() if m.from_bot]

    def describe(self, limit: int = 12) -> str:
        """The tail of the chat history, for assertion messages."""
        lines = [m.describe() for m in list(self.messages.values())[-limit:]]
        return "\n".join(f"  {line}" for line in lines) or "  (no messages)"


@dataclass
class Webhook:
    """A webhook registration made by setWebhook."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


class BotState:
    """One bot account: its identity, pending updates, chats and settings."""

    def __init__(self, hub: Hub, token: str, username: str, first_name: str) -> None:
        self.hub = hub
        self.token = token
        self.id = int(token.split(":", 1)[0])
        self.username = username
        self.first_name = first_name
        self.updates: deque[JSON] = deque()
        self.next_update_id = 1
        self.allowed_updates: list[str] = []
        self.webhook: Webhook | None = None
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.chats: dict[int, Chat] = {}
        self.callback_queries: dict[str, CallbackRecord] = {}
        self.menu_buttons: dict[int | None, JSON] = {}
        self.texts: dict[tuple[str, str], str] = {}
        self.poll_generation = 0

    def user_json(self) -> JSON:
        """The bot's ``User`` object, as in ``from`` of its messages."""
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def enqueue(self, kind: str, payload: JSON) -> int:
        """Create an update; it is dropped (but numbered) if allowed_updates filters it out."""
        update_id = self.next_update_id
        self.next_update_id += 1
        wanted = (
            kind in self.allowed_updates
            if self.allowed_updates
            else (kind not in NOT_DEFAULT_UPDATES)
        )
        if wanted:
            self.updates.append({"update_id": update_id, kind: payload})
        self.hub.notify()
        return update_id

    def confirm(self, offset: int) -> None:
        """getUpdates offset semantics: drop everything below ``offset``; negative keeps a tail."""
        if offset < 0:
            keep = list(self.updates)[offset:]
            self.updates = deque(keep)
        else:
            while self.updates and self.updates[0]["update_id"] < offset:
                self.updates.popleft()

    def chat(self, chat_id: int) -> Chat | None:
        """The private chat with that id, if the user exists."""
        return self.chats.get(chat_id)


class Hub:
    """Root of the state shared by the HTTP layer, the methods and the simulated users."""

    def __init__(self) -> None:
        self.notifier = Notifier()
        self.files = FileStore()
        self.bots: dict[str, BotState] = {}
        self.stats = Stats()
        self.callback_query_ttl = 15.0
        self.strict_html_ampersand = True
        self.stopping = False

    def notify(self) -> None:
        """Wake long polls, webhook deliverers and ``SimUser`` waiters."""
        self.notifier.notify()

    @staticmethod
    def now() -> int:
        """Unix time for ``date`` fields."""
        return int(time.time())

    @staticmethod
    def monotonic() -> float:
        """Clock for expiries (callback query TTL)."""
        return time.monotonic()
