"""Walk the survey page in Chromium as a citizen does: read the screen, tap, type.

Buttons and fields are found as a person finds them (a level button, a tag's box, the
text box, the language switch), and every tap that sends a form waits for the page it
leads to (Post/Redirect/Get). Each page the citizen lands on is measured for tap targets too
small and sideways scrolling, and photographed when ``JIXIAO_SCREENSHOTS`` is set
(``tests.browser.Screens``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from playwright.async_api import Locator, Page, Response

from tests.browser import Screens

MIN_TARGET = 44  # CSS px: the smallest comfortable tap target (Apple's 44 pt; Material's 48 dp)
_LAYOUT_JS = """(min) => {
  const found = [];
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > width)
    found.push(`page ${document.documentElement.scrollWidth}px wide, screen ${width}px`);
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), textarea, select, label.tag')) {
    if (el.closest('label.tag') && el.tagName === 'INPUT') continue;  // the whole label is the target
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;  // not shown
    if (r.width < min || r.height < min)
      found.push(`"${(el.innerText || el.value || el.name || el.tagName).trim()}" ${Math.round(r.width)}x${Math.round(r.height)}px`);
    if (r.right > width + 0.5) found.push(`"${(el.innerText || el.name).trim()}" runs off the screen`);
  }
  return found;
}"""
_BELOW_JS = """(selector) => {
  const height = window.innerHeight;
  return Array.from(document.querySelectorAll(selector))
    .filter((el) => { const r = el.getBoundingClientRect(); return r.top < 0 || r.bottom > height; })
    .map((el) => (el.innerText || el.value || el.tagName).trim());
}"""


class Citizen:
    """One phone's tab, and the name its screenshots go by."""

    def __init__(self, page: Page, screens: Screens) -> None:
        self.page = page
        self.screens = screens
        self.status: int | None = None  # of the last page landed on
        self.layout: list[str] = []  # ``layout_problems`` of every page landed on

    async def open(self, url: str, shot: str) -> None:
        """Type or scan a URL."""
        response = await self.page.goto(url, wait_until="load")
        await self._landed(response, shot)

    async def reload(self, shot: str) -> None:
        response = await self.page.reload(wait_until="load")
        await self._landed(response, shot)

    async def back(self, shot: str) -> None:
        """The phone's back button."""
        response = await self.page.go_back(wait_until="load")
        await self._landed(response, shot)

    async def _landed(self, response: Response | None, shot: str | None) -> None:
        self.status = response.status if response is not None else None
        self.layout.extend(await self.layout_problems())
        await self.screens.take(self.page, shot or await self._what_is_shown())

    async def layout_problems(self) -> list[str]:
        """What a thumb or an eye would trip on: a tap target under ``MIN_TARGET`` CSS px in
        either direction, or a page wider than the phone's screen (sideways scrolling)."""
        found: list[str] = await self.page.evaluate(_LAYOUT_JS, MIN_TARGET)
        return [f"{problem} on {self.page.url}" for problem in found]

    async def _what_is_shown(self) -> str:
        """A screenshot's name from the page: ``question-2of4``, ``tags``, ``reply``…"""
        progress = self.page.locator("legend .progress")
        if await progress.count():
            return "question-" + (await progress.inner_text()).strip().replace("/", "of")
        step = self.page.locator("main input[name=step]")
        if await step.count():
            return str(await step.first.get_attribute("value"))
        return "page"

    async def _leads_on(self, act: Callable[[], Awaitable[None]], shot: str | None) -> None:
        """A tap that sends a form, and the page it ends on after any redirect."""
        async with self.page.expect_navigation(wait_until="load") as navigation:
            await act()
        await self._landed(await navigation.value, shot)

    # --- what the screen shows ----------------------------------------------------------

    async def main(self) -> str:
        """The page's own text (without the language switch)."""
        return await self.page.inner_text("main")

    async def screen(self) -> str:
        """Everything readable: the switch, the page, the footer's links."""
        return await self.page.inner_text("body")

    async def title(self) -> str:
        return await self.page.inner_text("main h1")

    async def question(self) -> str:
        return (await self.page.inner_text("legend")).strip()

    async def levels(self) -> list[str]:
        """The level buttons' words, best first (each one's mark is drawn by CSS)."""
        return [t.strip() for t in await self.page.locator("button.level").all_inner_texts()]

    async def below_the_fold(self, selector: str) -> list[str]:
        """The words of what ``selector`` finds that is not wholly on the screen as the page
        is scrolled now (on landing: its top), i.e. what the citizen would scroll to find."""
        found: list[str] = await self.page.evaluate(_BELOW_JS, selector)
        return found

    async def links(self) -> list[str]:
        """The footer's links, as ``words -> address``."""
        return [
            f"{(await a.inner_text()).strip()} -> {await a.get_attribute('href')}"
            for a in await self.page.locator("footer a").all()
        ]

    async def tags(self) -> list[str]:
        return [t.strip() for t in await self.page.locator("label.tag").all_inner_texts()]

    async def switch(self) -> list[str]:
        return [t.strip() for t in await self.page.locator("header button").all_inner_texts()]

    async def current_language(self) -> str:
        return (await self.page.inner_text("header button[aria-current=true]")).strip()

    # --- what the citizen does ----------------------------------------------------------

    async def rate(self, index: int, shot: str | None = None) -> None:
        """Tap the ``index``-th level (0 = 非常满意) of the question shown."""
        await self._leads_on(self._button("button.level", index).tap, shot)

    async def answer_all(self, index: int) -> int:
        """Tap the same level on every question until none is asked; returns how many."""
        count = 0
        while await self.page.locator("legend .progress").count():  # "2/4": a question
            count += 1
            await self.rate(index)
        return count

    async def tick(self, *indexes: int) -> None:
        """Tick tags by their place in the list (no page change)."""
        boxes = self.page.locator("label.tag")
        for index in indexes:
            await boxes.nth(index).tap()

    async def write(self, text: str, field: str = "textarea") -> None:
        box = self.page.locator(field)
        await box.tap()
        await box.fill(text)

    async def press(self, words: str, shot: str) -> None:
        """Tap the button that says ``words``, in whatever form it is."""
        button = self.page.get_by_role("button", name=words, exact=True)
        await self._leads_on(button.tap, shot)

    async def primary(self, shot: str) -> None:
        """Tap the page's main button (完成, 查询, 提交)."""
        await self._leads_on(self._button("main button.primary", 0).tap, shot)

    async def follow(self, words: str, shot: str) -> None:
        """Tap a link by its words."""
        await self._leads_on(self.page.get_by_role("link", name=words).tap, shot)

    async def choose_language(self, name: str, shot: str) -> None:
        """Tap 简体, 繁體 or English in the switch."""
        await self._leads_on(self.page.locator("header button", has_text=name).tap, shot)

    def _button(self, selector: str, index: int) -> Locator:
        return self.page.locator(selector).nth(index)
