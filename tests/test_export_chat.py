"""/export in the chat and ``jixiao export`` on the command line (issue 13, item 2)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import select

from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import AuditEntry, OutboxMessage
from tests.cycle_scenario import CHIEF, build
from tests.drivers.cli import jixiao
from tests.factories import bind
from tests.harness import InProcessBot
from tests.workbook_reader import load

ADMIN, STAFF = 900001, 990002  # the test settings' admin; a member of staff


async def audits(sessions: SessionFactory, action: str) -> list[AuditEntry]:
    async with sessions() as s:
        rows = await s.scalars(select(AuditEntry).where(AuditEntry.action == action))
        return list(rows)


async def test_an_admin_and_a_leader_get_the_workbook_as_a_document(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    await build(sessions)
    admin = server.user(ADMIN, language_code="zh-hant")
    await admin.send("/export 2026年第四季度")
    await admin.expect_text("隨後以檔案傳送")
    document = await admin.expect_text("績效評估彙總表", timeout=120)
    assert document.kind == "document" and document.document_filename == "jixiao-2026Q4.xlsx"
    assert document.document is not None
    book = load(document.document)
    assert book.sheetnames[0] == "個人評估結果"
    assert "2026年第四季度" in str(book.worksheets[0]["A1"].value)

    leader = server.user(CHIEF, language_code="en")
    await leader.send("/export")  # no period: the latest cycle
    document = await leader.expect_text("performance evaluation workbook", timeout=120)
    assert document.document is not None and load(document.document).sheetnames[0] == (
        "Person results"
    )
    exports = await audits(sessions, "cycle.export")
    assert sorted(e.actor_telegram_id or 0 for e in exports) == sorted([ADMIN, CHIEF])


async def test_others_are_refused_politely_and_the_attempt_audited(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    sc = await build(sessions)
    await bind(sessions, STAFF, sc.org.staff_ids[3])
    me = server.user(STAFF, language_code="zh-hans")
    await me.send("/export 2026Q4")
    await me.expect_text("只有绩效评估工作小组和绩效管理领导小组可以导出评估结果")
    stranger = server.user(990003, language_code="en")
    await stranger.send("/export")
    await stranger.expect_text("Sorry, only the evaluation working group")
    denied = [
        e for e in await audits(sessions, "access.denied") if e.detail.get("action") == "export"
    ]
    assert len(denied) == 2
    assert not await audits(sessions, "cycle.export")
    async with sessions() as s:
        queued = await s.scalars(
            select(OutboxMessage).where(OutboxMessage.chat_id.in_([STAFF, 990003]))
        )
        assert not [m for m in queued if m.method == "sendDocument"]

    # a bad period, and a cycle that does not exist, are said and change nothing
    admin = server.user(ADMIN, language_code="en")
    await admin.send("/export 2026Q9")
    await admin.expect_text("2026Q9 is not a valid period")
    await admin.send("/export 2030Q1")
    await admin.expect_text("There is no cycle")
    assert not await audits(sessions, "cycle.export")


async def test_the_cli_writes_the_workbook(
    sessions: SessionFactory, db_url: str, tmp_path: Path
) -> None:
    await build(sessions)
    out = tmp_path / "2026Q4.xlsx"
    done = jixiao(
        "export", "2026Q4", "--out", str(out), cwd=tmp_path, JIXIAO_DATABASE_URL=db_url,
        JIXIAO_LOCALE="zh_Hant",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2026年第四季度" in done.stdout and str(out) in done.stdout
    book = load(out.read_bytes())
    assert book.sheetnames[-1] == "原始評分"
    (entry,) = await audits(sessions, "cycle.export")
    assert entry.actor_label == "cli" and entry.object_id == "2026Q4"

    missing = jixiao(
        "export", "2030Q1", "--out", str(tmp_path / "x.xlsx"), cwd=tmp_path,
        JIXIAO_DATABASE_URL=db_url, JIXIAO_LOCALE="en",
    )  # fmt: skip
    assert missing.returncode == 1 and "There is no cycle" in missing.stderr
    assert not (tmp_path / "x.xlsx").exists()
    folder = jixiao(
        "export", "2026Q4", "--out", str(tmp_path), cwd=tmp_path, JIXIAO_DATABASE_URL=db_url,
        JIXIAO_LOCALE="en",
    )  # fmt: skip
    assert folder.returncode == 1 and "is a folder" in folder.stderr


async def test_the_cli_refuses_a_misnamed_file_and_a_malformed_period(
    sessions: SessionFactory, db_url: str, tmp_path: Path
) -> None:
    """An xlsx named e.csv, a PDF named e.txt, 2026Q5: one polite line each, nothing written;
    export and report word a missing cycle alike."""
    await build(sessions)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return jixiao(*args, cwd=tmp_path, JIXIAO_DATABASE_URL=db_url, JIXIAO_LOCALE="zh_Hans")

    for command, wrong, suffix in (("export", "e.csv", ".xlsx"), ("report", "e.txt", ".pdf")):
        refused = cli(command, "2026Q4", "--out", str(tmp_path / wrong))
        assert refused.returncode == 1 and suffix in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
        assert not (tmp_path / wrong).exists()
    missing = {}
    for command, out in (("export", "x.xlsx"), ("report", "x.pdf")):
        malformed = cli(command, "2026Q5", "--out", str(tmp_path / out))
        assert malformed.returncode == 1 and "2026Q5" in malformed.stderr
        assert (
            "评估周期" not in malformed.stderr and "2026Q4" in malformed.stderr
        )  # the form to use
        absent = cli(command, "2030Q1", "--out", str(tmp_path / out))
        assert absent.returncode == 1 and "2030年第一季度" in absent.stderr
        missing[command] = absent.stderr
    assert missing["export"] == missing["report"]
