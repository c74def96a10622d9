"""The browser harness itself: Debian's Chromium as a phone, on a page served by uvicorn in
the test's loop from the test's database (SQLite or PostgreSQL), with screenshots."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from infra.db import SessionFactory
from infra.models import OrgUnit
from tests.browser import PHONE, Phones, Screens, english_words, serve
from tests.factories import make_org

pytestmark = pytest.mark.browser

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def units_page(
    sessions: SessionFactory,
) -> Callable[[dict[str, Any], Receive, Send], Awaitable[None]]:
    """A bare ASGI page listing the units of the database, with a link and the language the
    browser asked for: enough to see the database, the phone and a tap reach each other."""

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        async with sessions() as s:
            names = list(await s.scalars(select(OrgUnit.name).order_by(OrgUnit.id)))
        headers = dict(scope["headers"])
        accept = headers.get(b"accept-language", b"").decode()
        items = "".join(f"<li>{html.escape(n)}</li>" for n in names)
        tapped = "<p id=tapped>已点击</p>" if scope["path"] == "/tapped" else ""
        body = (
            '<!doctype html><html lang="zh-Hans"><meta name="viewport" '
            'content="width=device-width, initial-scale=1"><title>单位</title>'
            f"<ul>{items}</ul><p id=accept>{html.escape(accept)}</p>"
            f'<a id=tap href="/tapped" style="display:block;padding:16px">点这里</a>{tapped}'
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


@pytest.fixture
async def phones(tmp_path: Path) -> AsyncIterator[Phones]:
    running = Phones(tmp_path)
    await running.start()
    yield running
    await running.close()


async def test_a_phone_reads_and_taps_a_page_served_from_the_test_database(
    sessions: SessionFactory, phones: Phones, request: pytest.FixtureRequest
) -> None:
    await make_org(sessions)
    screens = Screens(request.node.name)
    async with serve(lambda _base: units_page(sessions)) as base:
        page = await phones.phone("zh_Hant")
        await page.goto(base + "/")
        text = await page.inner_text("body")
        assert "应急管理局" in text and "应急指挥中心" in text
        assert (await page.inner_text("#accept")).startswith("zh-TW")
        size = await page.evaluate(
            "[window.innerWidth, window.innerHeight, 'ontouchstart' in window]"
        )
        assert size == [PHONE["width"], PHONE["height"], True]
        await screens.take(page, "units")
        await page.tap("#tap")  # a touch, not a click
        await page.wait_for_selector("#tapped")
        assert page.url == base + "/tapped"
        assert english_words(await page.inner_text("body")) == []


@pytest.mark.nodb
def test_english_words_finds_latin_words_only() -> None:
    assert english_words("您的编号：123，Telegram 评价 OK", allowed=("Telegram",)) == []
    assert english_words("提交 Submit") == ["Submit"]
