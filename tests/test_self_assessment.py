"""Self-assessment in the chat: one indicator at a time, the written parts, summary, edits, submit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from domain.enums import AssignmentStatus, Source
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import Answer, Assignment, AuditEntry
from tests.drivers import forms
from tests.drivers.forms import WRITTEN, answer_until_summary, submit
from tests.factories import bind, make_org, open_cycle
from tests.harness import eventually


async def _self_assignment(sessions: SessionFactory, staff_id: int) -> Assignment:
    async with sessions() as s:
        row = await s.scalar(
            select(Assignment).where(
                Assignment.rater_staff_id == staff_id,
                Assignment.source == Source.SELF,
                Assignment.ratee_staff_id == staff_id,
            )
        )
    assert row is not None
    return row


async def _answers(sessions: SessionFactory, assignment_id: int) -> dict[str, Answer]:
    async with sessions() as s:
        return {
            a.item: a
            for a in await s.scalars(select(Answer).where(Answer.assignment_id == assignment_id))
        }


async def test_full_self_assessment_with_edits(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    await open_cycle(sessions)
    staff_id = org.staff_ids[0]
    await bind(sessions, 3001, staff_id)
    user = server.user(3001, language_code="zh-hans")
    await user.send("/start")
    home = await user.expect_text("自评")
    assert "未完成" in home.text
    await user.press_button("自评", home)
    first = await user.expect()
    assert "第1题" in first.text
    summary = await answer_until_summary(user, first)
    assignment = await _self_assignment(sessions, staff_id)
    answers = await _answers(sessions, assignment.id)
    assert answers["~ach"].text == WRITTEN and all(k in answers for k in ("~prb", "~msr"))
    indicator_keys = [k for k in answers if not k.startswith("~")]
    assert indicator_keys
    # edit the first indicator from the summary, choosing another level
    question = await forms.edit(user, summary)
    summary = await forms.answer(user, question, -1)
    assert forms.is_summary(summary), "after an edit the summary comes back"
    # edit a written part: the new text replaces the old
    await forms.edit(user, summary, "~prb")
    await user.send("人员不足，培训覆盖率有待提高。")
    summary = await user.expect()
    answers = await _answers(sessions, assignment.id)
    assert answers["~prb"].text == "人员不足，培训覆盖率有待提高。"
    await submit(user, summary)
    await user.expect_text("已提交")
    async with sessions() as s:
        done = await s.get(Assignment, assignment.id)
        assert done is not None and done.status == AssignmentStatus.SUBMITTED
        assert await s.scalar(
            select(func.count()).select_from(Answer).where(Answer.assignment_id == assignment.id)
        ) == len(answers)
    # read-only afterwards: an old button changes nothing
    await forms.answer(user, question, 0)
    assert (await _answers(sessions, assignment.id))[indicator_keys[0]].level == answers[
        indicator_keys[0]
    ].level


async def test_self_assessment_in_traditional_chinese(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    await open_cycle(sessions)
    await bind(sessions, 3002, org.staff_ids[1])
    user = server.user(3002, language_code="zh-hant")
    first = await forms.open_self(user)
    assert "自評" in first.text and "绩效" not in first.text
    summary = await answer_until_summary(user, first)
    assert "工作成績" in summary.text
    await submit(user, summary)
    await user.expect_text("已提交")


async def test_typed_scores_and_bad_input(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    await open_cycle(sessions)
    staff_id = org.staff_ids[0]
    await bind(sessions, 3003, staff_id)
    user = server.user(3003, language_code="zh-hans")
    first = await forms.open_self(user)
    assignment = await _self_assignment(sessions, staff_id)
    for bad in ("很好", "150", "-5", "abc"):
        await user.send(bad)
        await user.expect()  # the polite explanation
        again = await user.expect()  # and the same question again
        assert again.text == first.text
    await user.send_sticker()
    await user.expect()
    await user.expect()
    await user.send_voice()
    await user.expect()
    await user.expect()
    assert await _answers(sessions, assignment.id) == {}
    await user.send("1")  # the first level, typed
    second = await user.expect()
    assert second.text != first.text
    assert len(await _answers(sessions, assignment.id)) == 1


async def test_double_tap_and_old_buttons(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    await open_cycle(sessions)
    staff_id = org.staff_ids[0]
    await bind(sessions, 3004, staff_id)
    user = server.user(3004, language_code="zh-hans")
    first = await forms.open_self(user)
    tap = await forms.tap(user, first, 0)
    second = await user.expect()
    await forms.tap(user, first, 0)  # a double tap of the same answer
    await user.wait_until(lambda: len(user.callback_answers) == 2)
    assert user.callback_answers[-1]["text"]  # "already saved"
    assignment = await _self_assignment(sessions, staff_id)
    assert len(await _answers(sessions, assignment.id)) == 1
    # an older button with another value: expired, nothing written into the current question
    await forms.tap(user, first, -1)
    await user.wait_until(lambda: len(user.callback_answers) == 3)
    assert "失效" in user.callback_answers[-1]["text"]
    answers = await _answers(sessions, assignment.id)
    assert len(answers) == 1 and answers[forms.item_of(tap)].level == 0
    assert second.text


async def test_long_text_is_refused(server: FakeBotApi, bot, sessions: SessionFactory) -> None:
    org = await make_org(sessions)
    await open_cycle(sessions)
    staff_id = org.staff_ids[0]
    await bind(sessions, 3005, staff_id)
    user = server.user(3005, language_code="zh-hans")
    await forms.answer_indicators(user, await forms.open_self(user))
    await user.send("字" * 2001)
    refusal = await user.expect()
    assert "2001" in refusal.text and "2000" in refusal.text
    assignment = await _self_assignment(sessions, staff_id)
    assert "~ach" not in await _answers(sessions, assignment.id)


async def test_forged_callback_for_someone_else_is_refused_and_audited(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    await open_cycle(sessions)
    await bind(sessions, 3006, org.staff_ids[0])
    victim = await _self_assignment(sessions, org.staff_ids[1])
    user = server.user(3006, language_code="zh-hans")
    first = await forms.open_self(user)
    await forms.forge_score(user, first, victim.id, forms.item_of(forms.levels(first)[0]))
    await user.expect()
    assert await _answers(sessions, victim.id) == {}
    async with sessions() as s:
        assert (
            await s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "access.denied")
            )
            == 1
        )
    for junk in ("fm1:v:999999999:X:0", "fm1:zz", "fm1:v:abc:X:0", "x" * 64):
        await user.press(junk, first)
        await user.expect()


async def test_after_the_deadline_answers_are_refused_until_extended(
    server: FakeBotApi, bot_settings, sessions: SessionFactory
) -> None:
    from infra.models import Cycle
    from tests.harness import InProcessBot

    clock_now = [dt.datetime.now(dt.UTC)]
    org = await make_org(sessions)
    cycle_id = await open_cycle(
        sessions, now=clock_now[0], deadline=clock_now[0] + dt.timedelta(days=2)
    )
    await bind(sessions, 3007, org.staff_ids[0])
    running = InProcessBot(server, bot_settings, clock=lambda: clock_now[0])
    await running.start()
    try:
        user = server.user(3007, language_code="zh-hans")
        first = await forms.open_self(user)
        clock_now[0] += dt.timedelta(days=3)
        await forms.tap(user, first, 0)
        await user.wait_until(lambda: len(user.callback_answers) == 1)
        assert "截止" in user.callback_answers[-1]["text"]
        assignment = await _self_assignment(sessions, org.staff_ids[0])
        assert await _answers(sessions, assignment.id) == {}
        async with sessions.begin() as s:
            cycle = await s.get(Cycle, cycle_id)
            cycle.deadline = clock_now[0] + dt.timedelta(days=2)  # what an extension does
        await forms.tap(user, first, 0)

        async def saved() -> bool:
            return len(await _answers(sessions, assignment.id)) == 1

        await eventually(saved)
    finally:
        await running.stop()


async def test_switching_to_another_form_offers_to_continue(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions)
    await open_cycle(sessions)
    await bind(sessions, 3008, org.staff_ids[0])
    user = server.user(3008, language_code="zh-hans")
    first = await forms.open_self(user)
    await forms.answer(user, first)
    await user.send("/peer")
    choice = await user.expect_text("自评")
    assert forms.offers_choice(choice)
    resumed = await forms.continue_half_done(user, choice)
    assert forms.is_question(resumed) and resumed.text != first.text  # at question 2, not 1
