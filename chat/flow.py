"""Restart-safe conversations: the position is stored with the answers it follows.

A ``Flow`` wraps a persistent ``ConversationHandler``. Steps write their answers
and the next position (``tx.goto``) in one transaction (``chat.uow``) and return
that position; PTB's in-memory state therefore always equals the stored one, and
after a restart ``DatabasePersistence.get_conversations`` hands back the same.
Each flow renders the prompt of any state from the database (``render``), which
serves three cases alike: the next question, a stale button ("this button has
expired, here is where you are"), and a restart that died before replying.

A chat is in one flow at a time (``conversation_focus``). Entering a flow, by any
entry point or by a step that moves into it, makes it the chat's current flow; the
flow left behind keeps its position as a draft (``Parked``), says so in one line if
work was in progress, and gets no text until it is entered again. Its own buttons
still work, since they name what they act on; ``flow.parked`` finds the draft for an
entry point that resumes it.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Coroutine
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
)
from telegram.ext import filters as F
from telegram.warnings import PTBUserWarning

from chat import position_rows
from chat.context import JxContext
from chat.errors import report_failure
from chat.focus import FlowHandler, Key, conversation_key
from chat.persistence import Parked, encode_key
from chat.prompt import Prompt as Prompt  # re-exported: the flows import these from here
from chat.prompt import answer_query as answer_query
from chat.prompt import reply as reply
from chat.prompt import send_prompt as send_prompt
from chat.uow import AlreadyHandled, Carried, transaction
from domain.text import html_format
from infra.i18n import N_, Translator
from infra.models import ConversationFocus, ConversationState
from infra.outage import is_outage

log = logging.getLogger(__name__)

END = ConversationHandler.END


@dataclass
class Position:
    """A chat's place in a flow: state name plus the flow's own small context (ids)."""

    flow: str
    state: str
    data: dict[str, Any] = field(default_factory=dict)


Renderer = Callable[[AsyncSession, Translator, Position, Update], Awaitable[Prompt]]
StepFn = Callable[[Update, JxContext], Coroutine[Any, Any, object]]


def chat_key(update: Update) -> str:
    """PTB's default conversation key (chat, user), encoded as the persistence stores it."""
    key = conversation_key(update)
    assert key is not None
    return encode_key(key)


LEFT_DRAFT = N_("Your draft ({flow}) is saved; you can continue it later.")

# What the steps of the update being handled wrote, by flow name: the state, or END.
_written: ContextVar[dict[str, object] | None] = ContextVar("jixiao_flow_written", default=None)


class FlowTx:
    """The open transaction of one step: the session plus where the flow goes next."""

    def __init__(self, flow: Flow, session: AsyncSession, update: Update) -> None:
        self.flow = flow
        self.session = session
        self.update = update
        self.state: object = None  # None = PTB keeps the current state
        self._target: tuple[str, dict[str, Any]] | bool | None = False
        self.finished = False
        self.left: Position | None = None  # the position of the flow this step left, if any
        self.left_flow: str | None = None
        self._read: position_rows.Rows | None = None  # as ``position`` read them

    def goto(self, state: str, **data: Any) -> None:
        self._target = (state, data)
        self.state = state

    def end(self, *, finished: bool = False) -> None:
        """Close the position; ``finished``: a draft was completed (filed), not left."""
        self._target = None
        self.state = END
        self.finished = finished

    def leave(self) -> None:
        """The chat stops being in this flow; its position stays, as a draft to come back to."""
        self._target = True
        self.state = None

    async def position(self) -> Position | None:
        """The flow's stored position for the chat, read in this transaction with the chat's
        focus (one query, plain rows: ``chat.position_rows``); ``write`` then knows both
        (without a focus, which is another flow's or none, it looks for it again: rare)."""
        found = await position_rows.position(self.session, self.flow.name, chat_key(self.update))
        if found is None or found.state is None:
            return None
        self._read = found
        return Position(self.flow.name, found.state, dict(found.data or {}))

    async def write(self) -> None:
        """Store the position, and make this flow the chat's current one (or none, on end)."""
        if self._target is False:
            return
        key, name, session = chat_key(self.update), self.flow.name, self.session
        rows = self._read
        if rows is None or rows.focus is None:  # one query for both, either may be missing
            rows = await position_rows.both(session, name, key)
        if self._target is True:
            if rows.focus == name:
                await position_rows.delete_focus(session, key)
            return
        if rows.state is not None and rows.state in self.flow.drafts and not self.finished:
            target = None if self._target is None else self._target[0]
            if target not in self.flow.drafts:
                await self._set_aside(key, rows)
        if rows.focus is not None and rows.focus != name:
            self.left_flow = rows.focus
            kept = await session.get(ConversationState, (rows.focus, key))
            if kept is not None:
                self.left = Position(kept.name, kept.state, dict(kept.data))
        if self._target is None:
            if rows.state is not None:
                await position_rows.delete_state(session, name, key)
            if rows.focus is not None:
                await position_rows.delete_focus(session, key)
            return
        state, data = self._target
        if rows.state is None:
            user = self.update.effective_user
            user_id = user.id if user else None
            await position_rows.insert_state(session, name, key, user_id, state, data)
        elif rows.state != state or rows.data != data:  # unchanged: nothing to write
            await position_rows.update_state(session, name, key, state, data)
        if rows.focus is None:
            await position_rows.insert_focus(session, key, name)
        elif rows.focus != name:
            await position_rows.update_focus(session, key, name)

    @property
    def written(self) -> Position | None:
        """The position this transaction stores (None if it stores none), as it reads back."""
        if not isinstance(self._target, tuple):
            return None
        state, data = self._target
        return Position(self.flow.name, state, json.loads(json.dumps(data)))

    async def _set_aside(self, key: str, rows: position_rows.Rows) -> None:
        assert rows.state is not None
        name = self.flow.name + ASIDE
        aside = await self.session.get(ConversationState, (name, key))
        if aside is None:
            self.session.add(
                ConversationState(
                    name=name,
                    key=key,
                    user_id=rows.user_id,
                    state=rows.state,
                    data=dict(rows.data or {}),
                )
            )
        else:
            aside.state, aside.data = rows.state, dict(rows.data or {})


ASIDE = "~aside"  # the name suffix of a draft set aside (``Flow(drafts=…)``)


class Flow:
    """One chat flow; module-level instance per ``conversations/`` module."""

    registry: ClassVar[dict[str, Flow]] = {}
    prefix: str

    def __init__(
        self,
        name: str,
        title: str,
        render: Renderer,
        *,
        prefix: str,
        idle_states: Collection[str] = (),
        drafts: Collection[str] = (),
    ) -> None:
        """``idle_states``: states that hold no work of the user's (a menu), so leaving them
        needs no "draft saved" line. A position with no data is idle too.

        ``drafts``: states whose position *is* the user's unsaved work (an appeal being
        written) in a flow that also has other steps for the same chat (the working group's
        side of appeals). A step that moves from a draft state to another state, or ends
        there without ``finished``, sets the draft aside (``aside``) instead of losing it."""
        if name in Flow.registry:
            raise ValueError(f"flow {name!r} defined twice")
        if any(f.prefix == prefix for f in Flow.registry.values()):
            raise ValueError(f"callback prefix {prefix!r} used twice")
        self.name = name
        self.prefix = prefix  # this flow's callback data starts with it, e.g. "fm1:"
        self.title = title  # N_-marked label, e.g. "the self-assessment"
        self.render = render
        self.idle_states = frozenset(idle_states)
        self.drafts = frozenset(drafts)
        self.entry_points: list[BaseHandler[Any, Any, Any]] = []
        self.states: dict[str, list[BaseHandler[Any, Any, Any]]] = {}
        self.conversation: FlowHandler | None = None  # the handler of the running application
        Flow.registry[name] = self

    # --- reading -----------------------------------------------------------
    async def position(self, session: AsyncSession, update: Update) -> Position | None:
        """This flow's stored position for the chat, current or parked."""
        row = await session.get(ConversationState, (self.name, chat_key(update)))
        return Position(self.name, row.state, dict(row.data)) if row else None

    async def take_aside(
        self, session: AsyncSession, update: Update, wanted: Callable[[Position], bool]
    ) -> Position | None:
        """The draft set aside in this chat (``drafts``) if ``wanted``; taken, so kept no more."""
        row = await session.get(ConversationState, (self.name + ASIDE, chat_key(update)))
        if row is None or not wanted(pos := Position(self.name, row.state, dict(row.data))):
            return None
        await session.delete(row)
        return pos

    async def parked(self, session: AsyncSession, update: Update) -> Position | None:
        """The draft this chat left in this flow (None if there is none, or it is current).

        An entry point resumes it by moving there again, which makes the flow current:
        ``async with flow.tx(update, context) as tx: tx.goto(pos.state, **pos.data)``.
        """
        pos = await self.position(session, update)
        if pos is None or await Flow.current(session, update) == self.name:
            return None
        return pos

    @staticmethod
    async def current(session: AsyncSession, update: Update) -> str | None:
        """The name of the flow the chat is in now, if any."""
        focus = await session.get(ConversationFocus, chat_key(update))
        return focus.name if focus is not None and focus.name in Flow.registry else None

    @staticmethod
    def held_current(update: Update) -> str | None:
        """The flow the chat is in now, as PTB's memory holds it: no query.

        The same answer as ``current``: at most one flow holds a chat's state unparked
        (``chat.focus``), and ``_committed`` moves it as each step's transaction commits the
        focus row. ``/start`` and ``/help`` ask on every call; a recovery reads the row."""
        key = conversation_key(update)
        handler = FlowHandler.current(key) if key is not None else None
        name = str(handler.name) if handler is not None else None
        return name if name in Flow.registry else None

    @staticmethod
    async def active(session: AsyncSession, user_id: int) -> list[Position]:
        """All stored positions of a user: the current flow's and the drafts left."""
        rows = await session.scalars(
            select(ConversationState).where(ConversationState.user_id == user_id)
        )
        return [Position(r.name, r.state, dict(r.data)) for r in rows if r.name in Flow.registry]

    def is_work(self, pos: Position) -> bool:
        """Whether leaving ``pos`` leaves something of the user's behind (see ``idle_states``)."""
        return bool(pos.data) and pos.state not in self.idle_states

    # --- writing -----------------------------------------------------------
    @asynccontextmanager
    async def tx(self, update: Update, context: JxContext) -> AsyncIterator[FlowTx]:
        async with transaction(update, context) as session:
            tx = FlowTx(self, session, update)
            yield tx
            await tx.write()
        await self._committed(update, context, tx)
        if isinstance(tx._target, tuple) or tx._target is None:  # moved, or ended
            context.positions[self.name] = tx.written  # ``show`` reads it no more

    @asynccontextmanager
    async def handing_over(
        self, update: Update, context: JxContext, move: Callable[[FlowTx], None]
    ) -> AsyncIterator[None]:
        """Run another handler inside (a command), whose transaction also makes this flow's
        ``move`` (``tx.end``): the step's answer and the command's effect commit together,
        or neither does. If the handler commits nothing (a refusal, an error it rolled
        back), ``move`` commits on its own once it returns; if it raises, nothing is moved."""
        made: list[FlowTx] = []

        async def write(session: AsyncSession) -> None:
            tx = FlowTx(self, session, update)
            move(tx)
            await tx.write()
            made[:] = [tx]

        async def committed() -> None:
            await self._committed(update, context, made[0])

        hand = Carried(write, committed)
        context.carried.append(hand)
        try:
            yield
        finally:
            pending = hand in context.carried
            if pending:
                context.carried.remove(hand)
        if pending:
            async with self.tx(update, context) as tx:
                move(tx)

    async def _committed(self, update: Update, context: JxContext, tx: FlowTx) -> None:
        """After ``tx`` committed: PTB's memory follows the database, and the user hears
        which draft was left, if any."""
        if tx._target is False:
            return
        written = _written.get()
        if written is not None:
            written[self.name] = tx.state
        key = conversation_key(update)
        assert key is not None
        if tx._target is True:
            self._park(key)
            return
        self._hold(key, None if tx.state == END else tx.state)
        if tx.left_flow is not None and tx.left_flow in Flow.registry:
            Flow.registry[tx.left_flow]._park(key)
            left = Flow.registry[tx.left_flow]
            if tx.left is not None and left.is_work(tx.left):
                tr = await context.tr(update)
                await reply(update, html_format(tr._(LEFT_DRAFT), flow=tr._(left.title)))

    def _hold(self, key: Key, state: object) -> None:
        """PTB's in-memory state for ``key``: this flow is current at ``state`` (None: ended);
        every other flow's position for the chat is parked."""
        if self.conversation is not None:
            self.conversation.take(key, state)

    def _park(self, key: Key) -> None:
        if self.conversation is not None:
            self.conversation.park(key)

    async def _adopt(self, update: Update, context: JxContext, state: object) -> None:
        """A step returned a state without writing one: make the flow current there."""
        async with self.tx(update, context) as tx:
            pos = await self.position(tx.session, update)
            tx.goto(str(state), **(pos.data if pos is not None else {}))

    def step(self, fn: StepFn) -> StepFn:
        """Wrap a step so PTB learns exactly the state stored, even if the step failed.

        A step that raises has its transaction rolled back (``chat.uow``); the user is told
        once, with a reference that is in the ERROR log line beside the traceback
        (``chat.errors``). The step then returns the stored position rather than raising,
        because a raising callback would leave PTB's state where it was while the database
        may hold another one (an earlier transaction of the update may have committed).
        """

        @functools.wraps(fn)
        async def wrapper(update: Update, context: JxContext) -> object:
            outer = _written.get() is None
            token = _written.set({}) if outer else None
            try:
                try:
                    result = await fn(update, context)
                except AlreadyHandled:
                    log.info(
                        "update %s was applied before; not applying it again", update.update_id
                    )
                    return await self._stored(update, context)
                except Exception as exc:
                    if is_outage(exc):
                        raise  # the dispatcher runs it again (infra.outage)
                    await report_failure(update, context, exc, f"step {self.name}.{fn.__name__}")
                    return await self._stored(update, context)
                return await self._settle(update, context, result)
            finally:
                if token is not None:
                    _written.reset(token)

        return wrapper

    async def _stored(self, update: Update, context: JxContext) -> object:
        """The state PTB should hold for this flow: the stored one if it is current."""
        async with context.services.reads() as session:
            pos = await self.position(session, update)
            current = await Flow.current(session, update)
        if pos is None:
            return END
        if current != self.name:
            key = conversation_key(update)
            if key is not None:
                self._park(key)
            return None
        return pos.state

    async def _settle(self, update: Update, context: JxContext, result: object) -> object:
        """What PTB keeps after a step that returned ``result``.

        What the step wrote wins. A step that wrote nothing and returns a state resumed a
        position it read: if the flow was not current it becomes so (stored, as any entry).
        """
        written = _written.get() or {}
        if self.name in written:
            return written[self.name]
        if result is None:
            return None
        key = conversation_key(update)
        held = self.conversation.held(key) if self.conversation and key else None
        if result == END:
            return None if isinstance(held, Parked) else END
        if held is not None and not isinstance(held, Parked):
            return result
        await self._adopt(update, context, result)
        return result

    # --- showing -----------------------------------------------------------
    async def show(self, update: Update, context: JxContext, *, edit: bool | None = None) -> None:
        """Send (or, after a button press, edit in place) the prompt of the stored position."""
        async with context.services.reads() as session:
            await context.account(update, session)  # for tr, on this session's connection
            tr = await context.tr(update)
            if self.name in context.positions:  # this update's transaction just stored it
                pos = context.positions[self.name]
            else:
                pos = await self.position(session, update)
            if pos is None:
                return
            prompt = await self.render(session, tr, pos, update)
        await send_prompt(update, context, prompt, edit=edit)

    def handler(
        self,
        entry_points: list[BaseHandler[Any, Any, Any]],
        states: dict[str, list[BaseHandler[Any, Any, Any]]],
        fallbacks: list[BaseHandler[Any, Any, Any]] | None = None,
    ) -> ConversationHandler[Any]:
        """The ConversationHandler table, plus the fallbacks every flow needs."""
        self.entry_points, self.states = entry_points, states  # read by chat.diagram's check
        common: list[BaseHandler[Any, Any, Any]] = [
            CommandHandler("cancel", self.step(self._cancel)),
            # only this flow's own buttons: another module's button (an approval, a
            # rating) pressed mid-flow must reach its own handler, not be called stale
            CallbackQueryHandler(
                self.step(self._stale_button), pattern=f"^{re.escape(self.prefix)}"
            ),
            MessageHandler(~F.COMMAND & ~F.UpdateType.EDITED, self.step(self._unexpected)),
        ]
        with warnings.catch_warnings():
            # per_message=False is deliberate: a chat has one position per flow, and
            # callback data names the object, so buttons need no per-message tracking.
            warnings.simplefilter("ignore", PTBUserWarning)
            self.conversation = FlowHandler(
                prefix=self.prefix,
                entry_points=entry_points,
                states=states,
                fallbacks=[*(fallbacks or []), *common],
                name=self.name,
                persistent=True,
                allow_reentry=True,
            )
        return self.conversation

    async def _cancel(self, update: Update, context: JxContext) -> object:
        """``/cancel`` ends the flow; answers are stored as given, and a draft that lives only
        in the position (``drafts``) is set aside, so what was typed is kept either way."""
        async with self.tx(update, context) as tx:
            tx.end()
        tr = await context.tr(update)
        await reply(
            update, tr._("Cancelled. Nothing more was changed; what you had saved is kept.")
        )
        return END

    async def _stale_button(self, update: Update, context: JxContext) -> object:
        """A button from an older message: say so, change nothing, show where the user is.

        Where the user is in this flow, that is: a button of a flow the chat had left
        enters it again at its draft (``_settle`` makes it current), so text goes there.
        """
        tr = await context.tr(update)
        if update.callback_query:
            await answer_query(update, tr._("This button has expired. Here is where you are now."))
        await self.show(update, context, edit=False)
        if update.callback_query is None:
            return None
        async with context.services.reads() as session:
            pos = await self.position(session, update)
        return pos.state if pos is not None else None

    async def _unexpected(self, update: Update, context: JxContext) -> object:
        """A sticker, photo or text where the step wants something else: explain, re-ask."""
        tr = await context.tr(update)
        await reply(
            update, tr._("Sorry, that is not an answer to this step. Please use the buttons below.")
        )
        await self.show(update, context, edit=False)
        return None


async def leave_current(update: Update, context: JxContext) -> None:
    """``/start`` and ``/help`` leave the current flow (its draft stays), saying so in one line,
    so that the next text is not taken by a step the user no longer sees."""
    name = Flow.held_current(update)
    if name is None:
        return
    flow = Flow.registry[name]
    async with context.services.reads() as session:
        await context.account(update, session)  # read here, the update needs it next
        pos = await flow.position(session, update)
    async with flow.tx(update, context) as tx:
        tx.leave()
    if pos is not None and flow.is_work(pos):
        tr = await context.tr(update)
        await reply(update, html_format(tr._(LEFT_DRAFT), flow=tr._(flow.title)))


async def show_current(update: Update, context: JxContext) -> bool:
    """Show the prompt of the chat's current flow; False when it is in none."""
    name = Flow.held_current(update)
    if name is None:
        return False
    await Flow.registry[name].show(update, context, edit=False)
    return True


CANCELLED_HINT = N_("Send /cancel to stop.")
