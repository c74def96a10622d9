"""Result pictures: a person's scores as bars over the grade bands, a unit's grade distribution.

A person's result is painted with Pillow from a pixel layout (``services.result_chart``: it
goes out with every published result, and matplotlib took 70 ms of CPU for it); the unit's
distribution is drawn with matplotlib's object-oriented API on the Agg canvas (no pyplot, no
GUI backend), one ``Figure`` per call. Both may be rendered from worker threads. Text is set in WenQuanYi Micro Hei, the CJK font that comes with
the project's dependencies (the ``paperang-p2-fonts-cjk`` wheel, as for the QR captions),
so Simplified and Traditional Chinese render the same on every machine whatever fonts the
OS has. The font is registered with matplotlib's font manager once and then handed to
every text artist as explicit ``FontProperties``: no global ``rcParams`` are changed.
"""

from __future__ import annotations

import functools
import io
import textwrap
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from matplotlib import font_manager
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from domain.enums import Dimension, Grade
from domain.labels import DIMENSION_LABELS, GRADE_LABELS
from infra.i18n import N_, Translator
from scoring import DEFAULT_BANDS, GradeBands
from services.qr import FontMissing
from services.result_chart import GRADE_COLORS, Fonts, Layout, ResultChart, paint
from services.result_chart import result_layout as _result_layout

__all__ = [
    "FontMissing",
    "ResultChart",
    "distribution_png",
    "draw",
    "font_file",
    "font_properties",
    "result_layout",
    "result_png",
]

DPI = 100

# (package, path inside it) of fonts with CJK glyphs, first found wins (as services.qr)
_FONT_SOURCES: tuple[tuple[str, str], ...] = (("paperang_p2_fonts_cjk", "fonts/wqy-microhei.ttc"),)
_FONT_FAMILY = "WenQuanYi Micro Hei"  # face 0 of the collection; face 1 is the monospaced one
# DejaVu Sans ships with matplotlib: a fallback for the odd symbol the CJK font lacks
_FALLBACK_FAMILY = "DejaVu Sans"
TOTAL_LABEL = N_("Total score")  # the result chart's first bar

_setup_lock = threading.Lock()
# Rendering shares matplotlib's caches and Pillow's font faces; one chart at a time is plenty.
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


def font_file() -> str:
    """The CJK font's file, for other typesetters that embed it (``services.report``)."""
    return _font_file()


def font_properties(size: float) -> font_manager.FontProperties:
    """The charts' font at ``size`` points, for other charts drawn the same way."""
    return _font(size)


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


@functools.cache
def chart_fonts() -> Fonts:
    """The fonts of the result picture: the bundled CJK font, DejaVu Sans (matplotlib's)
    for the odd symbol it lacks."""
    return Fonts(_registered_font(), font_manager.findfont(_FALLBACK_FAMILY))


def result_layout(chart: ResultChart, *, width_px: int = 800) -> Layout:
    """Where every text and rectangle of :func:`result_png` goes (tests read it)."""
    return _result_layout(chart, chart_fonts(), width_px=width_px)


def result_png(chart: ResultChart, *, width_px: int = 800) -> bytes:
    """A person's result as horizontal bars on a 0–100 scale (800 px wide PNG).

    One bar for the total (when given), then one per dimension in ``Dimension`` order,
    drawn over the grade bands of 五(三)2 (不合格 < 60 ≤ 合格 < 80 ≤ 良好 < 90 ≤ 优秀), so
    the grade of every figure is seen at a glance on a phone; each bar carries its value
    and the unit's average is a labelled marker across it. Painted with Pillow
    (``services.result_chart``): a few milliseconds, where matplotlib took 70.
    """
    fonts = chart_fonts()
    with _render_lock:  # Pillow's font faces are not meant to be shared between threads
        return paint(_result_layout(chart, fonts, width_px=width_px), fonts)


def distribution_png(
    counts: Mapping[Grade, int],
    *,
    labels: Mapping[Grade, str],
    title: str,
    paren: Callable[[str], str] = lambda share: f" ({share})",
) -> bytes:
    """A small bar chart (800 × 480 PNG) of how many people of a unit got each grade.

    Grades are shown best first, each bar with its count and share (in ``paren``, the
    language's brackets: ``Translator.paren``); a grade absent from ``counts`` counts 0.
    ``labels`` name the grades (already translated).
    """
    missing = [g.value for g in Grade if g not in labels]
    if missing:
        raise ValueError(f"labels lacks grade(s) {', '.join(missing)}")
    if any(n < 0 for n in counts.values()):
        raise ValueError("counts must not be negative")
    with _render_lock:
        return _distribution(counts, labels, title, paren)


def _distribution(
    counts: Mapping[Grade, int],
    labels: Mapping[Grade, str],
    title: str,
    paren: Callable[[str], str],
) -> bytes:
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
        share = paren(f"{int(100 * n / total + 0.5)}%") if total else ""
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
    """Draw a chart queued as a JSON spec (``services.result_notices``), in the spec's
    ``locale``; the outbox sender calls it when it sends. Kind ``result`` (``radar``, its
    name before the bars, is drawn the same) or ``distribution``; titles come translated."""
    tr = Translator(spec.get("locale") or "zh_Hans")
    grades = {g: tr._(GRADE_LABELS[g]) for g in Grade}
    if spec["kind"] in ("result", "radar"):
        average = {Dimension(k): Decimal(v) for k, v in (spec.get("average") or {}).items()}
        bands = spec.get("bands")
        chart = ResultChart(
            title=spec["title"],
            subtitle=spec.get("subtitle", ""),
            scores={Dimension(k): Decimal(v) for k, v in spec["scores"].items() if v is not None},
            labels={d: tr._(DIMENSION_LABELS[d]) for d in Dimension},
            grade_labels=grades,
            average=average or None,
            average_label=spec.get("legend", ["", ""])[1],
            total=Decimal(spec["total"]) if spec.get("total") is not None else None,
            total_label=tr._(TOTAL_LABEL),
            bands=GradeBands(*(Decimal(v) for v in bands)) if bands else DEFAULT_BANDS,
        )
        return result_png(chart)
    counts = {Grade(k): int(v) for k, v in spec["counts"].items()}
    return distribution_png(counts, labels=grades, title=spec["title"], paren=tr.paren)
