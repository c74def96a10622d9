"""The leadership group's 审定 in the chat: approving scored results, or sending them back.

A request for approval (``services.result_review``, pushed through the outbox) carries the
``rv1:approve|send_back:<cycle>:<round>`` buttons defined here. Sending back needs a
comment, a text step in a restart-safe flow (``rv1:``, drawn in ``result_review.mmd``).
It is a flow of its own, apart from ``conversations.results`` (scoring, the overview and
every person's 为什么 and 历史), because only it keeps state between messages.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.callbacks import Callbacks
from chat.context import JxContext
from chat.flow import END, Flow, Position, Prompt, answer_query, reply, send_prompt
from conversations.common import load_caller, now, pressed
from domain.enums import CyclePhase
from domain.text import html_format
from infra.i18n import N_, Translator
from infra.models import Cycle
from services import result_review
from services.errors import DomainError
from services.notices import Localization


class State(StrEnum):
    COMMENT = "comment"  # a leadership member writes why the results go back


REVIEW = Callbacks("rv1", "result_review")  # under a request for approval (审定)
APPROVE = REVIEW.action("approve", int, int)  # rv1:approve:<cycle id>:<review round>
SEND_BACK = REVIEW.action("send_back", int, int)  # rv1:send_back:<cycle id>:<review round>
OLD_APPROVE = REVIEW.action("ok", int, int)  # as queued before the actions had names
OLD_SEND_BACK = REVIEW.action("no", int, int)


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    cycle = await session.get(Cycle, int(pos.data["cycle"]))
    return Prompt(
        html_format(
            tr._(
                "Why do you send the {period} results back? Please write your comment; the working group will see it."
            ),
            period=tr.period(cycle.period) if cycle else "",
        )
    )


flow = Flow("result_review", N_("the approval of results"), render, prefix="rv1:")


@flow.step
async def approve(update: Update, context: JxContext) -> object:
    """A leadership member approves the results shown (the 组长's approval publishes them)."""
    cycle_id, round_ = pressed(update, APPROVE, OLD_APPROVE)
    if not await may_decide(update, context, cycle_id, round_):
        return END
    return await decide(update, context, cycle_id, approve=True, comment="", round_=round_)


@flow.step
async def send_back(update: Update, context: JxContext) -> object:
    """A leadership member sends the results back: first the comment, as a text step."""
    cycle_id, round_ = pressed(update, SEND_BACK, OLD_SEND_BACK)
    if not await may_decide(update, context, cycle_id, round_):
        return END
    async with flow.tx(update, context) as tx:
        tx.goto(State.COMMENT, cycle=cycle_id, round=round_)
    await answer_query(update)
    await flow.show(update, context, edit=False)
    return tx.state


async def may_decide(update: Update, context: JxContext, cycle_id: int, round_: int) -> bool:
    """A bound member pressing a button of the round now waiting (the service checks roles)."""
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    if actor.staff is None:
        await answer_query(
            update, tr._("Only members of the leadership group can approve results."), alert=True
        )
        return False
    async with context.services.reads() as session:
        cycle = await session.get(Cycle, cycle_id)
        decided = await result_review.review_decision(session, cycle, round_) if cycle else None
    if decided is not None:  # a copy not yet edited: who decided, and when; nothing changes
        await answer_query(update, decided.plain(tr), alert=True)
        return False
    if cycle is None or cycle.review_round != round_ or cycle.phase != CyclePhase.REVIEW:
        await answer_query(update, tr._("This button has expired. Here is where you are now."))
        return False
    return True


async def decide(
    update: Update,
    context: JxContext,
    cycle_id: int,
    *,
    approve: bool,
    comment: str,
    round_: int | None,
) -> object:
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    settings = context.services.settings
    try:
        async with flow.tx(update, context) as tx:
            cycle = await tx.session.get(Cycle, cycle_id)
            assert cycle is not None and actor.staff is not None
            published = await result_review.review(
                tx.session,
                cycle,
                staff_id=actor.staff.id,
                approve=approve,
                comment=comment,
                now=now(context),
                admin_ids=settings.admin_id_set,
                quorum=settings.approval_quorum,
                appeal_days=settings.appeal_days,
                round_=round_,
                plan_threshold=settings.plan_threshold,
                local=Localization.of(settings),
                decider_chat=actor.telegram_id if update.callback_query else None,
            )
            tx.end()
    except DomainError as exc:
        await answer_query(update, exc.plain(tr), alert=True)
        if update.message:
            await reply(update, exc.render(tr))
        return END
    context.services.outbox_wake()
    await answer_query(update)
    if not approve:
        text = tr._("Sent back to the working group with your comment.")
    elif published:
        text = tr._("Approved. The results are published; everyone receives theirs now.")
    else:
        text = tr._(
            "Your approval is recorded. The results are published once the group leader approves."
        )
    await send_prompt(update, context, Prompt(text))
    return END


@flow.step
async def comment_text(update: Update, context: JxContext) -> object:
    """The comment that goes back to the working group with the results."""
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    if pos is None:
        return END
    text = (update.message.text or "").strip() if update.message else ""
    if not text or len(text) > 1000:
        tr = await context.tr(update)
        await reply(update, tr._("Please write a comment of at most 1000 characters."))
        return None
    return await decide(
        update,
        context,
        int(pos.data["cycle"]),
        approve=False,
        comment=text,
        round_=int(pos.data.get("round", -1)),  # the round the comment was started for
    )


def build_handler() -> ConversationHandler:
    return flow.handler(
        entry_points=[
            APPROVE.handler(approve),
            SEND_BACK.handler(send_back),
            OLD_APPROVE.handler(approve),
            OLD_SEND_BACK.handler(send_back),
        ],
        states={State.COMMENT: [MessageHandler(F.TEXT & ~F.COMMAND, comment_text)]},
    )
