"""Printed survey codes follow the configuration (issue 14, item 5): with ``JIXIAO_PUBLIC_URL``
set, every code, slip, poster and list of links opens the survey page ``…/s/<token>``; the
printouts name no app in either case. Codes are read back from the printed page (zxing-cpp).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.payload import PayloadKind, StartPayload, parse_web_token, web_link
from fakebotapi import FakeBotApi
from infra.config import Settings
from infra.db import SessionFactory
from infra.i18n import Translator
from infra.models import SurveyLink
from services import survey_links, survey_print
from services.survey_links import IssuedLink
from tests.drivers import survey
from tests.drivers.cli import jixiao
from tests.factories import EXAMPLES, bind, make_org
from tests.test_survey_links import decode_pdf, decode_png
from tests.test_survey_posters import read_pdf

PUBLIC = "https://pj.yjj.example.gov.cn"
BOT = "jixiao_test_bot"
HEAD = 8301
TOKEN = "Ab01CdEfGhIjKlMn"


@pytest.fixture
def bot_settings(settings: Settings, server: FakeBotApi) -> Settings:
    """The test bot with a survey page configured (overrides conftest's fixture)."""
    return settings.model_copy(update={"telegram_base_url": server.base_url, "public_url": PUBLIC})


def window_code(single_use: bool = False) -> IssuedLink:
    return IssuedLink(
        120, StartPayload(PayloadKind.SURVEY, TOKEN), "应急指挥中心", None, single_use, "窗口 1"
    )


@pytest.mark.nodb
def test_one_function_chooses_the_address() -> None:
    payload = StartPayload(PayloadKind.SURVEY, TOKEN)
    assert survey_links.citizen_url(None, payload, BOT) == f"https://t.me/{BOT}?start=sv_{TOKEN}"
    assert survey_links.citizen_url(PUBLIC, payload, BOT) == f"{PUBLIC}/s/{TOKEN}"
    assert web_link(PUBLIC + "/", payload) == f"{PUBLIC}/s/{TOKEN}"
    assert parse_web_token(TOKEN) == payload
    assert parse_web_token("../etc") is None and parse_web_token("x" * 80) is None


@pytest.mark.nodb
@pytest.mark.parametrize(
    ("locale", "words"),
    [("zh_Hans", "用手机扫码评价"), ("zh_Hant", "用手機掃碼評價"), ("en", "Scan with your phone")],
)
@pytest.mark.parametrize("public_url", [PUBLIC, None])
def test_poster_and_slips_scan_to_the_configured_address(
    locale: str, words: str, public_url: str | None
) -> None:
    tr = Translator(locale)
    link = window_code()
    expected = f"{PUBLIC}/s/{TOKEN}" if public_url else f"https://t.me/{BOT}?start=sv_{TOKEN}"
    [(_, _, codes)] = read_pdf(survey_print.poster_pdf(tr, link, BOT, public_url=public_url))
    assert codes == [expected]
    poster = survey_print.poster_text(tr, link)
    assert poster.instruction.startswith(words) and "Telegram" not in poster.instruction
    [(_, _, codes)] = read_pdf(survey_print.slips_pdf(tr, [link], BOT, public_url=public_url))
    assert codes == [expected]
    assert tr._(survey_print.SLIP_PROMPT).startswith(words)


async def test_links_gives_the_head_codes_for_the_survey_page(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:  # type: ignore[no-untyped-def]
    """/links → unit → ten single-use codes: the sheet's codes and the CSV are web addresses
    of links that resolve to the stored ones."""
    org = await make_org(sessions)
    await bind(sessions, HEAD, org.head_id)
    head = server.user(HEAD, language_code="zh-hant")
    await head.send("/links")
    await survey.make_codes(head, await head.expect(), kind="s10")
    await head.wait_until(
        lambda: sum(m.kind == "document" for m in head.messages) >= 2, timeout=120
    )
    sheet, links = (m for m in head.messages if m.kind == "document")
    assert sheet.document is not None and links.document is not None
    rows = list(csv.DictReader(io.StringIO(links.document.decode("utf-8-sig"))))
    assert len(rows) == 10 and all(r["link"].startswith(f"{PUBLIC}/s/") for r in rows)
    pages, scanned = decode_pdf(sheet.document)
    assert pages == 1 and sorted(scanned) == sorted(r["link"] for r in rows)
    async with sessions() as s:
        stored = {link.id for link in await s.scalars(select(SurveyLink))}
        for row in rows:
            found = await survey_links.find(s, row["link"])
            assert found is not None and found.id in stored and f"{found.id:06d}" == row["serial"]


async def test_cli_prints_web_addresses_without_a_bot_name(
    db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    """``jixiao survey links`` with JIXIAO_PUBLIC_URL: PNGs, sheet, poster and CSV carry the
    survey page's address (no bot name needed); ``survey revoke`` takes that address too."""
    env = {"JIXIAO_DATABASE_URL": db_url, "JIXIAO_PUBLIC_URL": PUBLIC + "/"}
    result = jixiao("staff", "import", str(EXAMPLES / "staff.csv"), cwd=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "codes"
    args = ["--unit", "办公室", "--count", "1", "--reusable", "--label", "综合受理窗口"]
    result = jixiao("survey", "links", *args, "--out", str(out), cwd=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    [row] = list(csv.DictReader(io.StringIO((out / "links.csv").read_text("utf-8-sig"))))
    assert row["link"].startswith(f"{PUBLIC}/s/") and "t.me" not in row["link"]
    assert decode_png((out / f"{row['serial']}.png").read_bytes()) == [row["link"]]
    assert decode_pdf((out / "sheet.pdf").read_bytes())[1] == [row["link"]]
    [(_, _, codes)] = read_pdf((out / "poster.pdf").read_bytes())
    assert codes == [row["link"]]
    revoked = jixiao("survey", "revoke", row["link"], cwd=tmp_path, **env)
    assert revoked.returncode == 0, revoked.stderr
    async with sessions() as s:
        [stored] = list(await s.scalars(select(SurveyLink)))
    assert stored.revoked_at is not None and f"{stored.id:06d}" == row["serial"]
