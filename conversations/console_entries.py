"""What the working group's console (/admin) opens: one line per entry, so a new command
joins the console in one line (``ConsoleEntry("export", N_("…"), LEADERS, export_command)``).
An entry runs as its command typed bare, so it takes the command's default period (/report:
the cycle scored last; /export: the latest cycle), never the console's cycle as such.

An entry's ``start`` is the command's or flow's own handler, called with the button's
update as the command would be, so its confirmations, refusals and audit are the
command's. The screens it shows are sent as new messages; the console is then redrawn in
place (``conversations.console``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from telegram import Update

from chat.context import JxContext
from chat.flow import reply
from conversations import (
    admin,
    appeal,
    export,
    plan,
    rectification,
    report,
    staff_number,
    survey_admin,
)
from infra.i18n import N_


class Audience(StrEnum):
    """Who sees an entry's button: the working group only, or the leadership group too
    (entries that only read, such as an export or the report)."""

    WORKING_GROUP = "working_group"
    LEADERS = "leaders"


@dataclass(frozen=True)
class ConsoleEntry:
    """``key``: stable, in the button's data (``ac1:go:<key>``); ``label``: an ``N_`` msgid."""

    key: str
    label: str
    audience: Audience
    start: Callable[[Update, JxContext], Awaitable[object]]


async def ask_for_roster(update: Update, context: JxContext) -> None:
    """The roster is imported from a file sent to the chat: say so (the upload is the entry)."""
    tr = await context.tr(update)
    await reply(
        update,
        tr._(
            "Send the staff roster now as a file (CSV or XLSX, one row per person). You will see what changes before anything is imported."
        ),
    )


async def ask_for_template(update: Update, context: JxContext) -> None:
    """A cycle is opened by sending its indicator system as a file: say so."""
    tr = await context.tr(update)
    await reply(
        update,
        tr._(
            "Send the indicator system now as a file (XLSX or TOML). After the check you choose the period and the deadline, and the cycle opens once the leadership group approves it."
        ),
    )


WG, LEADERS = Audience.WORKING_GROUP, Audience.LEADERS

ENTRIES: list[ConsoleEntry] = [
    ConsoleEntry("appeals", N_("Appeals to decide"), WG, appeal.show_queue),
    ConsoleEntry("reviews", N_("Negative ratings to re-examine"), WG, rectification.show_reviews),
    ConsoleEntry("plans", N_("Improvement plans"), WG, plan.plans_command),
    ConsoleEntry("invites", N_("Invite codes for unlinked staff"), WG, admin.invites_command),
    # commands that take employee numbers: the entry asks for them (conversations.staff_number)
    ConsoleEntry("reissue", N_("Reissue an invitation code"), WG, staff_number.asker("reissue")),
    ConsoleEntry("unbind", N_("Unlink a Telegram account"), WG, staff_number.asker("unbind")),
    ConsoleEntry("reopen", N_("Reopen a submitted form"), WG, staff_number.asker("reopen")),
    ConsoleEntry(
        "reassign", N_("Give a form to another rater"), WG, staff_number.asker("reassign")
    ),
    ConsoleEntry("proxy", N_("Submit a form on a rater's behalf"), WG, staff_number.asker("proxy")),
    ConsoleEntry("roster", N_("Import the staff roster"), WG, ask_for_roster),
    ConsoleEntry("template", N_("Upload an indicator system"), WG, ask_for_template),
    ConsoleEntry("links", N_("Survey QR codes"), WG, survey_admin.links_command),
    ConsoleEntry("surveys", N_("Citizen satisfaction"), WG, survey_admin.surveys_command),
    ConsoleEntry("export", N_("Excel workbook"), LEADERS, export.export_command),
    ConsoleEntry("report", N_("Evaluation report"), LEADERS, report.report_command),
]
"""The console's entries, in the order of their buttons (two to a row)."""


def entry(key: str) -> ConsoleEntry | None:
    return next((e for e in ENTRIES if e.key == key), None)


def allowed(e: ConsoleEntry, *, is_admin: bool, is_leadership: bool) -> bool:
    return is_admin or (e.audience == Audience.LEADERS and is_leadership)
