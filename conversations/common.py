"""Small helpers every flow shares: keyboards, the acting person, the clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from chat.callbacks import CallbackAction
from chat.context import JxContext
from domain.payload import REDACTED, REDACTED_KEY, PayloadKind, StartPayload, parse_payload
from domain.text import Html, escape
from services.access import Actor
from services.surveys import respondent_key


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """Inline keyboard from rows of (label, callback data); data is checked ≤ 64 bytes."""
    for row in rows:
        for _, data in row:
            if len(data.encode()) > 64:
                raise ValueError(f"callback data over 64 bytes: {data!r}")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def pressed(update: Update, *actions: CallbackAction) -> tuple[Any, ...]:
    """The arguments of whichever of ``actions`` was pressed: an action and its older
    spellings, still on buttons sent before it had a name, share one handler."""
    data = update.callback_query.data if update.callback_query else None
    for action in actions:
        parsed = action.parse(data)
        if parsed is not None:
            return parsed
    raise ValueError(f"not one of {[a.name for a in actions]}: {data!r}")


async def load_caller(update: Update, context: JxContext) -> Actor:
    """The person behind this update, roles resolved fresh from the database once per update
    (``JxContext.actor``; read again after the update's transaction commits)."""
    return await context.actor(update)


def audit_actor(context: JxContext, actor: Actor) -> dict[str, Any]:
    """How the audit log names the caller of a refused action: staff and the working group
    by Telegram id; anyone else (a citizen, most likely) only by the survey pseudonym."""
    if actor.staff is not None or actor.is_admin:
        return {
            "actor_telegram_id": actor.telegram_id,
            "actor_staff_id": actor.staff.id if actor.staff else None,
        }
    key = respondent_key(context.services.settings, actor.telegram_id)
    return {"actor_label": f"citizen:{key[:56]}"}  # actor_label holds 64 characters


def start_payload(update: Update) -> StartPayload | None:
    """The deep-link payload of a ``/start`` message, or None.

    Normally read from the text. An update recovered from the inbox after a crash carries
    ``/start sv_[redacted]`` and the token's hash beside it (``infra.inbox.redacted``): the
    hash finds the link as the token would have.
    """
    text = update.message.text if update.message is not None else None
    argument = (text or "").split(maxsplit=1)[1] if " " in (text or "") else ""
    parsed = parse_payload(argument)
    if parsed is not None:
        return parsed
    kept = update.api_kwargs.get(REDACTED_KEY)
    if not isinstance(kept, dict) or not isinstance(kept.get("token_hash"), str):
        return None
    try:
        kind = PayloadKind(str(kept.get("kind")))
    except ValueError:
        return None
    if argument.strip() != f"{kind.value}_{REDACTED}":
        return None
    return StartPayload(kind, REDACTED, digest=kept["token_hash"])


def now(context: JxContext) -> dt.datetime:
    return context.services.clock()


def html(text: str) -> Html:
    """Escape user-supplied text (names, units) for HTML parse mode, once (see domain/text.py)."""
    return escape(text)
