"""Who may press a form's button, checked before any step of the form flow runs.

Callback data names the assignment and the item, so every press on a form is re-checked
here against the caller and the stored position: the rater on their own form, or a
working-group member entering a paper form (代錄); a button for a form the caller may not
touch is refused and audited. It lives apart from ``conversations.form`` (the steps and
the state table) so that the access rule reads in one place; the flow passes itself in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import Update

from chat.callbacks import CallbackAction
from chat.context import JxContext
from chat.flow import Flow, FlowTx, Position, StepFn, answer_query
from conversations.common import audit_actor, load_caller
from conversations.form_view import State
from services import forms
from services.audit import audit
from services.errors import DomainError
from services.forms import Form


@dataclass(frozen=True)
class Pressed:
    """A button press on a form, checked: the caller may act on it, in this position."""

    form: Form
    pos: Position
    staff_id: int
    proxy: bool  # a working-group member entering a paper form (代錄)
    args: tuple[Any, ...]  # the button's arguments after the assignment

    def goto(self, tx: FlowTx, state: State) -> None:
        tx.goto(state, aid=self.form.assignment.id, **({"proxy": True} if self.proxy else {}))


FormButtonFn = Callable[[Update, JxContext, Pressed], Coroutine[Any, Any, object]]


def form_button(
    flow: Flow, action: CallbackAction, *, same_form: bool = True
) -> Callable[[FormButtonFn], StepFn]:
    """A step for one button of a form: load it, check the caller and the position.

    A button for a form the caller may not touch is refused and audited; one for
    another form than the open one (``same_form``) is answered as expired. A refusal
    by the rules (the deadline passed, the form was submitted) comes as an alert.
    """

    def wrap(fn: FormButtonFn) -> StepFn:
        @functools.wraps(fn)
        async def step(update: Update, context: JxContext) -> object:
            aid, *rest = action.args(update)
            async with context.services.reads() as session:
                staff = await context.staff(update, session)
                pos = await flow.position(session, update)
                try:
                    form = await forms.load_form(session, aid)
                except DomainError:
                    return await flow._stale_button(update, context)
            if pos is None:
                return await flow._stale_button(update, context)
            proxy = pos.data.get("kind") == "proxy" or bool(pos.data.get("proxy"))
            if staff is None or not await may_act(update, context, form, pos, proxy):
                return await refuse_forged(flow, update, context, aid, staff.id if staff else None)
            if same_form and int(pos.data.get("aid", 0)) != aid:
                return await flow._stale_button(update, context)
            try:
                return await fn(update, context, Pressed(form, pos, staff.id, proxy, tuple(rest)))
            except DomainError as exc:
                tr = await context.tr(update)
                await answer_query(update, exc.plain(tr), alert=True)
                await flow.show(update, context, edit=False)
                return None

        return flow.step(step)

    return wrap


async def may_act(
    update: Update, context: JxContext, form: Form, pos: Position, proxy: bool
) -> bool:
    """The rater on their own form, or a working-group member entering it from paper."""
    staff = await context.staff(update)
    if staff is None:
        return False
    if not proxy:
        return form.assignment.rater_staff_id == staff.id
    actor = await load_caller(update, context)
    target = pos.data.get("for")
    return actor.is_admin and (target is None or int(target) == form.assignment.rater_staff_id)


async def refuse_forged(
    flow: Flow, update: Update, context: JxContext, assignment_id: int, staff_id: int | None
) -> object:
    actor = await load_caller(update, context)
    who = audit_actor(context, actor)
    if staff_id is not None:
        who.setdefault("actor_staff_id", staff_id)
    async with context.transaction() as session:
        await audit(
            session,
            "access.denied",
            **who,
            object_type="assignment",
            object_id=str(assignment_id)[:64],
            detail={
                "data": (update.callback_query.data or "")[:64] if update.callback_query else ""
            },
        )
    tr = await context.tr(update)
    await answer_query(update, tr._("This button is not for you."), alert=True)
    await flow.show(update, context, edit=False)
    return None
