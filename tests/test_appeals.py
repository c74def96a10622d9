"""申訴: a person appeals their published result from its message; the working group asks,
gets the answer, adjusts or upholds within the deadline; the window, one open appeal per
person and cycle, foreign buttons, and the deadline reminder once across restarts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.jobs import run_appeal_reminders
from domain.enums import AppealStatus, CyclePhase, Dimension, Grade, Role
from fakebotapi import FakeBotApi
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
from services.errors import DomainError
from services.result_notices import push_result
from services.workdays import add_working_days
from tests.factories import Org, bind, make_org, open_cycle
from tests.harness import InProcessBot

SHANGHAI = ZoneInfo("Asia/Shanghai")
APPELLANT, OTHER, ADMIN = 7101, 7102, 900001
COLLEAGUES = ("刘芳", "陈静", "杨洋")  # the appellant's colleagues: never named to them
REASON = "P01 应急预案编制：本季度完成了三项专项预案并组织了演练，材料已报送，评分未反映。"


def breakdown(total: str, *, peer: bool = False) -> dict[str, Any]:
    """A small result shaped like ``scoring.to_dict``: peers dropped unless ``peer``."""

    def src(source: str, mean: str, weight: str, contribution: str) -> dict[str, Any]:
        return {
            "source": source,
            "mean": mean,
            "raters": 1,
            "trimmed": False,
            "weight": weight,
            "contribution": contribution,
        }

    def indicator(code: str, score: str, weight: str, contribution: str) -> dict[str, Any]:
        sources = [src("self", "90.00", "40", "0"), src("superior", score, "60", "0")]
        if peer:
            sources.append(src("peer", "70.00", "20", "0"))
        return {
            "code": code,
            "score": score,
            "weight": weight,
            "contribution": contribution,
            "sources": sources,
        }

    return {
        "format": 1,
        "total": total,
        "grade": "pass",
        "dimensions": [
            {
                "dimension": "performance",
                "score": "75.00",
                "weight": "60",
                "contribution": "45.00",
                "indicators": [
                    indicator("P01", "70.00", "50", "21.00"),
                    indicator("P02", "80.00", "50", "24.00"),
                ],
            },
            {
                "dimension": "ability",
                "score": "80.00",
                "weight": "15",
                "contribution": "12.00",
                "indicators": [indicator("A01", "80.00", "100", "12.00")],
            },
            {
                "dimension": "attitude",
                "score": "80.00",
                "weight": "15",
                "contribution": "12.00",
                "indicators": [indicator("T01", "80.00", "100", "12.00")],
            },
            {
                "dimension": "innovation",
                "score": "90.00",
                "weight": "10",
                "contribution": "9.00",
                "indicators": [indicator("I01", "90.00", "100", "9.00")],
            },
        ],
        "notes": []
        if peer
        else [{"kind": "peer_dropped", "params": {"scope": "person", "min_raters": "3"}}],
    }


@dataclass
class Published:
    org: Org
    cycle_id: int
    mine: int  # the appellant's result
    theirs: int  # a colleague's result


async def published_cycle(
    sessions: SessionFactory,
    *,
    at: dt.datetime | None = None,
    appeal_days: int = 5,
    until: dt.datetime | None = None,
) -> Published:
    """A cycle in its appeal phase with two published results, as ``publish`` leaves it."""
    at = at or dt.datetime.now(dt.UTC)
    org = await make_org(sessions)
    cycle_id = await open_cycle(sessions, now=at - dt.timedelta(days=30))
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        cycle.phase = CyclePhase.APPEALS
        cycle.published_at = at
        cycle.appeals_until = until or add_working_days(at, appeal_days, SHANGHAI)
        ids = []
        for staff_id, total, grade, rank in (
            (org.staff_ids[0], "78.00", Grade.PASS, 2),
            (org.staff_ids[1], "82.00", Grade.GOOD, 1),
        ):
            result = Result(
                cycle_id=cycle_id,
                subject_key=f"p:{staff_id}",
                staff_id=staff_id,
                unit_id=org.unit_id,
                total=Decimal(total),
                grade=grade,
                rank_in_unit=rank,
                rank_overall=rank,
                bonus_coefficient=Decimal("0.8") if grade == Grade.PASS else Decimal("1.0"),
                weakest=Dimension.PERFORMANCE,
                breakdown=breakdown(total),
                published_at=at,
            )
            s.add(result)
            await s.flush()
            ids.append(result.id)
    return Published(org, cycle_id, ids[0], ids[1])


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


def test_new_totals_are_checked() -> None:
    assert ap.parse_total("86.5") == Decimal("86.50")
    assert ap.parse_total(" ８６．５分 ") == Decimal("86.50")  # full-width, as typed on a phone
    assert ap.parse_total("100") == Decimal("100.00")
    for bad in ("", "abc", "-1", "100.01", "86.555", "NaN", "Infinity"):
        with pytest.raises(DomainError):
            ap.parse_total(bad)


# --- the whole path ------------------------------------------------------------------------------


async def test_appeal_question_answer_and_adjustment(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory, bot_settings: Settings
) -> None:
    p = await published_cycle(sessions)
    await bind_en(sessions, APPELLANT, p.org.staff_ids[0])
    await bind_en(sessions, OTHER, p.org.staff_ids[1])
    await admin_in_english(sessions)
    me = server.user(APPELLANT, first_name="张伟", language_code="en")
    other = server.user(OTHER, first_name="刘芳", language_code="en")
    admin = server.user(ADMIN, language_code="en")
    await push(sessions, p, p.mine)
    result_msg = await me.expect_text("performance result", timeout=15)
    assert f"ap1:n:{p.mine}" in result_msg.button_data()

    # what is disputed: buttons from the breakdown, no peer source (dropped)
    await me.press(f"ap1:n:{p.mine}", result_msg)
    picker = await me.expect_text("What do you dispute?")
    data = picker.button_data()
    assert f"ap1:t:{p.mine}:total" in data and f"ap1:t:{p.mine}:dim:performance" in data
    assert f"ap1:t:{p.mine}:src:superior" in data
    assert f"ap1:t:{p.mine}:src:peer" not in data
    assert "within 10 working days" in picker.text
    await me.press(f"ap1:m:{p.mine}:i", picker)
    indicators = await me.expect_text("Which indicator")
    assert f"ap1:t:{p.mine}:ind:P01" in indicators.button_data()
    await me.press(f"ap1:t:{p.mine}:ind:P01", indicators)
    ask_reason = await me.expect_text("Please write why")
    assert "P01" in ask_reason.text and "70.00" in ask_reason.text
    await me.press(f"ap1:t:{p.mine}:total", picker)  # an older button: expired, nothing changes
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
    await me.press(f"ap1:f:{p.mine}", done)
    filed = await me.expect_text("has been filed")

    (appeal,) = await appeals_of(sessions)
    assert f"#{appeal.id}" in filed.text
    assert appeal.status == AppealStatus.OPEN and appeal.target == "ind:P01"
    assert appeal.reason == REASON and appeal.result_id == p.mine
    assert [e["kind"] for e in appeal.evidence] == ["photo", "document"]
    assert all(e["file_id"] for e in appeal.evidence)
    assert appeal.deadline == add_working_days(appeal.created_at, 10, SHANGHAI)
    (opened,) = await audits(sessions, "appeal.open")
    assert opened.actor_staff_id == p.org.staff_ids[0] and opened.detail["target"] == "ind:P01"

    # the working group: notified, the queue, the case with the evidence re-sent by file id
    notice = await admin.expect_text(f"New appeal #{appeal.id}", timeout=15)
    assert notice.button_data() == [f"ap1:o:{appeal.id}"]
    admin.drain()
    await admin.send("/appeals")
    queue = await admin.expect_text(f"#{appeal.id}")
    assert "张伟" in queue.text
    await admin.press(f"ap1:o:{appeal.id}", queue)
    case = await admin.expect_text("Disputed:")
    assert "演练" in case.text and "P01" in case.text and "Evidence: 2 files" in case.text
    sent = [await admin.expect(), await admin.expect()]
    assert [m.kind for m in sent] == ["photo", "document"]
    assert [m.file_id for m in sent] == [e["file_id"] for e in appeal.evidence]

    # a question, pushed to the appellant; only they may answer it
    await admin.press(f"ap1:q:{appeal.id}", case)
    await admin.expect_text("Please write your question")
    await admin.send("请提供预案印发文件的文号。")
    await admin.expect_text("Sent to the appellant")
    (appeal,) = await appeals_of(sessions)
    assert (
        appeal.status == AppealStatus.QUESTION and appeal.question == "请提供预案印发文件的文号。"
    )
    question = await me.expect_text("A question about your appeal", timeout=15)
    assert question.button_data() == [f"ap1:a:{appeal.id}"]
    await other.send("/start")
    own = await other.expect()
    await other.press(f"ap1:a:{appeal.id}", own)  # not theirs
    await other.wait_until(lambda: bool(other.callback_answers))
    await me.press(f"ap1:a:{appeal.id}", question)
    await me.expect_text("Please write your answer")
    await me.send("文号为应急〔2026〕12号。")
    await me.expect_text("passed to the working group")
    (appeal,) = await appeals_of(sessions)
    assert appeal.status == AppealStatus.OPEN and appeal.answer == "文号为应急〔2026〕12号。"
    answered = await admin.expect_text("answered your question", timeout=15)
    assert "应急〔2026〕12号" in answered.text

    # the decision: a new total with a reason
    await admin.press(f"ap1:j:{appeal.id}", answered)
    await admin.expect_text("type the new total")
    await admin.send("八十六")
    await admin.expect_text("number from 0 to 100")
    await admin.send("86.5")
    confirm = await admin.expect_text("86.50")
    assert "78.00" in confirm.text.split("86.50", 1)[1]  # new total, then the current one
    await admin.send("经核实，P01 材料齐全，上级评分调整。")
    await admin.expect_text("the total is now 86.50 (Good)")

    async with sessions() as s:
        result = await s.get(Result, p.mine)
        assert result is not None
        assert result.total == Decimal("86.50") and result.grade == Grade.GOOD
        assert result.version == 2 and result.rank_in_unit == 1
        theirs = await s.get(Result, p.theirs)
        assert theirs is not None and theirs.rank_in_unit == 2  # re-ranked
    (appeal,) = await appeals_of(sessions)
    assert appeal.status == AppealStatus.DECIDED and appeal.decision == "adjusted"
    assert (
        appeal.decided_by == ADMIN
        and appeal.decision_reason == "经核实，P01 材料齐全，上级评分调整。"
    )
    (adjusted,) = await audits(sessions, "result.adjust")
    assert adjusted.actor_telegram_id == ADMIN
    assert adjusted.detail["old"]["total"] == "78.00" and adjusted.detail["new"]["total"] == "86.50"
    (decided,) = await audits(sessions, "appeal.decide")
    assert decided.actor_telegram_id == ADMIN and decided.detail["decision"] == "adjusted"
    assert decided.detail["before"] == {"total": "78.00", "grade": "pass", "version": 1}
    assert decided.detail["after"] == {"total": "86.50", "grade": "good", "version": 2}
    assert [e.action for e in await audits(sessions, "appeal.ask")] == ["appeal.ask"]
    assert len(await audits(sessions, "appeal.answer")) == 1

    told = await me.expect_text("Decision on your appeal", timeout=15)
    assert "from 78.00 to 86.50" in told.text and "材料齐全" in told.text
    updated = await me.expect_text("has been updated after your appeal", timeout=15)
    assert "86.50" in updated.text
    for message in me.messages:  # nothing the appellant was sent names a colleague
        assert not any(name in (message.text or "") for name in COLLEAGUES)

    # someone else's result button: refused, audited, nothing stored
    denied_before = len(await audits(sessions, "access.denied"))
    await other.press(f"ap1:n:{p.mine}", own)
    await other.wait_until(lambda: len(other.callback_answers) >= 2)
    assert "not yours" in other.callback_answers[-1]["text"]
    denied = await audits(sessions, "access.denied")
    assert len(denied) == denied_before + 1
    assert (denied[-1].actor_telegram_id, denied[-1].object_type, denied[-1].object_id) == (
        OTHER,
        "result",
        str(p.mine),
    )
    assert [d.object_type for d in denied[:denied_before]] == ["appeal"]  # the answer button
    # nor may they open the working group's queue or a case
    await other.press(f"ap1:o:{appeal.id}", own)
    await other.wait_until(lambda: len(other.callback_answers) >= 3)
    await other.send("/appeals")
    await other.expect_text("only the evaluation working group")
    assert len(await audits(sessions, "access.denied")) == denied_before + 3
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
    result_msg = await me.expect_text("performance result", timeout=15)
    await me.press(f"ap1:n:{p.mine}", result_msg)
    refused = await me.expect_text("can no longer be filed")
    assert "2026Q4" in refused.text
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
    async with sessions.begin() as s:
        with pytest.raises(ap.WindowClosed):
            await ap.file_appeal(
                s,
                p.mine,
                staff_id=p.org.staff_ids[0],
                target="total",
                reason="迟到的申诉",
                evidence=[],
                now=now,
                tz=SHANGHAI,
            )
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
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory, bot_settings: Settings
) -> None:
    p = await published_cycle(sessions)
    await bind(sessions, APPELLANT, p.org.staff_ids[0])  # Simplified Chinese
    await bind_en(sessions, OTHER, p.org.staff_ids[1])
    now = dt.datetime.now(dt.UTC)
    async with sessions.begin() as s:
        first = await ap.file_appeal(
            s,
            p.mine,
            staff_id=p.org.staff_ids[0],
            target="dim:performance",
            reason="业绩评分偏低",
            evidence=[],
            now=now,
            tz=SHANGHAI,
            admin_ids=bot_settings.admin_id_set,
        )
        first_id = first.id
    async with sessions.begin() as s:
        with pytest.raises(ap.AlreadyOpen):
            await ap.file_appeal(
                s,
                p.mine,
                staff_id=p.org.staff_ids[0],
                target="total",
                reason="再次申诉",
                evidence=[],
                now=now,
                tz=SHANGHAI,
            )
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
    result_msg = await me.expect_text("2026Q4", timeout=15)
    await me.press(f"ap1:n:{p.mine}", result_msg)
    polite = await me.expect()
    assert f"#{first_id}" in polite.text and "正在处理" in polite.text  # 您已有一件申诉正在处理
    assert [a.id for a in await appeals_of(sessions)] == [first_id]

    # upheld with a reason; the appellant is told; then a new appeal may be filed
    async with sessions.begin() as s:
        with pytest.raises(ap.Refused):  # a colleague is not the working group
            await ap.uphold(s, first_id, "维持", admin_telegram_id=OTHER, now=now)
        with pytest.raises(DomainError):  # the reason is required
            await ap.uphold(
                s,
                first_id,
                "  ",
                admin_telegram_id=ADMIN,
                now=now,
                admin_ids=bot_settings.admin_id_set,
            )
    async with sessions.begin() as s:
        await ap.uphold(
            s,
            first_id,
            "经复核，评分依据充分，维持原结果。",
            admin_telegram_id=ADMIN,
            now=now,
            admin_ids=bot_settings.admin_id_set,
        )
    (appeal,) = await appeals_of(sessions)
    assert appeal.status == AppealStatus.DECIDED and appeal.decision == "upheld"
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
    # a working-group member never handles their own appeal
    async with sessions.begin() as s:
        s.add(RoleGrant(staff_id=p.org.staff_ids[1], role=Role.ADMIN))
        own = await ap.file_appeal(
            s,
            p.theirs,
            staff_id=p.org.staff_ids[1],
            target="total",
            reason="本人申诉",
            evidence=[],
            now=now,
            tz=SHANGHAI,
        )
        own_id = own.id
    async with sessions.begin() as s:
        with pytest.raises(ap.Refused):
            await ap.uphold(s, own_id, "维持", admin_telegram_id=OTHER, now=now)
        with pytest.raises(ap.Refused):
            await ap.ask(s, own_id, "?", admin_telegram_id=OTHER, now=now)
        await ap.ask(
            s,
            own_id,
            "请补充材料",
            admin_telegram_id=ADMIN,
            now=now,
            admin_ids=bot_settings.admin_id_set,
        )
    async with sessions.begin() as s:
        with pytest.raises(DomainError):
            await ap.uphold(
                s,
                first_id,
                "again",
                admin_telegram_id=ADMIN,
                now=now,
                admin_ids=bot_settings.admin_id_set,
            )
        second = await ap.file_appeal(
            s,
            p.mine,
            staff_id=p.org.staff_ids[0],
            target="total",
            reason="新的申诉",
            evidence=[],
            now=now,
            tz=SHANGHAI,
        )
        assert second.id != first_id


async def test_deadline_reminder_once_across_two_runs_and_a_restart(
    server: FakeBotApi, sessions: SessionFactory, bot_settings: Settings
) -> None:
    filed_at = dt.datetime(2025, 11, 3, 2, 0, tzinfo=dt.UTC)  # Monday 10:00 in Shanghai
    p = await published_cycle(sessions, at=filed_at - dt.timedelta(days=1))
    await bind_en(sessions, APPELLANT, p.org.staff_ids[0])
    await admin_in_english(sessions)
    admin = server.user(ADMIN, language_code="en")
    async with sessions.begin() as s:
        appeal = await ap.file_appeal(
            s,
            p.mine,
            staff_id=p.org.staff_ids[0],
            target="src:superior",
            reason="上级评分偏低",
            evidence=[],
            now=filed_at,
            tz=SHANGHAI,
            decision_days=10,
        )
        appeal_id = appeal.id
    (appeal,) = await appeals_of(sessions)
    # ten working days after Monday 3 November: Monday 17 November, end of day
    assert appeal.deadline == dt.datetime(2025, 11, 17, 15, 59, 59, tzinfo=dt.UTC)
    clock = [dt.datetime(2025, 11, 12, 2, 0, tzinfo=dt.UTC)]  # Wednesday: 3 working days left
    services = Services(settings=bot_settings, sessions=sessions, clock=lambda: clock[0])
    assert await run_appeal_reminders(services) == 0
    clock[0] = dt.datetime(2025, 11, 13, 2, 0, tzinfo=dt.UTC)  # Thursday: 2 working days left
    assert await run_appeal_reminders(services) == 1
    assert await run_appeal_reminders(services) == 0  # once only
    clock[0] = dt.datetime(2025, 11, 18, 2, 0, tzinfo=dt.UTC)  # overdue now: still not again
    restarted = Services(settings=bot_settings, sessions=sessions, clock=lambda: clock[0])
    assert await run_appeal_reminders(restarted) == 0
    (appeal,) = await appeals_of(sessions)
    assert appeal.reminded_at == dt.datetime(2025, 11, 13, 2, 0, tzinfo=dt.UTC)
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
        await admin.wait_until(lambda: len(reminders()) == 1, timeout=15)
        assert "张伟" in reminders()[0] and "must be decided" in reminders()[0]
        assert await run_appeal_reminders(restarted) == 0
    finally:
        await running.stop()
    assert len(reminders()) == 1
