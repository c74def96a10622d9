"""The working group imports the roster by sending the file to the bot (summary, then confirm)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import AuditEntry, OrgUnit, Staff
from tests.drivers import staff_import

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ADMIN = 900001  # JIXIAO_ADMIN_IDS in the test settings


async def _count(sessions: SessionFactory, model: type) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_admin_imports_csv_after_confirming(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    admin = server.user(ADMIN, first_name="办公室", language_code="zh-hans")
    summary = await staff_import.send_roster(
        admin, "staff.csv", (EXAMPLES / "staff.csv").read_bytes(), "text/csv"
    )
    assert staff_import.offers_import(summary), summary.text
    assert await _count(sessions, Staff) == 0  # nothing before the tap
    await staff_import.confirm(admin, summary)
    await admin.wait_until(lambda: any(m.edited for m in admin.messages))
    async with sessions() as s:
        people = await s.scalar(select(func.count()).select_from(Staff))
        units = await s.scalar(select(func.count()).select_from(OrgUnit))
        audits = await s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "staff.import")
        )
    assert people >= 40 and units >= 6 and audits == 1


async def test_admin_imports_xlsx_and_can_cancel(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    admin = server.user(ADMIN, language_code="zh-hans")
    workbook = (EXAMPLES / "staff.xlsx").read_bytes()
    summary = await staff_import.send_roster(admin, "staff.xlsx", workbook)
    await staff_import.cancel(admin, summary)
    await admin.expect()
    assert await _count(sessions, Staff) == 0
    summary = await staff_import.send_roster(admin, "staff.xlsx", workbook)
    await staff_import.confirm(admin, summary)
    await admin.wait_until(
        lambda: any(m.edited and not m.buttons for m in admin.messages[-1:]), timeout=120
    )
    assert await _count(sessions, Staff) >= 40


async def test_bad_file_names_the_row_and_imports_nothing(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    lines = (EXAMPLES / "staff.csv").read_text(encoding="utf-8-sig").splitlines()
    broken = lines[:]
    fields = broken[7].split(",")
    fields[6] = "NOBODY"  # supervisor that does not exist, on spreadsheet row 8
    broken[7] = ",".join(fields)
    admin = server.user(ADMIN, language_code="zh-hans")
    reply = await staff_import.send_roster(admin, "staff.csv", ("\n".join(broken) + "\n").encode())
    assert "8" in reply.text and "NOBODY" in reply.text and not reply.buttons
    assert await _count(sessions, Staff) == 0


async def test_non_admin_cannot_import(server: FakeBotApi, bot, sessions: SessionFactory) -> None:
    stranger = server.user(123, language_code="zh-hans")
    reply = await staff_import.send_roster(
        stranger, "staff.csv", (EXAMPLES / "staff.csv").read_bytes()
    )
    assert not reply.buttons
    assert await _count(sessions, Staff) == 0
    async with sessions() as s:
        denied = await s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "access.denied")
        )
    assert denied == 1


async def test_forged_confirm_data_changes_nothing(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    admin = server.user(ADMIN, language_code="zh-hans")
    summary = await staff_import.send_roster(
        admin, "staff.csv", (EXAMPLES / "staff.csv").read_bytes()
    )
    await staff_import.confirm_another_file(admin, summary)
    await admin.expect()  # told the button expired, shown the current step again
    assert await _count(sessions, Staff) == 0
