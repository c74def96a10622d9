"""The home screen: a bound staff member's tasks and tools, or a citizen's welcome."""

from __future__ import annotations

from sqlalchemy import select
from telegram import Update

from bot.context import JxContext
from bot.flow import reply
from bot.i18n import Translator
from bot.models import OrgUnit
from conversations.common import html, load_caller
from conversations.menus import sync_chat_commands
from services.access import Actor


async def show_home(update: Update, context: JxContext) -> None:
    """``/start`` without a code; also what a chat sees when nothing else is open."""
    actor = await load_caller(update, context)
    tr = await context.tr(update)
    await sync_chat_commands(update, context, actor, tr)
    if actor.staff is None and not actor.is_admin:
        await reply(update, citizen_welcome(tr))
        return
    await reply(update, await staff_home_text(context, actor, tr))


def citizen_welcome(tr: Translator) -> str:
    return "\n\n".join(
        [
            tr._(
                "Hello! This is the performance service assistant of the Emergency Management Bureau."
            ),
            tr._(
                "If you received a service from us, please scan the QR code shown at the service window or by our staff to rate it. It takes about a minute, and we do not ask for your name or phone number."
            ),
            tr._(
                "Bureau staff: open the invite link the evaluation working group sent you to link your account."
            ),
            tr._("Send /language to change the language, /help for help."),
        ]
    )


async def staff_home_text(context: JxContext, actor: Actor, tr: Translator) -> str:
    lines: list[str] = []
    if actor.staff is not None:
        async with context.services.sessions() as session:
            unit = await session.scalar(
                select(OrgUnit.name).where(OrgUnit.id == actor.staff.unit_id)
            )
        lines.append(
            tr._("Hello, {name} ({unit}).").format(
                name=html(actor.staff.name), unit=html(unit or "")
            )
        )
        lines.append("")
        lines.append(tr._("<b>Your tasks</b>"))
        lines.append(
            tr._(
                "No evaluation is collecting answers at the moment. You will be notified when a cycle opens."
            )
        )
    else:
        lines.append(tr._("Hello. You are signed in as a member of the evaluation working group."))
    if actor.is_admin:
        lines.append("")
        lines.append(tr._("<b>Evaluation working group</b>"))
        lines.append(tr._("• Send the staff roster (CSV or XLSX) as a file to import it."))
        lines.append(tr._("• /invites — invite codes for everyone not yet linked"))
        lines.append(tr._("• /reissue <employee no.> — a new code for one person"))
        lines.append(tr._("• /unbind <employee no.> — unlink someone's Telegram account"))
    return "\n".join(lines)
