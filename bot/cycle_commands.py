"""``jixiao cycle …``: open, extend, close, score, submit, reassign, reopen and status.

The same services as the chat's /cycle and /score; refusals are one line on stderr
(``bot.cli_errors``), and nothing is changed by a refused command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar_commands import unofficial_note
from bot.cli_errors import CliFailure
from bot.commands import open_database
from domain.enums import CyclePhase
from domain.labels import GRADE_LABELS, PHASE_LABELS, SOURCE_LABELS
from domain.period import parse_period
from domain.template import TemplateInvalid, advise
from infra.config import Settings
from infra.db import make_sessions
from infra.i18n import Translator
from infra.models import Cycle
from infra.models.types import utcnow
from services import cycles, files, form_admin, leadership, result_review, results
from services.errors import DomainError
from services.notices import Localization
from services.official_calendar import calendar
from services.result_notices import computed_text
from services.templates import load_template, localized, render_problem

# Notes about the deadline (a day off, a year without official data), said on stderr only
# after the command worked: a command that fails says one line, its reason.
_NOTES: list[str] = []


async def _end_of_day(
    session: AsyncSession, text: str, settings: Settings, tr: Translator
) -> dt.datetime:
    """``YYYY-MM-DD`` as the last second of that day in the bureau's time zone, in UTC; a day
    off or a year with no official calendar is noted (the working group decides)."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise CliFailure(
            tr._("--deadline: expected a date as YYYY-MM-DD, got {text}.").format(text=text)
        ) from None
    cal = await calendar(session)
    if not cal.is_working_day(day):  # allowed (the working group decides), but said
        _NOTES.append(
            tr._(
                "Note: {date} is not a working day (the next one is {next}); the deadline is set as given."
            ).format(
                date=tr.date(day, weekday=True),
                next=tr.date(cal.next_working_day(day), weekday=True),
            )
        )
    if (note := unofficial_note(cal, day, tr)) is not None:
        _NOTES.append(note)
    local = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=settings.tz)
    return local.astimezone(dt.UTC)


async def cycle(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    engine = await open_database(settings, tr)
    sessions = make_sessions(engine)
    _NOTES.clear()
    try:
        async with sessions.begin() as session:
            await _run(session, args, settings, tr)
    except DomainError as exc:
        print(exc.plain(tr, codes=True), file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    for note in _NOTES:  # only once it worked: a failure stays one line
        print(note, file=sys.stderr)
    return 0


def shown(tr: Translator, period: str) -> str:
    """A period for the command line: as people write it, with the code commands take."""
    return f"{tr.period(period)}{tr.paren(period)}"


async def _run(
    session: AsyncSession, args: argparse.Namespace, settings: Settings, tr: Translator
) -> None:
    actor = cycles.Actor("cli")
    now = utcnow()
    command = args.cycle_command
    if command == "open":
        await _open(session, args, settings, tr, actor, now)
    elif command == "extend":
        changed = await cycles.extend(
            session,
            args.period,
            await _end_of_day(session, args.deadline, settings, tr),
            now=now,
            actor=actor,
            local=Localization.of(settings),
            admin_ids=settings.admin_id_set,
        )
        print(
            tr._("Cycle {period}: the deadline is now {deadline}.").format(
                period=shown(tr, changed.period), deadline=tr.datetime(changed.deadline)
            )
        )
    elif command == "close":
        closed = await cycles.close(session, args.period, now=now, actor=actor)
        print(
            tr._("Cycle {period} no longer accepts answers.").format(
                period=shown(tr, closed.period)
            )
        )
    elif command == "score":
        await _score(session, args, settings, tr, actor, now)
    elif command == "submit":
        found = await cycles.cycle_by_period(session, args.period)
        sent = await result_review.send_for_review(
            session,
            found,
            now=now,
            actor_label="cli",
            excellent_quota=settings.excellent_quota,
            local=Localization.of(settings),
        )
        print(
            tr.ngettext(
                "Sent to {count} member of the leadership group for approval.",
                "Sent to {count} members of the leadership group for approval.",
                sent,
            ).format(count=sent)
        )
        reach = await leadership.reach(session)
        for line in [] if reach.everyone else reach.lines(tr):  # else the line above says it
            print(line)
    elif command == "reassign":
        assignment = await form_admin.find_assignment(
            session, rater_no=args.old_rater, ratee_no=args.ratee, period=args.period
        )
        new_id = await form_admin.staff_id_of(session, args.new_rater)
        await form_admin.reassign(
            session, assignment.id, new_id, actor_staff_id=None, actor_telegram_id=None, now=now
        )
        print(
            tr._(
                "Reassigned: {new} now fills this form instead of {old}. The change is in the audit log."
            ).format(new=args.new_rater, old=args.old_rater)
        )
    elif command == "reopen":
        assignment = await form_admin.find_assignment(
            session, rater_no=args.rater, ratee_no=args.ratee, period=args.period
        )
        await form_admin.reopen(
            session, assignment.id, actor_staff_id=None, actor_telegram_id=None, now=now
        )
        print(tr._("Reopened. The rater can change and submit the form again."))
    else:
        print(await status_text(session, args.period, tr))


async def _open(
    session: AsyncSession,
    args: argparse.Namespace,
    settings: Settings,
    tr: Translator,
    actor: cycles.Actor,
    now: dt.datetime,
) -> None:
    period = parse_period(args.period)
    if period is None:
        raise CliFailure(
            tr._("Not a period: {period}. Use 2026Q4 for a quarter or 2026 for a year.").format(
                period=args.period
            )
        )
    deadline = await _end_of_day(session, args.deadline, settings, tr)
    try:
        template = load_template(files.read_limited(args.template), args.template.name)
    except TemplateInvalid as exc:  # every problem, one per line, as the chat lists them
        raise CliFailure(
            "\n".join(
                [
                    tr._("The template was refused; nothing was saved:"),
                    *(f"  {render_problem(p, tr)}" for p in exc.problems),
                ]
            )
        ) from None
    version = await cycles.register_template(
        session, template, filename=args.template.name, actor=actor, now=now
    )
    try:
        days = tuple(int(d) for d in args.remind.split(",") if d.strip())
    except ValueError:
        raise CliFailure(
            tr._("--remind: expected days before the deadline like 3,1, got {text}.").format(
                text=args.remind
            )
        ) from None
    opened = await cycles.open_cycle(
        session,
        period,
        version,
        deadline=deadline,
        now=now,
        actor=actor,
        peer_count=args.peer_count,
        reminder_days=days,
        local=Localization.of(settings),
        admin_ids=settings.admin_id_set,
    )
    if opened.phase == CyclePhase.COLLECTING:
        print(
            tr._("Cycle {period} is collecting answers until {deadline}.").format(
                period=shown(tr, opened.period), deadline=tr.datetime(opened.deadline)
            )
        )
    else:
        print(
            tr._(
                "Cycle {period} is waiting for a leadership-group member to approve the indicator system “{name}”."
            ).format(period=shown(tr, opened.period), name=localized(version.name, tr.locale))
        )
        for line in (await leadership.reach(session)).lines(tr):
            print(line)
    for note in advise(template):  # allowed, but the working group should know
        print(render_problem(note, tr))


async def _score(
    session: AsyncSession,
    args: argparse.Namespace,
    settings: Settings,
    tr: Translator,
    actor: cycles.Actor,
    now: dt.datetime,
) -> None:
    """Score a closed cycle; a collecting one only with ``--close``, saying what is missing."""
    found = await cycles.cycle_by_period(session, args.period)
    if found.phase == CyclePhase.COLLECTING:
        progress = await cycles.progress(session, found)
        done = sum(u.done_all for u in progress)
        total = sum(u.total_all for u in progress)
        if not args.close:
            raise CliFailure(
                tr._(
                    "The cycle {period} is still collecting answers ({missing} of {total} forms not submitted). Close it first with “jixiao cycle close {period}”, or add --close to close and score it now."
                ).format(period=found.period, missing=total - done, total=total)
            )
        await cycles.close(session, found.period, now=now, actor=actor)
        print(
            tr._("Collection of {period} closed: {missing} of {total} forms not submitted.").format(
                period=shown(tr, found.period), missing=total - done, total=total
            )
        )
        for unit in progress:
            if unit.done_all < unit.total_all:
                parts = tr.join(
                    f"{tr._(SOURCE_LABELS[s])} {n - unit.done.get(s, 0)}"
                    for s, n in unit.total.items()
                    if n > unit.done.get(s, 0)
                )
                print(
                    "  " + tr.label(unit.unit, f"{unit.total_all - unit.done_all}{tr.paren(parts)}")
                )
    await results.score_cycle(session, found, tz=settings.tz, now=now, actor_label="cli")
    scored = await results.results_of(session, found)
    print(computed_text(tr, scored))
    dist = results.distribution(scored)
    print(
        tr.join(
            f"{tr._(GRADE_LABELS[g])} {n}"
            for g, n in sorted(dist.items(), key=lambda kv: list(GRADE_LABELS).index(kv[0]))
        )
    )


async def status_text(session: AsyncSession, period: str | None, tr: Translator) -> str:
    """The same overview the working group sees in the chat, as plain text."""
    if period:
        if parse_period(period) is None:
            raise CliFailure(
                tr._("Not a period: {period}. Use 2026Q4 for a quarter or 2026 for a year.").format(
                    period=period
                )
            )
        found = [await cycles.cycle_by_period(session, period)]
    else:
        found = list(await session.scalars(select(Cycle).order_by(Cycle.id)))
    if not found:
        return tr._("No cycles yet.")
    lines: list[str] = []
    for c in found:
        lines.append(
            tr._("{period}: {phase}, deadline {deadline}").format(
                period=shown(tr, c.period),
                phase=tr._(PHASE_LABELS[c.phase]),
                deadline=tr.datetime(c.deadline),
            )
        )
        if c.scored_at is not None and c.phase in (CyclePhase.SCORING, CyclePhase.REVIEW):
            lines.append(
                "  "
                + (
                    tr._("Results are up to date.")
                    if results.is_fresh(c)
                    else tr._("Results are out of date: answers changed after scoring.")
                )
            )
        for unit in await cycles.progress(session, c):
            lines.append("  " + tr.label(unit.unit, unit.figures(tr)))
    return "\n".join(lines)
