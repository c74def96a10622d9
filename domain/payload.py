"""The one format of every ``/start`` deep-link payload in the project.

``<kind>_<token>``: a short lower-case kind prefix, one underscore, then a
URL-safe random token; at most 64 characters of ``A-Za-z0-9_-`` as Telegram
allows. The kind routes the payload (invite, survey, ...); the token is looked
up by its hash, so a leaked database never yields working links.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

MAX_PAYLOAD_LENGTH = 64
_PAYLOAD_RE = re.compile(r"^([a-z]{1,4})_([A-Za-z0-9_-]{10,59})$")


class PayloadKind(StrEnum):
    """Known payload kinds; the prefix is part of every printed link, so never rename."""

    INVITE = "in"
    SURVEY = "sv"


@dataclass(frozen=True, slots=True)
class StartPayload:
    """A parsed deep-link payload; ``digest`` instead of the token when only its hash was
    kept (an update recovered from the inbox, which never stores the token)."""

    kind: PayloadKind
    token: str
    digest: str | None = None

    def __str__(self) -> str:
        return f"{self.kind.value}_{self.token}"

    @property
    def token_hash(self) -> str:
        """What the database stores instead of the token."""
        return self.digest or hash_token(self.token)


def new_payload(kind: PayloadKind, nbytes: int = 12) -> StartPayload:
    """A fresh payload with ``8 * nbytes`` bits of randomness (96 by default, ≥ 60 required)."""
    if nbytes < 8:
        raise ValueError("a payload token needs at least 64 bits of randomness")
    return StartPayload(kind, secrets.token_urlsafe(nbytes))


def parse_payload(text: str) -> StartPayload | None:
    """Parse ``text`` or return ``None`` for anything that is not exactly one valid payload."""
    text = text.strip()
    if len(text) > MAX_PAYLOAD_LENGTH:
        return None
    match = _PAYLOAD_RE.match(text)
    if match is None:
        return None
    try:
        kind = PayloadKind(match.group(1))
    except ValueError:
        return None
    return StartPayload(kind, match.group(2))


# How a stored update stands in for a secret payload (infra.inbox redacts at storage time):
REDACTED: Final = "[redacted]"
REDACTED_KEY: Final = "jixiao_redacted"  # {"kind": "sv", "token_hash": "<sha256>"}


def hash_token(token: str) -> str:
    """SHA-256 of a token: random tokens need no salt, and lookups stay indexable."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def deep_link(bot_username: str, payload: StartPayload) -> str:
    """The ``t.me`` link that opens the bot with ``/start <payload>``."""
    return f"https://t.me/{bot_username}?start={payload}"


WEB_SURVEY_PATH: Final = "/s/"  # the survey page's route: /s/<token>


def web_link(public_url: str, payload: StartPayload) -> str:
    """The survey page's address for a survey payload: ``<public_url>/s/<token>``, the same
    token the ``t.me`` link carries (its ``sv_`` kind is implied by the path)."""
    return f"{public_url.rstrip('/')}{WEB_SURVEY_PATH}{payload.token}"


def parse_web_token(token: str) -> StartPayload | None:
    """The survey payload of the ``<token>`` in ``/s/<token>``, or None if it cannot be one."""
    return parse_payload(f"{PayloadKind.SURVEY.value}_{token}")
