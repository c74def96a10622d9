"""Result pictures: a radar chart of a person's four dimensions, a unit's grade distribution.

Charts are drawn with matplotlib's object-oriented API on the Agg canvas (no pyplot, no
GUI backend), one ``Figure`` per call, so they may be rendered from worker threads
(``asyncio.to_thread``). Text is set in WenQuanYi Micro Hei, the CJK font that comes with
the project's dependencies (the ``paperang-p2-fonts-cjk`` wheel, as for the QR captions),
so Simplified and Traditional Chinese render the same on every machine whatever fonts the
OS has. The font is registered with matplotlib's font manager once and then handed to
every text artist as explicit ``FontProperties``: no global ``rcParams`` are changed.
"""

from __future__ import annotations

import functools
import io
import math
import textwrap
import threading
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from matplotlib import font_manager
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.projections.polar import PolarAxes
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from domain.enums import Dimension, Grade
from domain.labels import DIMENSION_LABELS, GRADE_LABELS
from infra.i18n import Translator
from services.qr import FontMissing

__all__ = ["FontMissing", "distribution_png", "draw", "radar_png"]

DPI = 100
SCALE_MAX = 100  # dimension scores are on a 0–100 scale
MIN_SIZE_PX = 240

# (package, path inside it) of fonts with CJK glyphs, first found wins (as services.qr)
_FONT_SOURCES: tuple[tuple[str, str], ...] = (("paperang_p2_fonts_cjk", "fonts/wqy-microhei.ttc"),)
_FONT_FAMILY = "WenQuanYi Micro Hei"  # face 0 of the collection; face 1 is the monospaced one
# DejaVu Sans ships with matplotlib: a fallback for the odd symbol the CJK font lacks
_FALLBACK_FAMILY = "DejaVu Sans"

PERSON_COLOR = "#1f6fb2"
AVERAGE_COLOR = "#e07b00"
GRID_COLOR = "#b8bec6"
GRADE_COLORS = {
    Grade.EXCELLENT: "#2e8b57",
    Grade.GOOD: "#1f6fb2",
    Grade.PASS: "#8a939c",
    Grade.FAIL: "#c0392b",
}

_setup_lock = threading.Lock()
# Rendering shares matplotlib's caches (fonts, text layout); one chart at a time is plenty.
_render_lock = threading.Lock()


def _font_file() -> str:
    for package, name in _FONT_SOURCES:
        try:
            resource = resources.files(package).joinpath(*name.split("/"))
        except ModuleNotFoundError:
            continue
        if isinstance(resource, Path) and resource.is_file():
            return str(resource)
    raise FontMissing(
        "no CJK font for charts: install jixiao's dependencies (paperang-p2-fonts-cjk)"
    )


@functools.cache
def _registered_font() -> str:
    """Register the CJK font with matplotlib (once per process); return its file."""
    with _setup_lock:
        path = _font_file()
        known = {str(entry.fname) for entry in font_manager.fontManager.ttflist}
        if path not in known:
            font_manager.fontManager.addfont(path)
        return path


def _font(size: float) -> font_manager.FontProperties:
    """The CJK font at ``size`` points (it has one weight: asking for bold would log a warning)."""
    _registered_font()
    return font_manager.FontProperties(family=[_FONT_FAMILY, _FALLBACK_FAMILY], size=size)


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return out.getvalue()


def _fit_width(text: Text, renderer: RendererBase, max_px: float, min_size: float) -> None:
    """Shrink ``text`` until it is at most ``max_px`` wide (or at ``min_size``)."""
    size = text.get_fontproperties().get_size_in_points()
    while size > min_size and text.get_window_extent(renderer=renderer).width > max_px:
        size = max(min_size, size * 0.92)
        text.set_fontsize(size)


def _wrap(label: str, width: int = 16) -> str:
    """Break long labels (English ones) at spaces; CJK labels are short and stay whole."""
    return textwrap.fill(label, width=width, break_long_words=False) if " " in label else label


def _score(value: Decimal | float | int) -> float:
    return min(max(float(value), 0.0), float(SCALE_MAX))


def _value_text(value: Decimal | float | int) -> str:
    """Two decimals, rounded half up (四舍五入): the same figure the message beside it shows."""
    return f"{Decimal(str(value)).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"


def _check_dimensions(name: str, mapping: Mapping[Dimension, object]) -> None:
    missing = [d.value for d in Dimension if d not in mapping]
    if missing:
        raise ValueError(f"{name} lacks dimension(s) {', '.join(missing)}")


def radar_png(
    scores: Mapping[Dimension, Decimal],
    average: Mapping[Dimension, Decimal] | None,
    *,
    labels: Mapping[Dimension, str],
    title: str,
    legend: tuple[str, str],
    size_px: int = 800,
) -> bytes:
    """A square PNG: the four dimension scores (0–100) against the unit's average.

    ``labels`` name the dimensions (already translated), ``title`` is one line (name ·
    period · total · grade; shrunk to fit), ``legend`` is (this person, unit average).
    Performance is at the top, the others follow clockwise in ``Dimension`` order; each
    label carries the person's score. Without ``average`` only the person is drawn.
    Scores outside 0–100 are drawn at the rim (or centre) but shown as given.
    """
    if size_px < MIN_SIZE_PX:
        raise ValueError(f"size_px must be at least {MIN_SIZE_PX}")
    _check_dimensions("scores", scores)
    _check_dimensions("labels", labels)
    if average is not None:
        _check_dimensions("average", average)
    with _render_lock:
        return _radar(scores, average, labels, title, legend, size_px)


def _radar(
    scores: Mapping[Dimension, Decimal],
    average: Mapping[Dimension, Decimal] | None,
    labels: Mapping[Dimension, str],
    title: str,
    legend: tuple[str, str],
    size_px: int,
) -> bytes:
    k = size_px / 800  # font sizes are set for 800 px and scale with the picture
    dims = list(Dimension)
    angles = [2 * math.pi * i / len(dims) for i in range(len(dims))]
    closed = [*angles, angles[0]]

    figure = Figure(figsize=(size_px / DPI, size_px / DPI), dpi=DPI, facecolor="white")
    canvas = FigureCanvasAgg(figure)
    ax = figure.add_axes((0.2, 0.13, 0.6, 0.7), projection="polar")
    assert isinstance(ax, PolarAxes)
    ax.set_theta_offset(math.pi / 2)
    ax.set_theta_direction(-1)
    ax.set_ylim(0, SCALE_MAX)
    ax.set_xticks(angles, [""] * len(angles))
    ticks = [20, 40, 60, 80, 100]
    ax.set_yticks(ticks, [str(t) for t in ticks], fontproperties=_font(8.5 * k), color="#6b737c")
    ax.set_rlabel_position(180 / len(dims))
    ax.grid(color=GRID_COLOR, linewidth=0.8 * k)
    ax.spines["polar"].set_color(GRID_COLOR)

    handles = []
    if average is not None:
        avg = [_score(average[d]) for d in dims]
        (line,) = ax.plot(
            closed,
            [*avg, avg[0]],
            color=AVERAGE_COLOR,
            linewidth=2 * k,
            linestyle="--",
            marker="o",
            markersize=4 * k,
            label=legend[1],
        )
        handles.append(line)
    mine = [_score(scores[d]) for d in dims]
    (line,) = ax.plot(
        closed,
        [*mine, mine[0]],
        color=PERSON_COLOR,
        linewidth=2.5 * k,
        marker="o",
        markersize=5 * k,
        label=legend[0],
    )
    ax.fill(closed, [*mine, mine[0]], color=PERSON_COLOR, alpha=0.22)
    handles.insert(0, line)

    label_font = _font(12.5 * k)
    for d, theta in zip(dims, angles, strict=True):
        # position on screen: theta runs clockwise from the top
        x, y = math.sin(theta), math.cos(theta)
        ha = "center" if abs(x) < 0.1 else ("left" if x > 0 else "right")
        va = "center" if abs(y) < 0.1 else ("bottom" if y > 0 else "top")
        ax.text(
            theta,
            SCALE_MAX * 1.1,
            f"{_wrap(labels[d])}\n{_value_text(scores[d])}",
            fontproperties=label_font,
            ha=ha,
            va=va,
            multialignment="center",
            linespacing=1.3,
            clip_on=False,
            parse_math=False,
        )

    heading = figure.text(
        0.5,
        0.955,
        title,
        ha="center",
        va="top",
        fontproperties=_font(15 * k),
        parse_math=False,
    )
    figure.legend(
        handles=handles,
        labels=[legend[0], legend[1]][: len(handles)],
        loc="lower center",
        bbox_to_anchor=(0.5, 0.015),
        ncol=len(handles),
        frameon=False,
        prop=_font(11.5 * k),
    )
    _fit_width(heading, canvas.get_renderer(), size_px * 0.94, 8 * k)
    return _png(figure)


def distribution_png(
    counts: Mapping[Grade, int], *, labels: Mapping[Grade, str], title: str
) -> bytes:
    """A small bar chart (800 × 480 PNG) of how many people of a unit got each grade.

    Grades are shown best first, each bar with its count and share; a grade absent from
    ``counts`` counts 0. ``labels`` name the grades (already translated).
    """
    missing = [g.value for g in Grade if g not in labels]
    if missing:
        raise ValueError(f"labels lacks grade(s) {', '.join(missing)}")
    if any(n < 0 for n in counts.values()):
        raise ValueError("counts must not be negative")
    with _render_lock:
        return _distribution(counts, labels, title)


def _distribution(counts: Mapping[Grade, int], labels: Mapping[Grade, str], title: str) -> bytes:
    width_px, height_px = 800, 480
    grades = list(Grade)
    values = [int(counts.get(g, 0)) for g in grades]
    total = sum(values)

    figure = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, facecolor="white")
    canvas = FigureCanvasAgg(figure)
    ax = figure.add_axes((0.09, 0.13, 0.87, 0.68))
    positions = list(range(len(grades)))
    bars = ax.bar(positions, values, width=0.6, color=[GRADE_COLORS[g] for g in grades], zorder=2)
    ax.set_xticks(positions, [_wrap(labels[g], 14) for g in grades], fontproperties=_font(12.5))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    top = max(values) if total else 1
    ax.set_ylim(0, top * 1.2)
    ax.tick_params(axis="y", labelsize=10, labelfontfamily=_FONT_FAMILY)
    ax.grid(axis="y", color="#e3e6ea", zorder=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", length=0)
    value_font = _font(11.5)
    for bar, n in zip(bars, values, strict=True):
        share = f" ({int(100 * n / total + 0.5)}%)" if total else ""
        ax.text(
            bar.get_x() + bar.get_width() / 2,
            bar.get_height() + top * 0.02,
            f"{n}{share}",
            ha="center",
            va="bottom",
            fontproperties=value_font,
            parse_math=False,
        )
    heading = figure.text(
        0.5,
        0.95,
        title,
        ha="center",
        va="top",
        fontproperties=_font(15),
        parse_math=False,
    )
    _fit_width(heading, canvas.get_renderer(), width_px * 0.94, 8)
    return _png(figure)


def draw(spec: dict[str, Any]) -> bytes:
    """Draw a chart queued as a JSON spec (``services.result_notices``: ``kind`` radar or
    distribution, in the spec's ``locale``); the outbox sender calls it when it sends."""
    tr = Translator(spec.get("locale") or "zh_Hans")
    if spec["kind"] == "radar":
        scores = {Dimension(k): Decimal(v) for k, v in spec["scores"].items() if v is not None}
        for d in Dimension:
            scores.setdefault(d, Decimal(0))
        average = {Dimension(k): Decimal(v) for k, v in spec.get("average", {}).items()} or None
        if average is not None:
            for d in Dimension:
                average.setdefault(d, Decimal(0))
        return radar_png(
            scores,
            average,
            labels={d: tr._(DIMENSION_LABELS[d]) for d in Dimension},
            title=spec["title"],
            legend=(spec["legend"][0], spec["legend"][1]),
        )
    counts = {Grade(k): int(v) for k, v in spec["counts"].items()}
    return distribution_png(
        counts, labels={g: tr._(GRADE_LABELS[g]) for g in Grade}, title=spec["title"]
    )
