"""績效改進計劃 in the chat: the author drafts (/plan), the approver decides, progress is reported.

The table in ``build_handler`` is the flow (drawn in ``plan.mmd``). Entry points are the
commands and every button that names its plan or milestone: such a button works from any
message at any time, because each press is checked again against the caller's rights and
the plan's status (``services.plans.PLAN``). The states are the author's text steps, the
milestones shown back (MS_CONFIRM), the draft's summary, the approver's comment, and the
author's progress report with "is it done?" (MARK); the buttons of MS_CONFIRM and MARK
count only there. A forged id or someone else's plan is refused and audited.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.callbacks import Callbacks
from chat.context import JxContext
from chat.flow import END, Flow, FlowTx, Position, Prompt, answer_query, reply, send_prompt
from conversations import cases as cc
from conversations.cases import env
from conversations.common import load_caller, now
from conversations.plan_screens import GONE, PROMPTS, State, list_prompt, view_prompt
from domain.enums import PlanStatus as Status
from domain.text import html_format
from infra.i18n import N_, Translator
from services import cases, official_calendar, plans
from services import plan_view as pv
from services.access import Actor
from services.errors import DomainError

CB = Callbacks("ip1", "plan")
# old=: the single letters of buttons sent before the codec, which keep working
FOR_RESULT = CB.action("for_result", int, old=("r",))  # a result's 改進計劃 button: result id
OPEN = CB.action("open", int, old=("o",))  # plan id: the author's draft or the approver's view
EDIT = CB.action("edit", int, str)  # plan id, the part (goals, measures, responsible, timeline)
SUMMARY = CB.action("summary", int)  # back to the draft's summary
CONFIRM = CB.action("confirm", int)  # MS_CONFIRM: the milestones shown back are right
REWRITE = CB.action("rewrite", int)  # MS_CONFIRM: … or are written again
SUBMIT = CB.action("submit", int)
# plan id and submission round: an older round's button cannot decide what changed since
APPROVE = CB.action("approve", int, int, old=("a",))
SEND_BACK = CB.action("send_back", int, int, old=("b",))
REPORT = CB.action("report", int, old=("m",))  # progress on a milestone: milestone id
DONE = CB.action("done", int)  # MARK: the milestone is done
NOT_YET = CB.action("not_yet", int)  # MARK: … not yet

FIXED = N_("The plan can no longer be changed.")
NOT_YOURS = N_("This button is not for you.")


def _today(context: JxContext) -> dt.date:
    return now(context).astimezone(context.services.settings.tz).date()


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    """The prompt of any state, from the database (next step, stale button, restart)."""
    try:
        view = await pv.load(session, int(pos.data["pid"]))
        show = PROMPTS[State(pos.state)]
        if pos.state == State.TIMELINE:  # it suggests dates: on the bureau's loaded calendar
            view = dataclasses.replace(view, calendar=await official_calendar.calendar(session))
    except (DomainError, KeyError, ValueError):
        return Prompt(tr._(GONE))
    return show(view, tr, pos, dt.datetime.now(tr.tz).date())


flow = Flow("plan", N_("the improvement plan"), render, prefix="ip1:")


# --- shared by the steps ---------------------------------------------------------------------


button = cc.guarded(flow, "improvement_plan", NOT_YOURS)  # a refusal says NOT_YOURS


async def _open(
    update: Update, context: JxContext, plan_id: int, note: str | None = None
) -> object:
    """The author's draft (where it stopped) or view, or the approver's (with the decision
    buttons); anyone else is refused."""
    tr, actor = await context.tr(update), await load_caller(update, context)
    async with context.services.reads() as session:
        view = await pv.load(session, plan_id)
        round_ = await cases.round_of(session, plans.PLAN, plan_id)
    mine = plans.AUTHOR.allows(actor, view.plan)
    if not mine and not plans.DECIDERS.allows(actor, view.plan):
        raise plans.Refused(pv.NOT_FOUND)
    async with flow.tx(update, context) as tx:
        if mine and view.plan.status in pv.EDITABLE:
            tx.goto(view.next_field() or State.SUMMARY, pid=plan_id)
        else:
            tx.end()
    await answer_query(update, note and tr._(note))
    if tx.state != END:
        await flow.show(update, context, edit=False)
    else:
        prompt = view_prompt(view, actor, tr, round_, _today(context))
        await send_prompt(update, context, prompt, edit=False)
    return tx.state


async def _drafting(update: Update, context: JxContext, plan_id: int) -> Actor | None:
    """The author of this draft; None when the plan is no longer a draft (its view is shown)."""
    actor = await load_caller(update, context)
    async with context.services.reads() as session:
        view = await pv.load(session, plan_id)
    if not plans.AUTHOR.allows(actor, view.plan):
        raise plans.Refused(pv.NOT_FOUND)
    if view.plan.status not in pv.EDITABLE:
        await _open(update, context, plan_id, note=FIXED)
        return None
    return actor


async def _draft(update: Update, context: JxContext, plan_id: int, state: str) -> object:
    """A button on the author's draft that moves to ``state``."""
    if await _drafting(update, context, plan_id) is None:
        return END
    return await cc.goto(flow, update, context, state, None, pid=plan_id)


async def _in_step(update: Update, context: JxContext, key: str, ident: int) -> bool:
    """Whether the stored position is about this plan (``pid``) or milestone (``mid``)."""
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    return pos is not None and int(pos.data.get(key, 0)) == ident


# --- commands ------------------------------------------------------------------------------


async def _listing(
    update: Update, context: JxContext, views: list[pv.PlanView], title: str, empty: str
) -> object:
    """Plans by cycle and unit, a button each; navigating ends any pending text step."""
    prompt = list_prompt(views, await context.tr(update), _today(context), title, empty)
    return await cc.show(flow, update, context, prompt)


@flow.step
async def plan_command(update: Update, context: JxContext) -> object:
    """/plan: the caller's own plan (opened at once when there is one to work on), or a list."""
    tr, actor = await context.tr(update), await load_caller(update, context)
    if actor.staff is None:
        await reply(
            update,
            tr._(
                "This is for bureau staff with a linked account. Open the invite link from the evaluation working group first."
            ),
        )
        return END
    async with context.services.reads() as session:
        mine = await pv.plans_of(session, author=actor.staff.id)
        approving = await pv.plans_of(session, approver=actor.staff.id)
    working = [v for v in mine if v.plan.status != Status.DONE]
    if len(working) == 1:
        return await _open(update, context, working[0].id)
    empty = tr._("You have no improvement plan to write.")
    if approving or actor.is_admin:
        empty += " " + tr._("Send /plans to see the plans you approve.")
    return await _listing(update, context, mine, tr._("Your improvement plans"), empty)


@flow.step
async def plans_command(update: Update, context: JxContext) -> object:
    """/plans: every plan by unit for the working group; the approver's own plans otherwise."""
    tr, actor = await context.tr(update), await load_caller(update, context)
    async with context.services.reads() as session:
        if actor.is_admin:
            views = await pv.plans_of(session)
        elif actor.staff is not None:
            views = await pv.plans_of(session, approver=actor.staff.id)
        else:
            views = []
    if actor.is_admin:
        title, empty = tr._("Improvement plans"), tr._("There are no improvement plans yet.")
    else:
        title = tr._("Plans you approve")
        empty = tr._("You do not approve any improvement plans. Your own plan: /plan")
    return await _listing(update, context, views, title, empty)


# --- buttons that name their plan: entry points --------------------------------------------


@button
async def from_result(update: Update, context: JxContext) -> object:
    """The 改進計劃 button under a published result."""
    (result_id,) = FOR_RESULT.args(update)
    async with context.services.reads() as session:
        plan = await pv.plan_for_result(session, result_id)
    if plan is None:
        raise plans.Refused(pv.NOT_FOUND)
    return await _open(update, context, plan.id)


@button
async def open_plan(update: Update, context: JxContext) -> object:
    """A plan from a notice or a list."""
    (plan_id,) = OPEN.args(update)
    return await _open(update, context, plan_id)


@button
async def edit(update: Update, context: JxContext) -> object:
    """The author rewrites one part of the draft."""
    plan_id, field = EDIT.args(update)
    if field not in pv.FIELDS:
        return await flow._stale_button(update, context)
    return await _draft(update, context, plan_id, field)


@button
async def to_summary(update: Update, context: JxContext) -> object:
    (plan_id,) = SUMMARY.args(update)
    return await _draft(update, context, plan_id, State.SUMMARY)


async def _shown(
    update: Update, context: JxContext, view: pv.PlanView, answer: str, line: str
) -> None:
    """After submitting or deciding: the plan as it is now, and what happens next."""
    context.services.outbox_wake()
    tr = await context.tr(update)
    await answer_query(update, tr._(answer))
    text = pv.plan_text(view, tr, today=_today(context))
    await send_prompt(update, context, Prompt(text + "\n\n" + line))


@button
async def submit(update: Update, context: JxContext) -> object:
    """The author hands the plan to the approver (or the working group)."""
    (plan_id,) = SUBMIT.args(update)
    actor = await _drafting(update, context, plan_id)
    if actor is None:
        return END
    tr, today = await context.tr(update), _today(context)
    async with flow.tx(update, context) as tx:
        view = await plans.submit(
            tx.session, plan_id, actor=actor, today=today, now=now(context), env=env(context)
        )
        tx.end()
    told = html_format(
        tr._("Submitted to {approver} for approval. You will be told of the decision."),
        approver=pv.approver(view, tr),
    )
    await _shown(update, context, view, N_("Submitted."), told)
    return tx.state


@button
async def approve(update: Update, context: JxContext) -> object:
    """The approver (or the working group) approves the round the button names."""
    plan_id, round_ = APPROVE.args(update)
    tr, actor = await context.tr(update), await load_caller(update, context)
    async with flow.tx(update, context) as tx:
        view = await plans.approve(
            tx.session, plan_id, round_, actor=actor, now=now(context), env=env(context)
        )
    await _shown(
        update, context, view, N_("Plan approved."), tr._("✅ Approved. The author has been told.")
    )
    return tx.state


@button
async def send_back(update: Update, context: JxContext) -> object:
    """退回: ask for the comment (a text step; the decision is checked again when it comes)."""
    plan_id, round_ = SEND_BACK.args(update)
    actor = await load_caller(update, context)
    async with context.services.reads() as session:
        await plans.check_decision(session, plan_id, round_, actor)
    return await cc.goto(flow, update, context, State.COMMENT, pid=plan_id, round=round_)


@button
async def report(update: Update, context: JxContext) -> object:
    """Progress on a milestone of an approved plan: ask for the report."""
    (milestone_id,) = REPORT.args(update)
    actor = await load_caller(update, context)
    async with context.services.reads() as session:
        view, _found = await plans.open_milestone(session, milestone_id, actor)
    return await cc.goto(flow, update, context, State.PROGRESS, pid=view.id, mid=milestone_id)


# --- buttons of one state ------------------------------------------------------------------


@button
async def confirm_milestones(update: Update, context: JxContext) -> object:
    """MS_CONFIRM: the milestones shown back are saved (checked again: it may be a day later)."""
    (plan_id,) = CONFIRM.args(update)
    if not await _in_step(update, context, "pid", plan_id):
        return await flow._stale_button(update, context)
    actor = await _drafting(update, context, plan_id)
    if actor is None:
        return END
    async with flow.tx(update, context) as tx:
        pos = await flow.position(tx.session, update)
        items = [(dt.date.fromisoformat(d), t) for d, t in (pos.data if pos else {}).get("ms", [])]
        view = await plans.save_milestones(
            tx.session, plan_id, items, actor=actor, today=_today(context), now=now(context)
        )
        tx.goto(view.next_field() or State.SUMMARY, pid=plan_id)
    await answer_query(update, (await context.tr(update))._("Saved."))
    await flow.show(update, context)
    return tx.state


@button
async def rewrite_milestones(update: Update, context: JxContext) -> object:
    """MS_CONFIRM: write the milestones again."""
    (plan_id,) = REWRITE.args(update)
    if not await _in_step(update, context, "pid", plan_id):
        return await flow._stale_button(update, context)
    return await _draft(update, context, plan_id, State.TIMELINE)


async def _marked(update: Update, context: JxContext, milestone_id: int, done: bool) -> object:
    """MARK: the milestone is done (the plan too when it was the last), or stays open."""
    tr, actor = await context.tr(update), await load_caller(update, context)
    async with context.services.reads() as session:
        view, _found = await plans.open_milestone(session, milestone_id, actor)
    if not await _in_step(update, context, "mid", milestone_id):
        return await flow._stale_button(update, context)
    async with flow.tx(update, context) as tx:
        if done:
            view = await plans.mark_done(
                tx.session, milestone_id, actor=actor, now=now(context), env=env(context)
            )
        else:
            view = await pv.load(tx.session, view.id)
        tx.end()
    context.services.outbox_wake()
    if not done:
        note = N_("Your progress is saved; the milestone stays open.")
    elif view.plan.status == Status.DONE:
        note = N_("Every milestone is done: the plan is complete. The approver has been told.")
    else:
        note = N_("Milestone marked as done.")
    await answer_query(update, tr._("Marked as done.") if done else tr._("Saved."))
    prompt = view_prompt(view, actor, tr, 0, _today(context))
    await send_prompt(update, context, Prompt(tr._(note) + "\n\n" + prompt.text, prompt.markup))
    return tx.state


@button
async def mark_done(update: Update, context: JxContext) -> object:
    (milestone_id,) = DONE.args(update)
    return await _marked(update, context, milestone_id, done=True)


@button
async def not_yet(update: Update, context: JxContext) -> object:
    (milestone_id,) = NOT_YET.args(update)
    return await _marked(update, context, milestone_id, done=False)


# --- text steps ----------------------------------------------------------------------------

text_step = functools.partial(cc.text_step, flow, object_type="improvement_plan", key="pid")


@text_step(lambda text, pos, _c: pv.check_text(text, pv.LIMITS[pos.state]))
async def write_field(tx: FlowTx, actor: Actor, pos: Position, value: str, c: JxContext) -> None:
    """Goals, measures or the responsible person (the state names the part)."""
    pid = int(pos.data["pid"])
    view = await plans.save_field(tx.session, pid, pos.state, value, actor=actor, now=now(c))
    tx.goto(view.next_field() or State.SUMMARY, pid=pid)


@text_step(lambda text, _p, c: plans.parse_milestones(text, _today(c)))
async def write_milestones(
    tx: FlowTx, actor: Actor, pos: Position, items: Any, c: JxContext
) -> None:
    """Dated lines, shown back for confirmation (MS_CONFIRM) before they are saved."""
    pid = int(pos.data["pid"])
    plans.check_editable(await pv.load(tx.session, pid), actor)
    tx.goto(State.MS_CONFIRM, pid=pid, ms=[[d.isoformat(), t] for d, t in items])


@text_step(lambda text, _p, _c: pv.check_text(text, pv.MAX_COMMENT))
async def write_comment(tx: FlowTx, actor: Actor, pos: Position, value: str, c: JxContext) -> str:
    """The approver's reason for sending the plan back; the decision is taken now."""
    pid, round_ = int(pos.data["pid"]), int(pos.data.get("round", 0))
    await plans.send_back(tx.session, pid, round_, value, actor=actor, now=now(c), env=env(c))
    tx.end()
    return N_("Returned to the author with your comment.")


@text_step(lambda text, _p, _c: pv.check_text(text, pv.MAX_PROGRESS))
async def write_progress(tx: FlowTx, actor: Actor, pos: Position, value: str, c: JxContext) -> None:
    """The author's progress on a milestone, then: is it done (MARK)?"""
    mid = int(pos.data.get("mid", 0))
    await plans.report_progress(tx.session, mid, value, actor=actor, now=now(c), env=env(c))
    tx.goto(State.MARK, pid=int(pos.data["pid"]), mid=mid)


def build_handler() -> ConversationHandler[Any]:
    text = functools.partial(MessageHandler, F.TEXT & ~F.COMMAND & ~F.UpdateType.EDITED)
    return flow.handler(
        entry_points=[
            CommandHandler("plan", plan_command),
            CommandHandler("plans", plans_command),
            FOR_RESULT.handler(from_result),
            OPEN.handler(open_plan),
            EDIT.handler(edit),
            SUMMARY.handler(to_summary),
            SUBMIT.handler(submit),
            APPROVE.handler(approve),
            SEND_BACK.handler(send_back),
            REPORT.handler(report),
        ],
        states={
            State.GOALS: [text(write_field)],
            State.MEASURES: [text(write_field)],
            State.RESPONSIBLE: [text(write_field)],
            State.TIMELINE: [text(write_milestones)],
            State.MS_CONFIRM: [
                CONFIRM.handler(confirm_milestones),
                REWRITE.handler(rewrite_milestones),
            ],
            State.SUMMARY: [],  # its buttons name the plan: entry points, usable from anywhere
            State.COMMENT: [text(write_comment)],
            State.PROGRESS: [text(write_progress)],
            State.MARK: [DONE.handler(mark_done), NOT_YET.handler(not_yet)],
        },
    )
