"""申訴: a person appeals their published result from its message; the working group asks,
gets the answer, adjusts or upholds within the deadline; the window, one open appeal per
person and cycle, foreign buttons, and the deadline reminder once across restarts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.jobs import run_appeal_reminders
from domain.enums import AppealStatus, CyclePhase, Grade, Role
from fakebotapi import FakeBotApi
from fakebotapi.sim import SimUser
from infra.config import Settings
from infra.container import Services
from infra.db import SessionFactory
from infra.models import (
    Appeal,
    AuditEntry,
    ConversationState,
    Cycle,
    OutboxMessage,
    Result,
    RoleGrant,
    TelegramAccount,
)
from services import appeals as ap
from services import cases
from services.access import Actor, load_actor
from services.errors import DomainError
from services.result_notices import push_result
from services.workdays import PACKAGED
from tests.drivers import appeal
from tests.factories import SHANGHAI, Published, bind, breakdown, published_cycle
from tests.harness import InProcessBot

APPELLANT, OTHER, ADMIN = 7101, 7102, 900001
ENV = cases.Env(frozenset({ADMIN}), tz=SHANGHAI)
COLLEAGUES = ("刘芳", "陈静", "杨洋")  # the appellant's colleagues: never named to them
REASON = "P01 应急预案编制：本季度完成了三项专项预案并组织了演练，材料已报送，评分未反映。"


async def bind_en(sessions: SessionFactory, telegram_id: int, staff_id: int) -> None:
    await bind(sessions, telegram_id, staff_id)
    async with sessions.begin() as s:
        account = await s.get(TelegramAccount, telegram_id)
        assert account is not None
        account.language = "en"


async def admin_in_english(sessions: SessionFactory) -> None:
    """The configured admin has no staff binding; a chosen language is kept all the same."""
    async with sessions.begin() as s:
        s.add(TelegramAccount(telegram_id=ADMIN, language="en"))


async def by(s: AsyncSession, telegram_id: int) -> Actor:
    """Who acts, with their roles (ADMIN is the configured working group)."""
    return await load_actor(s, telegram_id, ENV.admin_ids)


async def audits(sessions: SessionFactory, action: str) -> list[AuditEntry]:
    async with sessions() as s:
        return list(
            await s.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


async def appeals_of(sessions: SessionFactory) -> list[Appeal]:
    async with sessions() as s:
        return list(await s.scalars(select(Appeal).order_by(Appeal.id)))


async def push(sessions: SessionFactory, p: Published, result_id: int) -> None:
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, p.cycle_id)
        result = await s.get(Result, result_id)
        assert cycle is not None and result is not None
        await push_result(s, cycle, result, None)


# --- the breakdown: what can be disputed -----------------------------------------------------


def test_the_shape_is_the_scoring_engines() -> None:
    from scoring import from_dict, to_dict

    assert to_dict(from_dict(breakdown("78.00"))) == breakdown("78.00")


def test_targets_leave_out_a_dropped_peer_source_and_never_show_raters() -> None:
    from infra.i18n import Translator

    dropped = ap.targets(breakdown("78.00"))
    assert dropped[:5] == [
        "total",
        "dim:performance",
        "dim:ability",
        "dim:attitude",
        "dim:innovation",
    ]
    assert {"ind:P01", "ind:P02", "ind:A01", "src:self", "src:superior"} <= set(dropped)
    assert "src:peer" not in dropped
    assert "src:peer" in ap.targets(breakdown("78.00", peer=True))
    tr = Translator("en")
    result = Result(
        total=Decimal("78.00"), grade=Grade.PASS, breakdown=breakdown("78.00", peer=True)
    )
    for target in ap.targets(result.breakdown):
        text = "\n".join(ap.target_detail(tr, result, target, {"P01": ("应急预案编制", "Plans")}))
        assert "rater" not in text.lower()
    names = {"P01": ("应急预案编制", "Plans")}
    detail = ap.target_detail(tr, result, "ind:P01", names, full=True)  # the working group
    assert "P01 Plans" in detail[0] and "70.00" in detail[0]
    assert any("Peer review: 70.00" in line for line in detail)
    mine = ap.target_detail(tr, result, "ind:P01", names)  # the appellant: peers combined
    assert "P01 Plans" in mine[0] and "70.00" not in mine[0]
    assert any("Peer review: 70.00 for all indicators together" in line for line in mine)


def test_new_scores_are_checked() -> None:
    assert ap.parse_points("86.5") == Decimal("86.50")
    assert ap.parse_points(" ８６．５分 ") == Decimal("86.50")  # full-width, as typed on a phone
    assert ap.parse_points("100") == Decimal("100.00")
    for bad in ("", "abc", "-1", "100.01", "86.555", "NaN", "Infinity", "良好"):
        with pytest.raises(DomainError):
            ap.parse_points(bad)
    levels = [["优秀", "Excellent", "95"], ["良好", "Good", "85"]]
    assert ap.parse_points("良好", levels) == ap.parse_points("good", levels) == Decimal("85.00")
    assert ap.parse_points("2", levels) == Decimal("2.00")  # a number is points, not a level


# --- the whole path ------------------------------------------------------------------------------


@dataclass
class Scene:
    p: Published
    me: SimUser
    other: SimUser
    admin: SimUser


async def scene(server: FakeBotApi, sessions: SessionFactory) -> Scene:
    """A published cycle; the appellant and a colleague bound in English, the admin too."""
    p = await published_cycle(sessions)
    await bind_en(sessions, APPELLANT, p.org.staff_ids[0])
    await bind_en(sessions, OTHER, p.org.staff_ids[1])
    await admin_in_english(sessions)
    me = server.user(APPELLANT, first_name="张伟", language_code="en")
    other = server.user(OTHER, first_name="刘芳", language_code="en")
    return Scene(p, me, other, server.user(ADMIN, language_code="en"))


async def filed(
    sessions: SessionFactory,
    p: Published,
    target: str = "ind:P01",
    *,
    reason: str = REASON,
    theirs: bool = False,
    now: dt.datetime | None = None,
) -> int:
    """An appeal filed as the chat files it (the working group is told): mine, or ``theirs``."""
    result, staff = (p.theirs, p.org.staff_ids[1]) if theirs else (p.mine, p.org.staff_ids[0])
    async with sessions.begin() as s:
        row = await ap.file_appeal(
            s,
            result,
            staff_id=staff,
            target=target,
            reason=reason,
            evidence=[],
            now=now or dt.datetime.now(dt.UTC),
            tz=SHANGHAI,
            env=ENV,
        )
        return row.id


async def test_the_appellant_drafts_and_files_an_appeal_with_evidence(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    c = await scene(server, sessions)
    p, me, admin = c.p, c.me, c.admin
    await push(sessions, p, p.mine)
    result_msg = await me.expect_text("performance result", timeout=120)
    assert appeal.has(result_msg, appeal.NEW, p.mine)

    # what is disputed: buttons from the breakdown, no peer source (dropped)
    await appeal.start(me, p.mine, result_msg)
    picker = await me.expect_text("What do you dispute?")
    for offered in ("total", "dim:performance", "src:superior"):
        assert appeal.has(picker, appeal.PICK, p.mine, offered)
    assert not appeal.has(picker, appeal.PICK, p.mine, "src:peer")
    assert "within 10 working days" in picker.text
    await appeal.indicators(me, p.mine, picker)
    indicators = await me.expect_text("Which indicator")
    assert appeal.has(indicators, appeal.PICK, p.mine, "ind:P01")
    await appeal.pick(me, p.mine, "ind:P01", indicators)
    ask_reason = await me.expect_text("Please write why")
    assert "P01" in ask_reason.text and "70.00" in ask_reason.text
    await appeal.pick(me, p.mine, "total", picker)  # an older button: expired, nothing changes
    await me.expect_text("Please write why")
    await bot.stop()  # the draft is the chat's stored position: a restart resumes it
    await bot.start()
    await me.send("x" * 2001)
    await me.expect_text("at most 2000")
    await me.send(REASON)
    await me.expect_text("You may add evidence")
    await me.send_photo(caption="演练照片")
    await me.expect_text("1 file received")
    await me.send_document("预案.pdf", b"%PDF-1.4 plans", mime_type="application/pdf")
    done = await me.expect_text("2 files received")
    assert not await appeals_of(sessions)  # a draft stores nothing but the chat's position
    await appeal.file(me, p.mine, done)
    told = await me.expect_text("has been filed")

    (row,) = await appeals_of(sessions)
    assert f"#{row.id}" in told.text
    assert row.status == AppealStatus.OPEN and row.target == "ind:P01"
    assert row.reason == REASON and row.result_id == p.mine
    assert [e["kind"] for e in row.evidence] == ["photo", "document"]
    assert all(e["file_id"] for e in row.evidence)
    assert row.deadline == PACKAGED.add_working_days(row.created_at, 10, SHANGHAI)
    (opened,) = await audits(sessions, "appeal.open")
    assert opened.actor_staff_id == p.org.staff_ids[0] and opened.detail["target"] == "ind:P01"

    # the working group: notified, the queue, the case with the evidence re-sent by file id
    notice = await admin.expect_text(f"New appeal #{row.id}", timeout=120)
    assert notice.button_data() == [appeal.OPEN.data(row.id)]
    admin.drain()
    await admin.send("/appeals")
    queue = await admin.expect_text(f"#{row.id}")
    assert "张伟" in queue.text
    await appeal.open_case(admin, row.id, queue)
    case = await admin.expect_text("Disputed:")
    assert "演练" in case.text and "P01" in case.text and "Evidence: 2 files" in case.text
    sent = [await admin.expect(), await admin.expect()]
    assert [m.kind for m in sent] == ["photo", "document"]
    assert [m.file_id for m in sent] == [e["file_id"] for e in row.evidence]


async def test_a_draft_left_is_resumed_from_the_result_button(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    c = await scene(server, sessions)
    p, me = c.p, c.me
    await push(sessions, p, p.mine)
    result_msg = await me.expect_text("performance result", timeout=120)
    await appeal.start(me, p.mine, result_msg)
    picker = await me.expect_text("What do you dispute?")
    await appeal.pick(me, p.mine, "total", picker)
    await me.expect_text("Please write why")
    await appeal.start(me, p.mine, result_msg)  # the same result again: the draft goes on
    await me.expect_text("Please write why")
    await me.send(REASON)
    await me.expect_text("You may add evidence")


async def test_the_working_group_asks_and_only_the_appellant_answers(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    c = await scene(server, sessions)
    me, other, admin = c.me, c.other, c.admin
    aid = await filed(sessions, c.p)
    await admin.expect_text(f"New appeal #{aid}", timeout=120)
    await admin.send("/appeals")
    queue = await admin.expect_text(f"#{aid}")
    await appeal.open_case(admin, aid, queue)
    case = await admin.expect_text("Disputed:")
    await appeal.ask(admin, aid, case)
    await admin.expect_text("Please write your question")
    await admin.send("请提供预案印发文件的文号。")
    await admin.expect_text("Sent to the appellant")
    (row,) = await appeals_of(sessions)
    assert row.status == AppealStatus.QUESTION and row.question == "请提供预案印发文件的文号。"
    question = await me.expect_text("A question about your appeal", timeout=120)
    assert question.button_data() == [appeal.ANSWER.data(aid)]
    await other.send("/start")
    own = await other.expect()
    await appeal.answer(other, aid, own)  # not theirs: refused and audited
    await other.wait_until(lambda: bool(other.callback_answers))
    (denied,) = await audits(sessions, "access.denied")
    assert (denied.actor_telegram_id, denied.object_type) == (OTHER, "appeal")
    await appeal.answer(me, aid, question)
    await me.expect_text("Please write your answer")
    await me.send("文号为应急〔2026〕12号。")
    await me.expect_text("passed to the working group")
    (row,) = await appeals_of(sessions)
    assert row.status == AppealStatus.OPEN and row.answer == "文号为应急〔2026〕12号。"
    answered = await admin.expect_text("answered your question", timeout=120)
    assert "应急〔2026〕12号" in answered.text
    assert answered.button_data() == [appeal.OPEN.data(aid)]
    assert [e.detail["round"] for e in await audits(sessions, "appeal.ask")] == [1]
    assert [e.detail["round"] for e in await audits(sessions, "appeal.answer")] == [1]


# Adjusting (a new value where the dispute is, the result scored again from its answers) needs
# a cycle with real answers: tests/test_appeal_adjust.py.


async def test_foreign_results_cases_and_the_queue_are_refused_and_audited(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    c = await scene(server, sessions)
    p, other = c.p, c.other
    aid = await filed(sessions, p)
    await other.send("/start")
    own = await other.expect()
    await appeal.start(other, p.mine, own)  # someone else's result: refused, nothing stored
    await other.wait_until(lambda: len(other.callback_answers) >= 1)
    assert "not yours" in other.callback_answers[-1]["text"]
    (denied,) = await audits(sessions, "access.denied")
    assert (denied.actor_telegram_id, denied.object_type, denied.object_id) == (
        OTHER,
        "result",
        str(p.mine),
    )
    await appeal.open_case(other, aid, own)  # nor the working group's case or queue
    await other.wait_until(lambda: len(other.callback_answers) >= 2)
    await other.send("/appeals")
    await other.expect_text("only the evaluation working group")
    assert len(await audits(sessions, "access.denied")) == 3
    assert [a.id for a in await appeals_of(sessions)] == [aid]
    async with sessions() as s:
        assert (
            await s.scalar(
                select(func.count())
                .select_from(ConversationState)
                .where(ConversationState.name == "appeal", ConversationState.user_id == OTHER)
            )
            == 0
        )


async def test_after_the_window_an_appeal_is_refused_and_nothing_stored(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    now = dt.datetime.now(dt.UTC)
    p = await published_cycle(
        sessions, at=now - dt.timedelta(days=20), until=now - dt.timedelta(hours=1)
    )
    await bind_en(sessions, APPELLANT, p.org.staff_ids[0])
    me = server.user(APPELLANT, language_code="en")
    await push(sessions, p, p.mine)
    result_msg = await me.expect_text("performance result", timeout=120)
    await appeal.start(me, p.mine, result_msg)
    refused = await me.expect_text("can no longer be filed")
    assert "Q4 2026" in refused.text
    assert await appeals_of(sessions) == []
    async with sessions() as s:
        assert (
            await s.scalar(
                select(func.count())
                .select_from(ConversationState)
                .where(ConversationState.name == "appeal")
            )
            == 0
        )
    with pytest.raises(ap.WindowClosed):
        await filed(sessions, p, "total", reason="迟到的申诉", now=now)
    async with sessions.begin() as s:  # a cycle closed before its window's end: closed too
        cycle = await s.get(Cycle, p.cycle_id)
        assert cycle is not None
        cycle.phase, cycle.appeals_until = CyclePhase.CLOSED, now + dt.timedelta(days=1)
    async with sessions() as s:
        with pytest.raises(ap.WindowClosed) as closed:
            await ap.appealable(s, p.mine, staff_id=p.org.staff_ids[0], now=now)
    assert "is over" in str(closed.value)
    assert await appeals_of(sessions) == []


async def test_a_second_open_appeal_is_refused_politely(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    p = await published_cycle(sessions)
    await bind(sessions, APPELLANT, p.org.staff_ids[0])  # Simplified Chinese
    now = dt.datetime.now(dt.UTC)
    first_id = await filed(sessions, p, "dim:performance", reason="业绩评分偏低", now=now)
    with pytest.raises(ap.AlreadyOpen):
        await filed(sessions, p, "total", reason="再次申诉", now=now)
    with pytest.raises(IntegrityError):  # the database says the same
        async with sessions.begin() as s:
            s.add(
                Appeal(
                    cycle_id=p.cycle_id,
                    staff_id=p.org.staff_ids[0],
                    result_id=p.mine,
                    target="total",
                    reason="x",
                    evidence=[],
                    deadline=now,
                )
            )
    me = server.user(APPELLANT, language_code="zh-hans")
    await push(sessions, p, p.mine)
    result_msg = await me.expect_text("2026年第四季度", timeout=120)
    await appeal.start(me, p.mine, result_msg)
    polite = await me.expect()
    assert f"#{first_id}" in polite.text and "正在处理" in polite.text  # 您已有一件申诉正在处理
    assert [a.id for a in await appeals_of(sessions)] == [first_id]


async def test_an_upheld_result_is_told_with_its_reason_and_a_new_appeal_may_follow(
    sessions: SessionFactory,
) -> None:
    p = await published_cycle(sessions)
    await bind(sessions, APPELLANT, p.org.staff_ids[0])
    await bind_en(sessions, OTHER, p.org.staff_ids[1])
    now = dt.datetime.now(dt.UTC)
    first_id = await filed(sessions, p, "dim:performance", reason="业绩评分偏低", now=now)
    async with sessions.begin() as s:
        with pytest.raises(ap.Refused):  # a colleague is not the working group
            await ap.uphold(s, first_id, "维持", actor=await by(s, OTHER), now=now, env=ENV)
        with pytest.raises(DomainError):  # the reason is required
            await ap.uphold(s, first_id, "  ", actor=await by(s, ADMIN), now=now, env=ENV)
    async with sessions.begin() as s:
        reason = "经复核，评分依据充分，维持原结果。"
        await ap.uphold(s, first_id, reason, actor=await by(s, ADMIN), now=now, env=ENV)
    (row,) = await appeals_of(sessions)
    assert row.status == AppealStatus.DECIDED and row.decision == "upheld"
    (decided,) = await audits(sessions, "appeal.decide")
    assert decided.detail["decision"] == "upheld" and decided.detail["total"] == "78.00"
    async with sessions() as s:
        result = await s.get(Result, p.mine)
        assert result is not None and result.version == 1 and result.total == Decimal("78.00")
        told = await s.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == f"appeal-decided:{first_id}")
        )
        assert told is not None and told.chat_id == APPELLANT
        assert "维持原结果" in told.payload["text"]
    async with sessions.begin() as s:
        with pytest.raises(DomainError):  # decided is decided
            await ap.uphold(s, first_id, "again", actor=await by(s, ADMIN), now=now, env=ENV)
    second_id = await filed(sessions, p, "total", reason="新的申诉", now=now)
    assert second_id != first_id


async def test_a_working_group_member_never_handles_their_own_appeal(
    sessions: SessionFactory,
) -> None:
    p = await published_cycle(sessions)
    await bind(sessions, APPELLANT, p.org.staff_ids[0])
    await bind_en(sessions, OTHER, p.org.staff_ids[1])
    async with sessions.begin() as s:
        s.add(RoleGrant(staff_id=p.org.staff_ids[1], role=Role.ADMIN))
    now = dt.datetime.now(dt.UTC)
    own_id = await filed(sessions, p, "total", reason="本人申诉", theirs=True, now=now)
    async with sessions.begin() as s:
        with pytest.raises(ap.Refused, match="your own appeal"):
            await ap.uphold(s, own_id, "维持", actor=await by(s, OTHER), now=now, env=ENV)
        with pytest.raises(ap.Refused, match="your own appeal"):
            await ap.ask(s, own_id, "?", actor=await by(s, OTHER), now=now, env=ENV)
        await ap.ask(s, own_id, "请补充材料", actor=await by(s, ADMIN), now=now, env=ENV)
    (asked,) = await audits(sessions, "appeal.ask")
    assert asked.actor_telegram_id == ADMIN and asked.detail["round"] == 1


async def test_deadline_reminder_once_across_two_runs_and_a_restart(
    server: FakeBotApi, sessions: SessionFactory, bot_settings: Settings
) -> None:
    filed_at = dt.datetime(2025, 11, 3, 2, 0, tzinfo=dt.UTC)  # Monday 10:00 in Shanghai
    p = await published_cycle(sessions, at=filed_at - dt.timedelta(days=1))
    await bind_en(sessions, APPELLANT, p.org.staff_ids[0])
    await admin_in_english(sessions)
    admin = server.user(ADMIN, language_code="en")
    appeal_id = await filed(sessions, p, "src:superior", reason="上级评分偏低", now=filed_at)
    (row,) = await appeals_of(sessions)
    # ten working days after Monday 3 November: Monday 17 November, end of day
    assert row.deadline == dt.datetime(2025, 11, 17, 15, 59, 59, tzinfo=dt.UTC)
    clock = [dt.datetime(2025, 11, 12, 2, 0, tzinfo=dt.UTC)]  # Wednesday: 3 working days left
    services = Services(settings=bot_settings, sessions=sessions, clock=lambda: clock[0])
    assert await run_appeal_reminders(services) == 0
    clock[0] = dt.datetime(2025, 11, 13, 2, 0, tzinfo=dt.UTC)  # Thursday: 2 working days left
    assert await run_appeal_reminders(services) == 1
    assert await run_appeal_reminders(services) == 0  # once only
    clock[0] = dt.datetime(2025, 11, 18, 2, 0, tzinfo=dt.UTC)  # overdue now: still not again
    restarted = Services(settings=bot_settings, sessions=sessions, clock=lambda: clock[0])
    assert await run_appeal_reminders(restarted) == 0
    (row,) = await appeals_of(sessions)
    assert row.reminded_at == dt.datetime(2025, 11, 13, 2, 0, tzinfo=dt.UTC)
    (entry,) = await audits(sessions, "appeal.remind")
    assert entry.object_id == str(appeal_id) and entry.detail["overdue"] is False
    async with sessions() as s:
        keys = list(
            await s.scalars(
                select(OutboxMessage.dedupe_key).where(
                    OutboxMessage.dedupe_key.like(f"appeal-remind:{appeal_id}:%")
                )
            )
        )
    assert keys == [f"appeal-remind:{appeal_id}:{ADMIN}"]

    def reminders() -> list[str]:
        return [
            m.text or ""
            for m in server.sent_messages(ADMIN)
            if f"appeal #{appeal_id}" in (m.text or "") and "decided by" in (m.text or "")
        ]

    # the bot started afterwards (a restart) delivers the queued reminder, and only it
    running = InProcessBot(server, bot_settings, clock=lambda: clock[0])
    await running.start()
    try:
        await admin.wait_until(lambda: len(reminders()) == 1, timeout=120)
        assert "张伟" in reminders()[0] and "must be decided" in reminders()[0]
        assert await run_appeal_reminders(restarted) == 0
    finally:
        await running.stop()
    assert len(reminders()) == 1


async def test_buttons_sent_before_the_named_actions_still_open_others_are_expired(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    """A notice sent by the previous version carries ``ap1:o:<id>``: it still opens the case;
    a single letter that never named an appeal button gets "expired"."""
    c = await scene(server, sessions)
    aid = await filed(sessions, c.p)
    notice = await c.admin.expect_text(f"New appeal #{aid}", timeout=120)
    await c.admin.press(f"ap1:o:{aid}", notice)  # the legacy format, on purpose
    await c.admin.expect_text(f"#{aid}")
    answered = len(c.admin.callback_answers)
    await c.admin.press(f"ap1:z:{aid}", notice)
    await c.admin.wait_until(lambda: len(c.admin.callback_answers) > answered)
    assert "expired" in c.admin.callback_answers[-1]["text"]


async def test_a_decided_case_offers_no_decision_and_refuses_a_late_one(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    c = await scene(server, sessions)
    aid = await filed(sessions, c.p)
    notice = await c.admin.expect_text(f"New appeal #{aid}", timeout=120)
    async with sessions.begin() as s:
        reason = "经复核，维持原结果。"
        await ap.uphold(
            s, aid, reason, actor=await by(s, ADMIN), now=dt.datetime.now(dt.UTC), env=ENV
        )
    await appeal.open_case(c.admin, aid, notice)
    case = await c.admin.expect_text("Decision:")
    assert not appeal.has(case, appeal.UPHOLD) and not appeal.has(case, appeal.ASK)
    answered = len(c.admin.callback_answers)
    await appeal.decide(c.admin, aid, notice)  # an older message's button: told, nothing changes
    await c.admin.wait_until(lambda: len(c.admin.callback_answers) > answered)
    assert "already been decided" in c.admin.callback_answers[-1]["text"]
    assert len(await audits(sessions, "appeal.decide")) == 1
