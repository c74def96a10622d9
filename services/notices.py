"""Messages the bot pushes (through the outbox), each written in the recipient's language.

Nothing here knows the messenger: a notice is a recipient, an HTML text and, for buttons,
named choices (``domain.choice``) that the chat layer turns into a keyboard when it sends.
The deployment's default language and time zone come in as a ``Localization`` (built from
``Settings`` by the caller), never read from the environment here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.choice import Choice, Choices, rows
from domain.enums import AssignmentStatus, Source
from domain.labels import DIMENSION_LABELS, SOURCE_LABELS
from domain.template import Template
from domain.text import N_, html_format
from infra.config import Settings
from infra.i18n import Translator
from infra.models import Assignment, Cycle, Staff, TelegramAccount, TemplateVersion
from services.access import admin_accounts
from services.outbox import enqueue
from services.templates import localized

DEFAULT_LOCALE: Final = "zh_Hans"
DEFAULT_TZ: Final = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Localization:
    """How a push is written for someone who chose no language: the deployment's default
    language and the bureau's time zone (``Settings.locale`` and ``Settings.tz``)."""

    locale: str = DEFAULT_LOCALE
    tz: ZoneInfo = DEFAULT_TZ

    @classmethod
    def of(cls, settings: Settings) -> Localization:
        return cls(settings.locale, settings.tz)

    def translator(self, language: str | None) -> Translator:
        return Translator(language or self.locale, self.tz)


DEFAULTS: Final = Localization()
"""The built-in defaults (简体中文, Asia/Shanghai), the same as ``Settings``' own."""


def translator(language: str | None, local: Localization = DEFAULTS) -> Translator:
    """The recipient's translator (``language`` as stored on their account, else the default)."""
    return local.translator(language)


# The template approval's buttons (``conversations.cycle_admin``'s ``tp1`` codec).
APPROVE_TEMPLATE: Final = "template.approve"
VIEW_TEMPLATE: Final = "template.view"


def template_approval_message(
    version: TemplateVersion, language: str | None, local: Localization = DEFAULTS
) -> tuple[str, Choices]:
    tr = translator(language, local)
    template = Template.from_dict(version.content)
    dims = tr.join(
        f"{tr._(DIMENSION_LABELS[d])} {tr.percent(w)}"
        for d, w in template.dimension_weights.items()
    )
    srcs = tr.join(
        f"{tr._(SOURCE_LABELS[s])} {tr.percent(w)}" for s, w in template.source_weights.items()
    )
    text = "\n".join(
        [
            tr._("<b>Indicator system for approval</b>"),
            html_format(
                tr._("The evaluation working group asks the leadership group to approve “{name}”."),
                name=localized(version.name, tr.locale),
            ),
            "",
            html_format(tr._("Dimensions: {weights}"), weights=dims),
            html_format(tr._("Sources: {weights}"), weights=srcs),
            html_format(
                tr.ngettext("{count} indicator.", "{count} indicators.", len(template.indicators)),
                count=len(template.indicators),
            ),
            "",
            tr._("Evaluation cannot start until it is approved."),
        ]
    )
    choices = rows(
        [Choice(tr._("✅ Approve"), APPROVE_TEMPLATE, (version.id,))],
        [Choice(tr._("View the indicators"), VIEW_TEMPLATE, (version.id,))],
    )
    return text, choices


def linked_raters_behind(cycle: Cycle, *columns: Any) -> Select[Any]:
    """``columns`` over the open forms of ``cycle`` whose rater is active and linked: whom a
    reminder reaches. The console counts them with this query, so the number it asks about
    ("Remind the 3 people behind?") is the number reminded."""
    return (
        select(*columns)
        .select_from(Assignment)
        .join(TelegramAccount, TelegramAccount.staff_id == Assignment.rater_staff_id)
        .join(Staff, Staff.id == Assignment.rater_staff_id)
        .where(
            Assignment.cycle_id == cycle.id,
            Assignment.active.is_(True),
            Assignment.status == AssignmentStatus.OPEN,
            Staff.active.is_(True),
        )
    )


async def _raters_with_open_tasks(
    session: AsyncSession, cycle: Cycle
) -> dict[int, tuple[int, str | None, dict[Source, int]]]:
    """staff id → (telegram id, language, open forms by source), for bound raters only."""
    rows = await session.execute(
        linked_raters_behind(
            cycle,
            Assignment.rater_staff_id,
            TelegramAccount.telegram_id,
            TelegramAccount.language,
            Assignment.source,
        )
    )
    out: dict[int, tuple[int, str | None, dict[Source, int]]] = {}
    for staff_id, telegram_id, language, source in rows:
        entry = out.setdefault(staff_id, (telegram_id, language, {}))
        entry[2][source] = entry[2].get(source, 0) + 1
    return out


def _task_list(tr: Translator, open_by_source: dict[Source, int]) -> str:
    return tr.join(
        f"{tr._(SOURCE_LABELS[s])} {n}"
        for s, n in sorted(open_by_source.items(), key=lambda kv: list(Source).index(kv[0]))
    )


async def _tell_raters_behind(
    session: AsyncSession,
    cycle: Cycle,
    local: Localization,
    message: Callable[[Translator, str], str],
    dedupe: Callable[[int], str],
) -> int:
    """Queue ``message`` (given the reader's translator and their open forms in words) to
    every linked rater with open forms, once per ``dedupe(staff_id)`` key; how many queued."""
    count = 0
    for staff_id, (telegram_id, language, open_by_source) in (
        await _raters_with_open_tasks(session, cycle)
    ).items():
        tr = translator(language, local)
        text = message(tr, _task_list(tr, open_by_source))
        if await enqueue(session, telegram_id, text, dedupe_key=dedupe(staff_id)):
            count += 1
    return count


async def notify_cycle_opened(
    session: AsyncSession, cycle: Cycle, *, local: Localization = DEFAULTS
) -> int:
    def message(tr: Translator, tasks: str) -> str:
        return html_format(
            tr._(
                "The {period} performance evaluation has started. Please finish by {deadline}: {tasks}. Send /start to begin."
            ),
            period=tr.period(cycle.period),
            deadline=tr.datetime(cycle.deadline),
            tasks=tasks,
        )

    return await _tell_raters_behind(
        session, cycle, local, message, lambda staff_id: f"cycle-open:{cycle.id}:{staff_id}"
    )


async def send_due_reminders(
    session: AsyncSession, cycle: Cycle, *, now: dt.datetime, local: Localization = DEFAULTS
) -> int:
    """Queue the latest due reminder for everyone with open tasks; the dedupe key makes it once."""
    due = [d for d in sorted(cycle.reminder_days) if now >= cycle.deadline - dt.timedelta(days=d)]
    if not due or now >= cycle.deadline:
        return 0
    days = due[0]  # the nearest threshold that has come; earlier ones are superseded

    def message(tr: Translator, tasks: str) -> str:
        return html_format(
            tr.ngettext(
                "Reminder: the {period} evaluation closes in {days} day ({deadline}). Still open: {tasks}. Send /start to continue.",
                "Reminder: the {period} evaluation closes in {days} days ({deadline}). Still open: {tasks}. Send /start to continue.",
                days,
            ),
            period=tr.period(cycle.period),
            days=days,
            deadline=tr.datetime(cycle.deadline),
            tasks=tasks,
        )

    return await _tell_raters_behind(
        session, cycle, local, message, lambda staff_id: f"remind:{cycle.id}:{staff_id}:{days}"
    )


async def remind_behind(
    session: AsyncSession, cycle: Cycle, *, day: dt.date, local: Localization = DEFAULTS
) -> int:
    """The working group's reminder to everyone linked who still has open forms: queued once
    per person and day (the dedupe key), so a double tap or a replayed update sends one."""

    def message(tr: Translator, tasks: str) -> str:
        return html_format(
            tr._(
                "Reminder from the evaluation working group: the {period} evaluation closes on {deadline}. Still open: {tasks}. Send /start to continue."
            ),
            period=tr.period(cycle.period),
            deadline=tr.datetime(cycle.deadline),
            tasks=tasks,
        )

    return await _tell_raters_behind(
        session,
        cycle,
        local,
        message,
        lambda staff_id: f"remind-now:{cycle.id}:{staff_id}:{day.isoformat()}",
    )


REFUSED_PUSH = N_(
    "Telegram refused a message from the bot as malformed, so it was not delivered (outbox message {id}, to {recipient}): {error}. This is a fault in the bot; please tell its operator."
)


async def notify_refused_push(
    session: AsyncSession,
    *,
    message_id: int,
    chat_id: int,
    error: str,
    admin_ids: frozenset[int] | None = frozenset(),
    local: Localization = DEFAULTS,
) -> int:
    """Tell the working group that a pushed message was refused as malformed (a rendering bug).

    Plain text, not HTML, so this notice cannot be refused the same way; once per message.
    """
    name = await session.scalar(
        select(Staff.name)
        .join(TelegramAccount, TelegramAccount.staff_id == Staff.id)
        .where(TelegramAccount.telegram_id == chat_id)
    )
    count = 0
    for telegram_id, language in await admin_accounts(session, admin_ids):
        tr = translator(language, local)
        text = tr._(REFUSED_PUSH).format(
            id=message_id, recipient=f"{name}{tr.paren(chat_id)}" if name else chat_id, error=error
        )
        if await enqueue(
            session,
            telegram_id,
            text,
            parse_mode=None,
            dedupe_key=f"refused-push:{message_id}:{telegram_id}",
        ):
            count += 1
    return count
