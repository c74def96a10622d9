"""A reply that fails is retried, and one that keeps failing is sent again later, never lost.

The local Bot API server answers chosen calls with a 500 (``fail_next``), as Telegram
does during its own incidents; the bot retries transient failures, and an update whose
reply never got through stays "not replied", so its chat is re-prompted from the
database, without a restart or at the next start.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from domain.enums import Source
from fakebotapi import BotMessage, FakeBotApi, SimUser
from infra.config import Settings
from infra.db import SessionFactory
from infra.models import Answer, Assignment, InboxUpdate
from tests.factories import bind, make_org, open_cycle
from tests.forms_driver import data_of
from tests.harness import BotProcess, eventually

APOLOGY = "系统处理时出现问题"
SERVER_ERROR = "Internal Server Error: the server is having a moment"


async def _self_assessment(
    server: FakeBotApi, sessions: SessionFactory, telegram_id: int
) -> tuple[SimUser, int]:
    org = await make_org(sessions)
    await open_cycle(sessions)
    await bind(sessions, telegram_id, org.staff_ids[0])
    async with sessions() as s:
        assignment = await s.scalar(
            select(Assignment.id).where(
                Assignment.rater_staff_id == org.staff_ids[0],
                Assignment.ratee_staff_id == org.staff_ids[0],
                Assignment.source == Source.SELF,
            )
        )
    assert assignment is not None
    return server.user(telegram_id, language_code="zh-hans"), assignment


async def _answers(sessions: SessionFactory, assignment: int) -> int:
    async with sessions() as s:
        return int(
            await s.scalar(
                select(func.count()).select_from(Answer).where(Answer.assignment_id == assignment)
            )
            or 0
        )


async def _owed(sessions: SessionFactory) -> list[tuple[bool, bool]]:
    """(handled, replied) of every update not yet replied to."""
    async with sessions() as s:
        rows = await s.scalars(select(InboxUpdate).where(InboxUpdate.replied_at.is_(None)))
        return [(r.handled_at is not None, r.replied_at is not None) for r in rows]


def _is_question(message: BotMessage, after: BotMessage) -> bool:
    return bool(data_of(message, "fm1:")) and message.text != after.text


async def test_one_server_error_on_the_edit_still_shows_the_next_question(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    user, assignment = await _self_assessment(server, sessions, 6301)
    await user.send("/self")
    first = await user.expect(timeout=120)
    server.fail_next("editMessageText", 500, SERVER_ERROR)
    await user.press(data_of(first, "fm1:v:")[0], first)
    second = await user.expect(timeout=120)
    assert second.edited and _is_question(second, first)  # the retry got through
    assert await _answers(sessions, assignment) == 1
    await eventually(lambda: _nothing_owed(sessions), timeout=120)
    assert not any(APOLOGY in (m.text or "") for m in user.messages)


async def _nothing_owed(sessions: SessionFactory) -> bool:
    return await _owed(sessions) == []


async def test_a_reply_that_keeps_failing_is_sent_again_without_a_restart(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    user, assignment = await _self_assessment(server, sessions, 6302)
    await user.send("/self")
    first = await user.expect(timeout=120)
    server.fail_next("editMessageText", 500, SERVER_ERROR, times=100)
    await user.press(data_of(first, "fm1:v:")[0], first)
    await user.expect_text(APOLOGY, timeout=120)  # the failed step reached the error handler
    assert await _answers(sessions, assignment) == 1  # the answer itself was kept
    await eventually(lambda: _owed_once(sessions), timeout=120)  # applied, its reply owed
    again = await user.expect(timeout=60)  # re-prompted as a new message, no restart
    assert not again.edited and _is_question(again, first)
    await eventually(lambda: _nothing_owed(sessions), timeout=120)
    server.clear_faults()
    await user.press(data_of(again, "fm1:v:")[0], again)  # and the flow goes on from there
    third = await user.expect(timeout=120)
    assert _is_question(third, again)
    assert await _answers(sessions, assignment) == 2


@pytest.mark.slow
async def test_a_reply_that_never_got_through_is_sent_at_the_next_start(
    server: FakeBotApi, bot_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    user, assignment = await _self_assessment(server, sessions, 6303)
    proc = BotProcess(server, bot_settings, tmp_path)
    try:
        await proc.start()
        await user.send("/self")
        first = await user.expect(timeout=120)
        await eventually(lambda: _nothing_owed(sessions), timeout=120)
        for method in ("editMessageText", "sendMessage"):  # Telegram unreachable for replies
            server.fail_next(method, 500, SERVER_ERROR, times=10_000)
        await user.press(data_of(first, "fm1:v:")[0], first)
        await eventually(lambda: _answer_stored(sessions, assignment), timeout=120)
        await proc.stop()  # a clean stop waits for the handler (and its retries) to finish
        assert await _owed(sessions) == [(True, False)]  # the answer applied, its reply owed
        server.clear_faults()
        user.drain()
        await proc.start()
        again = await user.expect(timeout=120)  # recovery sends the prompt it is owed
        assert _is_question(again, first)
        await eventually(lambda: _nothing_owed(sessions), timeout=120)
        assert await _answers(sessions, assignment) == 1
    finally:
        await proc.stop()


async def _answer_stored(sessions: SessionFactory, assignment: int) -> bool:
    return await _answers(sessions, assignment) == 1


async def _owed_once(sessions: SessionFactory) -> bool:
    return await _owed(sessions) == [(True, False)]


async def test_a_dropped_connection_on_a_reply_is_retried(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    user = server.user(6304, language_code="zh-hans")
    server.drop_next("sendMessage")  # the network fails: no answer at all
    await user.send("/help")
    shown = await user.expect(timeout=120)
    assert "使用说明" in (shown.text or "")  # the help, not an apology
    await eventually(lambda: _nothing_owed(sessions), timeout=120)
    assert server.stats.requests["sendMessage"] == 2  # the dropped call and its retry
