"""Printable QR codes for survey links: one PNG per code, an A4 sheet (PDF) of many, and a
poster (PDF, A4 or A5) for a code that hangs at a service window.

Codes use error correction level M and the standard four-module quiet zone, at least
300 px wide. Captions are set in WenQuanYi Micro Hei, a CJK font that comes with the
project's dependencies (the ``paperang-p2-fonts-cjk`` wheel), so Chinese prints the
same on every machine whatever fonts the OS has.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

DEFAULT_PROMPT = "请扫码评价我们的服务"
QUIET_ZONE = 4  # modules of white around a code, as ISO/IEC 18004 requires
MIN_CODE_PX = 300  # the symbol itself, quiet zone not counted
DPI = 300

# A4 at 300 dpi, 3 columns × 4 rows of codes, cut lines between them
A4_PX = (2480, 3508)
PAPER_PX = {"A4": A4_PX, "A5": (1748, 2480)}  # portrait, 300 dpi
SHEET_COLUMNS = 3
SHEET_ROWS = 4
PER_PAGE = SHEET_COLUMNS * SHEET_ROWS
_PAGE_MARGIN = 110
_HEADER_PX = 110
_CELL_PAD = 36
_GAP = 14

# (package, path inside it) of fonts with CJK glyphs, first found wins
_FONT_SOURCES: tuple[tuple[str, str], ...] = (("paperang_p2_fonts_cjk", "fonts/wqy-microhei.ttc"),)


class FontMissing(RuntimeError):
    """No CJK font: the project's dependencies are not installed completely."""


@functools.cache
def _font_file() -> str:
    for package, name in _FONT_SOURCES:
        try:
            resource = resources.files(package).joinpath(*name.split("/"))
        except ModuleNotFoundError:
            continue
        if isinstance(resource, Path) and resource.is_file():
            return str(resource)
    raise FontMissing(
        "no CJK font for QR captions: install jixiao's dependencies (paperang-p2-fonts-cjk)"
    )


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(_font_file(), size, index=0)


@functools.lru_cache(maxsize=64)
def _symbol(url: str) -> Image.Image:
    """The code at one pixel per module, quiet zone included, mode "1" (encoded once per URL)."""
    qr = segno.make_qr(url, error="m", boost_error=False)
    side = int(qr.symbol_size(scale=1, border=QUIET_ZONE)[0])
    image = Image.new("1", (side, side), 1)
    pixels = image.load()
    assert pixels is not None
    for y, row in enumerate(qr.matrix_iter(scale=1, border=QUIET_ZONE)):
        for x, dark in enumerate(row):
            if dark:
                pixels[x, y] = 0
    return image


def _code(url: str, module_px: int) -> Image.Image:
    """The code with its quiet zone, ``module_px`` pixels per module."""
    symbol = _symbol(url)
    side = symbol.width * module_px
    return symbol.resize((side, side), Image.Resampling.NEAREST)


def _modules(url: str) -> int:
    """Width of the code in modules, quiet zone included."""
    return _symbol(url).width


@dataclass(frozen=True)
class _Line:
    text: str
    font: ImageFont.FreeTypeFont

    @property
    def height(self) -> int:
        ascent, descent = self.font.getmetrics()
        return int(ascent + descent)

    def draw(self, draw: ImageDraw.ImageDraw, center_x: int, top: int) -> Placed:
        """Draw centred on ``center_x``; returns the text and the box its ink may cover."""
        width = self.font.getlength(self.text)
        draw.text((center_x - width / 2, top), self.text, font=self.font, fill=0)
        left = int(center_x - width / 2)
        return Placed(self.text, (left, top, left + math.ceil(width), top + self.height))


Box = tuple[int, int, int, int]  # left, top, right, bottom in pixels


@dataclass(frozen=True)
class Placed:
    """A line of text as drawn on a page (what the tests check a printout by)."""

    text: str
    box: Box


@dataclass(frozen=True)
class Page:
    """A drawn page, with where its texts and (on sheets) its cut-out cells are."""

    image: Image.Image
    texts: list[Placed]
    cells: list[Box]


def _fit(text: str, size: int, max_width: int, min_size: int = 18) -> _Line:
    """The largest font up to ``size`` in which ``text`` fits; cut with … if none does."""
    while size > min_size and _font(size).getlength(text) > max_width:
        size -= 2
    font = _font(size)
    if font.getlength(text) > max_width:
        while len(text) > 1 and font.getlength(text + "…") > max_width:
            text = text[:-1]
        text += "…"
    return _Line(text, font)


def _lines(
    width: int,
    caption: str | None,
    prompt: str | None,
    serial: str | None,
    note: str | None = None,
) -> tuple[list[_Line], list[_Line]]:
    """Text above the code (who is rated) and below it (what to do, a note, the serial)."""
    above = [_fit(caption, 44, width)] if caption else []
    below = []
    if prompt:
        below.append(_fit(prompt, 38, width))
    if note:
        below.append(_fit(note, 30, width))
    if serial:
        below.append(_fit(serial, 26, width))
    return above, below


def _stack(
    canvas: Image.Image,
    box: tuple[int, int, int, int],
    url: str,
    *,
    caption: str | None,
    prompt: str | None,
    serial: str | None,
    note: str | None = None,
) -> list[Placed]:
    """Draw caption, code and texts centred in ``box`` (left, top, right, bottom) of ``canvas``."""
    left, top, right, bottom = box
    width = right - left
    above, below = _lines(width, caption, prompt, serial, note)
    text_h = sum(line.height + _GAP for line in [*above, *below])
    room = min(width, bottom - top - text_h)
    modules = _modules(url)
    module_px = room // modules
    if module_px * (modules - 2 * QUIET_ZONE) < MIN_CODE_PX:
        raise ValueError(f"no room for a {MIN_CODE_PX} px code of {url!r}")
    code = _code(url, module_px)
    total = text_h + code.height
    y = top + (bottom - top - total) // 2
    center = left + width // 2
    draw = ImageDraw.Draw(canvas)
    placed = []
    for line in above:
        placed.append(line.draw(draw, center, y))
        y += line.height + _GAP
    canvas.paste(code, (center - code.width // 2, y))
    y += code.height + _GAP
    for line in below:
        placed.append(line.draw(draw, center, y))
        y += line.height + _GAP
    return placed


def qr_png(
    url: str,
    *,
    caption: str | None = None,
    subcaption: str | None = None,
    serial: str | None = None,
) -> bytes:
    """One code as a PNG (300 dpi): ``caption`` above it, ``subcaption`` and ``serial`` below."""
    modules = _modules(url)
    module_px = max(8, math.ceil(420 / modules))
    code_px = modules * module_px
    width = max(code_px, 520) + 2 * 24
    above, below = _lines(width - 48, caption, subcaption, serial)
    text_h = sum(line.height + _GAP for line in [*above, *below])
    height = code_px + text_h + 2 * 24
    card = Image.new("L", (width, height), 255)
    _stack(
        card,
        (24, 24, width - 24, height - 24),
        url,
        caption=caption,
        prompt=subcaption,
        serial=serial,
    )
    out = io.BytesIO()
    card.save(out, "PNG", dpi=(DPI, DPI))
    return out.getvalue()


def qr_sheet(
    items: Sequence[tuple[str, str, str]],
    *,
    title: str,
    prompt: str = DEFAULT_PROMPT,
    note: str | None = None,
    serial_format: str = "No. {serial}",
) -> bytes:
    """A4 pages (PDF, 300 dpi) of 3 × 4 codes with cut lines; ``items`` are (url, caption, serial).

    Each cell shows the caption (unit, and staff name), the code, ``prompt``, ``note``
    (whether it is single-use, and the label) and the serial, all inside the cut line: a
    slip cut out says everything by itself. Pages are 1-bit images, stored losslessly
    (CCITT G4) so codes stay sharp.
    """
    pages = sheet_pages(items, title=title, prompt=prompt, note=note, serial_format=serial_format)
    return _pdf([page.image for page in pages], title)


def sheet_pages(
    items: Sequence[tuple[str, str, str]],
    *,
    title: str,
    prompt: str = DEFAULT_PROMPT,
    note: str | None = None,
    serial_format: str = "No. {serial}",
) -> list[Page]:
    """The pages of :func:`qr_sheet`, drawn."""
    if not items:
        raise ValueError("a sheet needs at least one code")
    pages_total = math.ceil(len(items) / PER_PAGE)
    page_w, page_h = A4_PX
    grid_top = _PAGE_MARGIN + _HEADER_PX
    cell_w = (page_w - 2 * _PAGE_MARGIN) // SHEET_COLUMNS
    cell_h = (page_h - grid_top - _PAGE_MARGIN) // SHEET_ROWS
    pages: list[Page] = []
    for page_no in range(pages_total):
        page = Image.new("L", A4_PX, 255)
        draw = ImageDraw.Draw(page)
        header = _fit(f"{title}    {page_no + 1}/{pages_total}", 40, page_w - 2 * _PAGE_MARGIN)
        texts = [header.draw(draw, page_w // 2, _PAGE_MARGIN + (_HEADER_PX - header.height) // 2)]
        cells: list[Box] = []
        chunk = items[page_no * PER_PAGE : (page_no + 1) * PER_PAGE]
        for i, (url, caption, serial) in enumerate(chunk):
            row, col = divmod(i, SHEET_COLUMNS)
            left = _PAGE_MARGIN + col * cell_w
            top = grid_top + row * cell_h
            cells.append((left, top, left + cell_w, top + cell_h))
            _cut_lines(draw, cells[-1])
            texts += _stack(
                page,
                (
                    left + _CELL_PAD,
                    top + _CELL_PAD,
                    left + cell_w - _CELL_PAD,
                    top + cell_h - _CELL_PAD,
                ),
                url,
                caption=caption,
                prompt=prompt,
                serial=serial_format.format(serial=serial) if serial else None,
                note=note,
            )
        pages.append(Page(page, texts, cells))
    return pages


def _pdf(pages: Sequence[Image.Image], title: str) -> bytes:
    """Pages as 1-bit images in a PDF at 300 dpi (lossless, so codes stay sharp)."""
    bilevel = [page.point(lambda v: 255 if v >= 128 else 0, mode="1") for page in pages]
    out = io.BytesIO()
    bilevel[0].save(
        out,
        "PDF",
        save_all=True,
        append_images=bilevel[1:],
        resolution=float(DPI),
        title=title,
        creator="jixiao",
    )
    return out.getvalue()


@dataclass(frozen=True)
class PosterText:
    """The words of a window poster, already in the reader's language."""

    heading: str  # what the poster asks: 请扫码评价我们的服务
    unit: str
    window: str  # the window's name; "" for none
    instruction: str  # one line: 用 Telegram 扫码评价，约1分钟，无需姓名电话
    use: str  # whether the code is single-use or for everyone
    serial: str  # No. 000123, to revoke it by


def qr_poster(url: str, text: PosterText, *, paper: str = "A4") -> bytes:
    """One code as a poster for a service window (PDF, one portrait page of ``paper``).

    From the top: the unit and the window (large, readable from a queue), the heading,
    the code (two thirds of the page width), the instruction, whether the code is
    single-use, and the serial in small print at the foot.
    """
    return _pdf([poster_page(url, text, paper=paper).image], f"{text.unit} {text.window}".strip())


def poster_page(url: str, text: PosterText, *, paper: str = "A4") -> Page:
    """The page of :func:`qr_poster`, drawn."""
    if paper not in PAPER_PX:
        raise ValueError(f"paper must be one of {', '.join(PAPER_PX)}")
    page_w, page_h = PAPER_PX[paper]
    k = page_w / A4_PX[0]  # A5 is A4 scaled by 1/√2
    margin = round(170 * k)
    width = page_w - 2 * margin
    top_lines = [_fit(text.unit, round(150 * k), width, round(40 * k))]
    if text.window:
        top_lines.append(_fit(text.window, round(118 * k), width, round(36 * k)))
    heading = _fit(text.heading, round(96 * k), width, round(32 * k))
    bottom_lines = [
        _fit(text.instruction, round(72 * k), width, round(28 * k)),
        _fit(text.use, round(60 * k), width, round(24 * k)),
    ]
    serial = _fit(text.serial, round(44 * k), width, round(20 * k))
    gap = round(40 * k)
    modules = _modules(url)
    module_px = round(page_w * 0.66) // modules
    code = _code(url, module_px)
    page = Image.new("L", (page_w, page_h), 255)
    draw = ImageDraw.Draw(page)
    center = page_w // 2
    y = margin
    placed = []
    for line in top_lines:
        placed.append(line.draw(draw, center, y))
        y += line.height + gap // 2
    rule_y = y + gap // 2
    draw.line([(margin, rule_y), (page_w - margin, rule_y)], fill=0, width=max(2, round(6 * k)))
    # the heading, code and instructions centred between the rule and the serial
    block = heading.height + code.height + sum(line.height for line in bottom_lines)
    block += gap // 2 * (1 + len(bottom_lines))
    room = page_h - margin - serial.height - gap - rule_y
    if block > room:
        raise ValueError(f"the poster's texts do not fit on {paper}")
    y = rule_y + (room - block) // 2 + gap // 2
    placed.append(heading.draw(draw, center, y))
    y += heading.height + gap // 2
    page.paste(code, (center - code.width // 2, y))
    y += code.height + gap // 2
    for line in bottom_lines:
        placed.append(line.draw(draw, center, y))
        y += line.height + gap // 2
    placed.append(serial.draw(draw, center, page_h - margin - serial.height))
    return Page(page, placed, [])


def _cut_lines(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int]) -> None:
    """A dashed rectangle around a cell, to cut along."""
    left, top, right, bottom = box
    dash, gap = 18, 14
    for x in range(left, right, dash + gap):
        end = min(x + dash, right)
        draw.line([(x, top), (end, top)], fill=0, width=2)
        draw.line([(x, bottom), (end, bottom)], fill=0, width=2)
    for y in range(top, bottom, dash + gap):
        end = min(y + dash, bottom)
        draw.line([(left, y), (left, end)], fill=0, width=2)
        draw.line([(right, y), (right, end)], fill=0, width=2)
