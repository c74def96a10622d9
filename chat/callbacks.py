"""Each flow's callback data, defined once beside its parser: ``prefix:action:arg…``.

A flow declares ``CB = Callbacks("ap1", "appeal")`` and one ``CB.action("open", int)`` per
button it understands. The action gives the handler's ``pattern`` (so the state table
reads ``OPEN.handler(open_case)``), builds the data for a button (``OPEN.data(12)``,
checked against Telegram's 64 bytes) and parses it back with types (``OPEN.args(update)``).
A ``domain.choice.Choice("…", "appeal.open", (12,))`` queued by a service becomes the same
button through ``markup`` here, so the rules never spell callback strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler

from domain.choice import Arg, Choice, Choices

CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit
_TOKEN = {int: r"(\d{1,12})", str: r"([A-Za-z0-9_.:~-]{1,40})"}  # "~" for a form's "~ach"


class CallbackAction:
    """One named button action of a flow, with typed arguments."""

    def __init__(
        self, owner: Callbacks, name: str, types: tuple[type, ...], old: tuple[str, ...] = ()
    ) -> None:
        for word in (name, *old):
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,15}", word):
                raise ValueError(f"callback action name {word!r} must be a short lowercase word")
        self.owner = owner
        self.name = name
        self.types = types
        self.old = old
        names = "|".join(re.escape(w) for w in (name, *old))
        tail = "".join(":" + _TOKEN[t] for t in types)
        # ``old``: the names this action had in buttons already sent, which still work
        self.regex = re.compile(f"^{re.escape(owner.prefix)}:(?:{names}){tail}$")

    @property
    def head(self) -> str:
        """The data's fixed start (``"ap1:open:"``), to find this action's buttons by prefix."""
        return f"{self.owner.prefix}:{self.name}" + (":" if self.types else "")

    @property
    def pattern(self) -> re.Pattern[str]:
        return self.regex

    def data(self, *args: Arg) -> str:
        if len(args) != len(self.types):
            raise ValueError(f"{self.owner.prefix}:{self.name} takes {len(self.types)} arguments")
        text = ":".join([self.owner.prefix, self.name, *(str(a) for a in args)])
        if len(text.encode()) > CALLBACK_DATA_LIMIT or not self.regex.match(text):
            raise ValueError(f"callback data {text!r} is not valid for {self.name}")
        return text

    def parse(self, data: str | None) -> tuple[Any, ...] | None:
        match = self.regex.match(data or "")
        if match is None:
            return None
        return tuple(t(v) for t, v in zip(self.types, match.groups(), strict=True))

    def args(self, update: Update) -> tuple[Any, ...]:
        """The typed arguments of the pressed button (the handler's pattern already matched)."""
        query = update.callback_query
        parsed = self.parse(query.data if query else None)
        if parsed is None:
            raise ValueError(f"not a {self.owner.prefix}:{self.name} button")
        return parsed

    def handler(
        self, callback: Callable[..., Coroutine[Any, Any, object]]
    ) -> CallbackQueryHandler[Any, Any]:
        return CallbackQueryHandler(callback, pattern=self.regex)

    def button(self, label: str, *args: Arg) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=self.data(*args))

    def choice(self, label: str, *args: Arg) -> Choice:
        return Choice(label, f"{self.owner.flow}.{self.name}", tuple(args))


class Callbacks:
    """The callback namespace of one flow (``prefix`` such as ``"ap1"``, ``flow`` its name)."""

    registry: ClassVar[dict[str, Callbacks]] = {}
    prefix: str
    flow: str

    def __init__(self, prefix: str, flow: str) -> None:
        if flow in Callbacks.registry or any(
            c.prefix == prefix for c in Callbacks.registry.values()
        ):
            raise ValueError(f"callbacks {prefix!r}/{flow!r} defined twice")
        self.prefix = prefix
        self.flow = flow
        self.actions: dict[str, CallbackAction] = {}
        Callbacks.registry[flow] = self

    def action(self, name: str, *types: type, old: tuple[str, ...] = ()) -> CallbackAction:
        """A named action; ``old`` lists earlier names whose buttons (already in chats) it takes."""
        taken = {n for a in self.actions.values() for n in (a.name, *a.old)}
        if taken & {name, *old}:
            raise ValueError(f"{self.prefix}:{name} defined twice")
        action = self.actions[name] = CallbackAction(self, name, types, old)
        return action


def encode(choice: Choice) -> str:
    """The callback data of a queued choice (``"appeal.open"`` → ``ap1:open:12``)."""
    flow, _, name = choice.action.partition(".")
    try:
        action = Callbacks.registry[flow].actions[name]
    except KeyError:
        raise LookupError(f"no flow action {choice.action!r} is registered") from None
    return action.data(*choice.args)


def markup(choices: Choices | None) -> InlineKeyboardMarkup | None:
    """The inline keyboard of rows of choices (None for none)."""
    if not choices:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(c.label, callback_data=encode(c)) for c in row] for row in choices]
    )
