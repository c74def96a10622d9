"""Bot API methods that move messages: updates, send/edit/delete, callback answers, files."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from fakebotapi import errors, media
from fakebotapi.call import Call, method
from fakebotapi.errors import ApiError, bad_request
from fakebotapi.formatting import check_text
from fakebotapi.markup import inline_part, parse_reply_markup
from fakebotapi.state import JSON, MAX_DOWNLOAD, Chat, StoredFile, StoredMessage

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


@method("getMe")
async def get_me(call: Call) -> JSON:
    """The bot's own User object with the bot-only capability flags."""
    return {
        **call.bot.user_json(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("getUpdates")
async def get_updates(call: Call) -> list[JSON]:
    """Long polling with Telegram's offset/limit/timeout semantics and single-poller conflicts."""
    bot, hub, params = call.bot, call.hub, call.params
    if bot.webhook is not None:
        raise ApiError(409, errors.WEBHOOK_CONFLICT)
    offset = params.integer("offset", required=False) or 0
    limit = min(max(params.integer("limit", required=False) or 100, 1), 100)
    timeout = max(params.number("timeout") or 0.0, 0.0)
    allowed = params.obj("allowed_updates")
    if isinstance(allowed, list):
        bot.allowed_updates = [str(kind) for kind in allowed]
    bot.poll_generation += 1
    generation = bot.poll_generation
    hub.notify()  # an older pending poll of this bot now ends with 409
    if offset:
        bot.confirm(offset)
    if not bot.updates and timeout > 0:
        await hub.notifier.wait_for(
            lambda: (
                bool(bot.updates)
                or bot.poll_generation != generation
                or bot.webhook is not None
                or hub.stopping
                or call.closed()
            ),
            timeout,
        )
        if bot.poll_generation != generation:
            raise ApiError(409, errors.POLL_CONFLICT)
        if bot.webhook is not None:
            raise ApiError(409, errors.WEBHOOK_CONFLICT)
    return copy.deepcopy(list(itertools.islice(bot.updates, limit)))


def _new_message(call: Call, chat: Chat, body: JSON, markup: JSON | None) -> JSON:
    """Assemble the Message JSON; ids are only allocated once validation passed."""
    raw: JSON = {
        "message_id": chat.allocate_id(),
        "from": call.bot.user_json(),
        "chat": chat.info,
        "date": call.hub.now(),
    }
    reply = call.params.obj("reply_parameters")
    reply_id = reply.get("message_id") if isinstance(reply, dict) else None
    if reply_id is None:
        reply_id = call.params.integer("reply_to_message_id", required=False)
    replied = chat.messages.get(int(reply_id)) if reply_id is not None else None
    if replied is not None and not replied.deleted:
        nested = copy.deepcopy(replied.raw)
        nested.pop("reply_to_message", None)
        raw["reply_to_message"] = nested
    raw.update(body)
    inline = inline_part(markup)
    if inline:
        raw["reply_markup"] = inline
    return raw


def _text_options(call: Call, name: str, *, caption: bool) -> tuple[str, list[JSON]]:
    params = call.params
    entities_name = "caption_entities" if caption else "entities"
    return check_text(
        params.text(name),
        params.text("parse_mode"),
        params.obj(entities_name),
        caption=caption,
        strict_ampersand=call.hub.strict_html_ampersand,
    )


def _store(call: Call, chat: Chat, raw: JSON, markup: JSON | None, file: StoredFile | None) -> JSON:
    stored = StoredMessage(
        raw=raw,
        from_bot=True,
        parse_mode=call.params.text("parse_mode"),
        reply_markup=markup,
        file=file,
    )
    chat.add(stored)
    return copy.deepcopy(raw)


@method("sendMessage")
async def send_message(call: Call) -> JSON:
    """Send a text message after Telegram's text, markup and length validation."""
    chat = call.chat()
    text, entities = _text_options(call, "text", caption=False)
    markup = parse_reply_markup(call.params.raw("reply_markup"))
    body: JSON = {"text": text}
    if entities:
        body["entities"] = entities
    return _store(call, chat, _new_message(call, chat, body, markup), markup, None)


def _input_file(call: Call, field: str, kind: str) -> StoredFile:
    """An uploaded part (by field name or attach://), a known file_id, or an HTTP URL."""
    value = call.params.raw(field)
    upload = call.params.files.get(field)
    if upload is None and isinstance(value, str) and value.startswith("attach://"):
        upload = call.params.files.get(value.removeprefix("attach://"))
    files = call.hub.files
    if upload is not None:
        mime = upload.content_type if kind == "document" else None
        if mime == "application/octet-stream":
            mime = None
        return files.add(upload.body, kind, file_name=upload.filename or None, mime_type=mime)
    if value is None or value == "":
        raise bad_request(f"Bad Request: there is no {field} in the request")
    known = files.by_id.get(str(value))
    if known is not None:
        return known
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        name = value.rstrip("/").rsplit("/", 1)[-1] or None
        return files.add(b"", kind, file_name=name if kind == "document" else None)
    raise ApiError(400, errors.WRONG_FILE)


async def _send_media(call: Call, kind: str) -> JSON:
    chat = call.chat()
    caption, entities = _text_options(call, "caption", caption=True)
    markup = parse_reply_markup(call.params.raw("reply_markup"))
    stored_file = _input_file(call, kind, kind)
    body: JSON = {}
    if kind == "photo":
        body["photo"] = media.photo_sizes(stored_file)
    else:
        body["document"] = media.document(stored_file)
    if caption:
        body["caption"] = caption
        if entities:
            body["caption_entities"] = entities
    return _store(call, chat, _new_message(call, chat, body, markup), markup, stored_file)


@method("sendPhoto")
async def send_photo(call: Call) -> JSON:
    """Send a photo (multipart upload, file_id or URL) with an optional caption."""
    return await _send_media(call, "photo")


@method("sendDocument")
async def send_document(call: Call) -> JSON:
    """Send a document (multipart upload, file_id or URL) with an optional caption."""
    return await _send_media(call, "document")


def _editable(call: Call) -> tuple[Chat, StoredMessage]:
    if call.params.raw("inline_message_id"):
        raise bad_request("Bad Request: MESSAGE_ID_INVALID")
    chat = call.chat()
    message_id = call.params.integer("message_id")
    assert message_id is not None
    message = chat.messages.get(message_id)
    if message is None or message.deleted:
        raise ApiError(400, errors.EDIT_NOT_FOUND)
    if not message.from_bot:
        raise ApiError(400, errors.CANT_EDIT)
    return chat, message


def _apply_edit(
    call: Call, chat: Chat, message: StoredMessage, changes: dict[str, Any], markup: JSON | None
) -> JSON:
    """Apply ``changes`` (``None`` deletes a key) unless nothing would change (Telegram's 400)."""
    raw = message.raw
    inline = inline_part(markup)
    same = all(raw.get(k) == (v if v != [] else None) for k, v in changes.items())
    if same and raw.get("reply_markup") == inline:
        raise ApiError(400, errors.NOT_MODIFIED)
    for key, value in {**changes, "reply_markup": inline}.items():
        if value is None or value == []:
            raw.pop(key, None)
        else:
            raw[key] = value
    raw["edit_date"] = call.hub.now()
    message.edited = True
    message.reply_markup = markup
    if call.params.raw("parse_mode") is not None or "text" in changes or "caption" in changes:
        message.parse_mode = call.params.text("parse_mode")
    chat.add_event(message.snapshot(edited=True))
    return copy.deepcopy(raw)


@method("editMessageText")
async def edit_message_text(call: Call) -> JSON:
    """Edit a bot text message; omitting reply_markup removes the inline keyboard."""
    chat, message = _editable(call)
    if "text" not in message.raw:
        raise ApiError(400, errors.NO_TEXT_TO_EDIT)
    text, entities = _text_options(call, "text", caption=False)
    markup = parse_reply_markup(call.params.raw("reply_markup"))
    return _apply_edit(call, chat, message, {"text": text, "entities": entities}, markup)


@method("editMessageCaption")
async def edit_message_caption(call: Call) -> JSON:
    """Edit the caption of a bot photo/document message."""
    chat, message = _editable(call)
    if "text" in message.raw:
        raise ApiError(400, errors.NO_CAPTION_TO_EDIT)
    caption, entities = _text_options(call, "caption", caption=True)
    markup = parse_reply_markup(call.params.raw("reply_markup"))
    changes = {"caption": caption or None, "caption_entities": entities}
    return _apply_edit(call, chat, message, changes, markup)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(call: Call) -> JSON:
    """Replace (or, without reply_markup, remove) a bot message's inline keyboard."""
    chat, message = _editable(call)
    markup = parse_reply_markup(call.params.raw("reply_markup"))
    return _apply_edit(call, chat, message, {}, markup)


@method("deleteMessage")
async def delete_message(call: Call) -> bool:
    """Flag the message deleted (kept in history so tests can see it went away)."""
    chat = call.chat(writable=False)
    message_id = call.params.integer("message_id")
    message = chat.messages.get(message_id) if message_id is not None else None
    if message is None or message.deleted:
        raise ApiError(400, errors.DELETE_NOT_FOUND)
    message.deleted = True
    return True


@method("deleteMessages")
async def delete_messages(call: Call) -> bool:
    """Delete several messages; unknown ones are skipped, as Telegram documents."""
    chat = call.chat(writable=False)
    ids = call.params.obj("message_ids")
    if not isinstance(ids, list) or not ids:
        raise bad_request("Bad Request: message_ids is empty")
    for message_id in ids:
        message = chat.messages.get(int(message_id))
        if message is not None:
            message.deleted = True
    return True


@method("answerCallbackQuery")
async def answer_callback_query(call: Call) -> bool:
    """Answer a callback query once, within ``callback_query_ttl`` seconds of the press."""
    params, hub = call.params, call.hub
    query_id = params.text("callback_query_id") or ""
    record = call.bot.callback_queries.get(query_id)
    if (
        record is None
        or record.answered
        or hub.monotonic() - record.created > hub.callback_query_ttl
    ):
        raise ApiError(400, errors.QUERY_TOO_OLD)
    text = params.text("text")
    if text is not None and len(text) > 200:
        raise bad_request("Bad Request: MESSAGE_TOO_LONG")
    record.answered = True
    answer: JSON = {
        "callback_query_id": query_id,
        "text": text,
        "show_alert": params.flag("show_alert"),
    }
    if params.raw("url"):
        answer["url"] = params.text("url")
    call.bot.chats[record.chat_id].callback_answers.append(answer)
    return True


@method("getFile")
async def get_file(call: Call) -> JSON:
    """File metadata incl. the download path under base_file_url."""
    stored = call.hub.files.by_id.get(call.params.text("file_id") or "")
    if stored is None:
        raise ApiError(400, errors.INVALID_FILE_ID)
    if stored.file_size > MAX_DOWNLOAD:
        raise ApiError(400, errors.FILE_TOO_BIG)
    return media.file_object(stored)


@method("sendChatAction")
async def send_chat_action(call: Call) -> bool:
    """Record the chat action ("typing"...); visible as ``SimUser.last_action``."""
    chat = call.chat()
    action = call.params.text("action") or ""
    if action not in CHAT_ACTIONS:
        raise ApiError(400, errors.WRONG_ACTION)
    chat.last_action = action
    return True
