"""The working group's tools on forms: paper entry (代錄), reassigning an absent rater, reopening."""

from __future__ import annotations

from sqlalchemy import func, select

from domain.enums import AssignmentStatus, Source
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import Answer, Assignment, AuditEntry, Staff
from tests.drivers import forms
from tests.drivers.forms import answer_until_summary, submit
from tests.factories import bind, make_org, open_cycle


async def _admin(sessions: SessionFactory, server: FakeBotApi, telegram_id: int = 7701):  # type: ignore[no-untyped-def]
    """A working-group member with a staff record (JIXIAO_ADMIN_IDS in the test settings)."""
    async with sessions() as s:
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
    await bind(sessions, 900001, chief)  # type: ignore[arg-type]
    return server.user(900001, language_code="zh-hans")


async def test_admin_enters_a_paper_form_marked_and_audited(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    await open_cycle(sessions)
    admin = await _admin(sessions, server)
    await admin.send("/proxy A002")
    listing = await admin.expect()
    async with sessions() as s:
        own = await s.scalar(
            select(Assignment).where(
                Assignment.rater_staff_id == org.staff_ids[0],
                Assignment.source == Source.SELF,
                Assignment.ratee_staff_id == org.staff_ids[0],
            )
        )
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
    assert own is not None
    first = await forms.pick(admin, listing, own.id)
    assert "代" in first.text  # says whose form is being entered
    summary = await answer_until_summary(admin, first)
    await submit(admin, summary)
    await admin.expect_text("已提交")
    async with sessions() as s:
        done = await s.get(Assignment, own.id)
        assert done.status == AssignmentStatus.SUBMITTED and done.proxy_staff_id == chief  # type: ignore[union-attr]
        entered = set(
            (
                await s.scalars(
                    select(Answer.entered_by_staff_id).where(Answer.assignment_id == own.id)
                )
            ).all()
        )
        assert entered == {chief}
        assert (
            await s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "form.proxy_submit")
            )
            == 1
        )


async def test_reassign_and_reopen(server: FakeBotApi, bot, sessions: SessionFactory) -> None:
    org = await make_org(sessions, people=3)
    await open_cycle(sessions)
    admin = server.user(900001, language_code="zh-hans")
    # the head (A001) is absent: A003 reviews A002 instead
    await admin.send("/reassign A002 A001 A003")
    await admin.expect_text("A003")
    async with sessions() as s:
        rows = list(
            await s.scalars(
                select(Assignment).where(
                    Assignment.source == Source.SUPERIOR,
                    Assignment.ratee_staff_id == org.staff_ids[0],
                )
            )
        )
    assert {(r.rater_staff_id, r.active) for r in rows} == {
        (org.head_id, False),
        (org.staff_ids[1], True),
    }
    await bind(sessions, 7702, org.staff_ids[1])
    new_rater = server.user(7702, language_code="zh-hans")
    await new_rater.send("/review")
    listing = await new_rater.expect()
    assert any("张伟" in t for t in listing.button_texts())
    # someone submits their self-assessment, the working group reopens it
    await bind(sessions, 7703, org.staff_ids[2])
    person = server.user(7703, language_code="zh-hans")
    await person.send("/self")
    summary = await answer_until_summary(person, await person.expect())
    await submit(person, summary)
    await person.expect_text("已提交")
    await admin.send("/reopen A004 A004")
    await admin.expect_text("重新")
    await person.wait_until(
        lambda: (
            "主页" in (person.messages[-1].text or "") or "待办" in (person.messages[-1].text or "")
        )
    )
    person.drain()
    await person.send("/self")
    again = await person.expect()
    assert forms.is_summary(again)  # straight to the summary, editable again
    async with sessions() as s:
        assert (
            await s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action.in_(["form.reassign", "form.reopen"]))
            )
            == 2
        )


async def test_staff_cannot_use_admin_form_tools(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    await open_cycle(sessions)
    await bind(sessions, 7704, org.staff_ids[0])
    user = server.user(7704, language_code="zh-hans")
    for command in ("/proxy A003", "/reassign A002 A001 A003", "/reopen A002 A002"):
        await user.send(command)
        await user.expect_text("工作小组")
    async with sessions() as s:
        assert (
            await s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "access.denied")
            )
            == 3
        )
