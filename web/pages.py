"""Rendering: the language of the page, and Jinja2 templates that escape every value.

Autoescaping is the one place where values become HTML: views pass plain text (translated
strings filled with ``str.format``), never markup.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from infra.config import SUPPORTED_LOCALES
from infra.i18n import Translator, resolve_locale
from web import identity

SWITCH: Final = (("zh_Hans", "简体"), ("zh_Hant", "繁體"), ("en", "English"))
HTML_LANG: Final = {"zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant", "en": "en"}

STATIC: Final = Path(__file__).resolve().parent / "static"


def static_version(name: str) -> str:
    """A short hash of a static file, put in its URL (``?v=``): /static is cached for a
    year, so a release that changes the file must change the URL."""
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


templates = Environment(
    loader=PackageLoader("web", "templates"),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals["stylesheet"] = "/static/site.css?v=" + static_version("site.css")


def accepted(header: str) -> list[str]:
    """Accept-Language's languages, preferred first (``zh-TW,zh;q=0.8,en;q=0.5``)."""
    ranked = []
    for n, part in enumerate(header.split(",")):
        code, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if code and weight > 0:
            ranked.append((-weight, n, code.strip()))
    return [code for _w, _n, code in sorted(ranked)]


def locale_of(request: Request) -> str:
    """The switch's choice (a cookie), else the browser's languages, else the bureau's."""
    chosen = request.cookies.get(identity.LANGUAGE)
    if chosen in SUPPORTED_LOCALES:
        return str(chosen)
    for code in accepted(request.headers.get("accept-language", "")):
        found = resolve_locale(code, default="")
        if found:
            return found
    return str(request.app.state.web.settings.locale)


def translator(request: Request) -> Translator:
    return Translator(locale_of(request), request.app.state.web.settings.tz)


def render(
    request: Request, name: str, status: int = 200, *, tr: Translator | None = None, **values: Any
) -> HTMLResponse:
    """A page in the visitor's language, with the language switch and a CSRF token."""
    tr = tr or translator(request)
    visitor = identity.visitor(request)
    page = templates.get_template(name).render(
        _=tr._,
        tr=tr,
        lang=HTML_LANG[tr.locale],
        locale=tr.locale,
        switch=SWITCH,
        here=request.url.path,
        csrf=request.app.state.web.signer.csrf(visitor),
        **values,
    )
    response = HTMLResponse(page, status_code=status)
    identity.keep_visitor(request, response)
    return response


def redirect(request: Request, path: str) -> RedirectResponse:
    """Post/Redirect/Get: a 303 to the page that shows what is now true."""
    response = RedirectResponse(path, status_code=303)
    identity.keep_visitor(request, response)
    return response


def message(request: Request, status: int, title: str, text: str, **values: Any) -> HTMLResponse:
    """A polite page with one message (404, 403, 413, 429, a refusal of the rules)."""
    tr = translator(request)
    return render(request, "message.html", status, tr=tr, title=tr._(title), text=text, **values)
