"""Queue a message the bot pushes on its own, in the transaction of the change that causes it.

Reminders, results and replies to citizens are rows in ``outbox_message`` committed together
with the change they announce: if the change rolls back, nothing is sent; if it commits, the
sender (``chat.outbox_sender``) delivers it even across crashes. Direct replies to a user's own
message do not go through here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol, TypedDict, Unpack

from sqlalchemy import Update, delete, func, select, update
from sqlalchemy import insert as sql_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.choice import Choices, choices_to_json
from domain.enums import OutboxStatus
from domain.text import CAPTION_LIMIT, MESSAGE_LIMIT, clip, clip_html
from infra.models import OutboxMessage
from infra.models.types import utcnow

SEND_MESSAGE: Final = "sendMessage"
SEND_PHOTO: Final = "sendPhoto"
SEND_DOCUMENT: Final = "sendDocument"
EDIT_TEXT: Final = "editMessageText"  # a message queued earlier, rewritten (``enqueue_edit``)
METHODS: Final = frozenset({SEND_MESSAGE, SEND_PHOTO, SEND_DOCUMENT})
DEFAULT_NAMES: Final = {SEND_PHOTO: "image.png", SEND_DOCUMENT: "document"}
RETENTION: Final = dt.timedelta(days=30)  # finished rows are deleted after this (``prune``)


class _Serialisable(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


async def enqueue(
    session: AsyncSession, chat_id: int, text: str, **options: Unpack[MessageOptions]
) -> OutboxMessage | None:
    """Add a message to the caller's transaction (flushed, not committed).

    ``dedupe_key`` makes the call idempotent — a re-run job or a replayed update queues the
    reminder once: if a row with that key exists, nothing is added and None is returned. The
    insert runs in a SAVEPOINT, so losing a race on the unique key leaves the caller's
    transaction intact. For ``sendPhoto``/``sendDocument`` the ``attachment`` is uploaded and
    ``caption`` (default: ``text``) goes under it. ``not_before`` delays delivery; it does not
    hold back later messages to the same chat. ``render`` (instead of ``attachment``) is a JSON
    spec the sender draws at send time (``chat.render_pool.RENDERERS``), e.g. a result chart.
    ``erase_chat_id`` (a reply to a citizen): the row forgets the chat once it is no longer
    pending (``erase_finished_chats``), so no raw citizen id outlives its delivery.

    ``choices`` are the buttons under the message, as named flow actions: stored as JSON and
    turned into a keyboard by the sender when it sends (``chat.callbacks.markup``). ``markup``
    (a Bot API ``reply_markup`` dict, or an object with ``to_dict``) is the older form, kept
    for callers not yet offering choices; rows queued with it are sent as they are.
    """
    return await insert(session, message(chat_id, text, **options))


class MessageOptions(TypedDict, total=False):
    """``message``'s keyword arguments, which ``enqueue`` takes as they are (defaults there)."""

    choices: Choices | None
    markup: Mapping[str, Any] | _Serialisable | None
    parse_mode: str | None
    dedupe_key: str | None
    method: str
    attachment: bytes | None
    attachment_name: str | None
    caption: str | None
    not_before: dt.datetime | None
    render: dict[str, Any] | None
    erase_chat_id: bool


def message(
    chat_id: int,
    text: str,
    *,
    choices: Choices | None = None,
    markup: Mapping[str, Any] | _Serialisable | None = None,
    parse_mode: str | None = "HTML",
    dedupe_key: str | None = None,
    method: str = SEND_MESSAGE,
    attachment: bytes | None = None,
    attachment_name: str | None = None,
    caption: str | None = None,
    not_before: dt.datetime | None = None,
    render: dict[str, Any] | None = None,
    erase_chat_id: bool = False,
) -> OutboxMessage:
    """The row ``enqueue`` adds (same arguments), for ``enqueue_all`` to add many at once."""
    if choices and markup is not None:
        raise ValueError("a message has either choices or a markup, not both")
    if method not in METHODS:
        raise ValueError(f"unsupported outbox method {method!r}")
    payload: dict[str, Any] = {}
    if method == SEND_MESSAGE:
        if not text:
            raise ValueError("an empty message cannot be sent")
        payload["text"] = text
    else:
        if attachment is None and render is None:
            raise ValueError(f"{method} needs an attachment")
        if render is not None:
            payload["render"] = render
        body = caption if caption is not None else text
        if body:
            payload["caption"] = body
    for field, limit in (("text", MESSAGE_LIMIT), ("caption", CAPTION_LIMIT)):
        if field in payload:  # the last guard: a long message is cut, never refused
            fit = clip_html if parse_mode == "HTML" else clip
            payload[field] = str(fit(payload[field], limit))
    if parse_mode is not None and ("text" in payload or "caption" in payload):
        payload["parse_mode"] = parse_mode
    if choices:
        payload["choices"] = choices_to_json(choices)
    elif markup is not None:
        payload["reply_markup"] = (
            dict(markup) if isinstance(markup, Mapping) else dict(markup.to_dict())
        )
    row = OutboxMessage(
        chat_id=chat_id,
        method=method,
        payload=payload,
        attachment=attachment,
        attachment_name=(attachment_name or DEFAULT_NAMES[method])
        if attachment or render
        else None,
        dedupe_key=dedupe_key,
        erase_chat_id=erase_chat_id,
        status=OutboxStatus.PENDING,
        attempts=0,
        created_at=utcnow(),
        next_attempt_at=not_before or utcnow(),
    )
    return row


async def enqueue_all(session: AsyncSession, rows: Sequence[OutboxMessage]) -> int:
    """Add many rows (built by ``message``, each with a dedupe key) in one INSERT, skipping
    the keys already queued; returns how many were added.

    What ``enqueue`` does row by row (a look-up, a flush and a savepoint each), done for a
    whole chunk: publishing queues thousands. A concurrent transaction that queued one of the
    keys meanwhile makes the bulk insert fail; then the chunk is added row by row, as
    ``enqueue`` would, and the duplicates are skipped.
    """
    keys = [row.dedupe_key for row in rows]
    if None in keys or len(set(keys)) != len(keys):
        raise ValueError("enqueue_all needs a distinct dedupe key on every row")
    found = set(
        await session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))
        )
    )
    fresh = [row for row in rows if row.dedupe_key not in found]
    if not fresh:
        return 0
    await session.flush()  # the caller's own pending writes fail here, outside the savepoint
    try:
        async with session.begin_nested():
            # one executemany (the ORM would insert row by row to learn each new id)
            await session.execute(
                sql_insert(OutboxMessage), [{c: getattr(row, c) for c in _COLUMNS} for row in fresh]
            )
    except IntegrityError:
        added = 0
        for row in fresh:
            added += await insert(session, row) is not None
        return added
    return len(fresh)


async def enqueue_edit(
    session: AsyncSession, original: OutboxMessage, text: str, *, dedupe_key: str
) -> OutboxMessage | None:
    """Rewrite the HTML text of ``original`` (a text message queued earlier) and remove its
    buttons: an approval request once someone decided it, say.

    The edit names ``original`` by row; the sender finds its Telegram message id when it
    sends. Rows of a chat go out in id order, so ``original`` has been sent (or has failed,
    and the edit fails with it) by then. Idempotent by ``dedupe_key`` like ``enqueue``.
    """
    payload: dict[str, Any] = {
        "text": str(clip_html(text, MESSAGE_LIMIT)),
        "parse_mode": "HTML",
        "edit_of": original.id,
    }
    row = OutboxMessage(
        chat_id=original.chat_id,
        method=EDIT_TEXT,
        payload=payload,
        dedupe_key=dedupe_key,
        status=OutboxStatus.PENDING,
        attempts=0,
        created_at=utcnow(),
        next_attempt_at=utcnow(),
    )
    return await insert(session, row)


async def insert(session: AsyncSession, row: OutboxMessage) -> OutboxMessage | None:
    """Add ``row`` (built by ``message``) unless a row with its dedupe key exists (then None)."""
    dedupe_key = row.dedupe_key
    if dedupe_key is None:
        session.add(row)
        await session.flush()
        return row
    if await _exists(session, dedupe_key):
        return None
    await session.flush()  # the caller's own pending writes fail here, outside the savepoint
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # A concurrent transaction committed the same key between our check and insert.
        if await _exists(session, dedupe_key):
            return None
        raise
    return row


# what a row built by ``message`` sets, as ``enqueue_all`` inserts it
_COLUMNS: Final = tuple(c.key for c in OutboxMessage.__table__.columns if c.key != "id")


def erase_finished_chats(chat_ids: Sequence[int]) -> Update:
    """The statement that erases ``chat_ids`` from those chats' rows marked ``erase_chat_id``
    which are sent, blocked or failed: run by the sender as it records outcomes."""
    return (
        update(OutboxMessage)
        .where(
            OutboxMessage.chat_id.in_(chat_ids),
            OutboxMessage.erase_chat_id.is_(True),
            OutboxMessage.status != OutboxStatus.PENDING,
        )
        .values(chat_id=None)
    )


async def prune(session: AsyncSession, now: dt.datetime, keep: dt.timedelta = RETENTION) -> int:
    """Delete rows finished (sent, blocked, failed) more than ``keep`` ago: they hold texts
    and chat ids nobody needs any more. Pending rows stay, however old. Dedupe keys go with
    them; what they guarded (reminders, notices) is also marked on its own rows, so
    nothing is queued again."""
    result = await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.status != OutboxStatus.PENDING,
            func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at) < now - keep,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def _exists(session: AsyncSession, dedupe_key: str) -> bool:
    found = await session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key).limit(1)
    )
    return found is not None
