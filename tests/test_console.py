"""/admin, the working group's console: every action from its button, edited in place;
leaders read it without buttons; anyone else is refused and audited, and nothing changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import func, select

from conversations import console_view as console
from conversations import results
from domain.enums import AssignmentStatus, CyclePhase, Role
from fakebotapi import BotMessage, FakeBotApi, SimUser
from infra.db import SessionFactory
from infra.i18n import Translator
from infra.models import (
    Assignment,
    AuditEntry,
    Cycle,
    OrgUnit,
    OutboxMessage,
    RoleGrant,
    Staff,
)
from services import console as cs
from services import cycles
from tests.drivers import console as desk
from tests.drivers.taps import button, offered
from tests.factories import bind, fill_all_forms, make_org, open_cycle

ADMIN = 900001


async def _count(sessions: SessionFactory, action: str) -> int:
    async with sessions() as s:
        found = await s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        )
    return int(found or 0)


async def _cycle(sessions: SessionFactory, cycle_id: int) -> Cycle:
    async with sessions() as s:
        cycle = await s.get(Cycle, cycle_id)
    assert cycle is not None
    return cycle


async def _edited(
    user: SimUser, view: BotMessage, check: Callable[[BotMessage], bool] = lambda m: True
) -> BotMessage:
    """The console message once an edit satisfying ``check`` has reached it (same id)."""

    def current() -> BotMessage | None:
        found = [m for m in user.messages if m.message_id == view.message_id]
        return found[0] if found and found[0].edited and check(found[0]) else None

    await user.wait_until(lambda: current() is not None, timeout=120)
    found = current()
    assert found is not None
    return found


async def _outbox(sessions: SessionFactory) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


async def _by_unit(sessions: SessionFactory, cycle_id: int) -> dict[str, tuple[int, int, int]]:
    """Per unit of the rater, counted in Python from every assignment: the console's figures."""
    async with sessions() as s:
        rows = await s.execute(
            select(OrgUnit.name, Assignment.rater_staff_id, Assignment.status)
            .join(Staff, Staff.id == Assignment.rater_staff_id)
            .join(OrgUnit, OrgUnit.id == Staff.unit_id)
            .where(Assignment.cycle_id == cycle_id, Assignment.active.is_(True))
        )
        found: dict[str, tuple[int, int, set[int]]] = {}
        for unit, rater, status in rows:
            done, total, late = found.get(unit, (0, 0, set()))
            if status == AssignmentStatus.SUBMITTED:
                done += 1
            else:
                late.add(rater)
            found[unit] = (done, total + 1, late)
    return {u: (d, t, len(late)) for u, (d, t, late) in found.items()}


async def _progress(sessions: SessionFactory, cycle_id: int) -> tuple[int, int]:
    async with sessions() as s:
        rows = list(await s.scalars(select(Assignment).where(Assignment.cycle_id == cycle_id)))
    done = sum(1 for a in rows if a.status == AssignmentStatus.SUBMITTED)
    return done, len(rows)


async def test_the_console_shows_progress_by_unit_and_refreshes_in_place(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    cycle_id = await open_cycle(sessions)
    admin = server.user(ADMIN, language_code="zh-hans")
    view = await desk.open_console(admin)
    assert view.text is not None
    assert "2026年第四季度" in view.text and "收集" in view.text, view.text
    assert "应急指挥中心" in view.text and "人未完成" in view.text
    assert "2026Q4" not in view.text
    async with sessions.begin() as s:  # one person finishes every form
        for a in await s.scalars(
            select(Assignment).where(Assignment.rater_staff_id == org.staff_ids[0])
        ):
            a.status = AssignmentStatus.SUBMITTED
    await desk.press(admin, view, console.REFRESH)
    done, _total = await _progress(sessions, cycle_id)
    again = await _edited(admin, view, lambda m: f" {done}/" in (m.text or ""))
    assert again.message_id == view.message_id
    for unit, (submitted, expected, behind) in (await _by_unit(sessions, cycle_id)).items():
        line = f"• {unit} {submitted}/{expected}"
        line += f"，{behind}人未完成" if behind else "，已全部完成"
        assert line in (again.text or ""), (line, again.text)
    assert len([m for m in admin.messages if "工作台" in (m.text or "")]) == 1  # never re-sent
    await admin.send("/help")
    assert "/admin" in ((await admin.expect_text("工作小组")).text or "")


async def test_remind_those_behind_asks_first_and_a_double_tap_sends_once(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions, people=2)
    cycle_id = await open_cycle(sessions)
    for n, staff_id in enumerate(org.staff_ids):
        await bind(sessions, 5601 + n, staff_id)
    staff = [server.user(5601 + n, language_code="zh-hans") for n in range(2)]
    admin = server.user(ADMIN, language_code="zh-hans")
    view = await desk.open_console(admin)
    await desk.press(admin, view, console.REMIND)
    question = await _edited(admin, view, lambda m: bool(offered(m, console.REMIND_YES)))
    yes = button(question, console.REMIND_YES)
    await admin.press(yes, question)
    await admin.press(yes, question)  # a double tap: both presses arrive
    await admin.wait_until(lambda: len(admin.callback_answers) >= 2, timeout=120)
    await _edited(admin, view, lambda m: "今天" in (m.text or ""))  # the second found it done

    def reminders(user: SimUser) -> list[str]:
        return [m.text or "" for m in user.messages if "工作小组提醒" in (m.text or "")]

    for user in staff:
        await user.wait_until(lambda u=user: len(reminders(u)) == 1, timeout=120)  # type: ignore[misc]
        assert "2026年第四季度" in reminders(user)[0]
    async with sessions() as s:
        queued = await s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.dedupe_key.like(f"remind-now:{cycle_id}:%"))
        )
    assert queued == 2
    assert await _count(sessions, "cycle.remind") == 2  # both taps are in the log


async def test_extend_and_close_from_the_console_edit_it_in_place(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    cycle_id = await open_cycle(sessions)
    before = (await _cycle(sessions, cycle_id)).deadline
    admin = server.user(ADMIN, language_code="zh-hans")
    view = await desk.open_console(admin)
    await admin.press(desk.extend_data(view, 7), view)
    await admin.wait_until(lambda: bool(admin.callback_answers), timeout=120)
    await eventually_later(sessions, cycle_id, before)
    assert await _count(sessions, "cycle.extend") == 1
    shown = await _edited(admin, view, lambda m: bool(offered(m, console.CLOSE)))
    await desk.press(admin, shown, console.CLOSE)
    question = await _edited(admin, view, lambda m: bool(offered(m, console.CLOSE_YES)))
    await desk.press(admin, question, console.CLOSE_YES)
    closed = await _edited(admin, view, lambda m: bool(offered(m, console.SCORE)))
    assert closed.message_id == view.message_id
    assert (await _cycle(sessions, cycle_id)).phase == CyclePhase.SCORING
    assert await _count(sessions, "cycle.close") == 1


async def eventually_later(sessions: SessionFactory, cycle_id: int, before: dt.datetime) -> None:
    """The stored deadline moved on (the press is handled asynchronously)."""
    for _ in range(300):
        if (await _cycle(sessions, cycle_id)).deadline > before:
            return
        await __import__("asyncio").sleep(0.1)  # plain polling on the database
    raise AssertionError("the deadline was not extended")


async def _closed_cycle(sessions: SessionFactory) -> tuple[int, int]:
    """A cycle with every form answered and collection closed; the chief (组长) is also in
    the working group. Returns the cycle and the chief's staff id."""
    await make_org(sessions, people=4)
    cycle_id = await open_cycle(sessions, peer_count=3)
    await fill_all_forms(sessions, cycle_id)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        now = dt.datetime.now(dt.UTC)
        await cycles.close(s, cycle.period, now=now, actor=cycles.Actor("test"))
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
        assert chief is not None
        s.add(RoleGrant(staff_id=chief, role=Role.ADMIN))
    return cycle_id, int(chief)


async def test_score_send_for_approval_and_publish_from_the_console(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    cycle_id, chief = await _closed_cycle(sessions)
    await bind(sessions, 5701, chief)
    office = server.user(5701, language_code="zh-hans")
    view = await desk.open_console(office)
    await desk.press(office, view, console.SCORE)
    grades = await office.expect_text("等级分布")  # /score's own answer, below the console
    assert grades.message_id != view.message_id and offered(grades, results.SEND)
    scored = await _edited(office, view, lambda m: bool(offered(m, console.SEND)))
    assert await _count(sessions, "cycle.score") == 1
    await desk.press(office, scored, console.SEND)
    sent = await _edited(office, view, lambda m: bool(offered(m, console.PUBLISH)))
    assert "领导小组" in (sent.text or "")
    assert (await _cycle(sessions, cycle_id)).phase == CyclePhase.REVIEW
    await desk.press(office, sent, console.PUBLISH)
    question = await _edited(office, view, lambda m: bool(offered(m, console.PUBLISH_YES)))
    await desk.press(office, question, console.PUBLISH_YES)
    published = await _edited(office, view, lambda m: "申诉" in (m.text or ""))
    assert not offered(published, console.PUBLISH)
    assert (await _cycle(sessions, cycle_id)).phase == CyclePhase.APPEALS
    assert await _count(sessions, "cycle.publish") == 1
    assert await _count(sessions, "cycle.review") == 1


async def test_queues_and_invites_open_below_the_console(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    await open_cycle(sessions)
    admin = server.user(ADMIN, language_code="zh-hans")
    view = await desk.open_console(admin)
    for key, expected in (
        ("appeals", "申诉"),
        ("reviews", "复核"),
        ("plans", "改进计划"),
        ("invites", "邀请码"),
        ("roster", "人员名单"),
        ("template", "指标体系"),
    ):
        seen = len(admin.messages)
        await desk.go(admin, view, key)
        await admin.wait_until(lambda n=seen: len(admin.messages) > n, timeout=120)  # type: ignore[misc]
        below = admin.messages[seen]
        assert below.message_id != view.message_id
        assert expected in (below.text or ""), (key, below.text)
        label = {
            "appeals": "待处理的申诉",
            "reviews": "差评复核",
            "plans": "绩效改进计划",
            "roster": "导入人员名单",
            "template": "上传指标体系",
        }
        named = label.get(key, "邀请码")
        view = await _edited(
            admin, view, lambda m, k=named: "下方" in (m.text or "") and k in (m.text or "")
        )
    async with sessions() as s:
        from infra.models import Invite  # only this test looks at invites

        assert await s.scalar(select(func.count()).select_from(Invite)) > 0


def _forged(cycle_id: int) -> list[str]:
    """Every action of the console, as data a non-member could type."""
    return [
        console.REMIND.data(cycle_id),
        console.REMIND_YES.data(cycle_id),
        console.EXTEND.data(cycle_id, 7),
        console.CLOSE.data(cycle_id),
        console.CLOSE_YES.data(cycle_id),
        console.SCORE.data(cycle_id),
        console.SEND.data(cycle_id, 1),
        console.PUBLISH.data(cycle_id, 1),
        console.PUBLISH_YES.data(cycle_id, 1),
        console.BACK.data(),
        *(
            console.GO.data(key)
            for key in ("appeals", "reviews", "plans", "invites", "links", "reissue", "proxy")
        ),
    ]


async def _refused_each(user: SimUser, own: BotMessage, forged: list[str]) -> None:
    for n, data in enumerate(forged, start=1):
        await user.press(data, own)
        await user.wait_until(lambda n=n: len(user.callback_answers) >= n, timeout=120)  # type: ignore[misc]
        answer = user.callback_answers[-1]
        assert answer["show_alert"] and "工作小组" in (answer["text"] or ""), (data, answer)


async def test_staff_are_refused_the_console_and_every_action_and_audited(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    cycle_id = await open_cycle(sessions)
    before = await _cycle(sessions, cycle_id)
    await bind(sessions, 5801, org.staff_ids[0])
    staff = server.user(5801, language_code="zh-hans")
    await staff.send("/admin")
    refusal = await staff.expect_text("工作小组")
    assert not refusal.buttons
    assert await _count(sessions, "access.denied") == 1
    await staff.send("/start")
    own = await staff.expect()
    forged = [console.REFRESH.data(), *_forged(cycle_id)]
    queued = await _outbox(sessions)
    await _refused_each(staff, own, forged)
    assert await _count(sessions, "access.denied") == 1 + len(forged)
    after = await _cycle(sessions, cycle_id)
    assert (after.phase, after.deadline) == (before.phase, before.deadline)
    assert await _outbox(sessions) == queued
    assert await _count(sessions, "cycle.remind") == 0


async def test_leaders_read_the_console_without_action_buttons_and_forged_presses_are_refused(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    await make_org(sessions)
    cycle_id = await open_cycle(sessions)
    before = await _cycle(sessions, cycle_id)
    async with sessions() as s:
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
    assert chief is not None
    await bind(sessions, 5901, chief)
    leader = server.user(5901, language_code="zh-hans")
    view = await desk.open_console(leader)
    assert "2026年第四季度" in (view.text or "") and "应急指挥中心" in (view.text or "")
    # read-only: the workbook, the report and a refresh, nothing that changes anything
    assert view.button_data() == ["ac1:go:export", "ac1:go:report", "ac1:refresh"]
    assert await _count(sessions, "access.denied") == 0
    queued = await _outbox(sessions)
    await _refused_each(leader, view, _forged(cycle_id))
    assert await _count(sessions, "access.denied") == len(_forged(cycle_id))
    after = await _cycle(sessions, cycle_id)
    assert (after.phase, after.deadline) == (before.phase, before.deadline)
    assert await _outbox(sessions) == queued


async def test_report_button_takes_the_reports_own_default_not_the_collecting_cycle(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    """/report bare reports the cycle scored last; the console's button must do the same, not
    ask for the cycle still collecting (which has nothing to report)."""
    await make_org(sessions)
    await open_cycle(sessions)
    admin = server.user(ADMIN, language_code="zh-hans")
    view = await desk.open_console(admin)
    seen = len(admin.messages)
    await desk.go(admin, view, "report")
    await admin.wait_until(lambda: len(admin.messages) > seen, timeout=120)
    assert "尚无已评分的评估周期" in (admin.messages[seen].text or "")


def _phase_lines(phase: CyclePhase, *, scored: bool = False) -> list[str]:
    deadline = dt.datetime(2026, 12, 31, 9, tzinfo=dt.UTC)
    published = phase in (CyclePhase.PUBLISHED, CyclePhase.APPEALS, CyclePhase.CLOSED)
    appeals = dt.datetime(2027, 1, 11, 9, tzinfo=dt.UTC) if published else None
    cycle = Cycle(
        period="2026Q4",
        phase=phase,
        deadline=deadline,
        appeals_until=appeals,
        scored_revision=1 if scored else None,
    )
    return console._cycle_lines(cs.Console(cycle), Translator("zh_Hans"))


def test_every_phase_says_where_the_cycle_is_and_only_the_collection_names_its_deadline() -> None:
    expected = {
        (CyclePhase.PREPARING, False): "审定",
        (CyclePhase.COLLECTING, False): "评价截止时间",
        (CyclePhase.SCORING, False): "计算",
        (CyclePhase.SCORING, True): "提交领导小组",
        (CyclePhase.REVIEW, False): "审定",
        (CyclePhase.PUBLISHED, True): "申诉",
        (CyclePhase.APPEALS, True): "申诉",
        (CyclePhase.CLOSED, True): "已公布",
    }
    for (phase, scored), word in expected.items():
        heading, *_, last = _phase_lines(phase, scored=scored)
        assert "2026年第四季度" in heading and "截止" not in heading, heading
        assert word in last, (phase, last)
        collection_deadline = "2026年12月31日" in last
        assert collection_deadline == (phase in (CyclePhase.PREPARING, CyclePhase.COLLECTING))
        published = phase in (CyclePhase.PUBLISHED, CyclePhase.APPEALS, CyclePhase.CLOSED)
        assert ("已公布" in last) == published, (phase, last)
