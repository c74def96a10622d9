"""What a rater reads beside the questions: the superior sees the self-assessment, the
annual goals come once per dimension with a button after that (issue 11, items 18, 19)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from conversations.form_view import GOALS, SELF_TEXT
from domain.enums import Source
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import Assignment
from services import forms
from tests.drivers.forms import answer, buttons, is_question, listed, pick
from tests.factories import bind, make_org, open_cycle

ACHIEVED = "牵头修订防汛应急预案，组织实战演练两次。" + "值守记录完整。" * 60  # long: clipped
PROBLEMS = "信息报送偶有延迟。"
MEASURES = "建立值班复核制度。"


async def _submit_self(sessions: SessionFactory, staff_id: int) -> None:
    """The person's own self-assessment, submitted through the form service."""
    now = dt.datetime.now(dt.UTC)
    texts = {"~ach": ACHIEVED, "~prb": PROBLEMS, "~msr": MEASURES}
    async with sessions.begin() as s:
        aid = await s.scalar(
            select(Assignment.id).where(
                Assignment.rater_staff_id == staff_id,
                Assignment.ratee_staff_id == staff_id,
                Assignment.source == Source.SELF,
            )
        )
        assert aid is not None
        form = await forms.load_form(s, aid)
        for item in form.items:
            if item.indicator is not None:
                await forms.save_score(s, form, item.key, 0 if item.indicator.scale != "百分制" else 90, staff_id=staff_id, now=now)  # fmt: skip
            else:
                await forms.save_text(s, form, item.key, texts[item.key], staff_id=staff_id, now=now)  # fmt: skip
        await forms.submit(s, form, staff_id=staff_id, now=now)


async def test_superior_reads_the_self_assessment_before_rating(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions, people=2)
    await open_cycle(sessions)
    await _submit_self(sessions, org.staff_ids[0])
    await bind(sessions, 4101, org.head_id)
    head = server.user(4101, language_code="zh-hans")
    await head.send("/review")
    listing = await head.expect()
    forms_listed = dict((label.split(" ", 1)[1], aid) for label, aid in listed(listing))
    first = await pick(head, listing, forms_listed["张伟"])
    # before the first rating: what 张伟 wrote, each part clipped
    assert "张伟的自评" in first.text
    assert "工作成绩：牵头修订防汛应急预案" in first.text and "…" in first.text
    assert f"存在问题：{PROBLEMS}" in first.text and f"改进措施：{MEASURES}" in first.text
    assert first.text.index("自评") < first.text.index("第1题") + 20
    assert len(first.text) < 2000
    # the whole text, on request, from this question or a later one
    second = await answer(head, first)
    assert "张伟的自评" not in second.text and buttons(second, SELF_TEXT)
    await head.press(buttons(second, SELF_TEXT)[0], second)
    full = await head.expect_text(ACHIEVED[-20:])
    assert ACHIEVED in full.text and PROBLEMS in full.text
    # someone who has not submitted: the superior is told so, and there is no button
    await head.send("/review")
    listing = await head.expect()
    other = await pick(head, listing, forms_listed["刘芳"])
    assert "刘芳尚未提交自评" in other.text
    assert not buttons(other, SELF_TEXT)


async def test_annual_goals_once_per_dimension_then_behind_a_button(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions, people=1)
    await open_cycle(sessions)
    await bind(sessions, 4102, org.staff_ids[0])
    me = server.user(4102, language_code="zh-hans")
    await me.send("/self")
    msg = await me.expect()
    shown, behind_button = 0, 0
    while is_question(msg):
        if "年度绩效目标" in msg.text:
            shown += 1
        elif buttons(msg, GOALS):
            behind_button += 1
            if behind_button == 1:  # read them from the question, which stays as it is
                await me.press(buttons(msg, GOALS)[0], msg)
                goals = await me.expect_text("年度绩效目标")
                assert "应急值守" in goals.text and not buttons(goals, GOALS)
        msg = await answer(me, msg)
    assert shown == 1  # the goals are printed once, on the first performance question
    assert behind_button >= 1  # later performance questions offer them behind a button
