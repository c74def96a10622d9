"""Command menus per language and role.

``setMyCommands`` takes only two-letter language codes, so Simplified and
Traditional Chinese cannot be told apart there: the default menus are set for
``zh`` (Simplified) and ``en``, and once we know a user's language and role we
set their chat's own menu with ``BotCommandScopeChat``. Failures are logged only.
"""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import TelegramError

from chat.context import JxApplication, JxContext
from infra.i18n import N_, Translator
from services.access import Actor

log = logging.getLogger(__name__)

STAFF = [
    ("self", N_("Self-assessment")),
    ("review", N_("Review your people")),
    ("peer", N_("Rate colleagues")),
    ("history", N_("Your results")),
    ("plan", N_("Your improvement plan")),
]
COMMON = [
    ("start", N_("Home: your tasks")),
    ("help", N_("Help")),
    ("language", N_("Change language")),
    ("cancel", N_("Stop what you are doing")),
]
ADMIN = [
    ("admin", N_("Working group console")),
    ("invites", N_("Invite codes for unlinked staff")),
    ("reissue", N_("New invite code for one person")),
    ("unbind", N_("Unlink a Telegram account")),
    ("cycle", N_("Cycles and progress")),
    ("proxy", N_("Enter a paper form for someone")),
    ("reassign", N_("Give a form to another rater")),
    ("reopen", N_("Reopen a submitted form")),
    ("links", N_("Survey QR codes")),
    ("surveys", N_("Citizen satisfaction")),
    ("reviews", N_("Negative ratings to re-examine")),
    ("score", N_("Score a cycle")),
    ("appeals", N_("Appeals to decide")),
    ("plans", N_("Improvement plans")),
    ("annual", N_("Annual results and awards")),
    ("report", N_("Evaluation report (PDF)")),
    ("export", N_("Excel workbook of a cycle")),
]
HEAD = [
    ("rectify", N_("Negative ratings to rectify")),
    ("links", N_("Survey QR codes")),
    ("surveys", N_("Citizen satisfaction")),
    ("plans", N_("Improvement plans")),
]


def commands_for(actor: Actor | None, tr: Translator) -> list[BotCommand]:
    pairs = COMMON[:1]
    if actor is not None and actor.is_staff:
        pairs += STAFF
    pairs += COMMON[1:]
    if actor is not None and actor.is_unit_head:
        pairs += HEAD
    if actor is not None and actor.is_leadership:
        pairs += [
            ("annual", N_("Annual results and awards")),
            ("admin", N_("Evaluation progress (read-only)")),
            ("report", N_("Evaluation report (PDF)")),
            ("export", N_("Excel workbook of a cycle")),
        ]
    if actor is not None and actor.is_admin:
        names = {name for name, _ in pairs}
        pairs += [p for p in ADMIN if p[0] not in names]
    return [BotCommand(name, tr._(desc)) for name, desc in pairs]


async def set_default_commands(application: JxApplication) -> None:
    services = application.services
    try:
        for code, locale in (("", services.settings.locale), ("zh", "zh_Hans"), ("en", "en")):
            await application.bot.set_my_commands(
                commands_for(None, services.translator(locale)),
                scope=BotCommandScopeDefault(),
                language_code=code or None,
            )
    except TelegramError as exc:
        log.warning("could not set the default command menu: %s", exc)


async def sync_chat_commands(
    update: Update, context: JxContext, actor: Actor, tr: Translator
) -> None:
    """Give this chat the menu of its language and role (only when it changed)."""
    chat = update.effective_chat
    if chat is None or context.chat_data is None:
        return
    signature = f"{tr.locale}:{actor.is_staff:d}{actor.is_unit_head:d}{actor.is_leadership:d}{actor.is_admin:d}"
    if context.chat_data.get("menu") == signature:
        return
    try:
        await context.bot.set_my_commands(
            commands_for(actor, tr), scope=BotCommandScopeChat(chat.id)
        )
        context.chat_data["menu"] = signature
    except TelegramError as exc:
        log.warning("could not set the command menu of chat %s: %s", chat.id, exc)
