"""``jixiao audit``: the audit log in the operator's language, refusals included.

One line per entry: when, who (name and employee number, a Telegram id, or what acted:
the command line, a scheduled task), what in words, on what, and the recorded details.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from bot.cli_errors import CliFailure
from bot.commands import open_database
from domain.audit_labels import ACTION_LABELS, ACTOR_LABELS, ATTEMPT_LABELS, OBJECT_LABELS
from infra.config import Settings
from infra.db import make_sessions
from infra.i18n import Translator
from services.audit_log import LoggedAction, UnknownActor, read_log, staff_id_of

_PERIOD_KEYS = frozenset({"cycle", "period"})  # detail values that are period codes


def _since(text: str | None, settings: Settings, tr: Translator) -> dt.datetime | None:
    """``YYYY-MM-DD`` as the start of that day in the bureau's time zone."""
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise CliFailure(
            tr._("--since: expected a date as YYYY-MM-DD, got {text}.").format(text=text)
        ) from None
    return dt.datetime.combine(day, dt.time(), tzinfo=settings.tz).astimezone(dt.UTC)


async def audit_log(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    """Print the newest ``--limit`` entries since ``--since``, by ``--actor`` if given."""
    since = _since(args.since, settings, tr)
    if args.limit < 1:
        raise CliFailure(tr._("--limit: give a number of entries, at least 1."))
    engine = await open_database(settings, tr)
    try:
        async with make_sessions(engine)() as session:
            actor = None
            if args.actor is not None:
                try:
                    actor = await staff_id_of(session, args.actor)
                except UnknownActor:
                    raise CliFailure(
                        tr._("No staff member has the employee number {no}.").format(no=args.actor)
                    ) from None
            entries = await read_log(session, since=since, actor_staff_id=actor, limit=args.limit)
    finally:
        await engine.dispose()
    if not entries:
        print(tr._("The audit log has no entries that match."))
        return 0
    for entry in entries:
        print(line(entry, tr))
    return 0


def line(entry: LoggedAction, tr: Translator) -> str:
    """One entry as a line: time, actor, action, object, details."""
    parts = [tr.datetime(entry.at, weekday=False), actor(entry, tr), action(entry, tr)]
    if thing := subject(entry, tr):
        parts.append(thing)
    if detail := details(entry.detail, tr):
        parts.append(detail)
    return "  ".join(parts)


def actor(entry: LoggedAction, tr: Translator) -> str:
    """A person by name and employee number, else their Telegram id, else a citizen by a
    short pseudonym, else what acted."""
    if entry.actor_name is not None:
        return entry.actor_name + tr.paren(entry.actor_no).rstrip()
    if entry.actor_telegram_id is not None:
        return tr._("Telegram user {id}").format(id=entry.actor_telegram_id)
    if entry.actor_pseudonym is not None:
        return tr._("citizen {pseudonym}").format(pseudonym=entry.actor_pseudonym)
    label = ACTOR_LABELS.get(entry.actor_label)
    if label is not None:
        return tr._(label)
    return entry.actor_label or tr._("the system")


def action(entry: LoggedAction, tr: Translator) -> str:
    """The action in words; a refusal names what was attempted."""
    words = tr._(ACTION_LABELS[entry.action]) if entry.action in ACTION_LABELS else entry.action
    if entry.action != "access.denied":
        return words
    tried = str(entry.detail.get("action", ""))
    if not tried:
        return words
    label = ACTION_LABELS.get(tried) or ATTEMPT_LABELS.get(tried)
    return tr.label(words, tr._(label) if label is not None else tried)


def subject(entry: LoggedAction, tr: Translator) -> str:
    """What the action was done to: the kind in words, then which one."""
    if not entry.object_type:
        return ""
    kind = OBJECT_LABELS.get(entry.object_type)
    kind_text = tr._(kind) if kind is not None else entry.object_type
    if entry.object_person is not None:
        name, no = entry.object_person
        which = name + tr.paren(no).rstrip()
    elif entry.object_type == "cycle":
        which = tr.period(entry.object_id)
    elif entry.object_type == "calendar" and entry.object_id.isdigit():
        which = tr._("the year {year}").format(year=entry.object_id)
    elif entry.object_id:
        which = f"#{entry.object_id}"
    else:
        return kind_text
    return f"{kind_text} {which}"


def details(detail: dict[str, Any], tr: Translator) -> str:
    """The recorded details as ``key=value``; periods as people read them."""
    shown = []
    for key, value in detail.items():
        if key == "action":  # a refusal's: already in the action column
            continue
        if key in _PERIOD_KEYS and isinstance(value, str):
            text = tr.period(value)
        elif isinstance(value, str):
            text = value
        else:
            text = json.dumps(value, ensure_ascii=False)
        shown.append(f"{key}={text}")
    return tr.paren("; ".join(shown)).strip() if shown else ""
