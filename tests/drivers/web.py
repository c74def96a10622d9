"""Drive the survey page as a phone's browser does: GET a page, POST its form, follow 303s.

``Browser`` keeps cookies (httpx) and reads the CSRF token from the page it is on, so a test
says what the citizen taps, not how forms are built.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette

from infra.config import Settings
from web.app import create_app
from web.guard import Limits

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_STEP = re.compile(r'name="step" value="([^"]+)"')


@asynccontextmanager
async def web_app(settings: Settings, limits: Limits | None = None) -> AsyncIterator[Starlette]:
    """The app with its lifespan run (the database opened, the survey key loaded)."""
    app = create_app(settings, limits=limits)
    async with app.router.lifespan_context(app):
        yield app


class Browser:
    """One phone: its cookies, its languages, its address, and the last page it got."""

    def __init__(
        self,
        app: Starlette,
        *,
        language: str = "zh-CN,zh;q=0.9",
        address: str = "203.0.113.7",
        base: str = "http://jixiao.test",
    ) -> None:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        self.client = httpx.AsyncClient(
            transport=transport, base_url=base, headers={"Accept-Language": language}
        )
        self.page: httpx.Response | None = None

    async def close(self) -> None:
        await self.client.aclose()

    @property
    def text(self) -> str:
        """The last page's text, markup stripped and entities decoded (what a reader sees)."""
        assert self.page is not None
        return html.unescape(re.sub(r"<[^>]+>", " ", self.page.text))

    @property
    def step(self) -> str | None:
        assert self.page is not None
        found = _STEP.search(self.page.text)
        return found.group(1) if found else None

    def csrf(self) -> str:
        assert self.page is not None
        found = _CSRF.search(self.page.text)
        assert found, "no form on this page"
        return found.group(1)

    async def get(self, path: str) -> httpx.Response:
        self.page = await self.client.get(path, follow_redirects=True)
        return self.page

    async def post(
        self, path: str, data: dict[str, Any], *, csrf: str | None = None
    ) -> httpx.Response:
        """Submit a form of the current page (its CSRF token unless one is given)."""
        fields = {"csrf": self.csrf() if csrf is None else csrf, **data}
        self.page = await self.client.post(path, data=fields, follow_redirects=True)
        return self.page

    async def tap(self, path: str, **data: Any) -> httpx.Response:
        """Tap a button of the step shown (the form's ``step`` is sent with it)."""
        return await self.post(path, {"step": self.step, **data})


async def answer_all(
    browser: Browser, path: str, level: int, *, words: str = "", tags: tuple[int, ...] = ()
) -> httpx.Response:
    """From wherever the survey is, every question at ``level``, then the tags and words."""
    await browser.get(path)
    while browser.step not in (None, "tags", "reply", "phone"):
        await browser.tap(path, level=level)
    if browser.step == "tags":
        await browser.tap(path, tag=list(tags), words=words)
    return browser.page  # type: ignore[return-value]
