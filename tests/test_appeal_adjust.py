"""An upheld appeal changes the result where the dispute is (五(四)3): the working group sets
a new value on the disputed indicator (or on one indicator of the disputed source), and
the total, dimensions, 为什么, chart, grade, ranks and the annual roll-up all follow from
the answers scored again with it; the result says what changed on appeal and why."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import select

from domain.enums import AppealStatus, Grade
from fakebotapi import FakeBotApi
from fakebotapi.sim import BotMessage, SimUser
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import Appeal, AuditEntry, Cycle, OutboxMessage, Result, Staff, TelegramAccount
from scoring import DEFAULT_OPTIONS, grade_for, rank_within
from services import cycles, result_review, results
from services.annual import annual_results
from tests.drivers import appeal
from tests.drivers import results as results_driver
from tests.factories import Org, bind, fill_all_forms, make_org, open_cycle
from tests.harness import InProcessBot

APPELLANT, CHIEF, ADMIN = 7301, 7300, 900001
SATISFACTORY = 2  # every form answers every level indicator with the middle level (70 points)
REASON = "P01：本季度组织了两次综合演练，记录已报送，评分未反映。"
DECISION = "经核实演练记录齐全，P01 调整为优秀。"


async def publish(
    server: FakeBotApi, sessions: SessionFactory, settings: Settings, language: str
) -> Org:
    """A cycle answered in full, scored, approved and published; the appellant is bound."""
    server.user(CHIEF)  # the leader's chat exists: the request for approval is delivered
    org = await make_org(sessions, people=4)
    cycle_id = await open_cycle(sessions, peer_count=3)
    await fill_all_forms(sessions, cycle_id, level=lambda _a, _n: SATISFACTORY)
    async with sessions() as s:
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
    assert chief is not None
    await bind(sessions, CHIEF, chief)
    await bind(sessions, APPELLANT, org.staff_ids[0])
    async with sessions.begin() as s:
        account = await s.get(TelegramAccount, APPELLANT)
        assert account is not None
        account.language = language
        s.add(TelegramAccount(telegram_id=ADMIN, language="en"))
    now = dt.datetime.now(dt.UTC)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await cycles.close(s, cycle.period, now=now, actor=cycles.Actor("test"))
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await results.score_cycle(s, cycle, tz=settings.tz, now=now)
        await result_review.send_for_review(s, cycle, now=now, actor_label="test")
        await result_review.publish(s, cycle, now=now)
    return org


async def mine(sessions: SessionFactory, org: Org) -> Result:
    async with sessions() as s:
        found = await s.scalar(select(Result).where(Result.staff_id == org.staff_ids[0]))
    assert found is not None
    return found


def indicator(result: Result, code: str) -> dict:  # type: ignore[type-arg]
    return next(
        i for d in result.breakdown["dimensions"] for i in d["indicators"] if i["code"] == code
    )


async def assert_consistent(sessions: SessionFactory, result: Result) -> None:
    """Total = Σ dimensions = Σ indicators = Σ sources; the grade and bonus from the total;
    every rank in the cycle from the totals."""
    b, total = result.breakdown, result.total
    assert Decimal(b["total"]) == total and b["grade"] == result.grade.value
    dims = b["dimensions"]
    assert sum(Decimal(d["contribution"]) for d in dims) == total
    for d in dims:
        assert sum(Decimal(i["contribution"]) for i in d["indicators"]) == Decimal(
            d["contribution"]
        )
        for i in d["indicators"]:
            parts = sum((Decimal(s["contribution"]) for s in i["sources"]), Decimal(0))
            assert parts == Decimal(i["contribution"])
    assert result.grade == grade_for(total)
    assert result.bonus_coefficient == DEFAULT_OPTIONS.bonus_coefficients[result.grade]
    async with sessions() as s:
        people = [r for r in await s.scalars(select(Result)) if r.staff_id is not None]
    expected = rank_within(
        {r.subject_key: r.total for r in people}, {r.subject_key: r.unit_id for r in people}
    )
    assert {r.subject_key: r.rank_in_unit for r in people} == expected


async def result_message(me: SimUser, marker: str) -> BotMessage:
    return await me.expect_text(marker, timeout=120)


def why_adds_up(why: BotMessage) -> Decimal:
    """The total the 为什么 view states, checked against its dimension lines."""
    total = Decimal(re.search(r"(\d+\.\d\d)", why.text).group(1))  # type: ignore[union-attr]
    assert sum(Decimal(x) for x in re.findall(r"= (\d+\.\d\d)", why.text)) == total
    return total


async def test_a_new_level_on_the_disputed_indicator_rescores_the_whole_result(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory, settings: Settings
) -> None:
    org = await publish(server, sessions, settings, "en")
    me, admin = server.user(APPELLANT, language_code="en"), server.user(ADMIN, language_code="en")
    before = await mine(sessions, org)
    assert indicator(before, "P01")["score"] == "70.00"
    async with sessions() as s:
        ranks_before = {r.subject_key: r.rank_in_unit for r in await s.scalars(select(Result))}
    published = await result_message(me, "performance result")

    told = await appeal.dispute(me, published, before.id, "ind:P01", REASON)
    assert "has been filed" in told.text
    notice = await admin.expect_text("New appeal #", timeout=120)
    aid = int(re.search(r"#(\d+)", notice.text).group(1))  # type: ignore[union-attr]
    await appeal.open_case(admin, aid, notice)
    case = await admin.expect_text("Disputed:")
    await appeal.decide(admin, aid, case, uphold=False)
    # about one indicator: straight to its new value, its levels as buttons
    ask = await admin.expect_text("is now 70.00")
    assert "P01" in ask.text and appeal.has(ask, appeal.LEVEL, aid, 0)
    await admin.send("很好")  # neither a number nor a level: asked again
    await admin.expect_text("or tap one of the levels")
    await appeal.set_level(admin, aid, 0, ask)  # the best level: 95 points
    await admin.expect_text("70.00 → 95.00")
    await admin.send(DECISION)
    done = await admin.expect_text("Decided: the total is now")

    after = await mine(sessions, org)
    assert after.version == before.version + 1 and after.total > before.total
    p01 = indicator(after, "P01")
    assert p01["score"] == "95.00" and {s["mean"] for s in p01["sources"]} == {"95.00"}
    performance = next(d for d in after.breakdown["dimensions"] if d["dimension"] == "performance")
    assert Decimal(performance["score"]) > Decimal(before.breakdown["dimensions"][0]["score"])
    await assert_consistent(sessions, after)
    assert f"{after.total} ({after.grade.name.capitalize()})" in done.text
    entry = after.breakdown["adjustments"][-1]
    assert (entry["indicator"], entry["source"], entry["old"], entry["points"]) == (
        "P01",
        None,
        "70.00",
        "95.00",
    )
    assert (entry["from"], entry["to"]) == (str(before.total), str(after.total))

    # audited with the old and new figures and the ranks of others that moved
    async with sessions() as s:
        row = await s.get(Appeal, aid)
        (decided,) = await s.scalars(select(AuditEntry).where(AuditEntry.action == "appeal.decide"))
    assert row is not None and row.status == AppealStatus.DECIDED and row.decision == "adjusted"
    assert row.decided_by == ADMIN and row.decision_reason == DECISION
    assert decided.detail["before"]["total"] == str(before.total)
    assert decided.detail["after"] == {
        "total": str(after.total),
        "grade": after.grade.value,
        "version": 2,
    }
    async with sessions() as s:
        (audited,) = await s.scalars(select(AuditEntry).where(AuditEntry.action == "result.adjust"))
        ranks_after = {r.subject_key: r.rank_in_unit for r in await s.scalars(select(Result))}
    assert audited.detail["old"]["total"] == str(before.total)
    assert audited.detail["new"]["total"] == str(after.total)
    assert audited.detail["new"]["dimensions"]["performance"] == performance["score"]
    assert audited.detail["change"] == {
        "indicator": "P01",
        "source": None,
        "old": "70.00",
        "points": "95.00",
    }
    moved = {
        k for k in ranks_before if k != after.subject_key and ranks_before[k] != ranks_after[k]
    }
    assert moved and set(audited.detail["ranks_moved"]) == moved  # colleagues passed move down

    # the appellant: the decision, then the updated result with the "changed on appeal" line
    decision = await me.expect_text("Decision on your appeal", timeout=120)
    assert "indicator P01" in decision.text and "from 70.00 to 95.00" in decision.text
    assert DECISION in decision.text
    updated = await result_message(me, "has been updated after your appeal")
    assert f"Total: {after.total}" in updated.text
    line = next(x for x in updated.text.splitlines() if "Changed on appeal" in x)
    assert "indicator P01" in line and "70.00 to 95.00" in line and DECISION in line
    assert f"{before.total} → {after.total}" in line
    assert f"Rank in your unit: No. {after.rank_in_unit} of " in updated.text
    for d in after.breakdown["dimensions"]:
        assert f"{d['score']} (weight" in updated.text
    await results_driver.open_why(me, updated)
    why = await me.expect_text("How your total")
    assert why_adds_up(why) == after.total and "Changed on appeal" in why.text
    async with sessions() as s:  # the chart drawn for the updated result has the new values
        chart = await s.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == f"result:{after.id}:v2:chart")
        )
    assert chart is not None
    assert chart.payload["render"]["scores"]["performance"] == performance["score"]
    assert str(after.total) in chart.payload["render"]["subtitle"]

    # the annual roll-up reads the adjusted total
    async with sessions() as s:
        (rolled,) = [r for r in await annual_results(s, 2026) if r.staff_id == org.staff_ids[0]]
    assert rolled.quarters == {"2026Q4": after.total} and rolled.total == after.total


async def test_a_disputed_source_changes_only_that_sources_mean_on_the_chosen_indicator(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory, settings: Settings
) -> None:
    org = await publish(server, sessions, settings, "zh_Hans")
    me, admin = server.user(APPELLANT), server.user(ADMIN, language_code="en")
    before = await mine(sessions, org)
    published = await result_message(me, "绩效")
    await appeal.dispute(me, published, before.id, "src:superior", REASON)
    notice = await admin.expect_text("New appeal #", timeout=120)
    aid = int(re.search(r"#(\d+)", notice.text).group(1))  # type: ignore[union-attr]
    await appeal.open_case(admin, aid, notice)
    case = await admin.expect_text("Disputed:")
    await appeal.decide(admin, aid, case, uphold=False)
    where = await admin.expect_text("which indicator")  # a source: first, which indicator
    assert appeal.has(where, appeal.AT, aid, "P01") and appeal.has(where, appeal.AT, aid, "A01")
    await admin.send("P01")
    await admin.expect_text("with the buttons")
    await appeal.change_indicator(admin, aid, "A01", where)
    await admin.expect_text("Superior review")
    await admin.send("88")
    await admin.expect_text("→ 88.00")
    await admin.send(DECISION)
    await admin.expect_text("Decided: the total is now")

    after = await mine(sessions, org)
    a01_before, a01 = indicator(before, "A01"), indicator(after, "A01")
    means = {s["source"]: s["mean"] for s in a01["sources"]}
    assert means["superior"] == "88.00"
    assert means["self"] == next(s["mean"] for s in a01_before["sources"] if s["source"] == "self")
    assert indicator(after, "P01") == indicator(before, "P01")
    await assert_consistent(sessions, after)
    assert after.grade in Grade
    decision = await me.expect_text("绩效评估工作小组已将", timeout=120)
    assert "指标“A01" in decision.text and "（上级评估）由70.00分调整为88.00分" in decision.text
    updated = await result_message(me, "根据您的申诉")
    line = next(x for x in updated.text.splitlines() if "经申诉调整" in x)
    assert "A01" in line and "上级评估" in line and DECISION in line
    assert f"（总分{before.total} → {after.total}）" in line


async def test_colleagues_old_ratings_of_one_indicator_are_not_told_below_five_peers(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory, settings: Settings
) -> None:
    org = await publish(server, sessions, settings, "en")  # three peers each: one figure
    me, admin = server.user(APPELLANT, language_code="en"), server.user(ADMIN, language_code="en")
    before = await mine(sessions, org)
    published = await result_message(me, "performance result")
    await appeal.dispute(me, published, before.id, "src:peer", REASON)
    notice = await admin.expect_text("New appeal #", timeout=120)
    aid = int(re.search(r"#(\d+)", notice.text).group(1))  # type: ignore[union-attr]
    await appeal.open_case(admin, aid, notice)
    await appeal.decide(admin, aid, await admin.expect_text("Disputed:"), uphold=False)
    where = await admin.expect_text("which indicator")
    assert appeal.has(where, appeal.AT, aid, "T03") and not appeal.has(where, appeal.AT, aid, "P01")
    await appeal.change_indicator(admin, aid, "T03", where)
    old = indicator(before, "T03")
    peer_mean = next(s["mean"] for s in old["sources"] if s["source"] == "peer")
    await admin.expect_text(f"is now {peer_mean}")  # the working group sees it
    await admin.send("90")
    await admin.send(DECISION)
    await admin.expect_text("Decided: the total is now")

    after = await mine(sessions, org)
    assert after.breakdown["adjustments"][-1]["hide_old"] is True
    await assert_consistent(sessions, after)
    decision = await me.expect_text("Decision on your appeal", timeout=120)
    updated = await result_message(me, "has been updated after your appeal")
    assert "(Peer review) to 90.00" in decision.text and "set to 90.00" in updated.text
    for text in (decision.text, updated.text):  # the peers' old T03 figure is not told
        assert f"from {peer_mean}" not in text and f"{peer_mean} to" not in text
