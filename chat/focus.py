"""One flow per chat in PTB's memory: a flow's handler takes text only while it is current.

PTB keeps one state per chat in each ``ConversationHandler``. A flow the chat left holds
``Parked(state)`` there instead (``chat.persistence``): PTB's own matching sees no state,
so only the entry points match, plus the flow's own buttons at the parked state (a button
names what it acts on; pressing it enters the flow again). ``chat.flow.Flow`` moves
positions between held and parked as its steps commit, and
``DatabasePersistence.get_conversations`` loads them alike at start-up.
"""

from __future__ import annotations

from typing import Any, ClassVar

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ConversationHandler
from telegram.ext import filters as F

from chat.persistence import Parked

Key = tuple[int, int]


def conversation_key(update: Update) -> Key | None:
    """PTB's default conversation key (chat, user), or None for an update without both."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return None
    return (chat.id, user.id)


class FlowHandler(ConversationHandler[Any]):
    """A flow's ``ConversationHandler`` (made by ``Flow.handler``); see the module's docstring."""

    live: ClassVar[dict[str, FlowHandler]] = {}  # the running application's, by flow name

    def __init__(self, *, prefix: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.prefix = prefix  # the flow's callback data starts with it
        FlowHandler.live[str(self.name)] = self

    def held(self, key: Key) -> object:
        return self._conversations.get(key)

    def hold(self, key: Key, state: object) -> None:
        if state is None:
            self._conversations.pop(key, None)
        else:
            self._conversations[key] = state

    def park(self, key: Key) -> None:
        state = self._conversations.get(key)
        if state is not None and not isinstance(state, Parked):
            self._conversations[key] = Parked(str(state))

    def take(self, key: Key, state: object) -> None:
        """This flow is current at ``state`` (None: it ended); every other flow is parked."""
        self.hold(key, state)
        if state is not None:
            self._park_others(key)

    def _park_others(self, key: Key) -> None:
        for other in FlowHandler.live.values():
            if other is not self:
                other.park(key)

    def check_update(self, update: object) -> Any:
        if isinstance(update, Update) and (key := conversation_key(update)) is not None:
            held = self._conversations.get(key)
            if held is None or isinstance(held, Parked):
                if self._taken_by_current(update, key):
                    return None
            if isinstance(held, Parked):
                return self._check_parked(update, key, held)
        return super().check_update(update)

    def _taken_by_current(self, update: Update, key: Key) -> bool:
        """A message (not a command) belongs to the chat's current flow, whatever the order of
        the handlers: its step takes it, or says it is not an answer and asks again. A file
        sent during another flow is not a roster to import. Commands and buttons are chosen,
        so entry points still win for them."""
        if update.message is None or F.COMMAND.check_update(update):
            return False
        current = FlowHandler.current(key)
        return current is not None and current is not self

    @staticmethod
    def current(key: Key) -> FlowHandler | None:
        """The flow holding ``key``'s state unparked (at most one does), if any."""
        for handler in FlowHandler.live.values():
            state = handler.held(key)
            if state is not None and not isinstance(state, Parked):
                return handler
        return None

    def _check_parked(self, update: Update, key: Key, held: Parked) -> Any:
        candidates = list(self.entry_points)
        query = update.callback_query
        if query is not None and query.message is not None:
            if (query.data or "").startswith(self.prefix):
                candidates += [
                    h
                    for h in [*self.states.get(held.state, []), *self.fallbacks]
                    if isinstance(h, CallbackQueryHandler)
                ]
        for candidate in candidates:
            check = candidate.check_update(update)
            if check is not None and check is not False:
                return held, key, candidate, check
        return None

    async def handle_update(
        self,
        update: Update,
        application: Application[Any, Any, Any, Any, Any, Any],
        check_result: Any,
        context: Any,
    ) -> object | None:
        result = await super().handle_update(update, application, check_result, context)
        key = check_result[1]
        state = self._conversations.get(key)
        if state is not None and not isinstance(state, Parked):
            self._park_others(key)  # at most one flow holds a chat's state
        return result
