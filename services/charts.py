"""Result pictures: a person's scores as bars over the grade bands, a unit's grade distribution.

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
import textwrap
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
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

__all__ = [
    "FontMissing",
    "ResultChart",
    "distribution_png",
    "draw",
    "font_file",
    "font_properties",
    "result_figure",
    "result_png",
]

DPI = 100
SCALE_MAX = 100  # dimension scores are on a 0–100 scale
MIN_SIZE_PX = 240

# (package, path inside it) of fonts with CJK glyphs, first found wins (as services.qr)
_FONT_SOURCES: tuple[tuple[str, str], ...] = (("paperang_p2_fonts_cjk", "fonts/wqy-microhei.ttc"),)
_FONT_FAMILY = "WenQuanYi Micro Hei"  # face 0 of the collection; face 1 is the monospaced one
# DejaVu Sans ships with matplotlib: a fallback for the odd symbol the CJK font lacks
_FALLBACK_FAMILY = "DejaVu Sans"

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
TOTAL_LABEL = N_("Total score")  # the result chart's first bar

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


def _score(value: Decimal | float | int) -> float:
    return min(max(float(value), 0.0), float(SCALE_MAX))


def _value_text(value: Decimal | float | int) -> str:
    """Two decimals, rounded half up (四舍五入), as the result message shows scores."""
    return f"{Decimal(str(value)).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"


def _check_dimensions(name: str, mapping: Mapping[Dimension, object]) -> None:
    missing = [d.value for d in Dimension if d not in mapping]
    if missing:
        raise ValueError(f"{name} lacks dimension(s) {', '.join(missing)}")


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


def result_png(chart: ResultChart, *, width_px: int = 800) -> bytes:
    """A person's result as horizontal bars on a 0–100 scale (800 px wide PNG).

    One bar for the total (when given), then one per dimension in ``Dimension`` order,
    drawn over the grade bands of 五(三)2 (不合格 < 60 ≤ 合格 < 80 ≤ 良好 < 90 ≤ 优秀), so
    the grade of every figure is seen at a glance on a phone; each bar carries its value
    and the unit's average is a labelled marker across it.
    """
    with _render_lock:
        return _png(result_figure(chart, width_px=width_px))


def result_figure(chart: ResultChart, *, width_px: int = 800) -> Figure:
    """The figure of :func:`result_png`, drawn on an Agg canvas (tests measure its texts)."""
    if width_px < MIN_SIZE_PX:
        raise ValueError(f"width_px must be at least {MIN_SIZE_PX}")
    _check_dimensions("labels", chart.labels)
    missing = [g.value for g in Grade if g not in chart.grade_labels]
    if missing:
        raise ValueError(f"grade_labels lacks grade(s) {', '.join(missing)}")
    rows: list[tuple[str, Decimal | None, Decimal | None, str]] = []  # label, value, avg, colour
    if chart.total is not None:
        rows.append((chart.total_label, chart.total, None, TOTAL_COLOR))
    for d in Dimension:
        avg = chart.average.get(d) if chart.average else None
        rows.append((_wrap(chart.labels[d]), chart.scores.get(d), avg, PERSON_COLOR))

    k = width_px / 800  # sizes are set for 800 px and scale with the picture
    row_px = 76 * k
    head_px, band_px, foot_px = 104 * k, 30 * k, 34 * k
    plot_px = row_px * len(rows)
    height_px = round(head_px + band_px + plot_px + foot_px)
    figure = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, facecolor="white")
    canvas = FigureCanvasAgg(figure)
    left, right = 0.25, 0.955
    bottom = foot_px / height_px
    ax = figure.add_axes((left, bottom, right - left, plot_px / height_px))
    ax.set_xlim(0, SCALE_MAX)
    ax.set_ylim(len(rows) - 0.3, -0.5)  # first row at the top; room under the last for its label
    # no axis machinery: the scale and the row names are plain texts (ticks cost a fifth
    # of the drawing), the baseline a plain line
    ax.set_axis_off()
    ax.plot([0, SCALE_MAX], [len(rows) - 0.3] * 2, color=GRID_COLOR, linewidth=1.5 * k)

    b = chart.bands
    edges = [
        (Grade.FAIL, 0.0, float(b.passing)),
        (Grade.PASS, float(b.passing), float(b.good)),
        (Grade.GOOD, float(b.good), float(b.excellent)),
        (Grade.EXCELLENT, float(b.excellent), float(SCALE_MAX)),
    ]
    axis_px = (right - left) * width_px
    band_font = _font(11 * k)
    renderer = canvas.get_renderer()
    for grade, lo, hi in edges:
        if hi <= lo:
            continue
        ax.axvspan(lo, hi, color=BAND_COLORS[grade], zorder=0, linewidth=0)
        name = ax.text(
            (lo + hi) / 2,
            1.0 + 6 * k / plot_px,
            chart.grade_labels[grade],
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            color=GRADE_COLORS[grade],
            fontproperties=band_font,
            clip_on=False,
            parse_math=False,
        )
        _fit_width(name, renderer, (hi - lo) / SCALE_MAX * axis_px - 4 * k, 6 * k)
    scale_font, row_font = _font(9.5 * k), _font(12.5 * k)
    for tick in sorted({0, int(b.passing), int(b.good), int(b.excellent), SCALE_MAX}):
        ax.text(
            tick,
            -5 * k / plot_px,
            str(tick),
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="top",
            color=MUTED,
            fontproperties=scale_font,
            parse_math=False,
        )
    for y, row in enumerate(rows):
        ax.text(
            -10 * k / axis_px,
            y,
            row[0],
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="center",
            multialignment="right",
            linespacing=1.15,
            fontproperties=row_font,
            parse_math=False,
        )
    if chart.total is not None:
        ax.axhline(0.5, color="white", linewidth=3 * k, zorder=1)

    value_font, avg_font = _font(12.5 * k), _font(9.5 * k)
    bar_h = 0.46
    for y, (_, value, avg, colour) in enumerate(rows):
        if value is not None:
            ax.barh(y, _score(value), height=bar_h, color=colour, zorder=2)
            inside = _score(value) >= 18
            ax.text(
                _score(value) - 1.2 if inside else _score(value) + 1.2,
                y,
                _value_text(value),
                ha="right" if inside else "left",
                va="center",
                color="white" if inside else TEXT_COLOR,
                fontproperties=value_font,
                zorder=5,
                # the label's box hides the average marker where they cross: it stays legible
                bbox={"boxstyle": "square,pad=0.12", "fc": colour, "ec": "none"}
                if inside
                else None,
                parse_math=False,
            )
        else:
            ax.text(1.2, y, "—", va="center", fontproperties=value_font, parse_math=False)
        if avg is not None:
            x = _score(avg)
            ax.plot(
                [x, x],
                [y - 0.33, y + 0.33],
                color=AVERAGE_COLOR,
                linewidth=3 * k,
                solid_capstyle="butt",
                zorder=4,
            )
            ha = "left" if x < 15 else ("right" if x > 85 else "center")
            ax.text(
                x,
                y + 0.35,
                f"{chart.average_label} {_value_text(avg)}".strip(),
                ha=ha,
                va="top",
                color=AVERAGE_TEXT,
                fontproperties=avg_font,
                zorder=5,
                parse_math=False,
            )

    heading = figure.text(
        0.5,
        1 - 18 * k / height_px,
        chart.title,
        ha="center",
        va="top",
        fontproperties=_font(16 * k),
        parse_math=False,
    )
    _fit_width(heading, renderer, width_px * 0.94, 8 * k)
    if chart.subtitle:
        sub = figure.text(
            0.5,
            1 - 56 * k / height_px,
            chart.subtitle,
            ha="center",
            va="top",
            fontproperties=_font(13 * k),
            color=TEXT_COLOR,
            parse_math=False,
        )
        _fit_width(sub, renderer, width_px * 0.94, 8 * k)
    return figure


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
