"""Reading a POSTed form: only with a valid visitor cookie and its CSRF token (else 403)."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

from web import identity
from web.state import WebState

MAX_FIELDS = 40


async def checked_form(request: Request) -> FormData:
    """The form, once its CSRF token matches this browser's cookie: a page of another site
    can make a browser post, but cannot read the token to put in it."""
    state: WebState = request.app.state.web
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    if not state.signer.csrf_ok(identity.known_visitor(request), form.get("csrf")):
        raise HTTPException(403)
    return form
