"""Result pictures: a person's bars over the grade bands and a unit's grade distribution.

Every chart here is drawn with warnings turned into errors and matplotlib's log watched,
so a label with a glyph no bundled font has (the "Glyph … missing from font(s)" warning,
drawn as a box) or a font that cannot be found fails the test. The result picture is
checked on its layout (``result_layout``): the boxes ``paint`` draws, as they are drawn.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import struct
import subprocess
import sys
import warnings
from collections.abc import Iterator
from decimal import Decimal
from importlib import resources
from pathlib import Path

import matplotlib
import pytest
from matplotlib import font_manager

from domain.enums import Dimension, Grade
from domain.labels import DIMENSION_LABELS, GRADE_LABELS
from infra.i18n import Translator
from scoring import GradeBands
from services import charts
from services.charts import ResultChart, distribution_png, draw, result_layout, result_png
from services.result_chart import Placed

pytestmark = pytest.mark.nodb

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

SCORES = {
    Dimension.PERFORMANCE: Decimal("88.50"),
    Dimension.ABILITY: Decimal("76"),
    Dimension.ATTITUDE: Decimal("92.25"),
    Dimension.INNOVATION: Decimal("64.0"),
}
AVERAGE = {
    Dimension.PERFORMANCE: Decimal("80.1"),
    Dimension.ABILITY: Decimal("78.3"),
    Dimension.ATTITUDE: Decimal("85"),
    Dimension.INNOVATION: Decimal("70.45"),
}
COUNTS = {Grade.EXCELLENT: 3, Grade.GOOD: 9, Grade.PASS: 5, Grade.FAIL: 1}

# locale, title, legend, how the first dimension must read in that locale
LANGUAGES = [
    ("zh_Hans", "张三 · 2026年第四季度", ("本人", "单位平均"), "工作业绩"),
    ("zh_Hant", "張三 · 2026年第四季度", ("本人", "單位平均"), "工作業績"),
    ("en", "Zhang San · Q4 2026", ("You", "Unit average"), "Work performance"),
]


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE)
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def dimension_labels(tr: Translator) -> dict[Dimension, str]:
    return {d: tr._(DIMENSION_LABELS[d]) for d in Dimension}


def grade_labels(tr: Translator) -> dict[Grade, str]:
    return {g: tr._(GRADE_LABELS[g]) for g in Grade}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def strict_fonts() -> Iterator[None]:
    """Any warning (missing glyph, …) raises; any matplotlib log at WARNING+ fails on exit."""
    handler = _Records()
    logger = logging.getLogger("matplotlib")  # parent of matplotlib.font_manager
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            yield
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in handler.records] == []


def result_chart(
    locale: str = "zh_Hans",
    *,
    title: str = "张三 · 2026年第四季度",
    scores: dict[Dimension, Decimal] = SCORES,
    average: dict[Dimension, Decimal] | None = AVERAGE,
    total: Decimal | None = Decimal("83.10"),
) -> ResultChart:
    tr = Translator(locale)
    return ResultChart(
        title=title,
        subtitle=tr._("Total: {total} · Grade: {grade}").format(
            total=total, grade=tr._(GRADE_LABELS[Grade.GOOD])
        ),
        scores=scores,
        labels=dimension_labels(tr),
        grade_labels=grade_labels(tr),
        average=average,
        average_label=tr._("Unit average"),
        total=total,
        total_label=tr._(charts.TOTAL_LABEL),
    )


def texts(chart: ResultChart) -> list[Placed]:
    """Every text drawn on the chart, where it is drawn."""
    return [t for t in result_layout(chart).texts if t.text.strip()]


def overlaps(found: list[Placed]) -> list[tuple[str, str]]:
    """Pairs of texts whose boxes on the picture intersect (by more than a pixel)."""
    return [
        (a.text, b.text)
        for n, a in enumerate(found)
        for b in found[n + 1 :]
        if min(a.box[2], b.box[2]) - max(a.box[0], b.box[0]) > 1
        and min(a.box[3], b.box[3]) - max(a.box[1], b.box[1]) > 1
    ]


@pytest.mark.parametrize(("locale", "title", "legend", "first"), LANGUAGES)
def test_result_chart_renders_each_language(
    locale: str, title: str, legend: tuple[str, str], first: str
) -> None:
    chart = result_chart(locale, title=title)
    assert chart.labels[Dimension.PERFORMANCE] == first
    with strict_fonts():
        png = result_png(chart)
        drawn = {t.text for t in texts(chart)}
    width, height = png_size(png)
    assert width == 800 and 480 <= height <= 640  # landscape: reads on a phone without zoom
    tr = Translator(locale)
    assert title in drawn
    assert {tr._(GRADE_LABELS[g]) for g in Grade} <= drawn  # the bands are named
    assert {"83.10", "88.50", "76.00", "92.25", "64.00"} <= drawn  # every bar has its value
    assert f"{legend[1]} 80.10" in drawn and f"{legend[1]} 70.45" in drawn  # averages, labelled


def scale(chart: ResultChart) -> list[int]:
    """The numbers written under the bars, each centred where it belongs on the scale."""
    layout = result_layout(chart)
    return sorted(
        int(t.text)
        for t in layout.texts
        if t.role == "scale" and abs((t.box[0] + t.box[2]) / 2 - layout.x(int(t.text))) < 0.5
    )


def test_grade_bands_are_drawn_behind_the_bars() -> None:
    """Four bands at the regulation's bounds (0–60–80–90–100), under every bar."""
    layout = result_layout(result_chart())
    bars = [r for r in layout.rects if r.role == "bar"]
    bands = [r for r in layout.rects if r.role == "band"]
    assert len(bars) == 5  # the total and four dimensions
    assert [b.grade for b in bands] == [Grade.FAIL, Grade.PASS, Grade.GOOD, Grade.EXCELLENT]
    edges = [(round(b.box[0]), round(b.box[2])) for b in bands]
    expected = [
        (round(layout.x(x)), round(layout.x(y)))
        for x, y in [(0, 60), (60, 80), (80, 90), (90, 100)]
    ]
    assert edges == expected
    # painted in order: every band before (under) every bar, and spanning the bars' rows
    assert max(layout.rects.index(b) for b in bands) < min(layout.rects.index(b) for b in bars)
    assert all(b.box[1] <= bar.box[1] and bar.box[3] <= b.box[3] for b in bands for bar in bars)
    assert scale(result_chart()) == [0, 60, 80, 90, 100]


def test_bands_follow_the_options() -> None:
    chart = result_chart()
    moved = ResultChart(
        **{**chart.__dict__, "bands": GradeBands(Decimal(95), Decimal(85), Decimal(70))}
    )
    assert scale(moved) == [0, 70, 85, 95, 100]


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant", "en"])
@pytest.mark.parametrize(
    "case",
    [
        "apart",  # values and averages well apart
        "equal",  # every average on its value
        "edges",  # at the ends of the scale, and off it
        "missing",  # a dimension not scored
    ],
)
def test_no_label_is_drawn_over_another(locale: str, case: str) -> None:
    scores, average = dict(SCORES), dict(AVERAGE)
    if case == "equal":
        average = dict(scores)
    elif case == "edges":
        scores = {
            Dimension.PERFORMANCE: Decimal(100),
            Dimension.ABILITY: Decimal("0.5"),
            Dimension.ATTITUDE: Decimal("104.5"),
            Dimension.INNOVATION: Decimal(-3),
        }
        average = {
            Dimension.PERFORMANCE: Decimal("99.5"),
            Dimension.ABILITY: Decimal(1),
            Dimension.ATTITUDE: Decimal(100),
            Dimension.INNOVATION: Decimal(0),
        }
    elif case == "missing":
        del scores[Dimension.INNOVATION]
    tr = Translator(locale)
    long_title = f"{'欧阳某某' if locale != 'en' else 'Ouyang Moumou'} · {tr.period('2026Q4')}"
    found = texts(result_chart(locale, title=long_title, scores=scores, average=average))
    assert len(found) >= 1 + 1 + 4 + 5 + 4 + 4  # title, subtitle, bands, rows, values, averages
    assert overlaps(found) == []
    layout = result_layout(result_chart(locale, title=long_title, scores=scores, average=average))
    for text in found:  # and none leaves the picture
        x0, y0, x1, y1 = text.box
        assert 0 <= x0 and x1 <= layout.width, text.text
        assert 0 <= y0 and y1 <= layout.height, text.text


def test_overlap_check_is_not_vacuous() -> None:
    """Moved onto the title, the subtitle is caught."""
    found = texts(result_chart())
    title, subtitle = found[-2], found[-1]
    assert (title.text, subtitle.text) == ("张三 · 2026年第四季度", "总分：83.10 · 等级：良好")
    moved = dataclasses.replace(subtitle, box=(subtitle.box[0], title.box[1], *subtitle.box[2:]))
    assert overlaps([*found[:-1], moved]) == [(title.text, subtitle.text)]


def test_spec_draws_the_adjusted_values_it_carries() -> None:
    """The sender draws what the queued spec says: after an appeal, the spec's new values."""
    spec = {
        "kind": "result",
        "locale": "en",
        "scores": {
            "performance": "95.00",
            "ability": "76.00",
            "attitude": None,
            "innovation": "64",
        },
        "total": "86.40",
        "average": {"performance": "80.1"},
        "title": "Zhang San · Q4 2026",
        "subtitle": "Total: 86.40 · Grade: Good",
        "legend": ["You", "Unit average"],
        "bands": ["90", "80", "60"],
    }
    with strict_fonts():
        png = draw(spec)
        old = draw({**spec, "kind": "radar"})  # queued before the bars: drawn the same
    assert png_size(png)[0] == 800 and png == old


@pytest.mark.parametrize(("locale", "title", "legend", "first"), LANGUAGES)
def test_distribution_renders_each_language(
    locale: str, title: str, legend: tuple[str, str], first: str
) -> None:
    labels = grade_labels(Translator(locale))
    with strict_fonts():
        png = distribution_png(COUNTS, labels=labels, title=title)
    assert png_size(png) == (800, 480)


def test_result_without_average_or_total_and_other_sizes() -> None:
    with strict_fonts():
        alone = result_png(result_chart(average=None, total=None))
        small = result_png(result_chart(), width_px=400)
    assert png_size(alone)[0] == 800 and png_size(small)[0] == 400
    assert png_size(alone)[1] < png_size(result_png(result_chart()))[1]  # one row fewer


def test_long_title_and_odd_values_still_render() -> None:
    """A title far too long is shrunk; scores off the scale are drawn at the rim or centre."""
    odd = {**SCORES, Dimension.ABILITY: Decimal("104.5"), Dimension.INNOVATION: Decimal("-3")}
    title = "應急指揮中心 · 歐陽某某 · 2026年度 · 總分 100.0 · 優秀 · $x$ 50% " * 3
    with strict_fonts():
        png = result_png(result_chart("zh_Hant", title=title, scores=odd))
        empty = distribution_png({}, labels=grade_labels(Translator("en")), title=title)
    assert png_size(png)[0] == 800
    assert png_size(empty) == (800, 480)


def test_missing_glyph_would_be_caught() -> None:
    """The check above is not vacuous: a character no bundled font has (Tibetan) fails it."""
    chart = result_chart()
    labels = {**chart.labels, Dimension.ABILITY: "\u0f40"}
    with pytest.raises(UserWarning, match="missing from font"), strict_fonts():
        result_png(ResultChart(**{**chart.__dict__, "labels": labels}))


def test_font_comes_with_the_dependencies() -> None:
    """The CJK font is the wheel's file, found by name, not anything the OS may have."""
    path = Path(charts._registered_font())
    package = resources.files("paperang_p2_fonts_cjk")
    assert isinstance(package, Path)
    assert path.is_relative_to(package)
    found = font_manager.findfont(
        font_manager.FontProperties(family=charts._FONT_FAMILY), fallback_to_default=False
    )
    assert Path(str(found)) == path


def test_validation() -> None:
    chart = result_chart("en")
    with pytest.raises(ValueError, match="labels lacks"):
        result_png(ResultChart(**{**chart.__dict__, "labels": {}}))
    with pytest.raises(ValueError, match="grade_labels lacks"):
        result_png(ResultChart(**{**chart.__dict__, "grade_labels": {}}))
    with pytest.raises(ValueError, match="width_px"):
        result_png(chart, width_px=100)
    with pytest.raises(ValueError, match="labels lacks"):
        distribution_png(COUNTS, labels={Grade.GOOD: "Good"}, title="x")
    with pytest.raises(ValueError, match="negative"):
        distribution_png({Grade.GOOD: -1}, labels=grade_labels(Translator("en")), title="x")


def test_the_font_is_registered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """What kept charts cheap after the first (the font is found and registered once per
    process), asserted as a guarantee rather than timed: a second render never looks again."""
    chart = result_chart()
    result_png(chart)  # the first finds and registers the font

    def no_second_look() -> str:
        raise AssertionError("the font was looked up again")

    monkeypatch.setattr(charts, "_font_file", no_second_look)
    assert result_png(chart) == result_png(chart)


async def test_concurrent_renders_from_threads_agree() -> None:
    chart = result_chart()

    def result() -> bytes:
        return result_png(chart)

    def distribution() -> bytes:
        return distribution_png(COUNTS, labels=grade_labels(Translator("en")), title="x")

    expected = result(), distribution()
    results = await asyncio.gather(
        *(asyncio.to_thread(result) for _ in range(8)),
        *(asyncio.to_thread(distribution) for _ in range(4)),
    )
    assert results == [expected[0]] * 8 + [expected[1]] * 4


def test_leaves_global_matplotlib_state_alone() -> None:
    """No rcParams change, and neither pyplot nor a GUI backend is ever imported."""
    before = dict(matplotlib.rcParams)
    result_png(result_chart("en"))
    assert dict(matplotlib.rcParams) == before
    code = (
        "import sys\n"
        "from decimal import Decimal\n"
        "from domain.enums import Dimension, Grade\n"
        "from services.charts import ResultChart, distribution_png, result_png\n"
        "s = {d: Decimal(70) for d in Dimension}\n"
        "g = {g: g.value for g in Grade}\n"
        "result_png(ResultChart('x', s, {d: d.value for d in Dimension}, g, s, 'a', s[Dimension.ABILITY]))\n"
        "distribution_png({}, labels={g: g.value for g in Grade}, title='x')\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
    )
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=120)
