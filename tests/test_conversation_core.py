"""One conversation position per chat, and errors that reach the user (issue 10, items 1 and 2).

A chat is in one flow at a time: entering another flow parks the first as a draft (saying
so in one line when work was in progress), text reaches the current step only, and the
parked draft is still there to go back to. A step that raises tells the user once, with a
reference that is in the ERROR log beside the traceback, and commits nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from conversations import appeal as appeal_flow
from domain.enums import CyclePhase, Grade, Role, Source
from fakebotapi import BotMessage, FakeBotApi, SimUser
from infra.db import SessionFactory
from infra.models import (
    Answer,
    Assignment,
    ConversationFocus,
    ConversationState,
    Cycle,
    ImprovementPlan,
    OutboxMessage,
    Result,
    RoleGrant,
)
from infra.models.types import utcnow
from services import plans
from services.result_notices import push_result
from tests.drivers.cli import EXAMPLES
from tests.factories import bind, make_org, open_cycle
from tests.harness import InProcessBot, eventually

ME = 900001  # a working-group member who is also staff: every flow below is open to them
GOALS = "本季度应急值守差错降为零，预案演练参与率达到100%。"
REASON = "P01 应急预案编制：本季度完成了三项专项预案并组织了演练，评分未反映。"


@dataclass
class Scene:
    staff_id: int
    result_id: int
    plan_id: int
    cycle_id: int  # the published one


_BUILT: dict[str, Scene] = {}


@pytest.fixture(autouse=True)
async def _scene_before_the_bot(sessions: SessionFactory) -> AsyncIterator[None]:
    """Every test here plays in the scene, built before the bot starts (pytest sets up
    autouse fixtures first): a running sender could take the notices it queues before it
    deletes them, and a loaded machine then lost the chat's later pushes."""
    _BUILT["scene"] = await _build_scene(sessions)
    yield
    _BUILT.clear()


async def scene(sessions: SessionFactory) -> Scene:
    """The test's scene (``_build_scene``), built before the bot started."""
    return _BUILT["scene"]


async def _build_scene(sessions: SessionFactory) -> Scene:
    """A published quarter in its appeal window (my result 不合格, so a plan to write) and the
    next quarter collecting (my self-assessment open)."""
    org = await make_org(sessions, people=3)
    now = utcnow()
    staff_id = org.staff_ids[0]
    await bind(sessions, ME, staff_id)
    published = await open_cycle(
        sessions, period="2026Q3", now=now - dt.timedelta(days=40), deadline=now
    )
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, published)
        assert cycle is not None
        cycle.phase, cycle.published_at = CyclePhase.APPEALS, now
        cycle.appeals_until = now + dt.timedelta(days=7)
        result = Result(
            cycle_id=published,
            subject_key=f"p:{staff_id}",
            staff_id=staff_id,
            unit_id=org.unit_id,
            total=Decimal("52.50"),
            grade=Grade.FAIL,
            breakdown={},
            published_at=now,
        )
        s.add(result)
        await s.flush()
        assert await plans.open_plans_for(s, cycle, [result], now=now) == 1
        plan_id = await s.scalar(select(ImprovementPlan.id))
        assert plan_id is not None
        result_id = result.id
    await open_cycle(sessions, period="2026Q4", now=now)
    async with sessions.begin() as s:  # what publishing pushed is not what these tests are about
        await s.execute(delete(OutboxMessage))
    return Scene(staff_id, result_id, plan_id, published)


async def push_my_result(sessions: SessionFactory, sc: Scene) -> None:
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, sc.cycle_id)
        result = await s.get(Result, sc.result_id)
        assert cycle is not None and result is not None
        await push_result(s, cycle, result, None)


async def positions(sessions: SessionFactory) -> dict[str, str]:
    async with sessions() as s:
        rows = await s.scalars(select(ConversationState).where(ConversationState.user_id == ME))
        return {r.name: r.state for r in rows}


async def current(sessions: SessionFactory) -> str | None:
    async with sessions() as s:
        focus = await s.get(ConversationFocus, f"{ME}:{ME}")
        return focus.name if focus else None


async def goals(sessions: SessionFactory, sc: Scene) -> str:
    async with sessions() as s:
        plan = await s.get(ImprovementPlan, sc.plan_id)
        assert plan is not None
        return plan.goals or ""


async def self_answers(sessions: SessionFactory, sc: Scene) -> int:
    async with sessions() as s:
        count = await s.scalar(
            select(func.count())
            .select_from(Answer)
            .join(Assignment, Assignment.id == Answer.assignment_id)
            .where(Assignment.rater_staff_id == sc.staff_id, Assignment.source == Source.SELF)
        )
        return int(count or 0)


def texts_since(user: SimUser, n: int) -> list[str]:
    return [m.text or "" for m in user.messages[n:]]


async def expect_button(user: SimUser, data: str) -> BotMessage:
    """The next message (or edit) with a button whose data starts with ``data``."""
    for _ in range(20):
        msg = await user.expect(timeout=120)
        if any(d and d.startswith(data) for d in msg.button_data()):
            return msg
    raise AssertionError(f"no button {data!r}:\n{user.history()}")


# --- the two confirmed defects ---------------------------------------------------------------


async def test_goals_typed_after_plan_land_in_the_plan_and_the_appeal_draft_is_kept(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    sc = await scene(sessions)
    me = server.user(ME, language_code="zh-hans")
    await push_my_result(sessions, sc)
    result_msg = await expect_button(me, appeal_flow.NEW.data(sc.result_id))
    await me.press(appeal_flow.NEW.data(sc.result_id), result_msg)
    picker = await expect_button(me, appeal_flow.PICK.data(sc.result_id, "total"))
    await me.press(appeal_flow.PICK.data(sc.result_id, "total"), picker)
    await me.expect_text("请填写申诉理由")
    assert await positions(sessions) == {"appeal": "reason"}

    n = len(me.messages)
    await me.send("/plan")
    await me.expect_text("改进目标")
    assert "您的申诉草稿已保存，可稍后继续。" in texts_since(me, n)
    await me.send(GOALS)
    await me.expect_text("改进措施")
    assert await goals(sessions, sc) == GOALS  # not the appeal's reason
    assert await positions(sessions) == {"appeal": "reason", "plan": "measures"}
    assert await current(sessions) == "plan"

    # back to the appeal from its button: the draft is where it was left
    n = len(me.messages)
    await me.press(appeal_flow.NEW.data(sc.result_id), result_msg)
    await me.expect_text("请填写申诉理由")
    await me.wait_until(lambda: "您的绩效改进计划草稿已保存，可稍后继续。" in texts_since(me, n))
    assert await current(sessions) == "appeal"
    await me.send(REASON)
    await me.expect_text("证明材料")
    assert (await positions(sessions))["appeal"] == "evidence"
    assert await goals(sessions, sc) == GOALS
    assert (await positions(sessions))["plan"] == "measures"  # parked, untouched


async def test_language_then_self_then_1_is_saved_as_the_score(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    sc = await scene(sessions)
    me = server.user(ME, language_code="zh-hans")
    await me.send("/language")
    await me.expect_text("请选择界面语言")
    n = len(me.messages)
    await me.send("/self")
    first = await expect_button(me, "fm1:v:")
    assert "草稿已保存" not in " ".join(texts_since(me, n))  # a menu holds no work
    await me.send("1")
    second = await me.expect()
    assert second.text != first.text and "不是本步骤" not in (second.text or "")
    assert await self_answers(sessions, sc) == 1
    assert await current(sessions) == "form"
    assert set(await positions(sessions)) == {"language", "form"}

    # after a restart the current flow and its state come back; the menu stays parked
    await bot.stop()
    await bot.start()
    await me.send("1")
    third = await me.expect()
    assert "不是本步骤" not in (third.text or "")
    assert await self_answers(sessions, sc) == 2


# --- every pair of flows entered from a command or a pushed button ----------------------------


@dataclass(frozen=True)
class Entry:
    """How a flow is entered by command, what its prompt says, and what text does there."""

    name: str  # the flow
    command: str
    prompt: str
    work: bool  # its first position holds work in progress
    title: str  # its title, as the "draft saved" line names it


ENTRIES = {
    "language": Entry(
        "language",
        "/language",
        "Please choose the interface language",
        False,
        "language selection",
    ),
    "form": Entry("form", "/self", "fm1:v:", True, "evaluation form"),
    "plan": Entry(
        "plan", "/plan", "Please write the improvement goals", True, "the improvement plan"
    ),
    "links": Entry("links", "/links", "Survey QR codes: for which unit?", False, "survey QR codes"),
    # no command holds a state here (/appeals lists the queue): the result's pushed button
    "appeal": Entry("appeal", "", "What do you dispute?", False, "the appeal"),
}


async def enter(me: SimUser, entry: Entry, sessions: SessionFactory, sc: Scene) -> None:
    if not entry.command:
        await push_my_result(sessions, sc)
        pushed = await expect_button(me, appeal_flow.NEW.data(sc.result_id))
        await me.press(appeal_flow.NEW.data(sc.result_id), pushed)
    else:
        await me.send(entry.command)
    if entry.prompt.startswith("fm1:"):
        await expect_button(me, entry.prompt)
    else:
        await me.expect_text(entry.prompt)


async def typed_text_reaches(me: SimUser, sessions: SessionFactory, sc: Scene, b: Entry) -> None:
    """Text sent now is taken by ``b``'s step, or re-asked by ``b`` if it wants buttons."""
    if b.name == "form":
        await me.send("1")
        await expect_button(me, "fm1:")  # the next question
        assert await self_answers(sessions, sc) == 1
    elif b.name == "plan":
        await me.send(GOALS)
        await me.expect_text("Please write the improvement measures")
        assert await goals(sessions, sc) == GOALS
    elif b.name == "appeal":
        await me.send("hello")
        await me.expect_text("Please choose what you dispute with the buttons")
        await me.expect_text(b.prompt)
    else:
        await me.send("hello")
        await me.expect_text("not an answer to this step")
        await me.expect_text(b.prompt)


PAIRS = [(a, b) for a in ENTRIES for b in ENTRIES if a != b]


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=[f"{a}-then-{b}" for a, b in PAIRS])
async def test_entering_a_flow_parks_the_one_before(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory, a: str, b: str
) -> None:
    sc = await scene(sessions)
    me = server.user(ME, language_code="en")
    first, second = ENTRIES[a], ENTRIES[b]
    await enter(me, first, sessions, sc)
    before = await positions(sessions)
    assert await current(sessions) == first.name

    n = len(me.messages)
    await enter(me, second, sessions, sc)
    notice = f"Your draft ({first.title}) is saved; you can continue it later."
    assert (notice in texts_since(me, n)) == first.work, texts_since(me, n)
    assert await current(sessions) == second.name

    await typed_text_reaches(me, sessions, sc, second)
    after = await positions(sessions)
    assert after[first.name] == before[first.name]  # parked where it was
    if first.name == "plan":
        assert await goals(sessions, sc) == ""
    if first.name == "form":
        assert await self_answers(sessions, sc) == 0


# --- buttons, /cancel ---------------------------------------------------------------------------


async def test_a_pushed_button_enters_its_flow_and_a_parked_flows_own_button_resumes_it(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    sc = await scene(sessions)
    me = server.user(ME, language_code="en")
    await me.send("/self")
    question = await expect_button(me, "fm1:v:")
    levels = [d for d in question.button_data() if d and d.startswith("fm1:v:")]
    assert levels
    await me.send("/plan")
    await me.expect_text("Please write the improvement goals")
    assert await current(sessions) == "plan"

    # a button of the result message pushed to the chat: the appeal is entered
    await push_my_result(sessions, sc)
    result_msg = await expect_button(me, appeal_flow.NEW.data(sc.result_id))
    n = len(me.messages)
    await me.press(appeal_flow.NEW.data(sc.result_id), result_msg)
    await me.expect_text("What do you dispute?")
    assert await current(sessions) == "appeal"
    assert any("Your draft (the improvement plan) is saved" in t for t in texts_since(me, n))
    await me.send(GOALS)
    await me.expect_text("Please choose what you dispute with the buttons")
    assert await goals(sessions, sc) == ""

    # the parked self-assessment's own level button still works, and enters the form again
    await me.press(levels[0], question)
    await eventually(lambda: _is(self_answers(sessions, sc), 1))
    assert await self_answers(sessions, sc) == 1
    assert await current(sessions) == "form"
    assert set(await positions(sessions)) == {"form", "plan", "appeal"}


async def test_cancel_ends_the_current_flow_only(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    sc = await scene(sessions)
    me = server.user(ME, language_code="en")
    await me.send("/self")
    await expect_button(me, "fm1:v:")
    await me.send("/plan")
    await me.expect_text("Please write the improvement goals")
    await me.send("/cancel")
    await me.expect_text("Cancelled.")
    assert await positions(sessions) == {"form": "item"}  # the plan's parts are stored rows
    assert await current(sessions) is None
    await me.send("1")  # no flow is current: not taken as a score
    await me.expect()
    assert await self_answers(sessions, sc) == 0
    assert await goals(sessions, sc) == ""
    await me.send("/cancel")
    await me.expect_text("nothing to cancel")


async def test_start_and_help_leave_the_flow_so_the_next_text_is_not_taken_by_it(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    sc = await scene(sessions)
    me = server.user(ME, language_code="en")
    for command in ("/start", "/help"):
        await me.send("/plan")
        await me.expect_text("Please write the improvement goals")
        await me.send(command)
        await me.expect_text("is saved")
        assert await current(sessions) is None
        await me.send("hello there")
        await me.expect_text("did not understand")
        assert await goals(sessions, sc) == ""


async def test_a_file_sent_during_a_flow_goes_to_that_flows_step_whatever_the_handler_order(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    await scene(sessions)
    me = server.user(ME, language_code="en")
    await me.send("/language")  # a flow listed before the roster import in bot/app.py
    await me.expect_text("Please choose the interface language")
    roster = (EXAMPLES / "staff.csv").read_bytes()
    await me.send_document("roster.csv", roster, "text/csv")
    await me.expect_text("not an answer to this step")
    assert await current(sessions) == "language"


# --- a step that raises --------------------------------------------------------------------------


async def test_a_failing_step_tells_the_user_once_with_a_reference_and_commits_nothing(
    server: FakeBotApi,
    bot: InProcessBot,
    sessions: SessionFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sc = await scene(sessions)
    me = server.user(ME, language_code="zh-hans")
    await me.send("/plan")
    await me.expect_text("改进目标")
    saved = plans.save_field

    async def save_then_fail(*args: Any, **kwargs: Any) -> Any:
        await saved(*args, **kwargs)  # the goals are written in the step's transaction…
        raise RuntimeError("the disk is on fire")  # …which then fails

    monkeypatch.setattr(plans, "save_field", save_then_fail)
    n = len(me.messages)
    with caplog.at_level(logging.ERROR):
        await me.send(GOALS)
        apology = await me.expect_text("出现问题")
        await bot.stop()  # every handler has finished: nothing more can arrive
    told = [t for t in texts_since(me, n) if "出现问题" in t]
    assert told == [apology.text], texts_since(me, n)  # once
    ref = re.search(r"E-[A-Z2-9]{6}", apology.text or "")
    assert ref is not None, apology.text
    (record,) = [r for r in caplog.records if ref.group(0) in r.getMessage()]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert "the disk is on fire" in str(record.exc_info[1])
    assert "nothing was committed" in record.getMessage()
    assert await goals(sessions, sc) == ""  # rolled back
    assert await positions(sessions) == {"plan": "goals"}

    monkeypatch.setattr(plans, "save_field", saved)
    await bot.start()
    await me.send(GOALS)
    await me.expect_text("改进措施")
    assert await goals(sessions, sc) == GOALS


async def _is(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def test_a_failing_handler_outside_a_flow_is_reported_the_same_way(
    server: FakeBotApi,
    bot: InProcessBot,
    sessions: SessionFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import conversations.help

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("no roles today")

    monkeypatch.setattr(conversations.help, "load_caller", broken)
    me = server.user(ME, language_code="en")
    with caplog.at_level(logging.ERROR):
        await me.send("/help")
        apology = await me.expect_text("something went wrong")
        await bot.stop()
    assert [m.text for m in me.messages] == [apology.text]
    ref = re.search(r"E-[A-Z2-9]{6}", apology.text or "")
    assert ref is not None
    (record,) = [r for r in caplog.records if ref.group(0) in r.getMessage()]
    assert "no roles today" in str(record.exc_info[1] if record.exc_info else "")
    assert "nothing was committed" in record.getMessage()


async def test_the_upgrade_keeps_the_last_written_flow_current_and_parks_the_others(
    tmp_path: Any,
) -> None:
    from sqlalchemy import text

    from infra.db import make_engine, upgrade

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    await upgrade(engine, "0007citizen")
    async with engine.begin() as conn:
        for name, key, at in (
            ("appeal", "1:1", "2026-12-01 10:00:00"),
            ("plan", "1:1", "2026-12-01 11:00:00"),  # written last: the current flow
            ("form", "2:2", "2026-12-01 09:00:00"),
        ):
            await conn.execute(
                text(
                    "INSERT INTO conversation_state (name, key, user_id, state, data, updated_at)"
                    " VALUES (:name, :key, 1, 's', '{}', :at)"
                ),
                {"name": name, "key": key, "at": at},
            )
    await upgrade(engine)
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT key, name FROM conversation_focus ORDER BY key"))
        assert [tuple(r) for r in rows] == [("1:1", "plan"), ("2:2", "form")]
    await engine.dispose()


async def test_a_step_failing_after_its_commit_says_so_and_the_chat_goes_on_from_the_stored_step(
    server: FakeBotApi,
    bot: InProcessBot,
    sessions: SessionFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from conversations import plan

    sc = await scene(sessions)
    me = server.user(ME, language_code="en")
    await me.send("/plan")
    await me.expect_text("Please write the improvement goals")

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("cannot draw the next question")

    monkeypatch.setattr(plan.flow, "render", broken)
    with caplog.at_level(logging.ERROR):
        await me.send(GOALS)
        apology = await me.expect_text("something went wrong")
    ref = re.search(r"E-[A-Z2-9]{6}", apology.text or "")
    assert ref is not None
    (record,) = [r for r in caplog.records if ref.group(0) in r.getMessage()]
    assert "an earlier transaction of this update was committed" in record.getMessage()
    assert await goals(sessions, sc) == GOALS  # the answer was stored before the failure
    assert await positions(sessions) == {"plan": "measures"}

    monkeypatch.undo()
    await me.send("每周复盘值守记录；参加两次专项演练。")  # taken at the stored step
    await me.expect_text("Who is responsible")


# --- routing without the order of the handlers ----------------------------------------------


def test_a_message_the_current_step_takes_never_reaches_another_flows_entry_point() -> None:
    """Two flows, both wanting files: the one the chat is in gets them, at any handler order;
    a command still enters the other flow."""
    from telegram import Update
    from telegram.ext import CommandHandler, MessageHandler
    from telegram.ext import filters as F

    from chat.flow import Flow, Prompt
    from chat.focus import FlowHandler

    async def render(*args: Any) -> Prompt:
        return Prompt("")

    async def step(update: Update, context: Any) -> object:
        return None

    importer = Flow("test_importer", "importer", render, prefix="ti1:")
    evidence = Flow("test_evidence", "evidence", render, prefix="te1:")
    try:
        files = MessageHandler(F.Document.ALL, step)
        first = importer.handler(
            entry_points=[files, CommandHandler("import", step)], states={"confirm": []}
        )
        second = evidence.handler(
            entry_points=[CommandHandler("evidence", step)], states={"files": [files]}
        )
        chat = {"id": 5, "type": "private"}
        sender = {"id": 5, "is_bot": False, "first_name": "张伟"}

        def message(**content: Any) -> Update:
            body = {"message_id": 1, "date": 0, "chat": chat, "from": sender, **content}
            return Update.de_json({"update_id": 1, "message": body}, None)

        document = message(document={"file_id": "f", "file_unique_id": "u"})
        assert first.check_update(document)  # no flow is current: the importer's entry point
        second.hold((5, 5), "files")  # the chat is at the evidence step
        assert not first.check_update(document)
        assert second.check_update(document)
        command = message(
            text="/import", entities=[{"type": "bot_command", "offset": 0, "length": 7}]
        )
        assert not first._taken_by_current(command, (5, 5))  # a command is chosen
    finally:
        for name in ("test_importer", "test_evidence"):
            del Flow.registry[name], FlowHandler.live[name]


async def appeal_to_the_evidence_step(
    sessions: SessionFactory, sc: Scene, me: SimUser
) -> BotMessage:
    """My result pushed, 申诉 on its total, the reason written: the draft waits for evidence.
    Returns the result message (its 申诉 button brings the draft back)."""
    await push_my_result(sessions, sc)
    result_msg = await expect_button(me, appeal_flow.NEW.data(sc.result_id))
    await me.press(appeal_flow.NEW.data(sc.result_id), result_msg)
    picker = await expect_button(me, appeal_flow.PICK.data(sc.result_id, "total"))
    await me.press(appeal_flow.PICK.data(sc.result_id, "total"), picker)
    await me.expect_text("请填写申诉理由")
    await me.send(REASON)
    await me.expect_text("证明材料")
    return result_msg


async def test_an_appellant_on_the_working_group_keeps_the_draft_through_the_appeal_desk(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    """The appeal flow serves both sides: opening the working group's queue in the same chat
    sets the appellant's draft aside, and 申诉 under the same result brings it back."""
    sc = await scene(sessions)
    async with sessions.begin() as s:
        s.add(RoleGrant(staff_id=sc.staff_id, role=Role.ADMIN))
    me = server.user(ME, language_code="zh-hans")
    result_msg = await appeal_to_the_evidence_step(sessions, sc, me)

    await me.send("/appeals")  # the desk, in the same flow
    await me.expect_text("申诉")
    await me.press(appeal_flow.NEW.data(sc.result_id), result_msg)
    await me.expect_text("证明材料")  # at the evidence step again, the reason kept
    async with sessions() as s:
        row = await s.get(ConversationState, ("appeal", f"{ME}:{ME}"))
        assert row is not None and row.state == "evidence" and row.data["reason"] == REASON


async def test_cancel_sets_the_appeal_draft_aside_and_the_appeal_button_brings_it_back(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    sc = await scene(sessions)
    me = server.user(ME, language_code="zh-hans")
    result_msg = await appeal_to_the_evidence_step(sessions, sc, me)
    await me.send("/cancel")
    await me.expect_text("已取消")
    assert await current(sessions) is None
    await me.press(appeal_flow.NEW.data(sc.result_id), result_msg)
    await me.expect_text("证明材料")  # where it was, the reason kept
    async with sessions() as s:
        row = await s.get(ConversationState, ("appeal", f"{ME}:{ME}"))
        assert row is not None and row.data["reason"] == REASON


async def test_leaving_a_list_of_forms_says_no_draft_was_kept(
    server: FakeBotApi, bot: InProcessBot, sessions: SessionFactory
) -> None:
    """A list to pick a form from is a menu: /start after it says nothing of a draft (the
    answers of a form are stored as given; only a form being filled is called a draft)."""
    await scene(sessions)
    me = server.user(ME, language_code="en")
    await me.send("/peer")
    await me.expect()
    assert await current(sessions) == "form"
    await me.send("/start")
    home = await me.expect_text("Hello")
    assert not any("is saved" in (m.text or "") for m in me.messages), [m.text for m in me.messages]
    assert home is not None and await current(sessions) is None
