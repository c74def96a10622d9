"""Results computed before a later change can never reach the leadership group or be published.

The audit's case: a cycle was scored, then extended, new answers came in, and the old
“send for 审定” button published totals computed before those answers.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from conversations.results import SEND
from domain.enums import CyclePhase, Source
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import Assignment, Cycle, Result, ResultReview, Staff
from services import cycles, form_admin, forms, result_review, results
from services.errors import DomainError
from tests.drivers import results as results_driver
from tests.factories import bind, fill_all_forms, make_org, open_cycle

ADMIN = 900001


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _collected(sessions: SessionFactory) -> tuple[int, int, int]:
    """A scored-ready cycle with every form but one superior review submitted."""
    org = await make_org(sessions, people=4)
    cycle_id = await open_cycle(sessions, peer_count=3)
    await fill_all_forms(sessions, cycle_id)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await cycles.close(s, cycle.period, now=_now(), actor=cycles.Actor("test"))
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
        review = await s.scalar(
            select(Assignment.id).where(
                Assignment.cycle_id == cycle_id,
                Assignment.source == Source.SUPERIOR,
                Assignment.ratee_staff_id == org.staff_ids[0],
            )
        )
    return cycle_id, int(chief or 0), int(review or 0)


async def _change_one_answer_set(sessions: SessionFactory, assignment_id: int) -> None:
    """The superior reconsiders: the form is reopened and submitted again with the lowest levels."""
    async with sessions.begin() as s:
        await form_admin.reopen(
            s, assignment_id, actor_staff_id=None, actor_telegram_id=None, now=_now()
        )
    async with sessions.begin() as s:
        form = await forms.load_form(s, assignment_id)
        rater = form.assignment.rater_staff_id
        for item in form.items:
            if item.indicator is not None:
                scale = form.template.scales[item.indicator.scale]
                value = len(scale.levels) - 1 if scale.levels else 10
                await forms.save_score(s, form, item.key, value, staff_id=rater, now=_now())
        await forms.submit(s, form, staff_id=rater, now=_now())


async def test_stale_results_cannot_be_sent_for_approval_after_extend_and_new_answers(
    server: FakeBotApi, bot, sessions: SessionFactory, settings
) -> None:  # type: ignore[no-untyped-def]
    cycle_id, chief, review_id = await _collected(sessions)
    await bind(sessions, 9400, chief)
    admin = server.user(ADMIN, language_code="zh-hans")
    leader = server.user(9400, language_code="zh-hans")
    await admin.send("/score 2026Q4")
    old_view = await admin.expect_text("2026年第四季度")
    old_send = results_driver.button(old_view, SEND)
    async with sessions() as s:
        before = {r.subject_key: r.total for r in await s.scalars(select(Result))}
    # the working group extends the deadline: the scored cycle collects again
    async with sessions.begin() as s:
        await cycles.extend(
            s, "2026Q4", _now() + dt.timedelta(days=20), now=_now(), actor=cycles.Actor("test")
        )
    await _change_one_answer_set(sessions, review_id)
    async with sessions.begin() as s:
        await cycles.close(s, "2026Q4", now=_now(), actor=cycles.Actor("test"))
    # the old button is refused, politely, and nothing reaches the leadership group
    await admin.press(old_send, old_view)
    await admin.wait_until(lambda: bool(admin.callback_answers), timeout=120)
    refusal = admin.callback_answers[-1].get("text") or ""
    assert "重新计算" in refusal, refusal
    async with sessions() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None and cycle.phase == CyclePhase.SCORING
        assert cycle.review_round == 0
    assert not [m for m in leader.messages if "审定" in (m.text or "")]
    # a fresh score can be sent, and its totals differ from the stale ones
    await admin.send("/score 2026Q4")
    fresh_view = await admin.expect_text("2026年第四季度")
    async with sessions() as s:
        after = {r.subject_key: r.total for r in await s.scalars(select(Result))}
    assert after != before
    await results_driver.send_for_approval(admin, fresh_view)
    request = await leader.expect_text("审定", timeout=120)
    await results_driver.approve(leader, request)
    await leader.expect_text("公布", timeout=120)
    async with sessions() as s:
        published = {
            r.subject_key: r.total
            for r in await s.scalars(select(Result).where(Result.published_at.is_not(None)))
        }
    assert published == after


async def test_results_go_stale_on_every_change_to_answers_or_phase(
    sessions: SessionFactory, settings
) -> None:  # type: ignore[no-untyped-def]
    """Reopening a form, a citizen's answer in the period, and extending all need a fresh score."""
    cycle_id, chief, review_id = await _collected(sessions)
    await bind(sessions, 700001, chief)  # a leader who can receive the request

    async def score() -> None:
        async with sessions.begin() as s:
            cycle = await s.get(Cycle, cycle_id)
            await results.score_cycle(s, cycle, tz=settings.tz, now=_now())  # type: ignore[arg-type]

    async def send_refused() -> str:
        async with sessions.begin() as s:
            cycle = await s.get(Cycle, cycle_id)
            try:
                await result_review.send_for_review(s, cycle, now=_now(), actor_label="test")  # type: ignore[arg-type]
            except DomainError as exc:
                return exc.message
            raise AssertionError("stale results were sent for approval")

    await score()
    async with sessions.begin() as s:
        await form_admin.reopen(
            s, review_id, actor_staff_id=None, actor_telegram_id=None, now=_now()
        )
    assert "score" in await send_refused()
    await score()
    async with sessions.begin() as s:
        await cycles.extend(
            s, "2026Q4", _now() + dt.timedelta(days=20), now=_now(), actor=cycles.Actor("test")
        )
        await cycles.close(s, "2026Q4", now=_now(), actor=cycles.Actor("test"))
    assert "score" in await send_refused()
    await score()
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await result_review.send_for_review(s, cycle, now=_now(), actor_label="test")
    # a change while the leaders look at the results: approving cannot publish them
    async with sessions.begin() as s:
        await cycles.touch(s, cycle_id)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        try:
            await result_review.review(
                s, cycle, staff_id=chief, approve=True, comment="", now=_now()
            )
        except DomainError as exc:
            assert "score" in exc.message
        else:
            raise AssertionError("stale results were published")
    async with sessions() as s:
        assert (await s.get(Cycle, cycle_id)).phase == CyclePhase.REVIEW  # type: ignore[union-attr]
        assert not await s.scalar(
            select(func.count()).select_from(Result).where(Result.published_at.is_not(None))
        )


async def test_a_send_back_comment_belongs_to_its_own_review_round(
    server: FakeBotApi, bot, sessions: SessionFactory, settings
) -> None:  # type: ignore[no-untyped-def]
    """A leader who started a send-back comment in round 1 cannot send back round 2 with it."""
    cycle_id, chief, _review = await _collected(sessions)
    await bind(sessions, 9500, chief)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        await results.score_cycle(s, cycle, tz=settings.tz, now=_now())  # type: ignore[arg-type]
        await result_review.send_for_review(s, cycle, now=_now(), actor_label="test")  # type: ignore[arg-type]
    server.user(ADMIN)
    leader = server.user(9500, language_code="zh-hans")
    request = await leader.expect_text("审定")
    await results_driver.send_back(leader, request)
    await leader.expect_text("意见")
    # meanwhile round 1 ends another way and the working group sends a new round
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        cycle.phase = CyclePhase.SCORING
        await results.score_cycle(s, cycle, tz=settings.tz, now=_now())
        await result_review.send_for_review(s, cycle, now=_now(), actor_label="test")
    await leader.wait_until(
        lambda: sum(1 for m in leader.messages if "审定" in (m.text or "")) >= 2, timeout=120
    )
    count = len(leader.messages)
    await leader.send("第一轮的意见：互评分数偏高。")
    await leader.wait_until(lambda: len(leader.messages) > count, timeout=120)
    async with sessions() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None and cycle.phase == CyclePhase.REVIEW and cycle.review_round == 2
        assert not await s.scalar(select(func.count()).select_from(ResultReview))


async def test_a_change_during_scoring_waits_and_leaves_the_results_stale(
    sessions: SessionFactory, settings
) -> None:  # type: ignore[no-untyped-def]
    """Scoring holds the cycle's row lock: a form reopened meanwhile waits, then marks it stale."""
    import asyncio

    cycle_id, _chief, review_id = await _collected(sessions)

    async def reopen() -> None:
        async with sessions.begin() as s:
            await form_admin.reopen(
                s, review_id, actor_staff_id=None, actor_telegram_id=None, now=_now()
            )

    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await cycles.lock(s, cycle)
        change = asyncio.create_task(reopen())
        await asyncio.sleep(0.5)
        assert not change.done()  # the change waits for the scoring to finish
        await results.score_cycle(s, cycle, tz=settings.tz, now=_now())
    await asyncio.wait_for(change, timeout=120)
    async with sessions() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None and not results.is_fresh(cycle)


async def test_sending_twice_says_the_results_are_already_with_the_leaders(
    sessions: SessionFactory, settings
) -> None:  # type: ignore[no-untyped-def]
    cycle_id, chief, _review = await _collected(sessions)
    await bind(sessions, 700001, chief)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await results.score_cycle(s, cycle, tz=settings.tz, now=_now())
        await result_review.send_for_review(s, cycle, now=_now(), actor_label="test")
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        try:
            await result_review.send_for_review(s, cycle, now=_now(), actor_label="test")
        except DomainError as exc:
            assert "already with the leadership group" in exc.message
        else:
            raise AssertionError("sent twice")
        assert cycle.review_round == 1


async def test_results_no_leader_can_receive_are_not_sent_and_the_cycle_stays_open(
    sessions: SessionFactory, settings
) -> None:  # type: ignore[no-untyped-def]
    """With no leadership member linked, sending would leave the cycle in 审定 for ever."""
    cycle_id, _chief, _review = await _collected(sessions)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        await results.score_cycle(s, cycle, tz=settings.tz, now=_now())  # type: ignore[arg-type]
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        try:
            await result_review.send_for_review(s, cycle, now=_now(), actor_label="test")  # type: ignore[arg-type]
        except DomainError as exc:
            assert "leadership group" in exc.message
        else:
            raise AssertionError("results were sent to nobody")
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None and cycle.phase == CyclePhase.SCORING
        await cycles.extend(
            s, "2026Q4", _now() + dt.timedelta(days=120), now=_now(), actor=cycles.Actor("test")
        )
