"""Chat plumbing the case flows share (appeal, improvement plan, rectification).

A refusal (a forged, foreign or admin-only press or text) changes nothing, is audited as
``access.denied`` and answered politely: an alert under a button, else a message. Moving
to a screen outside the text steps (a queue, a case) ends a pending text step, so stray
text is not taken as an answer.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from chat.context import JxContext
from chat.flow import END, Flow, FlowTx, Position, Prompt, StepFn, answer_query, reply, send_prompt
from conversations.common import audit_actor, load_caller
from domain.text import MESSAGE_LIMIT, Html, clip, clip_html
from services.access import Actor
from services.audit import audit
from services.cases import ONLY_ADMINS, Env, Refused, Workflow, check
from services.errors import DomainError

LABEL_MAX = 40  # characters of free text (a name, an indicator) on a button

T = TypeVar("T")
V = TypeVar("V")


def env(context: JxContext) -> Env:
    """The settings the case rules need, from the bot's."""
    return Env.of(context.services.settings)


def label(text: str, limit: int = LABEL_MAX) -> str:
    """Free text cut to fit on a button."""
    return clip(text, limit)


def cut(text: str, limit: int = MESSAGE_LIMIT) -> Html:
    """A rendered message cut as Telegram counts it (never inside a tag or an entity)."""
    return clip_html(text, limit)


async def refuse(
    update: Update,
    context: JxContext,
    actor: Actor,
    object_type: str,
    object_id: object,
    action: str,
    message: str,
) -> None:
    """Change nothing, audit ``access.denied``, say ``message`` (a msgid) politely."""
    async with context.transaction() as session:
        await audit(
            session,
            "access.denied",
            **audit_actor(context, actor),
            object_type=object_type,
            object_id=str(object_id)[:64],
            detail={"action": action[:64]},
        )
    tr = await context.tr(update)
    if update.callback_query is not None:
        await answer_query(update, tr._(message), alert=True)
    else:
        await reply(update, tr._(message))


async def admin_only(
    update: Update,
    context: JxContext,
    action: str,
    *,
    object_type: str = "",
    object_id: object = "",
) -> Actor | None:
    """The caller if they are in the working group; else refused (and audited), None.
    ``action``: what was attempted (a command's name, or the pressed button's data)."""
    actor = await load_caller(update, context)
    if actor.is_admin:
        return actor
    await refuse(update, context, actor, object_type, object_id, action, ONLY_ADMINS)
    return None


async def readers_only(
    update: Update, context: JxContext, action: str, message: str
) -> Actor | None:
    """The caller if they are in the working group or the leadership group (who read the
    cycle's files); else refused with ``message`` (a msgid) and audited, None."""
    actor = await load_caller(update, context)
    if actor.is_admin or actor.is_leadership:
        return actor
    await refuse(update, context, actor, "", "", action, message)
    return None


def guarded(flow: Flow, object_type: str, refusal: str | None = None) -> Callable[[StepFn], StepFn]:
    """A button step (wrapped in ``flow.step``) whose ``Refused`` is refused and audited (as
    ``refusal``, else its own message; the object is the data's first number) and whose
    ``DomainError`` is told in an alert; either way nothing changes."""

    def wrap(fn: StepFn) -> StepFn:
        @functools.wraps(fn)
        async def step(update: Update, context: JxContext) -> object:
            try:
                return await fn(update, context)
            except Refused as exc:
                data = (update.callback_query.data if update.callback_query else None) or ""
                ref = next(filter(str.isdigit, data.split(":")), "")
                actor = await load_caller(update, context)
                await refuse(update, context, actor, object_type, ref, data, refusal or exc.message)
            except DomainError as exc:
                await answer_query(update, exc.plain(await context.tr(update)), alert=True)
            return None

        return flow.step(step)

    return wrap


async def may(
    update: Update,
    context: JxContext,
    workflow: Workflow[V],
    name: str,
    view: V,
    actor: Actor,
    *,
    object_id: object,
    action: str,
    refusal: Callable[[str], str] | None = None,
) -> bool:
    """Whether ``actor`` may take transition ``name`` now (a button that starts a step); if
    not, refused and audited (``refusal`` maps the table's msgid to the one shown) or told
    why not in an alert."""
    try:
        check(workflow, name, view, actor)
    except Refused as exc:
        message = refusal(exc.message) if refusal else exc.message
        await refuse(update, context, actor, workflow.kind, object_id, action, message)
        return False
    except DomainError as exc:
        tr = await context.tr(update)
        if update.callback_query is not None:
            await answer_query(update, exc.plain(tr), alert=True)
        else:
            await reply(update, exc.render(tr))
        return False
    return True


async def leave_text_step(flow: Flow, update: Update, context: JxContext) -> object:
    """End any pending text step of ``flow`` in this chat; returns the state for PTB."""
    async with flow.tx(update, context) as tx:
        tx.end()
    return tx.state


async def show(flow: Flow, update: Update, context: JxContext, prompt: Prompt) -> object:
    """A screen outside the text steps (a queue, a case), in place of the pressed message."""
    state = await leave_text_step(flow, update, context)
    await answer_query(update)
    await send_prompt(update, context, prompt)
    return state


async def goto(
    flow: Flow, update: Update, context: JxContext, state: str, edit: bool | None = False, **kw: Any
) -> object:
    """Move to ``state`` (stored with ``kw``), answer the press, show the state's prompt."""
    async with flow.tx(update, context) as tx:
        tx.goto(state, **kw)
    await answer_query(update)
    await flow.show(update, context, edit=edit)
    return tx.state


async def again(flow: Flow, update: Update, context: JxContext, message: str) -> object:
    """Say what is wrong with the input and show the step again (PTB keeps the state)."""
    await reply(update, message)
    await flow.show(update, context, edit=False)
    return None


async def position(flow: Flow, update: Update, context: JxContext) -> Position:
    """The stored position of a flow the chat is in (PTB is in one of its states)."""
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    assert pos is not None
    return pos


@dataclass
class Outcome:
    ok: bool  # False: refused or declined, and told
    state: object


async def attempt(
    flow: Flow,
    update: Update,
    context: JxContext,
    actor: Actor,
    call: Callable[[FlowTx], Awaitable[T]],
    *,
    object_type: str,
    object_id: object,
    action: str,
) -> tuple[Outcome, T | None]:
    """Run ``call`` in the flow's transaction (it moves the position itself, e.g. ``tx.end()``).

    ``Refused``: rolled back, the step ended, refused and audited. ``DomainError``: rolled
    back, the step ended, the reason told. Either way the caller just returns ``state``.
    """
    tr = await context.tr(update)
    try:
        async with flow.tx(update, context) as tx:
            value = await call(tx)
    except Refused as exc:
        state = await leave_text_step(flow, update, context)
        await refuse(update, context, actor, object_type, object_id, action, exc.message)
        return Outcome(False, state), None
    except DomainError as exc:
        state = await leave_text_step(flow, update, context)
        if update.callback_query is not None:
            await answer_query(update)
            await send_prompt(update, context, Prompt(exc.render(tr)))
        else:
            await reply(update, exc.render(tr))
        return Outcome(False, state), None
    context.services.outbox_wake()
    return Outcome(True, tx.state), value


Change = Callable[[FlowTx, Actor, Position, Any, JxContext], Awaitable[str | None]]


def text_step(
    flow: Flow,
    check: Callable[[str | None, Position, JxContext], Any],
    *,
    object_type: str,
    key: str,
) -> Callable[[Change], StepFn]:
    """A text step: ``check`` the text (a mistake is explained, the step asked again), then
    ``change`` runs through ``attempt`` (it moves the position) and returns a closing msgid
    (or rendered ``Html``) to reply, or None to show the next prompt. ``pos.data[key]`` is
    the case's id; without it the step is over."""

    def wrap(change: Change) -> StepFn:
        @functools.wraps(change)
        async def step(update: Update, context: JxContext) -> object:
            assert update.message is not None
            tr = await context.tr(update)
            async with context.services.reads() as session:
                pos = await flow.position(session, update)
            if pos is None or key not in pos.data:
                return END
            try:
                value = check(update.message.text, pos, context)
            except DomainError as exc:
                return await again(flow, update, context, exc.render(tr))
            actor = await load_caller(update, context)
            outcome, done = await attempt(
                flow, update, context, actor, lambda tx: change(tx, actor, pos, value, context),
                object_type=object_type, object_id=pos.data[key], action=pos.state,
            )  # fmt: skip
            if outcome.ok and done is not None:
                await reply(update, done if isinstance(done, Html) else tr._(done))
            elif outcome.ok:
                await flow.show(update, context, edit=False)
            return outcome.state

        return flow.step(step)

    return wrap


@dataclass(frozen=True)
class Line:
    """One case in a queue: its line of text and its button."""

    text: str
    button: str
    data: str


def listing(title: str, lines: Sequence[Line], empty: str) -> Prompt:
    """A queue of cases as one prompt: a title, one line and one button per case."""
    if not lines:
        return Prompt(empty)
    text = "\n".join([title, "", *(line.text for line in lines)])
    rows = [[InlineKeyboardButton(line.button, callback_data=line.data)] for line in lines]
    return Prompt(cut(text), InlineKeyboardMarkup(rows))
