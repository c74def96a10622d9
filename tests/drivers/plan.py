"""Drive the improvement-plan flow (``conversations.plan``) as its people do, through its codec.

``await plan.submit(me, plan_id, summary)`` instead of pressing ``"ip1:submit:12"``: a
changed button layout or callback format breaks no behaviour test.
"""

from __future__ import annotations

from typing import Any

from conversations.plan import (
    APPROVE,
    CB,
    CONFIRM,
    DONE,
    EDIT,
    FOR_RESULT,
    NOT_YET,
    OPEN,
    REPORT,
    REWRITE,
    SEND_BACK,
    SUBMIT,
)
from fakebotapi.sim import BotMessage, MessageRef, SimUser
from tests.drivers import has

__all__ = ["OPEN", "REPORT", "buttons", "has"]


def buttons(message: BotMessage) -> list[tuple[str, tuple[Any, ...]]]:
    """The plan buttons of a message as (action, arguments), e.g. ``("approve", (12, 1))``."""
    out = []
    for data in message.button_data():
        for action in CB.actions.values():
            parsed = action.parse(data)
            if parsed is not None:
                out.append((action.name, parsed))
    return out


async def open_from_result(user: SimUser, result_id: int, on: MessageRef = None) -> None:
    """改進計劃 under a published result."""
    await user.press(FOR_RESULT.data(result_id), on)


async def open(user: SimUser, plan_id: int, on: MessageRef = None) -> None:
    """A plan's button in a notice or a list."""
    await user.press(OPEN.data(plan_id), on)


async def edit(user: SimUser, plan_id: int, part: str, on: MessageRef = None) -> None:
    """✏️ one part of the draft: goals, measures, responsible or timeline."""
    await user.press(EDIT.data(plan_id, part), on)


async def confirm_milestones(user: SimUser, plan_id: int, on: MessageRef = None) -> None:
    await user.press(CONFIRM.data(plan_id), on)


async def rewrite_milestones(user: SimUser, plan_id: int, on: MessageRef = None) -> None:
    await user.press(REWRITE.data(plan_id), on)


async def submit(user: SimUser, plan_id: int, on: MessageRef = None) -> None:
    await user.press(SUBMIT.data(plan_id), on)


async def decide(
    user: SimUser, plan_id: int, round_: int, on: MessageRef = None, *, approve: bool
) -> None:
    """The approver's ✅ approve or ↩️ return (then a comment is asked) of a submission round."""
    action = APPROVE if approve else SEND_BACK
    await user.press(action.data(plan_id, round_), on)


async def report(user: SimUser, milestone_id: int, on: MessageRef = None) -> None:
    """📝 progress on a milestone."""
    await user.press(REPORT.data(milestone_id), on)


async def mark(user: SimUser, milestone_id: int, on: MessageRef = None, *, done: bool) -> None:
    """After a report: the milestone is done, or not yet."""
    await user.press((DONE if done else NOT_YET).data(milestone_id), on)
