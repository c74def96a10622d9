"""What every handler may use, built once per process and injected through the context."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from infra.config import Settings
from infra.db import SessionFactory, make_readers
from infra.i18n import Translator
from infra.models.types import utcnow

Clock = Callable[[], dt.datetime]


@dataclass
class Services:
    """Settings, the session factories and an injectable clock (tests move time without waiting).

    The process's own code (jobs, the outbox sender, the CLI, the dispatcher) writes
    through ``sessions``. Handlers see only :class:`HandlerServices`, which has no
    writing session: their writes go through the update's transaction.
    """

    settings: Settings
    sessions: SessionFactory
    readers: SessionFactory | None = None
    clock: Clock = field(default=utcnow)
    bot_username: str = ""
    outbox_wake: Callable[[], None] = field(default=lambda: None)

    def __post_init__(self) -> None:
        if self.readers is None:
            self.readers = make_readers(self.sessions.kw["bind"])

    @property
    def reads(self) -> SessionFactory:
        """Read-only sessions: they refuse to flush a change."""
        assert self.readers is not None
        return self.readers

    @property
    def read_engine(self) -> AsyncEngine:
        """The read sessions' engine (``infra.account_read`` reads through its driver)."""
        bind = self.reads.kw["bind"]
        assert isinstance(bind, AsyncEngine)
        return bind

    def translator(self, locale: str) -> Translator:
        return Translator(locale, self.settings.tz)


class HandlerServices:
    """The handlers' view of :class:`Services`: everything except a writing session.

    An update's writes must commit together with its inbox claim (``chat.uow``), or a
    kill between the two applies them twice after a restart; so the only way for a
    handler to write is ``context.transaction()`` (or a flow's ``tx``), never a
    session factory of its own. ``tests/test_architecture.py`` keeps it that way.
    """

    __slots__ = ("_services",)

    def __init__(self, services: Services) -> None:
        self._services = services

    @property
    def settings(self) -> Settings:
        return self._services.settings

    @property
    def reads(self) -> SessionFactory:
        """Read-only sessions (a flush raises; nothing they hold is ever committed)."""
        return self._services.reads

    @property
    def read_engine(self) -> AsyncEngine:
        return self._services.read_engine

    @property
    def clock(self) -> Clock:
        return self._services.clock

    @property
    def bot_username(self) -> str:
        return self._services.bot_username

    def outbox_wake(self) -> None:
        """Tell the outbox sender that a committed transaction queued messages."""
        self._services.outbox_wake()

    def translator(self, locale: str) -> Translator:
        return self._services.translator(locale)
