"""Score → leadership approval → publish: each person gets one result message and one chart."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import func, select

from domain.enums import CyclePhase
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import AuditEntry, Cycle, OutboxMessage, Result, Staff, TelegramAccount
from services import cycles, result_review, results
from services.notices import Localization
from tests.drivers import results as results_driver
from tests.factories import bind, fill_all_forms, make_org, open_cycle

ADMIN = 900001


async def _scored(
    sessions: SessionFactory, settings, people: int = 4
) -> tuple[int, list[int], int]:  # type: ignore[no-untyped-def]
    import datetime as dt

    org = await make_org(sessions, people=people)
    cycle_id = await open_cycle(sessions, peer_count=3)
    await fill_all_forms(sessions, cycle_id)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        await cycles.close(s, cycle.period, now=dt.datetime.now(dt.UTC), actor=cycles.Actor("test"))  # type: ignore[union-attr]
    async with sessions() as s:
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
    return cycle_id, [org.head_id, *org.staff_ids], int(chief)  # type: ignore[arg-type]


async def test_score_approve_publish(
    server: FakeBotApi, bot, sessions: SessionFactory, settings
) -> None:  # type: ignore[no-untyped-def]
    cycle_id, members, chief = await _scored(sessions, settings)
    await bind(sessions, 9100, chief)
    users = {}
    for n, staff_id in enumerate(members):
        await bind(sessions, 9101 + n, staff_id)
        users[staff_id] = server.user(9101 + n, language_code="zh-hans")
    admin = server.user(ADMIN, language_code="zh-hans")
    await admin.send("/score 2026Q4")
    scored = await admin.expect_text("2026年第四季度")
    async with sessions() as s:
        first = {r.subject_key: r.total for r in await s.scalars(select(Result))}
    # re-running gives identical results
    await admin.send("/score 2026Q4")
    scored = await admin.expect_text("2026年第四季度")
    async with sessions() as s:
        assert {r.subject_key: r.total for r in await s.scalars(select(Result))} == first
    await results_driver.send_for_approval(admin, scored)
    leader = server.user(9100, language_code="zh-hans")
    request = await leader.expect_text("审定")
    for u in users.values():
        assert not [m for m in u.messages if m.kind == "photo"]  # nothing before approval
    await results_driver.approve(leader, request)
    await leader.expect_text("公布")
    for user in users.values():
        await user.wait_until(
            lambda u=user: (
                sum(1 for m in u.messages if m.kind == "photo") >= 1
                and any("总分" in (m.text or "") for m in u.messages)
            ),
            timeout=120,
        )
        photos = [m for m in user.messages if m.kind == "photo"]
        texts = [m for m in user.messages if "总分" in (m.text or "")]
        assert (
            len(photos) == 1
            and len(texts) == 1
            and photos[0].photo
            and photos[0].photo.startswith(b"\x89PNG")
        )
        # 为什么: the contributions add up exactly to the total
        await results_driver.open_why(user, texts[0])
        why = await user.expect_text("构成")
        total = Decimal(re.search(r"(\d+\.\d\d)", why.text).group(1))  # type: ignore[union-attr]
        contributions = [Decimal(x) for x in re.findall(r"= (\d+\.\d\d)", why.text)]
        assert sum(contributions) == total
    async with sessions() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle.phase == CyclePhase.APPEALS and cycle.published_at is not None  # type: ignore[union-attr]
        assert (
            await s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "cycle.publish")
            )
            == 1
        )
    # a full re-score of a published cycle is refused
    await admin.send("/score 2026Q4")
    await admin.expect_text("申诉")


async def test_leader_sends_back_with_a_comment(
    server: FakeBotApi, bot, sessions: SessionFactory, settings
) -> None:  # type: ignore[no-untyped-def]
    cycle_id, _members, chief = await _scored(sessions, settings)
    await bind(sessions, 9200, chief)
    import datetime as dt

    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        await results.score_cycle(s, cycle, tz=settings.tz, now=dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
        await result_review.send_for_review(
            s, cycle, now=dt.datetime.now(dt.UTC), actor_label="test"
        )  # type: ignore[arg-type]
    admin = server.user(ADMIN)  # the working group's chat exists before anything is pushed
    leader = server.user(9200, language_code="zh-hans")
    request = await leader.expect_text("审定")
    await results_driver.send_back(leader, request)
    await leader.expect_text("意见")
    await leader.send("防汛抗旱科的互评分数偏高，请核实后再报。")
    await leader.expect_text("退回")
    async with sessions() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle.phase == CyclePhase.SCORING  # type: ignore[union-attr]
        assert (
            await s.scalar(
                select(func.count()).select_from(Result).where(Result.published_at.is_not(None))
            )
            == 0
        )
    await admin.wait_until(
        lambda: any("防汛抗旱科" in (m.text or "") for m in admin.messages), timeout=120
    )
    # the old approval button no longer works
    await results_driver.approve(leader, request)
    await leader.wait_until(lambda: bool(leader.callback_answers))
    async with sessions() as s:
        assert (await s.get(Cycle, cycle_id)).phase == CyclePhase.SCORING  # type: ignore[union-attr]


async def test_working_group_sees_integrity_signals(
    server: FakeBotApi, bot, sessions: SessionFactory, settings
) -> None:  # type: ignore[no-untyped-def]
    """Straight-lining everyone's forms is flagged to the working group, and nothing is excluded."""
    import datetime as dt

    org = await make_org(sessions, people=4)
    cycle_id = await open_cycle(sessions, peer_count=3)
    await fill_all_forms(
        sessions, cycle_id, level=lambda assignment, n: 0
    )  # the same level everywhere
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        await cycles.close(s, cycle.period, now=dt.datetime.now(dt.UTC), actor=cycles.Actor("test"))  # type: ignore[union-attr]
    admin = server.user(ADMIN, language_code="zh-hans")
    await admin.send("/score 2026Q4")
    view = await admin.expect_text("2026年第四季度")
    assert "评分异常提示" in view.text and "互评中相互给予最高分" in view.text, view.text
    async with sessions() as s:
        assert (
            await s.scalar(select(func.count()).select_from(Result)) == 4 + 1 + 1 + 1
        )  # nobody excluded
    del org


async def test_published_results_never_reveal_a_peer_rater(
    server: FakeBotApi, bot, sessions: SessionFactory, settings
) -> None:  # type: ignore[no-untyped-def]
    """Results, charts and the why view name no peer rater (the < 3 peers rule keeps counts out)."""
    import datetime as dt

    from domain.enums import Source
    from infra.models import Assignment

    cycle_id, members, _chief = await _scored(sessions, settings, people=4)
    for n, staff_id in enumerate(members):
        await bind(sessions, 9301 + n, staff_id)
    users = {
        staff_id: server.user(9301 + n, language_code="zh-hans")
        for n, staff_id in enumerate(members)
    }
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        await results.score_cycle(s, cycle, tz=settings.tz, now=dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
        cycle.phase = CyclePhase.REVIEW  # type: ignore[union-attr]
        await result_review.publish(s, cycle, now=dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
        peers = list(
            await s.scalars(
                select(Assignment).where(
                    Assignment.cycle_id == cycle_id, Assignment.source == Source.PEER
                )
            )
        )
        names = dict((await s.execute(select(Staff.id, Staff.name))).all())
    for staff_id, user in users.items():
        await user.wait_until(
            lambda u=user: any("总分" in (m.text or "") for m in u.messages), timeout=120
        )
        text_msg = next(m for m in user.messages if "总分" in (m.text or ""))
        await results_driver.open_why(user, text_msg)
        await user.expect_text("构成")
        seen = "\n".join(
            (m.text or "") + " ".join(m.button_texts()) for m in server.sent_messages(user.id)
        )
        for rater in {p.rater_staff_id for p in peers if p.ratee_staff_id == staff_id}:
            assert names[rater] not in seen
        assert "人评" not in seen and "位同事" not in seen  # no peer counts either


async def test_quota_preview_is_off_unless_configured(sessions: SessionFactory, settings) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from conversations.results import overview
    from infra.i18n import Translator

    cycle_id, _members, _chief = await _scored(sessions, settings)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        await results.score_cycle(s, cycle, tz=settings.tz, now=dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
        plain = await overview(s, cycle, Translator("en"), quota_percent=0)  # type: ignore[arg-type]
        with_quota = await overview(s, cycle, Translator("en"), quota_percent=20)  # type: ignore[arg-type]
    assert "quota" not in plain and "20% quota" in with_quota


async def test_buttons_pushed_before_the_actions_had_names_still_work(
    server: FakeBotApi, bot, sessions: SessionFactory, settings
) -> None:  # type: ignore[no-untyped-def]
    """Requests and results already in the chats carry the old data (``rv1:ok``, ``rs1:w``,
    ``rs1:h``): spelled here on purpose, as the deployed bot sent them."""
    import datetime as dt

    cycle_id, members, chief = await _scored(sessions, settings)
    await bind(sessions, 9600, chief)
    await bind(sessions, 9601, members[1])
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        await results.score_cycle(s, cycle, tz=settings.tz, now=dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
        await result_review.send_for_review(
            s, cycle, now=dt.datetime.now(dt.UTC), actor_label="test"
        )  # type: ignore[arg-type]
    leader = server.user(9600, language_code="zh-hans")
    request = await leader.expect_text("审定")
    await leader.press(f"rv1:ok:{cycle_id}:1", request)
    await leader.expect_text("公布")
    user = server.user(9601, language_code="zh-hans")
    await user.wait_until(lambda: any("总分" in (m.text or "") for m in user.messages), timeout=120)
    result = next(m for m in user.messages if "总分" in (m.text or ""))
    async with sessions() as s:
        result_id = await s.scalar(select(Result.id).where(Result.staff_id == members[1]))
    await user.press(f"rs1:w:{result_id}", result)
    await user.expect_text("构成")
    await user.press(f"rs1:h:{result_id}", result)
    await user.expect_text("2026年第四季度")


async def test_the_request_for_approval_follows_the_settings_passed_in(
    sessions: SessionFactory, settings
) -> None:  # type: ignore[no-untyped-def]
    """The quota preview and the language of a push come from the caller's settings; the
    services read no environment."""
    import datetime as dt

    cycle_id, _members, chief = await _scored(sessions, settings)
    await bind(sessions, 9700, chief)
    async with sessions.begin() as s:
        (await s.get(TelegramAccount, 9700)).language = None  # type: ignore[union-attr]
        cycle = await s.get(Cycle, cycle_id)
        await results.score_cycle(s, cycle, tz=settings.tz, now=dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
        await result_review.send_for_review(
            s,
            cycle,  # type: ignore[arg-type]
            now=dt.datetime.now(dt.UTC),
            actor_label="test",
            excellent_quota=20,
            local=Localization.of(settings.model_copy(update={"locale": "en"})),
        )
    async with sessions() as s:
        request = await s.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == 9700))
    assert request is not None
    text = request.payload["text"]
    assert "for approval" in text and "20% quota" in text, text
    assert [[c["action"] for c in row] for row in request.payload["choices"]] == [
        ["result_review.approve"],
        ["result_review.send_back"],
    ]
