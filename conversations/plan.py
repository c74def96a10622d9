"""績效改進計劃 in the chat: the author drafts (/plan), the approver decides, progress is reported.

States (text steps and the screens whose buttons depend on the stored position):
GOALS, MEASURES, RESPONSIBLE, TIMELINE (the author's text steps), MS_CONFIRM (the parsed
milestones shown back for confirmation), SUMMARY (the whole plan with edit buttons and
submit), COMMENT (the approver's reason for sending back), PROGRESS (the author's report
on a milestone), MARK (is the milestone done?). A plan's view, the lists (/plan with
several plans, /plans) are plain messages.

Callback data ``ip1:<action>:<id>[:<extra>]``: ``r`` a result's 改進計劃 button (result id),
``o`` open a plan, ``e`` edit a field (``g``/``m``/``p``/``t``), ``v`` the summary, ``y``/``n``
confirm or rewrite the milestones, ``s`` submit, ``a``/``b`` approve or send back (with the
submission round, so an older round's button cannot approve what changed since), ``m``
report progress on a milestone, ``d``/``k`` it is done / not yet, ``l`` the author's list.
Every press is re-checked against the caller's rights and the plan's status; a forged id,
or someone else's plan, is refused politely and audited as ``access.denied``.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.context import JxContext
from chat.flow import CANCELLED_HINT, END, Flow, Position, Prompt, answer_query, reply, send_prompt
from conversations.common import audit_actor, html, keyboard, load_caller, now
from domain.enums import PlanStatus
from domain.text import MESSAGE_LIMIT, clip, clip_html, html_format
from infra.i18n import N_, Translator
from services import plans
from services.access import Actor
from services.audit import audit
from services.errors import DomainError

GOALS, MEASURES, RESPONSIBLE, TIMELINE = (
    plans.GOALS,
    plans.MEASURES,
    plans.RESPONSIBLE,
    plans.TIMELINE,
)
MS_CONFIRM, SUMMARY, COMMENT, PROGRESS, MARK = (
    "ms_confirm",
    "summary",
    "comment",
    "progress",
    "mark",
)
TEXT_FIELDS = (GOALS, MEASURES, RESPONSIBLE)
FIELD_CODES = {"g": GOALS, "m": MEASURES, "p": RESPONSIBLE, "t": TIMELINE}
DATA = re.compile(r"^ip1:([roevynsabmdkl]):(\d{1,12})(?::([a-z]|\d{1,6}))?$")
Status = PlanStatus
ASK = {
    GOALS: N_(
        "Please write the improvement goals: what is to be better, and how it is measured (up to {limit} characters)."
    ),
    MEASURES: N_(
        "Please write the improvement measures: what will be done, and how (up to {limit} characters)."
    ),
    RESPONSIBLE: N_(
        "Who is responsible for carrying out the plan? Please write the name (up to {limit} characters)."
    ),
}


def _today(context: JxContext) -> dt.date:
    return now(context).astimezone(context.services.settings.tz).date()


def _edit_rows(tr: Translator, plan_id: int) -> list[list[tuple[str, str]]]:
    return [
        [
            (tr._("✏️ Goals"), f"ip1:e:{plan_id}:g"),
            (tr._("✏️ Measures"), f"ip1:e:{plan_id}:m"),
        ],
        [
            (tr._("✏️ Responsible person"), f"ip1:e:{plan_id}:p"),
            (tr._("✏️ Milestones"), f"ip1:e:{plan_id}:t"),
        ],
    ]


# --- showing -----------------------------------------------------------------------------


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    """The prompt of any state, from the database (next step, stale button, restart)."""
    try:
        view = await plans.load(session, int(pos.data["pid"]))
    except (DomainError, KeyError, ValueError):
        return Prompt(tr._("This improvement plan no longer exists. Send /cancel to stop."))
    today = dt.datetime.now(tr.tz).date()
    plan = view.plan
    back = (
        [[(tr._("« Back to the summary"), f"ip1:v:{plan.id}")]]
        if plan.status in plans.EDITABLE and view.next_field() is None
        else []
    )
    head: str = html_format(
        tr._("<b>Improvement plan</b> · {subject} · {period}"),
        subject=view.subject_name,
        period=view.period,
    )
    if plan.status == Status.RETURNED and plan.comment and pos.state in (*plans.FIELDS, SUMMARY):
        head += "\n" + html_format(tr._("<b>Returned:</b> {comment}"), comment=plan.comment)
    hint = tr._(CANCELLED_HINT)
    if pos.state in TEXT_FIELDS:
        current = getattr(plan, pos.state)
        lines = [head, ""]
        if current:
            lines += [html_format(tr._("Now: {text}"), text=_short(current, 1500)), ""]
        ask = html_format(tr._(ASK[pos.state]), limit=plans.LIMITS[pos.state])
        lines += [f"<b>{ask}</b>", hint]
        return Prompt("\n".join(lines), keyboard(*back) if back else None)
    if pos.state == TIMELINE:
        lines = [head, ""]
        if view.milestones:
            lines += [
                tr._("Now:"),
                plans.milestones_text([(m.due, m.text) for m in view.milestones]),
                "",
            ]
        first, second = today + dt.timedelta(days=30), today + dt.timedelta(days=75)
        lines += [
            "<b>"
            + tr._(
                "Please write the milestones, one per line: a date, then what is done by then. For example:"
            )
            + "</b>",
            html_format(tr._("{date} Revise the unit's emergency plan"), date=first.isoformat()),
            html_format(tr._("{date} Hold a drill and review it"), date=second.isoformat()),
            tr._("At least one; dates in the future, earliest first."),
            hint,
        ]
        return Prompt("\n".join(lines), keyboard(*back) if back else None)
    if pos.state == MS_CONFIRM:
        items = [(dt.date.fromisoformat(d), t) for d, t in pos.data.get("ms", [])]
        text = "\n".join(
            [head, "", tr._("<b>Please check the milestones:</b>"), plans.milestones_text(items)]
        )
        return Prompt(
            text,
            keyboard(
                [(tr._("✅ Confirm"), f"ip1:y:{plan.id}")],
                [(tr._("✏️ Write them again"), f"ip1:n:{plan.id}")],
            ),
        )
    if pos.state == SUMMARY:
        return summary_prompt(view, tr, today)
    if pos.state == COMMENT:
        ask = html_format(
            tr._(
                "What should be changed? Please write your comment for the author (required, up to {limit} characters)."
            ),
            limit=plans.MAX_COMMENT,
        )
        return Prompt(
            "\n".join([plans.plan_text(view, tr, today=today), "", f"<b>{ask}</b>", hint])
        )
    found = next((m for m in view.milestones if m.id == int(pos.data.get("mid", 0))), None)
    if found is None:
        return Prompt(tr._("This improvement plan no longer exists. Send /cancel to stop."))
    lines = [head, "", plans.milestone_line(found, tr, today)]
    if found.progress:
        lines.append(tr._("Reported so far:") + "\n" + html(_short(found.progress, 1500)))
    if pos.state == PROGRESS:
        ask = html_format(
            tr._("Please write the progress on this milestone (up to {limit} characters)."),
            limit=plans.MAX_PROGRESS,
        )
        return Prompt("\n".join([*lines, "", f"<b>{ask}</b>", hint]))
    lines += ["", "<b>" + tr._("Is this milestone done?") + "</b>"]
    return Prompt(
        "\n".join(lines),
        keyboard(
            [(tr._("✅ Done"), f"ip1:d:{found.id}")],
            [(tr._("Not yet"), f"ip1:k:{found.id}")],
        ),
    )


def summary_prompt(view: plans.PlanView, tr: Translator, today: dt.date) -> Prompt:
    text = plans.plan_text(view, tr, today=today)
    if view.plan.status not in plans.EDITABLE:
        return Prompt(text)
    missing = view.missing()
    rows = _edit_rows(tr, view.id)
    if missing:
        text += "\n\n" + html_format(
            tr._("Still to write: {parts}"),
            parts=("、" if tr.locale != "en" else ", ").join(
                tr._(plans.FIELD_LABELS[f]) for f in missing
            ),
        )
    else:
        text += "\n\n" + tr._("Check the plan; change any part, then submit it for approval.")
        rows.append([(tr._("📤 Submit for approval"), f"ip1:s:{view.id}")])
    return Prompt(text, keyboard(*rows))


def view_prompt(
    view: plans.PlanView, actor: Actor, tr: Translator, round_: int, today: dt.date
) -> Prompt:
    """A plan as its author (tracking), its approver or the working group sees it."""
    plan = view.plan
    text = plans.plan_text(view, tr, today=today, progress=True)
    rows: list[list[tuple[str, str]]] = []
    if plans.is_author(plan, actor):
        if plan.status == Status.SUBMITTED:
            text += "\n\n" + tr._("Submitted; waiting for approval.")
        elif plan.status == Status.APPROVED:
            text += "\n\n" + tr._("Tap a milestone to report progress on it.")
            for m in view.milestones:
                if m.done_at is None:
                    rows.append([(f"📝 {m.due.isoformat()} {_short(m.text, 24)}", f"ip1:m:{m.id}")])
        elif plan.status == Status.DONE:
            text += "\n\n" + tr._("Every milestone is done. Well done! 👍")
    elif plans.may_decide(plan, actor) and plan.status == Status.SUBMITTED:
        rows += [
            [(tr._("✅ Approve the plan"), f"ip1:a:{plan.id}:{round_}")],
            [(tr._("↩️ Return with a comment"), f"ip1:b:{plan.id}:{round_}")],
        ]
    return Prompt(text, keyboard(*rows) if rows else None)


def list_prompt(views: list[plans.PlanView], tr: Translator, today: dt.date, title: str) -> Prompt:
    """Plans grouped by cycle and unit, each with its status, and a button to open it."""
    lines = [f"<b>{title}</b>"]
    rows: list[list[tuple[str, str]]] = []
    for period, unit, group in plans.by_unit(views):
        lines += ["", f"<b>{period} · {html(unit)}</b>"]
        for view in group:
            lines.append(plans.overview_line(view, tr, today))
            if len(rows) < 40:
                rows.append(
                    [(f"{view.period} {_short(view.subject_name, 24)}", f"ip1:o:{view.id}")]
                )
    text = clip_html("\n".join(lines), MESSAGE_LIMIT)
    return Prompt(text, keyboard(*rows) if rows else None)


flow = Flow("plan", N_("the improvement plan"), render, prefix="ip1:")


# --- commands ------------------------------------------------------------------------------


async def _leave(update: Update, context: JxContext) -> object:
    """Navigating ends any pending text step, so stray text is not taken as an answer."""
    async with flow.tx(update, context) as tx:
        tx.end()
    return tx.state


@flow.step
async def plan_command(update: Update, context: JxContext) -> object:
    """/plan: the caller's own plan (opened at once when there is one to work on), or a list."""
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    if actor.staff is None:
        await reply(
            update,
            tr._(
                "This is for bureau staff with a linked account. Open the invite link from the evaluation working group first."
            ),
        )
        return END
    async with context.services.reads() as session:
        mine = await plans.authored_by(session, actor.staff.id)
        approving = await plans.approved_by(session, actor.staff.id)
    working = [v for v in mine if v.plan.status != Status.DONE]
    if len(working) == 1:
        return await _open_as_author(update, context, working[0].id, edit=False)
    state = await _leave(update, context)
    if not mine:
        text = tr._("You have no improvement plan to write.")
        if approving or actor.is_admin:
            text += " " + tr._("Send /plans to see the plans you approve.")
        await reply(update, text)
        return state
    prompt = list_prompt(mine, tr, _today(context), tr._("Your improvement plans"))
    await reply(update, prompt.text, prompt.markup)
    return state


@flow.step
async def plans_command(update: Update, context: JxContext) -> object:
    """/plans: every plan by unit for the working group; the approver's own plans otherwise."""
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    async with context.services.reads() as session:
        if actor.is_admin:
            views = await plans.every_plan(session)
        elif actor.staff is not None:
            views = await plans.approved_by(session, actor.staff.id)
        else:
            views = []
    state = await _leave(update, context)
    if not views:
        text = (
            tr._("There are no improvement plans yet.")
            if actor.is_admin
            else tr._("You do not approve any improvement plans. Your own plan: /plan")
        )
        await reply(update, text)
        return state
    title = tr._("Improvement plans") if actor.is_admin else tr._("Plans you approve")
    prompt = list_prompt(views, tr, _today(context), title)
    await reply(update, prompt.text, prompt.markup)
    return state


# --- buttons -------------------------------------------------------------------------------


async def _refuse(update: Update, context: JxContext, ref: str, action: str) -> object:
    """A forged or foreign id: change nothing, audit, say so politely."""
    actor = await load_caller(update, context)
    async with context.transaction() as session:
        await audit(
            session,
            "access.denied",
            **audit_actor(context, actor),
            object_type="improvement_plan",
            object_id=ref[:64],
            detail={"action": action[:64]},
        )
    tr = await context.tr(update)
    if update.callback_query is not None:
        await answer_query(update, tr._("This button is not for you."), alert=True)
    else:
        await reply(update, tr._("Sorry, this improvement plan is not yours to change."))
    return None


async def _open_as_author(
    update: Update,
    context: JxContext,
    plan_id: int,
    *,
    edit: bool | None = None,
    note: str | None = None,
) -> object:
    """A draft continues where it stopped; a submitted or approved plan shows its view."""
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    async with flow.tx(update, context) as tx:
        view = await plans.load(tx.session, plan_id)
        if view.plan.status in plans.EDITABLE:
            tx.goto(view.next_field() or SUMMARY, pid=plan_id)
        else:
            tx.end()
            prompt = view_prompt(view, actor, tr, 0, _today(context))
    await answer_query(update, note)
    if tx.state == END:
        await send_prompt(update, context, prompt, edit=edit)
    else:
        await flow.show(update, context, edit=edit)
    return tx.state


async def _open(update: Update, context: JxContext, actor: Actor, plan_id: int, ref: str) -> object:
    async with context.services.reads() as session:
        try:
            view = await plans.load(session, plan_id)
        except DomainError:
            return await _refuse(update, context, ref, "open")
        round_ = await plans.submission_round(session, plan_id)
    if plans.is_author(view.plan, actor):
        return await _open_as_author(update, context, plan_id, edit=False)
    if not plans.may_decide(view.plan, actor):
        return await _refuse(update, context, ref, "open")
    tr = await context.tr(update)
    state = await _leave(update, context)
    await answer_query(update)
    await send_prompt(
        update, context, view_prompt(view, actor, tr, round_, _today(context)), edit=False
    )
    return state


@flow.step
async def on_button(update: Update, context: JxContext) -> object:
    query = update.callback_query
    assert query is not None
    data = query.data or ""
    match = DATA.match(data)
    if match is None:
        return await flow._stale_button(update, context)
    action, ref, extra = match.group(1), match.group(2), match.group(3)
    ident = int(ref)
    tr = await context.tr(update)
    actor = await load_caller(update, context)
    try:
        if action == "l":
            return await _my_list(update, context, actor)
        if action == "r":
            return await _from_result(update, context, actor, ident, data)
        if action == "o":
            return await _open(update, context, actor, ident, data)
        if action in ("m", "d", "k"):
            return await _milestone_button(update, context, actor, action, ident)
        if action in ("a", "b"):
            if extra is None or not extra.isdigit():
                return await flow._stale_button(update, context)
            return await _decide_button(update, context, actor, action, ident, int(extra))
        return await _author_button(update, context, actor, action, ident, extra)
    except plans.Refused:
        return await _refuse(update, context, ref, data)
    except DomainError as exc:
        await answer_query(update, exc.plain(tr), alert=True)
        return None


async def _my_list(update: Update, context: JxContext, actor: Actor) -> object:
    tr = await context.tr(update)
    if actor.staff is None:
        raise plans.Refused()
    async with context.services.reads() as session:
        mine = await plans.authored_by(session, actor.staff.id)
    state = await _leave(update, context)
    await answer_query(update)
    if not mine:
        await reply(update, tr._("You have no improvement plan to write."))
    else:
        prompt = list_prompt(mine, tr, _today(context), tr._("Your improvement plans"))
        await send_prompt(update, context, prompt)
    return state


async def _from_result(
    update: Update, context: JxContext, actor: Actor, result_id: int, data: str
) -> object:
    """The 改進計劃 button under a published result."""
    async with context.services.reads() as session:
        plan = await plans.plan_for_result(session, result_id)
    if plan is None or not plans.may_view(plan, actor):
        return await _refuse(update, context, str(result_id), data)
    return await _open(update, context, actor, plan.id, data)


async def _author_button(
    update: Update, context: JxContext, actor: Actor, action: str, plan_id: int, extra: str | None
) -> object:
    """Edit a field, the summary, confirm or rewrite milestones, submit: the author's draft."""
    tr = await context.tr(update)
    async with context.services.reads() as session:
        view = await plans.load(session, plan_id)
        pos = await flow.position(session, update)
    if not plans.is_author(view.plan, actor):
        raise plans.Refused()
    if view.plan.status not in plans.EDITABLE:
        return await _open_as_author(
            update, context, plan_id, edit=False, note=tr._("The plan can no longer be changed.")
        )
    in_step = pos is not None and int(pos.data.get("pid", 0)) == plan_id
    if action in ("y", "n") and not (in_step and pos is not None and pos.state == MS_CONFIRM):
        return await flow._stale_button(update, context)
    if action == "s":
        return await _submit(update, context, actor, plan_id)
    field = FIELD_CODES.get(extra or "")
    if action == "e" and field is None:
        return await flow._stale_button(update, context)
    async with flow.tx(update, context) as tx:
        if action == "e":
            assert field is not None
            tx.goto(field, pid=plan_id)
        elif action == "v":
            tx.goto(SUMMARY, pid=plan_id)
        elif action == "n":
            tx.goto(TIMELINE, pid=plan_id)
        else:  # "y": the milestones shown back are confirmed
            assert pos is not None
            items = [(dt.date.fromisoformat(d), t) for d, t in pos.data.get("ms", [])]
            view = await plans.save_milestones(
                tx.session, plan_id, items, actor=actor, today=_today(context), now=now(context)
            )
            tx.goto(view.next_field() or SUMMARY, pid=plan_id)
    await answer_query(update, tr._("Saved.") if action == "y" else None)
    await flow.show(update, context)
    return tx.state


async def _submit(update: Update, context: JxContext, actor: Actor, plan_id: int) -> object:
    tr = await context.tr(update)
    async with flow.tx(update, context) as tx:
        view = await plans.submit(
            tx.session, plan_id, actor=actor, today=_today(context), now=now(context)
        )
        tx.end()
    context.services.outbox_wake()
    approver = (
        html(view.approver_name) if view.approver_name else tr._("the evaluation working group")
    )
    await answer_query(update, tr._("Submitted."))
    text = plans.plan_text(view, tr, today=_today(context))
    await send_prompt(
        update,
        context,
        Prompt(
            text
            + "\n\n"
            + html_format(
                tr._("Submitted to {approver} for approval. You will be told of the decision."),
                approver=approver,
            )
        ),
    )
    return tx.state


async def _decide_button(
    update: Update, context: JxContext, actor: Actor, action: str, plan_id: int, round_: int
) -> object:
    tr = await context.tr(update)
    if action == "b":  # the comment is a text step; checked again when it is sent
        async with context.services.reads() as session:
            view = await plans.load(session, plan_id)
            if not plans.may_decide(view.plan, actor):
                raise plans.Refused()
            if (
                view.plan.status != Status.SUBMITTED
                or await plans.submission_round(session, plan_id) != round_
            ):
                raise DomainError(
                    N_("This plan has already been decided, or it was changed since.")
                )
        async with flow.tx(update, context) as tx:
            tx.goto(COMMENT, pid=plan_id, round=round_)
        await answer_query(update)
        await flow.show(update, context, edit=False)
        return tx.state
    async with flow.tx(update, context) as tx:
        view = await plans.approve(tx.session, plan_id, round_, actor=actor, now=now(context))
    context.services.outbox_wake()
    await answer_query(update, tr._("Plan approved."))
    text = plans.plan_text(view, tr, today=_today(context))
    await send_prompt(
        update, context, Prompt(text + "\n\n" + tr._("✅ Approved. The author has been told."))
    )
    return tx.state


async def _milestone_button(
    update: Update, context: JxContext, actor: Actor, action: str, milestone_id: int
) -> object:
    """Report progress (``m``), then say whether the milestone is done (``d``) or not yet (``k``)."""
    tr = await context.tr(update)
    async with context.services.reads() as session:
        await plans.check_progress_allowed(session, milestone_id, actor)
        found = await plans.milestone(session, milestone_id)
        pos = await flow.position(session, update)
    if action == "m":
        async with flow.tx(update, context) as tx:
            tx.goto(PROGRESS, pid=found.plan_id, mid=milestone_id)
        await answer_query(update)
        await flow.show(update, context, edit=False)
        return tx.state
    if pos is None or pos.state != MARK or int(pos.data.get("mid", 0)) != milestone_id:
        return await flow._stale_button(update, context)
    async with flow.tx(update, context) as tx:
        if action == "d":
            view = await plans.mark_done(tx.session, milestone_id, actor=actor, now=now(context))
        else:
            view = await plans.load(tx.session, found.plan_id)
        tx.end()
        prompt = view_prompt(view, actor, tr, 0, _today(context))
    context.services.outbox_wake()
    if action == "d":
        done = view.plan.status == Status.DONE
        await answer_query(update, tr._("Marked as done."))
        note = (
            tr._("Every milestone is done: the plan is complete. The approver has been told.")
            if done
            else tr._("Milestone marked as done.")
        )
    else:
        await answer_query(update, tr._("Saved."))
        note = tr._("Your progress is saved; the milestone stays open.")
    await send_prompt(update, context, Prompt(note + "\n\n" + prompt.text, prompt.markup))
    return tx.state


# --- text ----------------------------------------------------------------------------------


@flow.step
async def on_text(update: Update, context: JxContext) -> object:
    message = update.message
    assert message is not None
    tr = await context.tr(update)
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    if pos is None or "pid" not in pos.data:
        return END
    actor = await load_caller(update, context)
    plan_id = int(pos.data["pid"])
    text = message.text
    # 1. the text itself: a mistake here is explained and the same step asked again
    try:
        if pos.state in TEXT_FIELDS:
            value = plans.check_text(text, plans.LIMITS[pos.state])
        elif pos.state == TIMELINE:
            items = plans.parse_milestones(text, _today(context))
        else:
            limit = plans.MAX_COMMENT if pos.state == COMMENT else plans.MAX_PROGRESS
            value = plans.check_text(text, limit)
    except DomainError as exc:
        await reply(update, exc.render(tr))
        await flow.show(update, context, edit=False)
        return None
    # 2. the change: refused or no longer possible ends the step
    done: str | None = None
    try:
        async with flow.tx(update, context) as tx:
            if pos.state in TEXT_FIELDS:
                view = await plans.save_field(
                    tx.session, plan_id, pos.state, value, actor=actor, now=now(context)
                )
                tx.goto(view.next_field() or SUMMARY, pid=plan_id)
            elif pos.state == TIMELINE:
                view = await plans.load(tx.session, plan_id)
                if not plans.is_author(view.plan, actor):
                    raise plans.Refused()
                if view.plan.status not in plans.EDITABLE:
                    raise DomainError(N_("The plan can no longer be changed."))
                tx.goto(MS_CONFIRM, pid=plan_id, ms=[[d.isoformat(), t] for d, t in items])
            elif pos.state == COMMENT:
                await plans.send_back(
                    tx.session,
                    plan_id,
                    int(pos.data.get("round", 0)),
                    value,
                    actor=actor,
                    now=now(context),
                )
                tx.end()
                done = tr._("Returned to the author with your comment.")
            else:
                mid = int(pos.data.get("mid", 0))
                await plans.report_progress(
                    tx.session,
                    mid,
                    value,
                    actor=actor,
                    now=now(context),
                    tz=context.services.settings.tz,
                )
                tx.goto(MARK, pid=plan_id, mid=mid)
    except plans.Refused:
        state = await _leave(update, context)
        await _refuse(update, context, str(plan_id), pos.state)
        return state
    except DomainError as exc:
        state = await _leave(update, context)
        await reply(update, exc.render(tr))
        return state
    context.services.outbox_wake()
    if done is not None:
        await reply(update, done)
    else:
        await flow.show(update, context, edit=False)
    return tx.state


def _short(text: str, limit: int) -> str:
    return clip(text, limit)


def build_handler() -> ConversationHandler:
    text = MessageHandler(F.TEXT & ~F.COMMAND & ~F.UpdateType.EDITED, on_text)
    return flow.handler(
        entry_points=[
            CommandHandler("plan", plan_command),
            CommandHandler("plans", plans_command),
            CallbackQueryHandler(on_button, pattern=r"^ip1:"),
        ],
        states={
            GOALS: [text],
            MEASURES: [text],
            RESPONSIBLE: [text],
            TIMELINE: [text],
            MS_CONFIRM: [],
            SUMMARY: [],
            COMMENT: [text],
            PROGRESS: [text],
            MARK: [],
        },
    )
