"""What the web app holds for its lifetime: settings with the survey key, sessions, limits."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from infra.config import Settings
from infra.db import SessionFactory
from infra.models.types import utcnow
from web.guard import Limits
from web.identity import Signer
from web.receipts import JustShown


@dataclass
class WebState:
    """Opened in the app's lifespan (``web.app.create_app``); ``clock`` as the bot's
    ``Services.clock``, so tests move time without waiting."""

    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    readers: SessionFactory
    signer: Signer
    limits: Limits
    clock: Callable[[], dt.datetime] = field(default=utcnow)
    monotonic: Callable[[], float] = field(default=time.monotonic)
    too_many: Callable[[Request, float], Response] = field(
        default=lambda _r, _w: Response(status_code=429)
    )
    wrong_codes: Callable[[Request, float], Response] = field(
        default=lambda _r, _w: Response(status_code=429)
    )
    """The 429 of /q after too many wrong receipt codes, which says so."""
    just_shown: JustShown = field(default_factory=JustShown)
