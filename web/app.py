"""The ASGI app: ``create_app(settings)``, served by uvicorn (``jixiao web``).

The lifespan opens the database as the bot does (``infra.db``) and loads the survey key
from the database (``infra.secret_store``), so a web respondent's key and a receipt's hash
use the same secret as the chat's. Everything around a request (headers, limits, the log)
is ``web.guard``.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from infra.config import SUPPORTED_LOCALES, Settings, load_settings
from infra.db import make_engine, make_readers, make_sessions
from infra.i18n import N_, Translator
from infra.secret_store import with_survey_key
from web import home_views, identity, query_views, survey_views
from web.forms import checked_form
from web.guard import Guard, Limits
from web.in_flight import InFlight
from web.pages import STATIC, message, redirect, translator
from web.state import WebState

TITLES = {
    403: N_("This page has expired"),
    404: survey_views.NOT_FOUND_TITLE,
    413: N_("Too much text"),
    429: N_("Please wait a moment"),
}
TEXTS = {
    403: N_(
        "This page has expired or was opened from another site. Please go back, reload the page and try again."
    ),
    404: survey_views.NOT_FOUND,
    413: N_("What you sent is too long. Please shorten it and try again."),
}


def _wait_text(tr: Translator, wait: float) -> str:
    """The general 429's words, as long as the Retry-After they go with: under a minute "a
    moment", else the minutes rounded up."""
    if wait < 60:
        return tr._(
            "There have been many requests from your network in a short time. Please wait a moment and try again."
        )
    minutes = math.ceil(wait / 60)
    return tr.ngettext(
        "There have been many requests from your network in a short time. Please try again in {minutes} minute.",
        "There have been many requests from your network in a short time. Please try again in {minutes} minutes.",
        minutes,
    ).format(minutes=minutes)


def _wrong_codes_text(tr: Translator, wait: float) -> str:
    """/q held after too many wrong receipt codes from this address (a shared Wi-Fi too)."""
    minutes = max(1, math.ceil(wait / 60))
    return tr.ngettext(
        "The number or receipt code was entered wrongly too many times from your network. Please check them and try again in {minutes} minute.",
        "The number or receipt code was entered wrongly too many times from your network. Please check them and try again in {minutes} minutes.",
        minutes,
    ).format(minutes=minutes)


def _refusal_page(
    request: Request, status: int, wait: float | None = None, *, wrong_codes: bool = False
) -> Response:
    tr = translator(request)
    seconds = max(1, math.ceil(wait or 60))  # the words and Retry-After say the same wait
    if status != 429:
        text = tr._(TEXTS[status])
    elif wrong_codes:
        text = _wrong_codes_text(tr, seconds)
    else:
        text = _wait_text(tr, seconds)
    response = message(request, status, TITLES[status], text)
    if status == 429:
        response.headers["Retry-After"] = str(seconds)
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status in TITLES:
        return _refusal_page(request, status)
    return Response(status_code=status)


async def choose_language(request: Request) -> Response:
    """The switch 简体 / 繁體 / English: a cookie, then back to the page it was pressed on."""
    form = await checked_form(request)
    back = str(form.get("next", "/"))
    if not back.startswith("/") or back.startswith("//") or "\\" in back:
        back = "/"
    response = redirect(request, back)
    chosen = str(form.get("lang", ""))
    if chosen in SUPPORTED_LOCALES:
        identity.set_cookie(request, response, identity.LANGUAGE, chosen, identity.YEAR)
    return response


def create_app(settings: Settings, *, limits: Limits | None = None) -> Starlette:
    """The survey page over ``settings``' database; ``limits`` for tests that need small ones."""
    limits = limits or Limits()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The page has no outage retry of its own (the bot's handlers have infra.outage): a
        # connection PostgreSQL dropped (a restart) is replaced before a citizen's request uses it.
        server = make_url(settings.database_url).get_backend_name() == "postgresql"
        engine = make_engine(settings.database_url, **({"pool_pre_ping": True} if server else {}))
        sessions = make_sessions(engine)
        keyed = await with_survey_key(sessions, settings)
        app.state.web = WebState(
            settings=keyed,
            engine=engine,
            sessions=sessions,
            readers=make_readers(engine),
            signer=identity.Signer(keyed.hmac_key),
            limits=limits,
            too_many=lambda request, wait: _refusal_page(request, 429, wait),
            wrong_codes=lambda request, wait: _refusal_page(request, 429, wait, wrong_codes=True),
        )
        try:
            yield
        finally:
            await engine.dispose()

    routes = [
        Route("/", home_views.show, methods=["GET"]),
        Route("/s/{token}", survey_views.show, methods=["GET"]),
        Route("/s/{token}", survey_views.answer, methods=["POST"]),
        Route("/q", query_views.show, methods=["GET"]),
        Route("/q", query_views.lookup, methods=["POST"]),
        Route("/q/rate", query_views.rate, methods=["POST"]),
        Route("/lang", choose_language, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error},
    )

    async def refusal(
        scope: Scope, status: int, wait: float | None
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        scope = {**scope, "app": app}
        response = _refusal_page(Request(scope), status, wait)
        return response.status_code, response.raw_headers, bytes(response.body)

    app.add_middleware(InFlight)  # inside the guard: refusals and headers do not wait
    app.add_middleware(Guard, limits=limits, refusal=refusal)
    return app


def from_environment() -> Starlette:
    """The app from ``JIXIAO_*`` settings: what each uvicorn worker builds (``jixiao web``)."""
    return create_app(load_settings())
