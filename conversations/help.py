"""``/help`` by role, and ``/cancel`` when nothing is open."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from chat.context import JxContext
from chat.flow import leave_current, reply
from conversations.common import load_caller


async def help_command(update: Update, context: JxContext) -> None:
    await leave_current(update, context)
    actor = await load_caller(update, context)
    tr = await context.tr(update)
    lines = [tr._("<b>How to use this bot</b>"), ""]
    if actor.staff is None and not actor.is_admin:
        lines += [
            tr._("• Citizens: scan the QR code you were given after a service to rate it."),
            tr._(
                "• Bureau staff: open the invite link from the evaluation working group to link your account."
            ),
        ]
    else:
        lines += [
            tr._("• /start — your home screen and open tasks"),
            tr._(
                "• /self, /review, /peer — self-assessment, reviewing your people, rating colleagues"
            ),
            tr._("• /history, /plan — your results, your improvement plan"),
            tr._(
                "• Tap the buttons to answer; everything you answer is saved at once, and you can come back later to continue."
            ),
        ]
    lines += [
        tr._("• /language — change the language"),
        tr._("• /cancel — stop what you are doing"),
    ]
    if actor.is_admin:
        lines += [
            "",
            tr._(
                "• /admin — the working group's console: progress by unit, reminders, deadlines, scoring, approval, and the queues"
            ),
            tr._(
                "Working group: /invites, /reissue &lt;employee no.&gt;, /unbind &lt;employee no.&gt;; send a roster file to import staff, or a template file to open a cycle; /cycle, /score, /appeals, /plans, /annual, /export, /report, /links, /surveys, /reviews."
            ),
        ]
    elif actor.is_leadership:
        lines += ["", tr._("• /admin — the evaluation's progress by unit (read-only)")]
    await reply(update, "\n".join(lines))


async def cancel_outside(update: Update, context: JxContext) -> None:
    tr = await context.tr(update)
    await reply(update, tr._("There is nothing to cancel right now."))


def build_handlers() -> list[BaseHandler]:
    return [CommandHandler("help", help_command), CommandHandler("cancel", cancel_outside)]
