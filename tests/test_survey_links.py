"""Survey links and their printable QR codes (issue "Citizen satisfaction surveys", part 1)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select, update

from domain.enums import Role, UnitKind
from domain.payload import MAX_PAYLOAD_LENGTH, PayloadKind, StartPayload, parse_payload
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import AuditEntry, OrgUnit, Staff, SurveyLink
from services import survey_links
from services.access import Actor
from services.errors import DomainError
from services.qr import MIN_CODE_PX, PER_PAGE, qr_png, qr_sheet
from tests.drivers.cli import jixiao
from tests.factories import EXAMPLES, make_org

BOT = "jixiao_test_bot"  # the username the `server` fixture registers
UNIT = "应急指挥中心"  # make_org's unit
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def decode_png(data: bytes) -> list[str]:
    image = Image.open(io.BytesIO(data))
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    for code in found:
        assert code.ec_level == "M"
        assert code.position.top_right.x - code.position.top_left.x >= MIN_CODE_PX  # px
    return [code.text for code in found]


def decode_pdf(data: bytes) -> tuple[int, list[str]]:
    """Rasterise each page (at 144 dpi, coarser than print) and read every code on it."""
    document = pypdfium2.PdfDocument(data)
    texts: list[str] = []
    for page in document:
        width, height = page.get_size()
        assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)  # A4, mm
        image = page.render(scale=2).to_pil()
        texts += [
            c.text for c in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        ]
    return len(document), texts


async def create(sessions: SessionFactory, **kwargs: Any) -> list[survey_links.IssuedLink]:
    params = {
        "unit_name": UNIT,
        "staff_employee_no": None,
        "count": 3,
        "single_use": True,
        "actor_label": "test",
        "now": NOW,
        **kwargs,
    }
    async with sessions.begin() as s:
        return await survey_links.create_links(s, **params)


async def test_links_are_unique_short_random_and_only_hashed(sessions: SessionFactory) -> None:
    await make_org(sessions)
    issued = await create(sessions, count=40, label="窗口 1")
    issued += await create(sessions, count=2, staff_employee_no="A002", single_use=False)
    payloads = [str(link.payload) for link in issued]
    assert len(set(payloads)) == len(payloads) == 42
    assert len({link.link_id for link in issued}) == 42
    for link in issued:
        text = str(link.payload)
        assert text.startswith("sv_") and len(text) <= MAX_PAYLOAD_LENGTH
        assert parse_payload(text) == link.payload and link.payload.kind is PayloadKind.SURVEY
        assert len(link.payload.token) * 6 >= 60  # URL-safe base64: 6 bits a character
        assert link.link(BOT) == f"https://t.me/{BOT}?start={text}"
    assert issued[0].unit == UNIT and issued[0].staff is None and issued[0].single_use
    assert issued[-1].staff == "张伟" and not issued[-1].single_use
    async with sessions() as s:
        rows = list(await s.scalars(select(SurveyLink).order_by(SurveyLink.id)))
        audit_detail = json.dumps(
            [e.detail for e in await s.scalars(select(AuditEntry))], ensure_ascii=False
        )
    assert [r.id for r in rows] == [link.link_id for link in issued]
    assert [r.token_hash for r in rows] == [
        hashlib.sha256(link.payload.token.encode()).hexdigest() for link in issued
    ]
    assert rows[0].label == "窗口 1" and rows[0].created_by == "test" and rows[0].single_use
    assert rows[-1].staff_id is not None and not rows[-1].single_use
    stored = json.dumps(
        [[getattr(r, c) for c in ("token_hash", "label", "created_by", "claimed_by")] for r in rows]
    )
    assert not any(
        link.payload.token in stored or link.payload.token in audit_detail for link in issued
    )
    async with sessions() as s:
        for link in issued[:3]:
            found = await survey_links.resolve(s, link.payload)
            assert found is not None and found.id == link.link_id
        assert await survey_links.resolve(s, StartPayload(PayloadKind.SURVEY, "A" * 16)) is None


async def test_unknown_or_inactive_unit_and_staff_are_refused(sessions: SessionFactory) -> None:
    org = await make_org(sessions)
    async with sessions.begin() as s:
        s.add(
            OrgUnit(name="已撤销科", kind=UnitKind.SECTION, parent_id=org.bureau_id, active=False)
        )
        await s.execute(update(Staff).where(Staff.employee_no == "A003").values(active=False))
    refused = [
        {"unit_name": "不存在的科室"},
        {"unit_name": "已撤销科"},
        {"staff_employee_no": "Z999"},  # nobody
        {"staff_employee_no": "L001"},  # the chief, of the bureau, not of this unit
        {"staff_employee_no": "A003"},  # deactivated
        {"count": 0},
        {"count": survey_links.MAX_COUNT + 1},
        {"label": "长" * 65},
    ]
    for kwargs in refused:
        with pytest.raises(DomainError) as caught:
            await create(sessions, **kwargs)
        assert caught.value.message.isascii(), kwargs  # an English msgid, translated by the caller
    with pytest.raises(DomainError, match="不存在的科室"):
        await create(sessions, unit_name="不存在的科室")
    with pytest.raises(DomainError, match="王建国"):
        await create(sessions, staff_employee_no="L001")
    async with sessions() as s:
        assert list(await s.scalars(select(SurveyLink))) == []
    assert len(await create(sessions, count=survey_links.MAX_COUNT)) == survey_links.MAX_COUNT


async def test_revoke_by_serial_payload_or_link(sessions: SessionFactory) -> None:
    org = await make_org(sessions)
    a, b, c, d = await create(sessions, count=4)
    later = NOW + dt.timedelta(hours=1)
    async with sessions.begin() as s:
        for ref in (a.serial, str(b.payload), c.link(BOT), d.payload):
            revoked = await survey_links.revoke(s, ref, actor_label="test", now=later)
            assert revoked.revoked_at == later
    async with sessions.begin() as s:
        with pytest.raises(DomainError, match=a.serial):
            await survey_links.revoke(s, int(a.serial), actor_label="test", now=later)
        with pytest.raises(DomainError):
            await survey_links.revoke(s, "sv_NoSuchTokenHere", actor_label="test", now=later)
        with pytest.raises(DomainError):
            await survey_links.revoke(s, "999999", actor_label="test", now=later)
    (e,) = await create(sessions, count=1, single_use=False)
    async with sessions() as s:
        link = await survey_links.resolve(s, a.payload)
        assert link is not None and link.revoked_at == later  # still found, and known revoked
        views = await survey_links.links_of_unit(s, org.unit_id)
        actions = list(await s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert [v.serial for v in views] == [e.serial, d.serial, c.serial, b.serial, a.serial]
    assert [v.active for v in views] == [True, False, False, False, False]
    assert views[0].responses == 0 and not views[0].single_use
    assert actions.count("survey_link.revoke") == 4 and actions.count("survey_link.create") == 2


def test_who_may_manage_a_units_links() -> None:
    admin = Actor(1, roles=frozenset({Role.ADMIN}))
    head = Actor(2, headed_unit_ids=frozenset({7}))
    member = Actor(3, roles=frozenset({Role.LEADER_MEMBER}))
    assert survey_links.can_manage(admin, 7) and survey_links.can_manage(admin, 8)
    assert survey_links.can_manage(head, 7) and not survey_links.can_manage(head, 8)
    assert not survey_links.can_manage(member, 7) and not survey_links.can_manage(Actor(4), 7)


async def test_qr_codes_decode_back_to_their_links(sessions: SessionFactory) -> None:
    await make_org(sessions)
    issued = await create(sessions, count=4)
    issued += await create(sessions, count=1, staff_employee_no="A002", single_use=False)
    links = {link.link(BOT) for link in issued}
    from_pngs: list[str] = []
    for link in issued:
        png = qr_png(
            link.link(BOT), caption=UNIT, subcaption="请扫码评价我们的服务", serial=link.serial
        )
        assert Image.open(io.BytesIO(png)).info["dpi"] == pytest.approx((300, 300), abs=0.01)
        from_pngs += decode_png(png)
    assert sorted(from_pngs) == sorted(links)
    pages, from_sheet = decode_pdf(
        qr_sheet([(link.link(BOT), UNIT, link.serial) for link in issued], title=UNIT)
    )
    assert pages == 1 and sorted(from_sheet) == sorted(links)


def test_a_long_sheet_goes_on_over_pages() -> None:
    urls = [f"https://t.me/{BOT}?start=sv_Page{i:02d}Test{i:02d}xyz" for i in range(PER_PAGE + 1)]
    pages, decoded = decode_pdf(
        qr_sheet(
            [(u, "安全生产执法监察大队 · 董建华", f"{i:06d}") for i, u in enumerate(urls)],
            title="测试",
        )
    )
    assert pages == 2 and sorted(decoded) == sorted(urls)


async def test_scanned_links_open_the_survey_for_a_new_user(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    issued = await create(sessions, count=2)
    issued += await create(sessions, count=1, staff_employee_no="A002", single_use=False)
    _, scanned = decode_pdf(qr_sheet([(i.link(BOT), UNIT, i.serial) for i in issued], title=UNIT))
    assert sorted(scanned) == sorted(i.link(BOT) for i in issued)
    for n, url in enumerate(scanned):
        assert url.startswith(f"https://t.me/{BOT}?start=")
        payload = url.split("?start=", 1)[1]
        user = server.user(7100 + n, first_name="市民", language_code="zh-hans")
        await user.send(f"/start {payload}")
        reply = await user.expect()
        assert UNIT in (reply.text or ""), reply.text


async def test_cli_links_files_and_revoke(
    db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    env = {"JIXIAO_DATABASE_URL": db_url, "JIXIAO_BOT_USERNAME": "jixiao_bot"}
    result = jixiao("staff", "import", str(EXAMPLES / "staff.csv"), cwd=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "codes"
    result = jixiao(
        "survey",
        "links",
        "--unit",
        "办公室",
        "--count",
        "3",
        "--out",
        str(out),
        cwd=tmp_path,
        **env,
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1 and "3" in result.stdout
    raw = (out / "links.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert (
        list(rows[0]) == ["serial", "unit", "staff", "single_use", "reference", "link"]
        and len(rows) == 3
    )
    links = {row["link"] for row in rows}
    assert all(row["unit"] == "办公室" and row["single_use"] == "yes" for row in rows)
    assert all(link.startswith("https://t.me/jixiao_bot?start=sv_") for link in links)
    assert sorted(p.name for p in out.glob("*.png")) == sorted(f"{r['serial']}.png" for r in rows)
    decoded = [text for r in rows for text in decode_png((out / f"{r['serial']}.png").read_bytes())]
    assert sorted(decoded) == sorted(links)
    pages, on_sheet = decode_pdf((out / "sheet.pdf").read_bytes())
    assert pages == 1 and sorted(on_sheet) == sorted(links)
    async with sessions() as s:
        stored = list(await s.scalars(select(SurveyLink).order_by(SurveyLink.id)))
    assert [f"{r.id:06d}" for r in stored] == [row["serial"] for row in rows]
    assert not any(link.split("start=sv_")[1] in r.token_hash for link in links for r in stored)

    result = jixiao("survey", "revoke", rows[0]["serial"], cwd=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert f"已停用编号为{rows[0]['serial']}的" in result.stdout  # one word, as its help says
    again = jixiao("survey", "revoke", rows[0]["link"], cwd=tmp_path, **env)
    assert again.returncode == 1 and rows[0]["serial"] in again.stderr
    assert "已停用" in again.stderr and "撤销" not in again.stderr
    bad = jixiao(
        "survey",
        "links",
        "--unit",
        "无此单位",
        "--count",
        "1",
        "--out",
        str(out),
        cwd=tmp_path,
        **env,
    )
    assert bad.returncode == 1 and "无此单位" in bad.stderr and "Traceback" not in bad.stderr
    async with sessions() as s:
        stored = list(await s.scalars(select(SurveyLink).order_by(SurveyLink.id)))
    assert len(stored) == 3 and [r.revoked_at is not None for r in stored] == [True, False, False]

    # 一事一评: a single-use code for one case carries its number; a window code cannot
    case = tmp_path / "case"
    args = ["survey", "links", "--unit", "办公室", "--count", "1", "--out", str(case)]
    one = jixiao(*args, "--reference", "办件编号 2026-0815", cwd=tmp_path, **env)
    assert one.returncode == 0, one.stderr
    window = jixiao(*args, "--reusable", "--reference", "2026-0816", cwd=tmp_path, **env)
    assert window.returncode == 1 and "一事一评" in window.stderr
    async with sessions() as s:
        stored = list(await s.scalars(select(SurveyLink).order_by(SurveyLink.id)))
    assert [r.reference for r in stored] == [None, None, None, "办件编号 2026-0815"]


@pytest.mark.parametrize(
    "argv", [["survey", "--help"], ["survey", "links", "--help"], ["survey", "revoke", "--help"]]
)
def test_survey_help(argv: list[str], tmp_path: Path) -> None:
    result = jixiao(*argv, cwd=tmp_path)
    assert result.returncode == 0 and "usage: jixiao" in result.stdout
