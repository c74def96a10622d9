"""The report's chart: the grade distribution of the bureau and of each unit (五(四)1).

One horizontal bar per row (the bureau first, then the units), split into the four grades
in the charts' colours and font (``services.charts``), each part labelled with its count, so
the printed page shows at a glance where the 优秀 and the 不合格 are. Drawn from a JSON spec,
since the document travels as JSON (``services.report.document``).
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from services.charts import font_properties
from services.report.figures import GRADES
from services.result_chart import GRADE_COLORS, TEXT_COLOR

DPI = 200  # printed at about 16 cm wide: sharp on paper


def draw(spec: Mapping[str, Any]) -> bytes:
    """Draw a spec of this module (its ``kind`` names the chart)."""
    if spec["kind"] != "grades":
        raise ValueError(f"unknown report chart {spec['kind']!r}")
    return grades_png(spec)


def grades_png(spec: Mapping[str, Any]) -> bytes:
    """Stacked bars of grade counts, one row per unit, 8 inches wide at 200 dpi."""
    rows: list[tuple[str, dict[str, int]]] = [(str(n), dict(c)) for n, c in spec["rows"]]
    labels: dict[str, str] = dict(spec["labels"])
    # sizes in points of an 8-inch-wide figure (576 pt)
    width_px, row_px, head_px, foot_px = 576, 30, 66, 12
    height_px = head_px + foot_px + row_px * max(1, len(rows))
    figure = Figure(figsize=(width_px / 72, height_px / 72), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    ax = figure.add_axes((0.24, foot_px / height_px, 0.72, row_px * max(1, len(rows)) / height_px))
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_axis_off()
    name_font, count_font = font_properties(10.5), font_properties(9.5)
    for y, (name, counts) in enumerate(rows):
        total = sum(counts.values())
        ax.text(
            -1.5,
            y,
            _wrap(name),
            ha="right",
            va="center",
            fontproperties=name_font,
            color=TEXT_COLOR,
            parse_math=False,
        )
        left = 0.0
        for grade in GRADES:
            n = counts.get(grade.value, 0)
            if not n or not total:
                continue
            share = 100 * n / total
            ax.barh(y, share, left=left, height=0.62, color=GRADE_COLORS[grade], zorder=2)
            if share >= 4:
                ax.text(
                    left + share / 2,
                    y,
                    str(n),
                    ha="center",
                    va="center",
                    color="white",
                    fontproperties=count_font,
                    zorder=3,
                    parse_math=False,
                )
            left += share
        if not total:
            ax.text(1, y, "—", va="center", fontproperties=count_font, parse_math=False)
    figure.text(
        0.5,
        1 - 8 / height_px,
        str(spec["title"]),
        ha="center",
        va="top",
        fontproperties=font_properties(13),
        color=TEXT_COLOR,
        parse_math=False,
    )
    legend_y = 1 - 42 / height_px
    for n, grade in enumerate(GRADES):
        x = 0.24 + n * 0.16
        figure.text(
            x,
            legend_y,
            "■",
            color=GRADE_COLORS[grade],
            fontproperties=font_properties(12),
            va="center",
            parse_math=False,
        )
        figure.text(
            x + 0.025,
            legend_y,
            labels[grade.value],
            va="center",
            fontproperties=font_properties(10.5),
            color=TEXT_COLOR,
            parse_math=False,
        )
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return out.getvalue()


def _wrap(name: str) -> str:
    """Long unit names on two lines: Chinese by characters, English at spaces."""
    if " " in name:
        return textwrap.fill(name, 20, break_long_words=False)
    return name if len(name) <= 10 else name[:10] + "\n" + name[10:]
