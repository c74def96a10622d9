"""Simulated Telegram users and the test-facing view of bot messages.

A :class:`SimUser` acts in its private chat with the bot: it produces updates (messages,
button presses) and observes what the bot did, waiting on server events instead of sleeping
(``expect`` on its own chat's, so its cost per step does not grow with the number of users).
"""

from __future__ import annotations

import asyncio
import copy
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from fakebotapi import media
from fakebotapi.formatting import utf16_len
from fakebotapi.state import JSON, BotState, CallbackRecord, Chat, Hub, StoredFile, StoredMessage

_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?")


@dataclass(frozen=True)
class Button:
    """One inline keyboard button."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass
class BotMessage:
    """A bot message as the user sees it (a snapshot: later edits don't change it)."""

    message_id: int
    chat_id: int
    text: str | None
    kind: str
    buttons: list[list[Button]] = field(default_factory=list)
    parse_mode: str | None = None
    entities: list[JSON] = field(default_factory=list)
    photo: bytes | None = None
    document: bytes | None = None
    document_filename: str | None = None
    file_id: str | None = None
    reply_keyboard: list[list[str]] | None = None
    edited: bool = False
    deleted: bool = False
    raw: JSON = field(default_factory=dict)
    seq: int = 0  # when the bot sent it (or this edit), in one order across all chats

    def button_texts(self) -> list[str]:
        """All inline button labels, row by row."""
        return [b.text for row in self.buttons for b in row]

    def button_data(self) -> list[str | None]:
        """All inline button callback_data values, row by row."""
        return [b.callback_data for row in self.buttons for b in row]

    @classmethod
    def from_stored(cls, stored: StoredMessage) -> BotMessage:
        """Build the view from the server's stored message."""
        raw = copy.deepcopy(stored.raw)
        rows = (raw.get("reply_markup") or {}).get("inline_keyboard", [])
        buttons = [
            [Button(b.get("text", ""), b.get("callback_data"), b.get("url")) for b in row]
            for row in rows
        ]
        kind = "photo" if "photo" in raw else "document" if "document" in raw else "text"
        sent_markup = stored.reply_markup or {}
        reply_keyboard = None
        if "keyboard" in sent_markup:
            reply_keyboard = [
                [b if isinstance(b, str) else str(b.get("text", "")) for b in row]
                for row in sent_markup["keyboard"]
            ]
        content = stored.file.content if stored.file else None
        return cls(
            message_id=stored.message_id,
            chat_id=int(raw["chat"]["id"]),
            text=raw.get("text", raw.get("caption")),
            kind=kind,
            buttons=buttons,
            parse_mode=stored.parse_mode,
            entities=list(raw.get("entities") or raw.get("caption_entities") or []),
            photo=content if kind == "photo" else None,
            document=content if kind == "document" else None,
            document_filename=raw["document"].get("file_name") if kind == "document" else None,
            file_id=stored.file.file_id if stored.file else None,
            reply_keyboard=reply_keyboard,
            edited=stored.edited,
            deleted=stored.deleted,
            raw=raw,
            seq=stored.seq,
        )


MessageRef = BotMessage | int | None


class SimUser:
    """A Telegram user chatting privately with one bot."""

    # Seconds ``expect``/``wait_until`` wait when not told: a wait ends as soon as its
    # condition holds, so a test suite may raise this for loaded machines at no cost.
    default_timeout: ClassVar[float] = 10.0

    def __init__(self, hub: Hub, bot: BotState, chat: Chat) -> None:
        self._hub = hub
        self._bot = bot
        self._chat = chat

    @property
    def id(self) -> int:
        """The user id (== the private chat id)."""
        return self._chat.id

    @property
    def chat_id(self) -> int:
        """The private chat id."""
        return self._chat.id

    @property
    def info(self) -> JSON:
        """The user's ``User`` JSON object."""
        return dict(self._chat.user)

    # -- acting -------------------------------------------------------------------------------

    def _post(self, body: JSON, file: StoredFile | None = None, reply_to: MessageRef = None) -> int:
        chat = self._chat
        if chat.blocked:
            self.unblock()  # writing to a bot you blocked restarts it, as in the apps
        raw: JSON = {
            "message_id": chat.allocate_id(),
            "from": dict(chat.user),
            "chat": chat.info,
            "date": self._hub.now(),
        }
        if reply_to is not None:
            replied = self._stored(reply_to)
            nested = copy.deepcopy(replied.raw)
            nested.pop("reply_to_message", None)
            raw["reply_to_message"] = nested
        raw.update(body)
        chat.add(StoredMessage(raw=raw, from_bot=False, file=file))
        return self._bot.enqueue("message", copy.deepcopy(raw))

    async def send(self, text: str, reply_to: MessageRef = None) -> int:
        """Send a text message; a leading /command gets its ``bot_command`` entity."""
        body: JSON = {"text": text}
        match = _COMMAND_RE.match(text)
        if match:
            body["entities"] = [
                {"offset": 0, "length": utf16_len(match.group(0)), "type": "bot_command"}
            ]
        return self._post(body, reply_to=reply_to)

    async def send_sticker(self, emoji: str = "👍") -> int:
        """Send a static sticker."""
        stored = self._hub.files.add(media.SAMPLE_STICKER, "sticker")
        return self._post({"sticker": media.sticker(stored, emoji)}, stored)

    async def send_photo(self, data: bytes = media.SAMPLE_PNG, caption: str | None = None) -> int:
        """Send a photo; getFile + download returns exactly ``data``."""
        stored = self._hub.files.add(data, "photo")
        body: JSON = {"photo": media.photo_sizes(stored)}
        if caption:
            body["caption"] = caption
        return self._post(body, stored)

    async def send_voice(self, data: bytes = media.SAMPLE_VOICE, duration: int = 2) -> int:
        """Send a voice note."""
        stored = self._hub.files.add(data, "voice")
        return self._post({"voice": media.voice(stored, duration)}, stored)

    async def send_document(
        self,
        filename: str,
        content: bytes,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> int:
        """Send a file; getFile + download returns exactly ``content``."""
        stored = self._hub.files.add(content, "document", file_name=filename, mime_type=mime_type)
        body: JSON = {"document": media.document(stored)}
        if caption:
            body["caption"] = caption
        return self._post(body, stored)

    def _stored(self, ref: BotMessage | int) -> StoredMessage:
        message_id = ref.message_id if isinstance(ref, BotMessage) else ref
        stored = self._chat.messages.get(message_id)
        if stored is None:
            raise AssertionError(
                f"no message #{message_id} in chat {self.id}; history:\n{self._chat.describe()}"
            )
        return stored

    def _keyboard_message(self, ref: MessageRef) -> StoredMessage:
        if ref is not None:
            return self._stored(ref)
        for stored in reversed(self._chat.bot_messages()):
            if not stored.deleted and (stored.raw.get("reply_markup") or {}).get("inline_keyboard"):
                return stored
        raise AssertionError(
            f"no bot message with an inline keyboard in chat {self.id}; history:\n"
            f"{self._chat.describe()}"
        )

    async def press(self, data: str, message: MessageRef = None) -> str:
        """Send a callback_query with exactly ``data`` (forged data welcome) from ``message``."""
        stored = self._keyboard_message(message)
        query_id = str(secrets.randbits(63))
        self._bot.callback_queries[query_id] = CallbackRecord(self.id, self._hub.monotonic())
        chat_instance = str(-(abs(hash((self._bot.id, self.id))) % 10**19))
        payload: JSON = {
            "id": query_id,
            "from": dict(self._chat.user),
            "message": copy.deepcopy(stored.raw),
            "chat_instance": chat_instance,
            "data": data,
        }
        self._bot.enqueue("callback_query", payload)
        return query_id

    async def press_button(self, text_contains: str, message: MessageRef = None) -> str:
        """Press the inline button whose label is (or contains) ``text_contains``."""
        stored = self._keyboard_message(message)
        buttons = [
            b
            for row in (stored.raw.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        ]
        exact = [b for b in buttons if b.get("text") == text_contains]
        matches = exact or [b for b in buttons if text_contains in b.get("text", "")]
        if not matches:
            labels = [b.get("text") for b in buttons]
            raise AssertionError(
                f"no button containing {text_contains!r} on message #{stored.message_id}; "
                f"available buttons: {labels}"
            )
        button = matches[0]
        if "callback_data" not in button:
            raise AssertionError(f"button {button.get('text')!r} has no callback_data: {button}")
        return await self.press(button["callback_data"], stored.message_id)

    def _member_update(self, old: str, new: str) -> None:
        bot_user = self._bot.user_json()
        new_member: JSON = {"user": bot_user, "status": new}
        if new == "kicked":
            new_member["until_date"] = 0
        self._bot.enqueue(
            "my_chat_member",
            {
                "chat": self._chat.info,
                "from": dict(self._chat.user),
                "date": self._hub.now(),
                "old_chat_member": {"user": bot_user, "status": old},
                "new_chat_member": new_member,
            },
        )

    def block(self) -> None:
        """Block the bot: send*/edit* now get 403; the bot receives a my_chat_member update."""
        if not self._chat.blocked:
            self._chat.blocked = True
            self._member_update("member", "kicked")

    def unblock(self) -> None:
        """Unblock (restart) the bot; the bot receives a my_chat_member update."""
        if self._chat.blocked:
            self._chat.blocked = False
            self._member_update("kicked", "member")

    # -- observing ----------------------------------------------------------------------------

    @property
    def blocked(self) -> bool:
        """Whether the user currently blocks the bot."""
        return self._chat.blocked

    @property
    def callback_answers(self) -> list[JSON]:
        """answerCallbackQuery calls for this user's presses, oldest first."""
        return self._chat.callback_answers

    @property
    def last_action(self) -> str | None:
        """The most recent sendChatAction action in this chat."""
        return self._chat.last_action

    @property
    def messages(self) -> list[BotMessage]:
        """Every bot message in this chat, current state (deleted ones flagged)."""
        return [BotMessage.from_stored(m) for m in self._chat.bot_messages()]

    def events(self, start: int = 0) -> list[BotMessage]:
        """Bot messages and edits in this chat from the ``start``-th, as sent; ``expect``
        consumes nothing here."""
        return [BotMessage.from_stored(e) for e in self._chat.events[start:]]

    @property
    def last_message(self) -> BotMessage | None:
        """The newest bot message that is not deleted."""
        alive = [m for m in self._chat.bot_messages() if not m.deleted]
        return BotMessage.from_stored(alive[-1]) if alive else None

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """The reply keyboard currently shown (latest one sent, unless removed since)."""
        for stored in reversed(self._chat.bot_messages()):
            markup = stored.reply_markup or {}
            if "keyboard" in markup:
                return BotMessage.from_stored(stored).reply_keyboard
            if markup.get("remove_keyboard"):
                return None
        return None

    def history(self) -> str:
        """Human-readable recent chat history (both sides), for debugging and assertions."""
        return self._chat.describe()

    def drain(self) -> None:
        """Mark every bot event so far as seen by :meth:`expect`."""
        self._chat.consumed = len(self._chat.events)

    async def expect(self, timeout: float | None = None) -> BotMessage:
        """The next unseen bot event here: a new message or an edit (``edited=True``)."""
        timeout = self.default_timeout if timeout is None else timeout
        chat = self._chat
        arrived = await chat.changed.wait_for(lambda: chat.consumed < len(chat.events), timeout)
        if not arrived:
            raise AssertionError(
                f"no new bot message in chat {self.id} within {timeout}s; recent history:\n"
                f"{chat.describe()}"
            )
        event = chat.events[chat.consumed]
        chat.consumed += 1
        return BotMessage.from_stored(event)

    async def expect_text(self, substring: str, timeout: float | None = None) -> BotMessage:
        """Consume events until one whose text/caption contains ``substring``."""
        timeout = self.default_timeout if timeout is None else timeout
        seen: list[str] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            try:
                message = await self.expect(max(remaining, 0.0))
            except AssertionError:
                raise AssertionError(
                    f"no bot message containing {substring!r} in chat {self.id} within "
                    f"{timeout}s; got instead: {seen}\nrecent history:\n{self._chat.describe()}"
                ) from None
            if substring in (message.text or ""):
                return message
            seen.append(message.text or f"[{message.kind}]")

    async def wait_until(self, predicate: Callable[[], bool], timeout: float | None = None) -> None:
        """Wait until ``predicate()`` holds, re-checked whenever the server sees activity."""
        timeout = self.default_timeout if timeout is None else timeout
        if not await self._hub.notifier.wait_for(predicate, timeout):
            raise AssertionError(
                f"condition not met within {timeout}s; chat {self.id} history:\n"
                f"{self._chat.describe()}"
            )

    def __repr__(self) -> str:
        user: dict[str, Any] = self._chat.user
        return f"SimUser(id={self.id}, first_name={user.get('first_name')!r})"
