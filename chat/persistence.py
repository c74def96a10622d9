"""python-telegram-bot persistence in our own database (no pickle files).

Conversation positions are *written by the flows themselves* in the transaction
that stores each answer (``chat.flow``); PTB's periodic flush only repeats them, and
``get_conversations`` reads them back at start-up, so after a restart the state
PTB hands to a ``ConversationHandler`` is exactly what the stored answers say: the
chat's current flow (``conversation_focus``) at its state, every other one ``Parked``.
User/chat/bot data are a convenience cache; nothing that matters lives only there.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from infra.db import SessionFactory
from infra.models import ConversationFocus, ConversationState, PersistedData


@dataclass(frozen=True)
class Parked:
    """PTB's state for a flow the chat has left: its draft, which takes no text (``chat.flow``)."""

    state: str


def encode_key(key: ConversationKey) -> str:
    return ":".join(str(part) for part in key)


def decode_key(key: str) -> tuple[int, ...]:
    return tuple(int(part) for part in key.split(":"))


class DatabasePersistence(BasePersistence[dict[str, Any], dict[str, Any], dict[str, Any]]):
    """``BasePersistence`` over SQLAlchemy; callback data is not stored (we never use the cache)."""

    def __init__(
        self,
        sessions: SessionFactory,
        update_interval: float = 60,
        *,
        self_writing: Container[str] = (),
    ) -> None:
        """``self_writing``: names of conversations whose steps store their own position
        (``chat.flow``; read live, as flows are built after the persistence)."""
        super().__init__(
            store_data=PersistenceInput(
                bot_data=True, chat_data=True, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.sessions = sessions
        self.self_writing = self_writing
        # What the table holds, as last read or written: PTB hands every chat and user that
        # had an update to each flush, changed or not, and most never change (an empty dict).
        self._stored: dict[tuple[str, str], Any] = {}

    async def _load(self, kind: str) -> dict[int, dict[str, Any]]:
        async with self.sessions() as session:
            rows = await session.scalars(select(PersistedData).where(PersistedData.kind == kind))
            loaded = {int(r.key): dict(r.data) for r in rows}
        self._stored.update({(kind, str(key)): data for key, data in loaded.items()})
        return {key: copy.deepcopy(data) for key, data in loaded.items()}

    async def _store(self, kind: str, key: str, data: dict[str, Any]) -> None:
        payload = json.loads(json.dumps(data, default=str))  # JSON-safe or visibly stringified
        if self._stored.get((kind, key), {}) == payload:
            return  # no row and {} read back alike: PTB starts a missing key with {}
        async with self.sessions.begin() as session:
            row = await session.get(PersistedData, (kind, key))
            if row is None:
                session.add(PersistedData(kind=kind, key=key, data=payload))
            else:
                row.data = payload
        self._stored[(kind, key)] = payload  # committed (a failed write is tried again)

    async def _drop(self, kind: str, key: str) -> None:
        self._stored.pop((kind, key), None)
        async with self.sessions.begin() as session:
            await session.execute(
                delete(PersistedData).where(PersistedData.kind == kind, PersistedData.key == key)
            )

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        return await self._load("user")

    async def get_chat_data(self) -> dict[int, dict[str, Any]]:
        return await self._load("chat")

    async def get_bot_data(self) -> dict[str, Any]:
        async with self.sessions() as session:
            row = await session.get(PersistedData, ("bot", "0"))
            data = dict(row.data) if row else {}
        self._stored[("bot", "0")] = data
        return copy.deepcopy(data)

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        """The flow's positions: its state where it is the chat's current flow, else parked."""
        async with self.sessions() as session:
            rows = await session.execute(
                select(ConversationState, ConversationFocus.name)
                .outerjoin(ConversationFocus, ConversationFocus.key == ConversationState.key)
                .where(ConversationState.name == name)
            )
            return {
                decode_key(r.key): r.state if current == name else Parked(r.state)
                for r, current in rows
            }

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        """Nothing to do: every ``chat.flow`` step already wrote (or deleted) this row atomically.

        Writing here could only replace a newer position with an older one, so the
        periodic flush merely fills in a row that is missing (a non-flow conversation).
        A flow's keys are skipped without a transaction: a flush hands over every chat that
        moved in the last minute, and on SQLite each check would take the one writer in turn,
        stalling every step behind them (issue 12).
        """
        if new_state is None or isinstance(new_state, Parked) or name in self.self_writing:
            return
        async with self.sessions.begin() as session:
            row = await session.get(ConversationState, (name, encode_key(key)))
            if row is None:
                session.add(
                    ConversationState(
                        name=name, key=encode_key(key), user_id=key[-1], state=str(new_state)
                    )
                )

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        await self._store("user", str(user_id), data)

    async def update_chat_data(self, chat_id: int, data: dict[str, Any]) -> None:
        await self._store("chat", str(chat_id), data)

    async def update_bot_data(self, data: dict[str, Any]) -> None:
        await self._store("bot", "0", data)

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._drop("chat", str(chat_id))

    async def drop_user_data(self, user_id: int) -> None:
        await self._drop("user", str(user_id))

    async def refresh_user_data(self, user_id: int, user_data: dict[str, Any]) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[str, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[str, Any]) -> None:
        return None

    async def flush(self) -> None:
        return None
