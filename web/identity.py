"""Who a browser is, for the survey rules: a random id in a signed cookie, and its CSRF token.

The visitor cookie (HttpOnly, SameSite=Lax, Secure over https) holds a random id signed
with a key derived from the survey key (``infra.secret_store``); the respondent key is the
HMAC of ``web:<id>`` (``services.surveys.web_respondent``), so the database never holds
the id itself. The CSRF token of every form is an HMAC of the same id: a page of another
site cannot read it, and a forged cookie fails its signature.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, Final

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

VISITOR: Final = "jx_v"
LANGUAGE: Final = "jx_lang"
RECEIPT: Final = "jx_r"  # held a 差评's receipt code before it was shown only once: deleted
QUERY: Final = "jx_q"  # the item a citizen opened on /q with its number and receipt code
YEAR: Final = 365 * 24 * 3600
HOUR: Final = 3600
# how long /q keeps the item it opened: long enough to read the reply and rate it, short
# enough that the next person at a shared pad rarely finds it open
QUERY_TTL: Final = 600


class Signer:
    """Signs the cookies and derives the CSRF tokens, from one key."""

    def __init__(self, survey_key: bytes) -> None:
        self._key = hmac.new(survey_key, b"jixiao-web", hashlib.sha256).digest()
        self._serializer = URLSafeTimedSerializer(self._key, salt="jixiao-web-cookie")

    def dump(self, value: Any, purpose: str) -> str:
        return self._serializer.dumps(value, salt=purpose)

    def load(self, text: str | None, purpose: str, max_age: int) -> Any:
        """The signed value, or None when absent, forged or too old."""
        if not text:
            return None
        try:
            return self._serializer.loads(text, salt=purpose, max_age=max_age)
        except BadSignature:
            return None

    def csrf(self, visitor: str) -> str:
        return hmac.new(self._key, f"csrf:{visitor}".encode(), hashlib.sha256).hexdigest()[:32]

    def csrf_ok(self, visitor: str | None, token: object) -> bool:
        if visitor is None or not isinstance(token, str):
            return False
        return hmac.compare_digest(self.csrf(visitor), token)


def visitor(request: Request) -> str:
    """This browser's id: from its cookie, or a new one that the response will set."""
    known: str | None = getattr(request.state, "visitor", None)
    if known is not None:
        return known
    signer: Signer = request.app.state.web.signer
    found = signer.load(request.cookies.get(VISITOR), VISITOR, YEAR)
    if isinstance(found, str):
        request.state.visitor, request.state.new_visitor = found, False
        return found
    request.state.visitor, request.state.new_visitor = secrets.token_urlsafe(18), True
    return str(request.state.visitor)


def known_visitor(request: Request) -> str | None:
    """The id of a browser that came with a valid cookie (a POST without one is refused)."""
    value = visitor(request)
    return None if request.state.new_visitor else value


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int, path: str = "/"
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def keep_visitor(request: Request, response: Response) -> None:
    """Set the visitor cookie on the response when this request made a new visitor."""
    if getattr(request.state, "new_visitor", False):
        signer: Signer = request.app.state.web.signer
        set_cookie(request, response, VISITOR, signer.dump(request.state.visitor, VISITOR), YEAR)
