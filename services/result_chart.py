"""A person's result picture, laid out in pixels and painted with Pillow.

Every published result carries one, so its cost bounds the push rate: drawn with matplotlib
it took about 70 ms of CPU, most of it in figure machinery this picture does not need (it is
rectangles and text). Here the layout is computed first (``result_layout``: every text with
its box, every rectangle with its role) and then painted as it stands, so the tests check the
very boxes that are drawn. Text is set in the bundled CJK font (``services.charts``), with
DejaVu Sans for the odd glyph it lacks; a glyph neither has warns, as matplotlib did.
"""

from __future__ import annotations

import functools
import io
import textwrap
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from fontTools.ttLib import TTCollection, TTFont
from PIL import Image, ImageDraw, ImageFont

from domain.enums import Dimension, Grade
from scoring import DEFAULT_BANDS, GradeBands

DPI = 100  # sizes are given in points, as they were for matplotlib: px = pt × DPI / 72
SCALE_MAX = 100  # dimension scores are on a 0–100 scale
MIN_SIZE_PX = 240
PNG_COMPRESSION = 3  # flat colours compress well at any level; 6 costs twice the time

PERSON_COLOR = "#1f6fb2"
TOTAL_COLOR = "#123f6b"
AVERAGE_COLOR = "#e07b00"
AVERAGE_TEXT = "#a35400"  # the marker's orange, dark enough to read as small text
GRID_COLOR = "#b8bec6"
TEXT_COLOR = "#1d2329"
MUTED = "#6b737c"
GRADE_COLORS = {
    Grade.EXCELLENT: "#2e8b57",
    Grade.GOOD: "#1f6fb2",
    Grade.PASS: "#8a939c",
    Grade.FAIL: "#c0392b",
}
# the grade bands behind a person's bars: pale enough for the bars and labels to stand out
BAND_COLORS = {
    Grade.EXCELLENT: "#dcf1e4",
    Grade.GOOD: "#e1edf8",
    Grade.PASS: "#eff1f3",
    Grade.FAIL: "#fbebe9",
}

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels, y downwards
Role = Literal["title", "subtitle", "band", "scale", "row", "value", "average"]


@dataclass(frozen=True)
class Fonts:
    """The two font files: the CJK one (face 0 of a collection) and a fallback."""

    main: str
    fallback: str


@dataclass(frozen=True)
class Placed:
    """A text as drawn: its box (the line boxes, ascent to descent) and how."""

    text: str
    role: Role
    box: Box
    size_pt: float
    color: str
    backdrop: str | None = None  # a rectangle behind it (a value inside its bar)


@dataclass(frozen=True)
class Rect:
    """A filled rectangle: a grade band, a bar, the average marker, the baseline."""

    role: Literal["band", "bar", "average", "baseline", "separator"]
    box: Box
    color: str
    grade: Grade | None = None


@dataclass
class Layout:
    """The picture before painting: the tests read it, ``paint`` draws exactly it."""

    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    texts: list[Placed] = field(default_factory=list)
    plot: Box = (0.0, 0.0, 0.0, 0.0)  # the 0–100 area of the bars

    def x(self, value: float) -> float:
        """Where ``value`` (0–100) lies across the plot."""
        x0, _, x1, _ = self.plot
        return x0 + (x1 - x0) * value / SCALE_MAX


@dataclass(frozen=True)
class ResultChart:
    """What a person's result picture shows, every text already in the reader's language.

    ``scores`` may lack a dimension (none was scored: no bar, "—"); ``average`` is the
    unit's, per dimension (a marker across each bar, labelled ``average_label`` and its value).
    """

    title: str  # name · period, one line (shrunk to fit)
    scores: Mapping[Dimension, Decimal]
    labels: Mapping[Dimension, str]
    grade_labels: Mapping[Grade, str]
    average: Mapping[Dimension, Decimal] | None = None
    average_label: str = ""
    total: Decimal | None = None
    total_label: str = ""
    subtitle: str = ""  # total · grade, under the title
    bands: GradeBands = DEFAULT_BANDS


# -- fonts -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _face(path: str, size_px: int) -> ImageFont.FreeTypeFont:
    # the basic layout: no shaping is needed for CJK and Latin, and Raqm costs 10× per call
    return ImageFont.truetype(path, size_px, index=0, layout_engine=ImageFont.Layout.BASIC)


@functools.cache
def _cmap(path: str) -> frozenset[int]:
    """The code points a font file has glyphs for (face 0 of a collection)."""
    font = TTCollection(path).fonts[0] if path.endswith(".ttc") else TTFont(path)
    return frozenset(font.getBestCmap())


def _px(size_pt: float) -> int:
    return max(1, round(size_pt * DPI / 72))


def _runs(text: str, fonts: Fonts) -> list[tuple[str, str]]:
    """``text`` cut into runs of one font each: the CJK font, or the fallback for its gaps."""
    main, spare = _cmap(fonts.main), _cmap(fonts.fallback)
    runs: list[tuple[str, str]] = []
    for ch in text:
        code = ord(ch)
        path = fonts.main
        if code not in main and not ch.isspace():
            if code in spare:
                path = fonts.fallback
            else:
                warnings.warn(
                    f"Glyph {code} ({ch!r}) missing from font(s) {fonts.main}, {fonts.fallback}",
                    UserWarning,
                    stacklevel=2,
                )
        if runs and runs[-1][0] == path:
            runs[-1] = (path, runs[-1][1] + ch)
        else:
            runs.append((path, ch))
    return runs


def _line_width(text: str, size_px: int, fonts: Fonts) -> float:
    return sum(_face(p, size_px).getlength(t) for p, t in _runs(text, fonts))


def _line_height(size_px: int, fonts: Fonts) -> tuple[int, int]:
    ascent, descent = _face(fonts.main, size_px).getmetrics()
    return ascent, descent


# -- layout ------------------------------------------------------------------------------


def _place(
    layout: Layout,
    fonts: Fonts,
    text: str,
    role: Role,
    x: float,
    y: float,
    *,
    size_pt: float,
    ha: str = "left",
    va: str = "top",
    color: str = TEXT_COLOR,
    fit: tuple[float, float] | None = None,  # (max width px, min size pt): shrink to fit
    backdrop: str | None = None,
) -> Placed:
    """Put ``text`` (lines joined by newlines) with its (ha, va) anchor at (x, y)."""
    lines = text.split("\n")
    while True:
        px = _px(size_pt)
        width = max(_line_width(line, px, fonts) for line in lines)
        if fit is None or width <= fit[0] or size_pt <= fit[1]:
            break
        size_pt = max(fit[1], size_pt * 0.92)
    ascent, descent = _line_height(px, fonts)
    height = (ascent + descent) * (1 + 1.15 * (len(lines) - 1))
    x0 = {"left": x, "center": x - width / 2, "right": x - width}[ha]
    y0 = {"top": y, "center": y - height / 2, "bottom": y - height}[va]
    placed = Placed(text, role, (x0, y0, x0 + width, y0 + height), size_pt, color, backdrop)
    layout.texts.append(placed)
    return placed


def _wrap(label: str, width: int = 16) -> str:
    """Break long labels (English ones) at spaces; CJK labels are short and stay whole."""
    return textwrap.fill(label, width=width, break_long_words=False) if " " in label else label


def _score(value: Decimal | float | int) -> float:
    return min(max(float(value), 0.0), float(SCALE_MAX))


def _value_text(value: Decimal | float | int) -> str:
    """Two decimals, rounded half up (四舍五入), as the result message shows scores."""
    return f"{Decimal(str(value)).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"


def result_layout(chart: ResultChart, fonts: Fonts, *, width_px: int = 800) -> Layout:
    """Where everything of the picture goes (sizes set for 800 px, scaled with the width)."""
    if width_px < MIN_SIZE_PX:
        raise ValueError(f"width_px must be at least {MIN_SIZE_PX}")
    missing = [d.value for d in Dimension if d not in chart.labels]
    if missing:
        raise ValueError(f"labels lacks dimension(s) {', '.join(missing)}")
    absent = [g.value for g in Grade if g not in chart.grade_labels]
    if absent:
        raise ValueError(f"grade_labels lacks grade(s) {', '.join(absent)}")
    rows: list[tuple[str, Decimal | None, Decimal | None, str]] = []  # label, value, avg, colour
    if chart.total is not None:
        rows.append((chart.total_label, chart.total, None, TOTAL_COLOR))
    for d in Dimension:
        avg = chart.average.get(d) if chart.average else None
        rows.append((_wrap(chart.labels[d]), chart.scores.get(d), avg, PERSON_COLOR))

    k = width_px / 800
    row_px = 76 * k
    head_px, band_px, foot_px = 104 * k, 30 * k, 34 * k
    plot_px = row_px * len(rows)
    height_px = round(head_px + band_px + plot_px + foot_px)
    top = height_px - foot_px - plot_px
    bottom = height_px - foot_px
    layout = Layout(width_px, height_px, plot=(0.25 * width_px, top, 0.955 * width_px, bottom))
    per_row = plot_px / (len(rows) + 0.2)  # rows at 0…n-1, from -0.5 to n-0.3 (room below)

    def row_y(value: float) -> float:
        return top + (value + 0.5) * per_row

    b = chart.bands
    edges = [
        (Grade.FAIL, 0.0, float(b.passing)),
        (Grade.PASS, float(b.passing), float(b.good)),
        (Grade.GOOD, float(b.good), float(b.excellent)),
        (Grade.EXCELLENT, float(b.excellent), float(SCALE_MAX)),
    ]
    for grade, lo, hi in edges:
        if hi <= lo:
            continue
        box = (layout.x(lo), top, layout.x(hi), bottom)
        layout.rects.append(Rect("band", box, BAND_COLORS[grade], grade))
        _place(
            layout,
            fonts,
            chart.grade_labels[grade],
            "band",
            (box[0] + box[2]) / 2,
            top - 6 * k,
            size_pt=11 * k,
            ha="center",
            va="bottom",
            color=GRADE_COLORS[grade],
            fit=(box[2] - box[0] - 4 * k, 6 * k),
        )
    baseline = row_y(len(rows) - 0.3)
    line = max(1.0, 1.5 * k * DPI / 72)
    layout.rects.append(
        Rect(
            "baseline",
            (layout.x(0), baseline - line / 2, layout.x(100), baseline + line / 2),
            GRID_COLOR,
        )
    )
    for tick in sorted({0, int(b.passing), int(b.good), int(b.excellent), SCALE_MAX}):
        _place(
            layout,
            fonts,
            str(tick),
            "scale",
            layout.x(tick),
            bottom + 5 * k,
            size_pt=9.5 * k,
            ha="center",
            color=MUTED,
        )
    for y, row in enumerate(rows):
        _place(
            layout,
            fonts,
            row[0],
            "row",
            layout.x(0) - 10 * k,
            row_y(y),
            size_pt=12.5 * k,
            ha="right",
            va="center",
        )
    if chart.total is not None:
        white = 3 * k * DPI / 72
        layout.rects.append(
            Rect(
                "separator",
                (layout.x(0), row_y(0.5) - white / 2, layout.x(100), row_y(0.5) + white / 2),
                "#ffffff",
            )
        )
    bar_h = 0.46 * per_row
    for y, (_, value, avg, colour) in enumerate(rows):
        cy = row_y(y)
        if value is not None:
            end = layout.x(_score(value))
            layout.rects.append(
                Rect("bar", (layout.x(0), cy - bar_h / 2, end, cy + bar_h / 2), colour)
            )
            inside = _score(value) >= 18
            nudge = layout.x(1.2) - layout.x(0)
            size = 12.5 * k
            _place(
                layout,
                fonts,
                _value_text(value),
                "value",
                end - nudge if inside else end + nudge,
                cy,
                size_pt=size,
                ha="right" if inside else "left",
                va="center",
                color="#ffffff" if inside else TEXT_COLOR,
                # the label's box hides the average marker where they cross: it stays legible
                backdrop=colour if inside else None,
            )
        else:
            _place(layout, fonts, "—", "value", layout.x(1.2), cy, size_pt=12.5 * k, va="center")
        if avg is not None:
            x = layout.x(_score(avg))
            half = 3 * k * DPI / 72 / 2
            layout.rects.append(
                Rect(
                    "average",
                    (x - half, cy - 0.33 * per_row, x + half, cy + 0.33 * per_row),
                    AVERAGE_COLOR,
                )
            )
            score = _score(avg)
            ha = "left" if score < 15 else ("right" if score > 85 else "center")
            _place(
                layout,
                fonts,
                f"{chart.average_label} {_value_text(avg)}".strip(),
                "average",
                x,
                row_y(y + 0.35),
                size_pt=9.5 * k,
                ha=ha,
                color=AVERAGE_TEXT,
            )
    _place(
        layout,
        fonts,
        chart.title,
        "title",
        width_px / 2,
        18 * k,
        size_pt=16 * k,
        ha="center",
        fit=(width_px * 0.94, 8 * k),
    )
    if chart.subtitle:
        _place(
            layout,
            fonts,
            chart.subtitle,
            "subtitle",
            width_px / 2,
            56 * k,
            size_pt=13 * k,
            ha="center",
            fit=(width_px * 0.94, 8 * k),
        )
    return layout


# -- painting ----------------------------------------------------------------------------


def paint(layout: Layout, fonts: Fonts) -> bytes:
    """The layout as a PNG: rectangles in order, then the texts over them."""
    image = Image.new("RGB", (layout.width, layout.height), "#ffffff")
    pen = ImageDraw.Draw(image)
    for rect in layout.rects:
        x0, y0, x1, y1 = rect.box
        if x1 - x0 >= 0.5 and y1 - y0 >= 0.5:
            pen.rectangle((round(x0), round(y0), round(x1) - 1, round(y1) - 1), fill=rect.color)
    for text in layout.texts:
        _paint_text(pen, text, fonts)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=PNG_COMPRESSION)
    return out.getvalue()


def _paint_text(pen: ImageDraw.ImageDraw, text: Placed, fonts: Fonts) -> None:
    px = _px(text.size_pt)
    ascent, descent = _line_height(px, fonts)
    x0, y0, x1, y1 = text.box
    if text.backdrop is not None:
        pad = 0.12 * px
        pen.rectangle((round(x0 - pad), round(y0), round(x1 + pad), round(y1)), fill=text.backdrop)
    lines = text.text.split("\n")
    step = (ascent + descent) * 1.15
    for n, line in enumerate(lines):
        width = _line_width(line, px, fonts)
        # row labels of several lines are right-aligned, as their anchor; others are one line
        x = x1 - width if text.role == "row" else x0 + (x1 - x0 - width) / 2
        baseline = y0 + n * step + ascent
        for path, run in _runs(line, fonts):
            face = _face(path, px)
            pen.text((x, baseline), run, font=face, fill=text.color, anchor="ls")
            x += face.getlength(run)
