"""Result pictures: the radar chart of the four dimensions and a unit's grade distribution.

Every chart here is drawn with matplotlib's warnings turned into errors and its log
watched, so a label that falls back to a font without the glyph (the "Glyph … missing
from font(s)" warning, drawn as a box) or a font that cannot be found fails the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import subprocess
import sys
import time
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
from services import charts
from services.charts import distribution_png, radar_png

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
    ("zh_Hans", "张三 · 2026年第四季度 · 总分 84.6 · 良好", ("本人", "单位平均"), "工作业绩"),
    ("zh_Hant", "張三 · 2026年第四季度 · 總分 84.6 · 良好", ("本人", "單位平均"), "工作業績"),
    ("en", "Zhang San · 2026 Q4 · total 84.6 · Good", ("You", "Unit average"), "Work performance"),
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


@pytest.mark.parametrize(("locale", "title", "legend", "first"), LANGUAGES)
def test_radar_renders_each_language(
    locale: str, title: str, legend: tuple[str, str], first: str
) -> None:
    labels = dimension_labels(Translator(locale))
    assert labels[Dimension.PERFORMANCE] == first
    with strict_fonts():
        png = radar_png(SCORES, AVERAGE, labels=labels, title=title, legend=legend)
    assert png_size(png) == (800, 800)


@pytest.mark.parametrize(("locale", "title", "legend", "first"), LANGUAGES)
def test_distribution_renders_each_language(
    locale: str, title: str, legend: tuple[str, str], first: str
) -> None:
    labels = grade_labels(Translator(locale))
    with strict_fonts():
        png = distribution_png(COUNTS, labels=labels, title=title)
    assert png_size(png) == (800, 480)


def test_radar_without_average_and_other_sizes() -> None:
    labels = dimension_labels(Translator("zh_Hans"))
    with strict_fonts():
        alone = radar_png(SCORES, None, labels=labels, title="李四", legend=("本人", "单位平均"))
        small = radar_png(
            SCORES, AVERAGE, labels=labels, title="李四", legend=("本人", "单位平均"), size_px=400
        )
    assert png_size(alone) == (800, 800)
    assert png_size(small) == (400, 400)


def test_long_title_and_odd_values_still_render() -> None:
    """A title far too long is shrunk; scores off the scale are drawn at the rim or centre."""
    labels = dimension_labels(Translator("zh_Hant"))
    odd = {**SCORES, Dimension.ABILITY: Decimal("104.5"), Dimension.INNOVATION: Decimal("-3")}
    title = "應急指揮中心 · 歐陽某某 · 2026年度 · 總分 100.0 · 優秀 · $x$ 50% " * 3
    with strict_fonts():
        png = radar_png(odd, AVERAGE, labels=labels, title=title, legend=("本人", "單位平均"))
        empty = distribution_png({}, labels=grade_labels(Translator("en")), title=title)
    assert png_size(png) == (800, 800)
    assert png_size(empty) == (800, 480)


def test_missing_glyph_would_be_caught() -> None:
    """The check above is not vacuous: a character no bundled font has (Tibetan) fails it."""
    labels = {**dimension_labels(Translator("zh_Hans")), Dimension.ABILITY: "\u0f40"}
    with pytest.raises(UserWarning, match="missing from font"), strict_fonts():
        radar_png(SCORES, AVERAGE, labels=labels, title="张三", legend=("本人", "单位平均"))


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
    labels = dimension_labels(Translator("en"))
    partial = {Dimension.PERFORMANCE: Decimal(90)}
    with pytest.raises(ValueError, match="scores lacks"):
        radar_png(partial, None, labels=labels, title="x", legend=("a", "b"))
    with pytest.raises(ValueError, match="average lacks"):
        radar_png(SCORES, partial, labels=labels, title="x", legend=("a", "b"))
    with pytest.raises(ValueError, match="size_px"):
        radar_png(SCORES, None, labels=labels, title="x", legend=("a", "b"), size_px=100)
    with pytest.raises(ValueError, match="labels lacks"):
        distribution_png(COUNTS, labels={Grade.GOOD: "Good"}, title="x")
    with pytest.raises(ValueError, match="negative"):
        distribution_png({Grade.GOOD: -1}, labels=grade_labels(Translator("en")), title="x")


def test_fast_after_the_first() -> None:
    labels = dimension_labels(Translator("zh_Hans"))

    def render() -> float:
        start = time.perf_counter()
        radar_png(SCORES, AVERAGE, labels=labels, title="张三", legend=("本人", "单位平均"))
        return time.perf_counter() - start

    render()  # the first loads the font
    assert min(render() for _ in range(3)) < 0.3


async def test_concurrent_renders_from_threads_agree() -> None:
    labels = dimension_labels(Translator("zh_Hans"))

    def radar() -> bytes:
        return radar_png(SCORES, AVERAGE, labels=labels, title="张三", legend=("本人", "单位平均"))

    def distribution() -> bytes:
        return distribution_png(COUNTS, labels=grade_labels(Translator("en")), title="x")

    expected = radar(), distribution()
    results = await asyncio.gather(
        *(asyncio.to_thread(radar) for _ in range(8)),
        *(asyncio.to_thread(distribution) for _ in range(4)),
    )
    assert results == [expected[0]] * 8 + [expected[1]] * 4


def test_leaves_global_matplotlib_state_alone() -> None:
    """No rcParams change, and neither pyplot nor a GUI backend is ever imported."""
    before = dict(matplotlib.rcParams)
    radar_png(
        SCORES,
        AVERAGE,
        labels=dimension_labels(Translator("en")),
        title="x",
        legend=("a", "b"),
    )
    assert dict(matplotlib.rcParams) == before
    code = (
        "import sys\n"
        "from decimal import Decimal\n"
        "from domain.enums import Dimension, Grade\n"
        "from services.charts import distribution_png, radar_png\n"
        "s = {d: Decimal(70) for d in Dimension}\n"
        "radar_png(s, s, labels={d: d.value for d in Dimension}, title='x', legend=('a', 'b'))\n"
        "distribution_png({}, labels={g: g.value for g in Grade}, title='x')\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
    )
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=120)
