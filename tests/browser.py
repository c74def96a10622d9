"""Real Chromium for the citizen's pages: a phone, a local web server, screenshots.

The browser is Debian's ``chromium`` (``.ci/run`` installs it), driven by Playwright's
Python driver with ``executable_path``: nothing here downloads a browser. Each citizen
is one phone: a fresh profile (so their own cookies), a 375×667 touch screen and the
language their phone asks for (``Accept-Language``). Chromium is started with its
background services off, since this machine's closed network refuses them.

Pages are served by uvicorn inside the test's event loop, on a socket bound to a free
port on 127.0.0.1, so the web app, the bot and the browser driver share one loop and one
test database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import uvicorn
from playwright.async_api import BrowserContext, Page, async_playwright

CHROMIUM = Path(os.environ.get("JIXIAO_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
PHONE = {"width": 375, "height": 667}
SCREENSHOTS = "JIXIAO_SCREENSHOTS"

# Accept-Language of the phones in the journeys, as their browsers send it.
ACCEPT_LANGUAGE = {
    "zh_Hans": "zh-CN,zh;q=0.9",
    "zh_Hant": "zh-TW,zh;q=0.9",
    "en": "en-GB,en;q=0.9",
}


def require_chromium() -> None:
    """Fail (not skip) with what to do: CI installs Chromium, so a missing one is a fault."""
    if not os.access(CHROMIUM, os.X_OK):
        raise AssertionError(
            f"no Chromium at {CHROMIUM}: `apt-get install chromium` (Debian's package), "
            'or leave the browser tests out with -m "not browser"'
        )


def _fonts_conf(workdir: Path) -> Path:
    """A fontconfig file adding the CJK font the project already ships (WenQuanYi, from the
    ``paperang-p2-fonts-cjk`` wheel) to the system's fonts: a phone shows Chinese, and so
    must the screenshots, whether or not the machine has Chinese fonts installed."""
    fonts = Path(str(resources.files("paperang_p2_fonts_cjk") / "fonts"))
    conf = workdir / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        "<fontconfig>\n"
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <dir>{fonts}</dir>\n"
        f"  <cachedir>{workdir / 'fontconfig-cache'}</cachedir>\n"
        "</fontconfig>\n",
        encoding="utf-8",
    )
    return conf


@dataclass
class Phones:
    """Starts one phone (a Chromium profile of its own) per citizen, all closed at the end."""

    workdir: Path
    _playwright: Any = None
    _contexts: list[BrowserContext] | None = None

    async def start(self) -> None:
        require_chromium()
        self._playwright = await async_playwright().start()
        self._contexts = []
        self._env = {**os.environ, "FONTCONFIG_FILE": str(_fonts_conf(self.workdir))}

    async def phone(self, language: str = "zh_Hans") -> Page:
        """A new phone whose browser asks for ``language`` (a catalog name, see
        ``ACCEPT_LANGUAGE``), with a fresh profile; returns its one tab."""
        assert self._playwright is not None and self._contexts is not None
        accept = ACCEPT_LANGUAGE[language]
        profile = self.workdir / f"profile-{len(self._contexts)}"
        context = await self._playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=list(CHROMIUM_FLAGS),
            env=self._env,
            viewport=PHONE,
            screen=PHONE,
            is_mobile=True,
            has_touch=True,
            device_scale_factor=2,
            locale=accept.split(",")[0],
            extra_http_headers={"Accept-Language": accept},
        )
        context.set_default_timeout(60_000)  # a loaded machine is slow, not wrong
        self._contexts.append(context)
        return context.pages[0] if context.pages else await context.new_page()

    async def close(self) -> None:
        for context in self._contexts or []:
            with contextlib.suppress(Exception):  # a browser already gone is closed
                await context.close()
        if self._playwright is not None:
            await self._playwright.stop()


def _file_name(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text).strip("-")


class Screens:
    """Screenshots of what a citizen sees, into ``$JIXIAO_SCREENSHOTS`` (none when unset).

    Each is the phone's screen (375×667); a page longer than the screen is also taken
    whole, as ``…-full.png``, so what lies below the fold can be looked at too.
    """

    def __init__(self, prefix: str) -> None:
        folder = os.environ.get(SCREENSHOTS, "").strip()
        self.folder = Path(folder) if folder else None
        self.prefix = _file_name(prefix)
        self.count = 0

    async def take(self, page: Page, name: str) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count += 1
        stem = f"{self.prefix}-{self.count:02d}-{_file_name(name)}"
        await page.screenshot(path=self.folder / f"{stem}.png", scale="css")
        height = await page.evaluate("document.documentElement.scrollHeight")
        if int(height) > PHONE["height"]:
            await page.screenshot(
                path=self.folder / f"{stem}-full.png", full_page=True, scale="css"
            )


def free_socket() -> socket.socket:
    """A listening socket on a free port of 127.0.0.1, for uvicorn to serve on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


@contextlib.asynccontextmanager
async def serve(make_app: Callable[[str], Any]) -> AsyncIterator[str]:
    """Serve the ASGI app ``make_app(base_url)`` with uvicorn in this event loop (its
    lifespan run, so an app opens its database as in production); yields the base URL.

    The port is bound before the app is made, so the app can be told its own public URL.
    Access logs stay off: a survey URL carries its token, which must never be logged.
    """
    sock = free_socket()
    host, port = sock.getsockname()[:2]
    base = f"http://{host}:{port}"
    config = uvicorn.Config(make_app(base), log_level="warning", access_log=False, lifespan="auto")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if task.done():
                    task.result()  # raises why it could not start
                    raise AssertionError("uvicorn stopped before serving")
                await asyncio.sleep(0.01)
        yield base
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 120)
        sock.close()


_LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def english_words(text: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """Latin words of three letters or more in a page's text, less those ``allowed``
    (a brand such as Telegram): a Chinese page should show none."""
    return [w for w in _LATIN_WORD.findall(text) if w not in allowed]
