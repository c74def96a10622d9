"""What survey codes print as: a window poster (A4 or A5) and slips that carry their label.

Each printout is checked as printed: the PDF page rasterised, its code decoded (zxing-cpp),
its size in millimetres, and its texts where the page drew them, with ink there.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from domain.payload import PayloadKind, StartPayload
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.i18n import Translator
from infra.models import SurveyLink
from services import qr, survey_print
from services.qr import PAPER_PX, Box, Page
from services.survey_links import IssuedLink
from services.templates import localized
from tests.drivers import survey
from tests.drivers.cli import jixiao
from tests.factories import EXAMPLES, bind, make_org

BOT = "jixiao_test_bot"  # the username the `server` fixture registers
UNIT = "应急指挥中心"  # make_org's unit
MM = {"A4": (210, 297), "A5": (148, 210)}
HEAD = 8301  # the unit head prints the posters of their own windows
WORKING_GROUP = 900001  # the test settings' admin id

INSTRUCTION = {
    "zh_Hans": "用手机扫码评价，约1分钟，无需姓名电话",
    "zh_Hant": "用手機掃碼評價，約1分鐘，無需姓名電話",
    "en": "Scan with your phone to rate us: about 1 minute, no name or phone number needed",
}
REUSABLE = {
    "zh_Hans": "本码可重复使用，每人每天限评一次",
    "zh_Hant": "本碼可重複使用，每人每天限評一次",
    "en": "Reusable code: everyone may rate, once a day",
}
SINGLE_USE = {
    "zh_Hans": "一次性二维码，仅限评价一次",
    "zh_Hant": "一次性二維碼，僅限評價一次",
    "en": "Single-use code: valid for one rating",
}


def issued(
    n: int = 1, *, single_use: bool = False, label: str = "综合受理窗口"
) -> list[IssuedLink]:
    return [
        IssuedLink(
            120 + i,
            StartPayload(PayloadKind.SURVEY, f"Ab{i:02d}CdEfGhIjKlMn"),
            UNIT,
            None,
            single_use,
            label,
        )
        for i in range(n)
    ]


def read_pdf(data: bytes) -> list[tuple[tuple[int, int], Image.Image, list[str]]]:
    """Each page: its size in mm, the page at 300 dpi, and the codes read from it."""
    pages = []
    for page in pypdfium2.PdfDocument(data):
        width, height = page.get_size()
        image = page.render(scale=300 / 72).to_pil().convert("L")
        codes = [
            c.text for c in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        ]
        pages.append(((round(width / 72 * 25.4), round(height / 72 * 25.4)), image, codes))
    return pages


def inside(box: Box, outer: Box, margin: int = 0) -> bool:
    return (
        box[0] >= outer[0] + margin
        and box[1] >= outer[1] + margin
        and box[2] <= outer[2] - margin
        and box[3] <= outer[3] - margin
    )


def inked(image: Image.Image, box: Box) -> bool:
    """Some dark pixels where a text was drawn (the printed page really carries it)."""
    low, _ = image.crop(box).getextrema()  # type: ignore[misc]
    return int(low) < 100


def apart(page: Page) -> bool:
    boxes = [t.box for t in page.texts]
    return not any(
        min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])
        for n, a in enumerate(boxes)
        for b in boxes[n + 1 :]
    )


@pytest.mark.nodb
@pytest.mark.parametrize("paper", ["A4", "A5"])
@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant", "en"])
def test_window_poster_reads_and_scans(locale: str, paper: str) -> None:
    tr = Translator(locale)
    [link] = issued()
    pdf = survey_print.poster_pdf(tr, link, BOT, paper=paper)
    [(size, image, codes)] = read_pdf(pdf)
    assert size == MM[paper] and codes == [link.link(BOT)]
    unit, window = localized(UNIT, locale), localized("综合受理窗口", locale)  # 應急指揮中心
    assert pypdfium2.PdfDocument(pdf).get_metadata_dict()["Title"] == f"{unit} {window}"
    url = link.link(BOT)
    page = qr.poster_page(url, survey_print.poster_text(tr, link), paper=paper)
    assert [t.text for t in page.texts] == [
        unit,
        window,
        tr._("Please scan to rate our service"),
        INSTRUCTION[locale],
        REUSABLE[locale],
        {"en": "No. 000120"}.get(locale, "编号：000120" if locale == "zh_Hans" else "編號：000120"),
    ]
    w, h = PAPER_PX[paper]
    assert abs(image.width - w) <= 1 and abs(image.height - h) <= 1  # pdfium rounds up
    for text in page.texts:
        assert inside(text.box, (0, 0, w, h), margin=round(100 * w / 2480)), text.text
        assert inked(image, text.box), text.text
    assert apart(page)
    # the unit and window are the largest words on the page: read from across a hall
    heights = [t.box[3] - t.box[1] for t in page.texts]
    assert heights[0] == max(heights) and heights[1] >= heights[2]


@pytest.mark.nodb
def test_poster_without_a_window_name_and_bad_paper() -> None:
    [link] = issued(label="")
    tr = Translator("zh_Hans")
    [(_, _, codes)] = read_pdf(survey_print.poster_pdf(tr, link, BOT))
    assert codes == [link.link(BOT)]
    with pytest.raises(ValueError, match="paper"):
        survey_print.poster_pdf(tr, link, BOT, paper="Letter")


@pytest.mark.nodb
@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_slips_keep_their_label_inside_the_cut_line(locale: str) -> None:
    """Every text of a slip, the single-use note with the label too, lies inside its cell."""
    tr = Translator(locale)
    links = issued(5, single_use=True, label="窗口 1")
    pdf = survey_print.slips_pdf(tr, links, BOT)
    [(size, image, codes)] = read_pdf(pdf)
    assert size == MM["A4"] and sorted(codes) == sorted(link.link(BOT) for link in links)
    note = f"{SINGLE_USE[locale]} · 窗口 1"
    [page] = qr.sheet_pages(
        [(link.link(BOT), UNIT, link.serial) for link in links],
        title="x",
        prompt=tr._(survey_print.SLIP_PROMPT),
        note=survey_print.use_note(tr, links[0]),
        serial_format=tr._(survey_print.SERIAL),
    )
    assert len(page.cells) == 5
    slips = page.texts[1:]  # after the page's header
    assert len(slips) == 4 * len(page.cells)
    for cell, texts in zip(
        page.cells, (slips[i : i + 4] for i in range(0, len(slips), 4)), strict=True
    ):
        assert [t.text for t in texts][:3] == [UNIT, tr._(survey_print.SLIP_PROMPT), note]
        for text in texts:
            assert inside(text.box, cell, margin=4), text.text  # clear of the dashed line
            assert inked(image, text.box), text.text
    assert apart(page)


async def test_head_receives_a_window_poster(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:  # type: ignore[no-untyped-def]
    """/links → unit → Window poster A5 → the window's name typed → the poster (A5, the
    code scans to the link stored with the window as its label) and the CSV."""
    org = await make_org(sessions)
    await bind(sessions, HEAD, org.head_id)
    head = server.user(HEAD, language_code="zh-hans")
    await head.send("/links")
    question = await survey.make_poster(
        head, await head.expect(), window="综合受理窗口", kind="r1a5"
    )
    assert "窗口" in (question.text or "") and "不印窗口名称" in question.button_texts()
    await head.wait_until(
        lambda: sum(m.kind == "document" for m in head.messages) >= 2, timeout=120
    )
    poster, links = (m for m in head.messages if m.kind == "document")
    assert poster.document_filename == "survey-poster.pdf" and "A5" in (poster.text or "")
    assert poster.document is not None and links.document is not None
    [(size, _, codes)] = read_pdf(poster.document)
    rows = list(csv.DictReader(io.StringIO(links.document.decode("utf-8-sig"))))
    assert size == MM["A5"] and codes == [rows[0]["link"]]
    assert rows[0]["label"] == "综合受理窗口" and rows[0]["single_use"] == "no"
    async with sessions() as s:
        [stored] = list(await s.scalars(select(SurveyLink)))
    assert stored.label == "综合受理窗口" and not stored.single_use


async def test_working_group_gets_a_poster_in_english(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:  # type: ignore[no-untyped-def]
    """The working group (any unit), in English, without a window name: an A4 poster."""
    await make_org(sessions)
    admin = server.user(WORKING_GROUP, language_code="en")
    await admin.send("/links")
    choose = await admin.expect()
    assert survey.units(choose)  # every unit, not only one it heads (it heads none)
    question = await survey.make_poster(admin, choose, window=None)
    assert "No window name" in question.button_texts()
    await admin.wait_until(lambda: any(m.kind == "document" for m in admin.messages), timeout=120)
    poster = next(m for m in admin.messages if m.kind == "document")
    assert poster.document is not None and "A4" in (poster.text or "")
    [(size, _, codes)] = read_pdf(poster.document)
    assert size == MM["A4"] and len(codes) == 1


async def test_a_window_name_too_long_is_asked_again(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:  # type: ignore[no-untyped-def]
    org = await make_org(sessions)
    await bind(sessions, HEAD, org.head_id)
    head = server.user(HEAD, language_code="zh-hans")
    await head.send("/links")
    await survey.make_poster(head, await head.expect(), window="窗" * 65)
    await head.expect_text("64")
    again = await head.expect()
    assert "不印窗口名称" in again.button_texts()
    await head.send("综合受理窗口")
    await head.wait_until(lambda: any(m.kind == "document" for m in head.messages), timeout=120)
    async with sessions() as s:
        assert [link.label for link in await s.scalars(select(SurveyLink))] == ["综合受理窗口"]


async def test_cli_writes_a_poster_for_window_codes(
    db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    """``jixiao survey links --reusable --label …`` also writes poster.pdf (A4)."""
    env = {"JIXIAO_DATABASE_URL": db_url, "JIXIAO_BOT_USERNAME": "jixiao_bot"}
    result = jixiao("staff", "import", str(EXAMPLES / "staff.csv"), cwd=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "codes"
    args = ["--unit", "办公室", "--count", "1", "--reusable", "--label", "综合受理窗口"]
    result = jixiao("survey", "links", *args, "--out", str(out), cwd=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO((out / "links.csv").read_text("utf-8-sig"))))
    [(size, _, codes)] = read_pdf((out / "poster.pdf").read_bytes())
    assert size == MM["A4"] and codes == [rows[0]["link"]]
    assert (
        pypdfium2.PdfDocument((out / "poster.pdf").read_bytes()).get_metadata_dict()["Title"]
        == "办公室 综合受理窗口"
    )
