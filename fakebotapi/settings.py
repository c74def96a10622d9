"""Bot API methods that configure the bot: commands, webhook, menu button, profile texts."""

from __future__ import annotations

import json
import re
from typing import Any

from fakebotapi import errors
from fakebotapi.call import Call, method
from fakebotapi.errors import ApiError, bad_request
from fakebotapi.state import JSON, Webhook

SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def scope_key(scope: dict[str, Any] | None) -> str:
    """Canonical JSON of a BotCommandScope, used as the first half of the commands key."""
    scope = dict(scope or {"type": "default"})
    for key in ("chat_id", "user_id"):
        value = scope.get(key)
        if isinstance(value, str) and value.lstrip("-").isdigit():
            scope[key] = int(value)
    return json.dumps(scope, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _scope(call: Call) -> str:
    scope = call.params.obj("scope")
    if scope is None:
        return scope_key(None)
    if not isinstance(scope, dict) or scope.get("type") not in SCOPE_TYPES:
        raise bad_request("Bad Request: can't parse scope JSON object")
    if scope["type"] in ("chat", "chat_administrators", "chat_member"):
        try:
            known = call.bot.chat(int(scope.get("chat_id", ""))) is not None
        except (TypeError, ValueError):
            known = False
        if not known:
            raise ApiError(400, errors.CHAT_NOT_FOUND)
    return scope_key(scope)


def _commands_key(call: Call) -> tuple[str, str]:
    return _scope(call), call.params.text("language_code") or ""


@method("setMyCommands")
async def set_my_commands(call: Call) -> bool:
    """Store the command list for (scope, language_code); an empty list deletes it."""
    commands = call.params.obj("commands")
    if not isinstance(commands, list):
        raise bad_request("Bad Request: can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("Bad Request: too many commands specified")
    cleaned: list[JSON] = []
    for entry in commands:
        if not isinstance(entry, dict) or not _COMMAND_RE.match(str(entry.get("command", ""))):
            raise bad_request("Bad Request: BOT_COMMAND_INVALID")
        description = entry.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 256:
            raise bad_request("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        cleaned.append({"command": entry["command"], "description": description})
    key = _commands_key(call)
    if cleaned:
        call.bot.commands[key] = cleaned
    else:
        call.bot.commands.pop(key, None)
    return True


@method("getMyCommands")
async def get_my_commands(call: Call) -> list[JSON]:
    """The commands stored for exactly this (scope, language_code)."""
    return list(call.bot.commands.get(_commands_key(call), []))


@method("deleteMyCommands")
async def delete_my_commands(call: Call) -> bool:
    """Forget the commands of (scope, language_code)."""
    call.bot.commands.pop(_commands_key(call), None)
    return True


@method("setWebhook")
async def set_webhook(call: Call) -> bool:
    """Register a webhook; plain http URLs are allowed because the receiver is local."""
    params, bot = call.params, call.bot
    url = params.text("url") or ""
    if params.flag("drop_pending_updates"):
        bot.updates.clear()
    allowed = params.obj("allowed_updates")
    if isinstance(allowed, list):
        bot.allowed_updates = [str(kind) for kind in allowed]
    if not url:
        bot.webhook = None
        return True
    if not url.startswith(("http://", "https://")):
        raise bad_request("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.text("secret_token")
    if secret is not None and not _SECRET_RE.match(secret):
        raise bad_request("Bad Request: bad webhook: secret token contains unallowed characters")
    bot.webhook = Webhook(
        url=url,
        secret_token=secret,
        max_connections=params.integer("max_connections", required=False) or 40,
        ip_address=params.text("ip_address"),
        allowed_updates=bot.allowed_updates or None,
    )
    call.hub.notify()
    return True


@method("deleteWebhook")
async def delete_webhook(call: Call) -> bool:
    """Remove the webhook (getUpdates works again); optionally drop pending updates."""
    call.bot.webhook = None
    if call.params.flag("drop_pending_updates"):
        call.bot.updates.clear()
    return True


@method("getWebhookInfo")
async def get_webhook_info(call: Call) -> JSON:
    """WebhookInfo; ``url`` is empty while polling."""
    bot = call.bot
    hook = bot.webhook
    info: JSON = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(bot.updates),
    }
    if hook is not None:
        info["max_connections"] = hook.max_connections
        if hook.ip_address:
            info["ip_address"] = hook.ip_address
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
        if hook.allowed_updates:
            info["allowed_updates"] = hook.allowed_updates
    return info


def _menu_chat(call: Call) -> int | None:
    if call.params.raw("chat_id") in (None, ""):
        return None
    return call.chat(writable=False).id


@method("setChatMenuButton")
async def set_chat_menu_button(call: Call) -> bool:
    """Store the menu button for a chat (or the default one without chat_id)."""
    chat_id = _menu_chat(call)
    button = call.params.obj("menu_button") or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
        raise bad_request("Bad Request: can't parse menu_button JSON object")
    call.bot.menu_buttons[chat_id] = button
    return True


@method("getChatMenuButton")
async def get_chat_menu_button(call: Call) -> JSON:
    """The stored menu button, falling back to the bot-wide one, then ``default``."""
    chat_id = _menu_chat(call)
    buttons = call.bot.menu_buttons
    return dict(buttons.get(chat_id) or buttons.get(None) or {"type": "default"})


def _profile_text(name: str, field: str, limit: int) -> None:
    async def setter(call: Call) -> bool:
        value = call.params.text(field) or ""
        if len(value) > limit:
            raise bad_request(f"Bad Request: {field} is too long")
        call.bot.texts[(field, call.params.text("language_code") or "")] = value
        return True

    async def getter(call: Call) -> JSON:
        return {field: call.bot.texts.get((field, call.params.text("language_code") or ""), "")}

    setter.__doc__ = f"Store the bot's {field} per language."
    getter.__doc__ = f"The bot's {field} for a language (empty if unset)."
    method(f"setMy{name}")(setter)
    method(f"getMy{name}")(getter)


_profile_text("Name", "name", 64)
_profile_text("Description", "description", 512)
_profile_text("ShortDescription", "short_description", 120)


@method("getChat")
async def get_chat(call: Call) -> JSON:
    """ChatFullInfo of a private chat with the fields PTB requires."""
    chat = call.chat(writable=False)
    return {
        **chat.info,
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


@method("close")
async def close(call: Call) -> bool:
    """Accepted and ignored: there is no cloud instance to close."""
    return True


@method("logOut")
async def log_out(call: Call) -> bool:
    """Accepted and ignored."""
    return True
