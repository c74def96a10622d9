"""Restart-safe conversations: the position is stored with the answers it follows.

A ``Flow`` wraps a persistent ``ConversationHandler``. Steps write their answers
and the next position (``tx.goto``) in one transaction (``chat.uow``) and return
that position; PTB's in-memory state therefore always equals the stored one, and
after a restart ``DatabasePersistence.get_conversations`` hands back the same.
Each flow renders the prompt of any state from the database (``render``), which
serves three cases alike: the next question, a stale button ("this button has
expired, here is where you are"), and a restart that died before replying.
"""

from __future__ import annotations

import functools
import logging
import re
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
)
from telegram.ext import filters as F
from telegram.warnings import PTBUserWarning

from chat.context import JxContext
from chat.persistence import encode_key
from chat.uow import AlreadyHandled, transaction
from domain.text import ALERT_LIMIT, MESSAGE_LIMIT, clip, clip_html, unescape
from infra.i18n import N_, Translator
from infra.models import ConversationState
from infra.outage import is_outage

log = logging.getLogger(__name__)

END = ConversationHandler.END


@dataclass(frozen=True)
class Prompt:
    """What the user sees at a step: HTML text and optional inline buttons."""

    text: str
    markup: InlineKeyboardMarkup | None = None


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
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    return encode_key((chat.id, user.id))


class FlowTx:
    """The open transaction of one step: the session plus where the flow goes next."""

    def __init__(self, flow: Flow, session: AsyncSession, update: Update) -> None:
        self.flow = flow
        self.session = session
        self.update = update
        self.state: object = None  # None = PTB keeps the current state
        self._target: tuple[str, dict[str, Any]] | bool | None = False

    def goto(self, state: str, **data: Any) -> None:
        self._target = (state, data)
        self.state = state

    def end(self) -> None:
        self._target = None
        self.state = END

    async def write(self) -> None:
        if self._target is False:
            return
        key = chat_key(self.update)
        row = await self.session.get(ConversationState, (self.flow.name, key))
        if self._target is None:
            if row is not None:
                await self.session.delete(row)
            return
        state, data = self._target  # type: ignore[misc]
        user = self.update.effective_user
        if row is None:
            self.session.add(
                ConversationState(
                    name=self.flow.name,
                    key=key,
                    user_id=user.id if user else None,
                    state=state,
                    data=data,
                )
            )
        else:
            row.state, row.data = state, data


class Flow:
    """One chat flow; module-level instance per ``conversations/`` module."""

    registry: ClassVar[dict[str, Flow]] = {}
    prefix: str

    def __init__(self, name: str, title: str, render: Renderer, *, prefix: str) -> None:
        if name in Flow.registry:
            raise ValueError(f"flow {name!r} defined twice")
        if any(f.prefix == prefix for f in Flow.registry.values()):
            raise ValueError(f"callback prefix {prefix!r} used twice")
        self.name = name
        self.prefix = prefix  # this flow's callback data starts with it, e.g. "fm1:"
        self.title = title  # N_-marked label, e.g. "the self-assessment"
        self.render = render
        self.entry_points: list[BaseHandler[Any, Any, Any]] = []
        self.states: dict[str, list[BaseHandler[Any, Any, Any]]] = {}
        Flow.registry[name] = self

    # --- reading -----------------------------------------------------------
    async def position(self, session: AsyncSession, update: Update) -> Position | None:
        row = await session.get(ConversationState, (self.name, chat_key(update)))
        return Position(self.name, row.state, dict(row.data)) if row else None

    @staticmethod
    async def active(session: AsyncSession, user_id: int) -> list[Position]:
        """All open flows of a user (there should be at most one)."""
        rows = await session.scalars(
            select(ConversationState).where(ConversationState.user_id == user_id)
        )
        return [Position(r.name, r.state, dict(r.data)) for r in rows if r.name in Flow.registry]

    # --- writing -----------------------------------------------------------
    @asynccontextmanager
    async def tx(self, update: Update, context: JxContext) -> AsyncIterator[FlowTx]:
        async with transaction(update, context) as session:
            tx = FlowTx(self, session, update)
            yield tx
            await tx.write()

    def step(self, fn: StepFn) -> StepFn:
        """Wrap a step so PTB learns exactly the state stored, even if the step failed.

        A failure still reaches the error handlers (``conversations.fallback.on_error``
        apologises to the user); the step then returns the stored position rather than
        raising, because a raising callback would leave PTB's state where it was while
        the database may already hold the next one.
        """

        @functools.wraps(fn)
        async def wrapper(update: Update, context: JxContext) -> object:
            try:
                return await fn(update, context)
            except AlreadyHandled:
                log.info("update %s was applied before; not applying it again", update.update_id)
            except Exception as exc:
                if is_outage(exc):
                    raise  # not "after its commit": the dispatcher runs it again (infra.outage)
                if context.inbox_claimed:
                    log.warning("step %s.%s failed after its commit", self.name, fn.__name__)
                else:
                    log.warning("step %s.%s failed; it committed nothing", self.name, fn.__name__)
                await context.application.process_error(update, exc)
            async with context.services.reads() as session:
                pos = await self.position(session, update)
            return pos.state if pos else END

        return wrapper

    # --- showing -----------------------------------------------------------
    async def show(self, update: Update, context: JxContext, *, edit: bool | None = None) -> None:
        """Send (or, after a button press, edit in place) the prompt of the stored position."""
        tr = await context.tr(update)
        async with context.services.reads() as session:
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
            return ConversationHandler(
                entry_points=entry_points,
                states=states,  # type: ignore[arg-type]
                fallbacks=[*(fallbacks or []), *common],
                name=self.name,
                persistent=True,
                allow_reentry=True,
            )

    async def _cancel(self, update: Update, context: JxContext) -> object:
        async with self.tx(update, context) as tx:
            tx.end()
        tr = await context.tr(update)
        await reply(
            update, tr._("Cancelled. Nothing more was changed; what you had saved is kept.")
        )
        return END

    async def _stale_button(self, update: Update, context: JxContext) -> object:
        """A button from an older message: say so, change nothing, show where the user is."""
        tr = await context.tr(update)
        if update.callback_query:
            await answer_query(update, tr._("This button has expired. Here is where you are now."))
        await self.show(update, context, edit=False)
        return None

    async def _unexpected(self, update: Update, context: JxContext) -> object:
        """A sticker, photo or text where the step wants something else: explain, re-ask."""
        tr = await context.tr(update)
        await reply(
            update, tr._("Sorry, that is not an answer to this step. Please use the buttons below.")
        )
        await self.show(update, context, edit=False)
        return None


# --- reply helpers shared by every flow ------------------------------------


async def reply(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Send an HTML message in the update's chat, cut to Telegram's length if it is longer.

    Markup Telegram cannot parse is a rendering bug: logged as an error, and the person
    still gets the words, as plain text, rather than nothing.
    """
    chat = update.effective_chat
    if chat is None:
        return None
    try:
        return await chat.send_message(
            clip_html(text, MESSAGE_LIMIT), reply_markup=markup, parse_mode=ParseMode.HTML
        )
    except BadRequest as exc:
        if "can't parse entities" not in str(exc).lower():
            raise
        log.error("reply refused as malformed, a rendering bug; sent as plain text: %s", exc)
        return await chat.send_message(clip(unescape(text), MESSAGE_LIMIT), reply_markup=markup)


async def answer_query(update: Update, text: str | None = None, alert: bool = False) -> None:
    """Answer a button press; a query too old to answer (after a restart) is fine to skip."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(None if text is None else clip(text, ALERT_LIMIT), show_alert=alert)
    except BadRequest as exc:
        if "query is too old" not in str(exc) and "query id is invalid" not in str(exc).lower():
            raise


async def send_prompt(
    update: Update, context: JxContext, prompt: Prompt, *, edit: bool | None = None
) -> None:
    """Edit the pressed message into the prompt (tidy chat, no double taps) or send a new one."""
    query = update.callback_query
    if edit is None:
        edit = query is not None
    if edit and query is not None and isinstance(query.message, Message):
        try:
            await query.message.edit_text(
                clip_html(prompt.text, MESSAGE_LIMIT),
                reply_markup=prompt.markup,
                parse_mode=ParseMode.HTML,
            )
            return
        except BadRequest as exc:
            if "not modified" in str(exc):
                return
            log.info("could not edit message, sending anew: %s", exc)
    await reply(update, prompt.text, prompt.markup)


CANCELLED_HINT = N_("Send /cancel to stop.")
