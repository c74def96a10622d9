"""Typesetting the report: text is set as typed (never read as markup), Chinese and English
alike, with the shipped font embedded and the page count in every footer."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest

from domain.enums import Grade
from services.report.document import Bullets, Chart, Document, Heading, Paragraph, Table
from services.report.figures import grades_spec
from services.report.typeset import typeset

pytestmark = pytest.mark.nodb

HOSTILE = ('#strong[粗] $x^2$ <tag> @ref \\ `code` // 注释 */ "引号"', "= 标题 == * - + 1.")


def _text(pdf: bytes) -> tuple[int, str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return len(document), "\n".join(
            document[i].get_textpage().get_text_range() for i in range(len(document))
        )
    finally:
        document.close()


def _document(lang: str, rows: int) -> Document:
    grades = {g: g.value for g in Grade}
    return Document(
        title="绩效评估报告" if lang == "zh" else "Performance evaluation report",
        bureau=HOSTILE[0],
        period="2026年第四季度",
        date="2027年1月20日",
        pager="第 {page} 页 共 {pages} 页" if lang == "zh" else "Page {page} of {pages}",
        lang=lang,
        blocks=(
            Heading(HOSTILE[1]),
            Paragraph(HOSTILE[0] * 3),
            Bullets((HOSTILE[1],)),
            Table(
                ("单位", "人数"),
                tuple((f"{HOSTILE[1]}{n}", str(n)) for n in range(rows)),
                align=("left", "right"),
                caption="表1",
            ),
            Table(("a",), (), empty="无。"),
            Chart(grades_spec("等级分布", [("全局", {Grade.GOOD: 2})], grades)),
        ),
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_text_is_set_as_typed_on_numbered_pages(lang: str) -> None:
    pdf = typeset(_document(lang, rows=80))
    pages, text = _text(pdf)
    flat = "".join(text.split())
    assert pages >= 2  # 80 rows do not fit on one page
    for hostile in HOSTILE:
        assert "".join(hostile.split()) in flat
    footer = "第{page}页共{pages}页" if lang == "zh" else "Page{page}of{pages}"
    for page in range(1, pages + 1):
        assert footer.format(page=page, pages=pages) in flat
    assert flat.count("单位") == pages  # the table's header is repeated on every page it spans
    assert b"/FontFile2" in pdf and b"WenQuanYiMicroHei" in pdf
