"""What every handler may use, built once per process and injected through the context."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.config import Settings
from bot.db import SessionFactory
from bot.i18n import Translator
from bot.models.types import utcnow

Clock = Callable[[], dt.datetime]


@dataclass
class Services:
    """Settings, the session factory and an injectable clock (tests move time without waiting)."""

    settings: Settings
    sessions: SessionFactory
    readers: SessionFactory | None = None
    clock: Clock = field(default=utcnow)
    bot_username: str = ""
    outbox_wake: Callable[[], None] = field(default=lambda: None)

    def __post_init__(self) -> None:
        if self.readers is None:
            self.readers = self.sessions

    @property
    def reads(self) -> SessionFactory:
        """Read-only sessions (never write through these)."""
        assert self.readers is not None
        return self.readers

    def translator(self, locale: str) -> Translator:
        return Translator(locale, self.settings.tz)
