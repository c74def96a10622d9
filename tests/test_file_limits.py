"""Heavy files stay off the event loop, within limits (README, "Files and their limits").

A workbook is checked against the file size, its unpacked size and the row limit
before it is parsed whole, and parsed in a worker thread, so every other chat keeps
getting answers while an admin's file is read.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conversations import staff_import as staff_import_flow
from conversations import template_upload as template_upload_flow
from domain.template import TemplateInvalid
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import Staff
from services import files
from services.staff_import import RosterInvalid, parse_roster
from services.staff_import import errors as roster_msg
from services.templates import load_template
from tests.drivers.cli import jixiao
from tests.spreadsheets import roster_rows, xlsx

ADMIN = 900001  # JIXIAO_ADMIN_IDS in the test settings


def bomb(rows: int = 300_000) -> bytes:
    """The issue's file: a few hundred KiB that unpack to 61 MiB of 300,000 roster rows."""
    return xlsx(roster_rows(1)[:3] + [["E1", "张伟", "办公室", "", ""]] * rows, refs=False)


async def _people(sessions: SessionFactory) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Staff)) or 0)


async def test_a_300000_row_workbook_is_refused_with_a_clear_message(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:  # type: ignore[no-untyped-def]
    data = bomb()
    assert len(data) < files.MAX_FILE_BYTES  # small enough to be downloaded at all
    admin = server.user(ADMIN, language_code="zh-hans")
    await admin.send_document("staff.xlsx", data)
    reply = await admin.expect(timeout=120)
    assert "10 MB" in reply.text and not reply.buttons, reply.text
    assert await _people(sessions) == 0


def test_rows_beyond_the_limit_are_refused_before_the_rest_is_read() -> None:
    # 6,000 rows unpack to well under the size limit; the row count refuses them.
    with pytest.raises(RosterInvalid) as refused:
        parse_roster(xlsx(roster_rows(6_000)), "staff.xlsx")
    assert [e.message for e in refused.value.errors] == [roster_msg.TOO_MANY_ROWS]
    assert "5000" in str(refused.value)
    text = "\n".join(",".join(r) for r in roster_rows(6_000)).encode()
    with pytest.raises(RosterInvalid, match="5000"):
        parse_roster(text, "staff.csv")
    assert len(parse_roster(xlsx(roster_rows(4_000)), "staff.xlsx").people) == 4_000


def test_template_files_have_the_same_limits() -> None:
    with pytest.raises(TemplateInvalid, match="10 MB"):
        load_template(bomb(), "template.xlsx")
    rows = [["编号", "维度", "指标", "权重", "量表", "评价来源"]]
    rows += [[f"X{n}", "工作业绩", "指标", "1", "百分制", "自评"] for n in range(1_500)]
    with pytest.raises(TemplateInvalid, match="1000"):
        load_template(xlsx(rows, title="指标"), "template.xlsx")
    goals = "\n".join(f'"办公室{n}" = ["目标"]' for n in range(1_500))
    with pytest.raises(TemplateInvalid, match="1000"):
        load_template(f'name = "x"\n[goals]\n{goals}\n'.encode(), "template.toml")
    with pytest.raises(TemplateInvalid, match="2 MB"):
        load_template(b"# " + b"x" * files.MAX_FILE_BYTES, "template.toml")


async def test_the_cli_has_the_same_limits(db_url: str, tmp_path: Path) -> None:
    big = tmp_path / "staff.xlsx"
    big.write_bytes(bomb())
    result = jixiao("staff", "import", str(big), cwd=tmp_path, JIXIAO_DATABASE_URL=db_url)
    assert result.returncode == 1 and "10 MB" in result.stderr, result.stderr
    huge = tmp_path / "staff.csv"
    huge.write_bytes(b"x" * (files.MAX_FILE_BYTES + 10))
    result = jixiao("staff", "import", str(huge), cwd=tmp_path, JIXIAO_DATABASE_URL=db_url)
    assert result.returncode == 1 and "2 MB" in result.stderr, result.stderr


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FLOWS = {
    # flow module, its parser's name, the file, what the admin sees once it is read
    "roster": (staff_import_flow, "parse_roster", "staff.xlsx", "4000"),
    "template": (template_upload_flow, "load_template", "template.toml", "2026"),
}


@pytest.mark.parametrize("flow", sorted(FLOWS))
async def test_other_chats_are_answered_while_a_file_is_parsed(
    server: FakeBotApi, bot, sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch, flow: str
) -> None:  # type: ignore[no-untyped-def]
    """The parse is held until another chat has had its answer: on the event loop it
    would hold every chat; in a worker thread it holds only the admin's.
    """
    module, parser, filename, shown = FLOWS[flow]
    real = getattr(module, parser)
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def held_parse(data: bytes, name: str):  # type: ignore[no-untyped-def]
        started.set()
        release.wait(timeout=120)  # a long parse; never forever, even on the event loop
        finished.set()
        return real(data, name)

    monkeypatch.setattr(module, parser, held_parse)
    admin = server.user(ADMIN, language_code="zh-hans")
    citizen = server.user(4242, language_code="zh-hans")
    if flow == "roster":
        await admin.send_document(filename, xlsx(roster_rows(4_000)))
    else:
        await admin.send_document(filename, (EXAMPLES / filename).read_bytes())
    for _ in range(2400):  # two minutes at most
        if started.is_set():
            break
        await asyncio.sleep(0.05)
    assert started.is_set()
    await citizen.send("/help")
    answer = await citizen.expect(timeout=120)
    assert answer.text and not finished.is_set()  # answered while the parse still ran
    release.set()
    read = await admin.expect(timeout=120)
    assert read.buttons and shown in read.text, read.text
