"""Bodies of the CLI subcommands: each opens the database, calls services, prints a summary."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from bot.config import ConfigError, Settings
from bot.db import current_revision, make_engine, make_sessions, upgrade
from bot.i18n import Translator
from bot.models.types import utcnow


async def db(action: str, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        if action == "upgrade":
            await upgrade(engine)
        print(await current_revision(engine))
    finally:
        await engine.dispose()
    return 0


async def staff(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    from services import invites
    from services.errors import DomainError

    engine = make_engine(settings.database_url)
    if engine.dialect.name == "sqlite":
        await upgrade(engine)
    sessions = make_sessions(engine)
    ttl = dt.timedelta(days=settings.invite_ttl_days)
    try:
        if args.staff_command == "import":
            return await _import(args, sessions, tr)
        if args.staff_command == "invites":
            username = await _bot_username(settings)
            async with sessions.begin() as session:
                issued = await invites.issue_for_unbound(
                    session, now=utcnow(), ttl=ttl, actor_label="cli"
                )
            from conversations.admin import invites_csv

            data = invites_csv(issued, username, tr)
            if args.out:
                args.out.write_bytes(data)
                print(
                    tr.ngettext(
                        "{count} invite code written to {path}.",
                        "{count} invite codes written to {path}.",
                        len(issued),
                    ).format(count=len(issued), path=args.out),
                    file=sys.stderr,
                )
            else:
                sys.stdout.write(data.decode("utf-8-sig"))
            return 0
        try:
            async with sessions.begin() as session:
                if args.staff_command == "reissue":
                    issued_one = await invites.reissue(
                        session, args.employee_no, now=utcnow(), ttl=ttl, actor_label="cli"
                    )
                    print(
                        f"{issued_one.employee_no},{issued_one.name},{issued_one.payload},{issued_one.link(await _bot_username(settings))}"
                    )
                elif args.staff_command == "unbind":
                    await invites.unbind(session, args.employee_no, now=utcnow(), actor_label="cli")
                    print(tr._("Unlinked."))
        except DomainError as exc:
            print(exc.plain(tr), file=sys.stderr)
            return 1
        return 0
    finally:
        await engine.dispose()


async def _import(args: argparse.Namespace, sessions, tr: Translator) -> int:  # type: ignore[no-untyped-def]
    from services import files
    from services.staff_import import RosterInvalid, apply_import, parse_roster, plan_import

    path = args.file
    if not path.exists():
        print(tr._("File not found: {path}").format(path=path), file=sys.stderr)
        return 1
    try:
        roster = parse_roster(files.read_limited(path), path.name)
    except RosterInvalid as exc:
        print(
            tr._("Nothing was imported. Please correct these problems and send the file again:"),
            file=sys.stderr,
        )
        for error in exc.errors:
            print(f"  {error.render(tr)}", file=sys.stderr)
        return 1
    async with sessions.begin() as session:
        if args.dry_run:
            plan = await plan_import(session, roster)
            await session.rollback()
        else:
            plan = await apply_import(session, roster, actor_label="cli", now=utcnow())
    print(plan.summary(tr))
    return 0


async def _bot_username(settings: Settings) -> str:
    """From the configuration, else asked of Telegram with the token."""
    if settings.bot_username:
        return settings.bot_username.lstrip("@")
    if not settings.bot_token:
        raise ConfigError(
            "JIXIAO_BOT_USERNAME", "missing (or set JIXIAO_BOT_TOKEN so it can be looked up)"
        )
    from telegram import Bot

    bot = Bot(
        settings.bot_token,
        base_url=settings.telegram_base_url,
        base_file_url=settings.telegram_file_base_url,
    )
    async with bot:
        return bot.username


def _end_of_day(text: str, settings: Settings) -> dt.datetime:
    """``YYYY-MM-DD`` as the last second of that day in the bureau's time zone, in UTC."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"--deadline: expected YYYY-MM-DD, got {text!r}") from None
    local = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=settings.tz)
    return local.astimezone(dt.UTC)


async def cycle(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    from domain.period import parse_period
    from domain.template import TemplateInvalid
    from services import cycles, files
    from services.errors import DomainError
    from services.templates import load_template

    engine = make_engine(settings.database_url)
    if engine.dialect.name == "sqlite":
        await upgrade(engine)
    sessions = make_sessions(engine)
    actor = cycles.Actor("cli")
    now = utcnow()
    try:
        async with sessions.begin() as session:
            if args.cycle_command == "open":
                period = parse_period(args.period)
                if period is None:
                    print(
                        tr._(
                            "Not a period: {period}. Use 2026Q4 for a quarter or 2026 for a year."
                        ).format(period=args.period),
                        file=sys.stderr,
                    )
                    return 1
                try:
                    template = load_template(files.read_limited(args.template), args.template.name)
                except TemplateInvalid as exc:
                    print(tr._("The template was refused; nothing was saved:"), file=sys.stderr)
                    from services.templates import render_problem

                    for problem in exc.problems:
                        print(f"  {render_problem(problem, tr)}", file=sys.stderr)
                    return 1
                version = await cycles.register_template(
                    session, template, filename=args.template.name, actor=actor, now=now
                )
                days = tuple(int(d) for d in args.remind.split(",") if d.strip())
                opened = await cycles.open_cycle(
                    session,
                    period,
                    version,
                    deadline=_end_of_day(args.deadline, settings),
                    now=now,
                    actor=actor,
                    peer_count=args.peer_count,
                    reminder_days=days,
                )
                if opened.phase.value == "collecting":
                    print(
                        tr._("Cycle {period} is collecting answers until {deadline}.").format(
                            period=opened.period, deadline=tr.datetime(opened.deadline, "short")
                        )
                    )
                else:
                    print(
                        tr._(
                            "Cycle {period} is waiting for a leadership-group member to approve the indicator system “{name}” in the chat."
                        ).format(period=opened.period, name=version.name)
                    )
            elif args.cycle_command == "extend":
                changed = await cycles.extend(
                    session, args.period, _end_of_day(args.deadline, settings), now=now, actor=actor
                )
                print(
                    tr._("Cycle {period}: the deadline is now {deadline}.").format(
                        period=changed.period, deadline=tr.datetime(changed.deadline, "short")
                    )
                )
            elif args.cycle_command == "close":
                closed = await cycles.close(session, args.period, now=now, actor=actor)
                print(
                    tr._("Cycle {period} no longer accepts answers.").format(period=closed.period)
                )
            elif args.cycle_command == "score":
                from services import results

                found_cycle = await cycles.cycle_by_period(session, args.period)
                if found_cycle.phase.value == "collecting":
                    await cycles.close(session, args.period, now=now, actor=actor)
                count = await results.score_cycle(
                    session, found_cycle, tz=settings.tz, now=now, actor_label="cli"
                )
                print(
                    tr.ngettext(
                        "{count} result computed.", "{count} results computed.", count
                    ).format(count=count)
                )
                dist = results.distribution(await results.results_of(session, found_cycle))
                from domain.labels import GRADE_LABELS

                print(
                    "  ".join(
                        f"{tr._(GRADE_LABELS[g])} {n}"
                        for g, n in sorted(
                            dist.items(), key=lambda kv: list(GRADE_LABELS).index(kv[0])
                        )
                    )
                )
            elif args.cycle_command == "submit":
                from services import results

                found_cycle = await cycles.cycle_by_period(session, args.period)
                sent = await results.send_for_review(
                    session, found_cycle, now=now, actor_label="cli"
                )
                print(
                    tr.ngettext(
                        "Sent to {count} member of the leadership group for approval.",
                        "Sent to {count} members of the leadership group for approval.",
                        sent,
                    ).format(count=sent)
                )
            elif args.cycle_command == "reassign":
                from services import forms

                found = await forms.find_assignment(
                    session, rater_no=args.old_rater, ratee_no=args.ratee, period=args.period
                )
                new_id = await forms.staff_id_of(session, args.new_rater)
                await forms.reassign(
                    session, found.id, new_id, actor_staff_id=None, actor_telegram_id=None, now=now
                )
                print(
                    tr._(
                        "Reassigned: {new} now fills this form instead of {old}. The change is in the audit log."
                    ).format(new=args.new_rater, old=args.old_rater)
                )
            elif args.cycle_command == "reopen":
                from services import forms

                found = await forms.find_assignment(
                    session, rater_no=args.rater, ratee_no=args.ratee, period=args.period
                )
                await forms.reopen(
                    session, found.id, actor_staff_id=None, actor_telegram_id=None, now=now
                )
                print(tr._("Reopened. The rater can change and submit the form again."))
            else:
                print(await status_text(session, args.period, tr))
    except DomainError as exc:
        print(exc.plain(tr), file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    return 0


async def status_text(session, period: str | None, tr: Translator) -> str:  # type: ignore[no-untyped-def]
    """The same overview the working group sees in the chat, as plain text."""
    from sqlalchemy import select

    from bot.models import Cycle
    from domain.labels import PHASE_LABELS, SOURCE_LABELS
    from services import cycles

    query = select(Cycle).order_by(Cycle.id)
    if period:
        query = query.where(Cycle.period == period)
    found = list(await session.scalars(query))
    if not found:
        return tr._("No cycles yet.")
    lines: list[str] = []
    for c in found:
        lines.append(
            tr._("{period}: {phase}, deadline {deadline}").format(
                period=c.period,
                phase=tr._(PHASE_LABELS[c.phase]),
                deadline=tr.datetime(c.deadline, "short"),
            )
        )
        for unit in await cycles.progress(session, c):
            parts = "  ".join(
                f"{tr._(SOURCE_LABELS[s])} {unit.done.get(s, 0)}/{n}" for s, n in unit.total.items()
            )
            lines.append(f"  {unit.unit}: {unit.done_all}/{unit.total_all}  ({parts})")
    return "\n".join(lines)


async def survey(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    """``survey links``: create links and write their QR codes; ``survey revoke``: stop one."""
    from services import survey_links
    from services.errors import DomainError

    engine = make_engine(settings.database_url)
    if engine.dialect.name == "sqlite":
        await upgrade(engine)
    sessions = make_sessions(engine)
    try:
        if args.survey_command == "stats":
            import re

            from conversations.survey_admin import stats_text

            async with sessions() as session:
                text = await stats_text(
                    session, tr, args.period, tz=settings.tz, now_=utcnow(), unit_ids=None
                )
            print(
                re.sub(r"</?b>", "", text)
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
            )
            return 0
        if args.survey_command == "revoke":
            async with sessions.begin() as session:
                link = await survey_links.revoke(
                    session, args.link, actor_label="cli", now=utcnow()
                )
            print(tr._("Survey link {serial} revoked.").format(serial=survey_links.serial(link.id)))
            return 0
        username = await _bot_username(settings)  # before anything is created
        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError:
            print(tr._("Cannot write to {path}.").format(path=args.out), file=sys.stderr)
            return 1
        async with sessions.begin() as session:
            issued = await survey_links.create_links(
                session,
                unit_name=args.unit,
                staff_employee_no=args.staff,
                count=args.count,
                single_use=args.single_use,
                label=args.label,
                actor_label="cli",
                now=utcnow(),
            )
        target = _survey_files(issued, username, args.out, tr)
        print(
            tr.ngettext(
                "{count} survey link for {target} written to {path}.",
                "{count} survey links for {target} written to {path}.",
                len(issued),
            ).format(count=len(issued), target=target, path=args.out)
        )
        return 0
    except DomainError as exc:
        print(exc.plain(tr), file=sys.stderr)
        return 1
    finally:
        await engine.dispose()


def _survey_files(issued, username: str, out, tr: Translator) -> str:  # type: ignore[no-untyped-def]
    """``<serial>.png`` per link, ``sheet.pdf`` (A4, 3 × 4 a page), ``links.csv``; returns who is rated."""
    from services import files
    from services.qr import qr_png, qr_sheet

    first = issued[0]
    target = f"{first.unit} · {first.staff}" if first.staff else first.unit
    prompt = tr._("Please scan to rate our service")
    rows = []
    for link in issued:
        url = link.link(username)
        (out / f"{link.serial}.png").write_bytes(
            qr_png(url, caption=target, subcaption=prompt, serial=f"No. {link.serial}")
        )
        rows.append(
            [link.serial, link.unit, link.staff or "", "yes" if link.single_use else "no", url]
        )
    title = tr._("Satisfaction survey QR codes: {target}").format(target=target)
    if first.label:
        title = f"{title} ({first.label})"
    sheet = qr_sheet(
        [(i.link(username), target, i.serial) for i in issued], title=title, prompt=prompt
    )
    (out / "sheet.pdf").write_bytes(sheet)
    header = ["serial", "unit", "staff", "single_use", "link"]
    (out / "links.csv").write_bytes(files.csv_bytes(header, rows))  # names made formula-safe
    return target


async def annual(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    """``annual YEAR``: the year's roll-up table, award lists and flags; ``--csv`` writes the table."""
    from decimal import Decimal, InvalidOperation

    from conversations.annual import cli_text, csv_bytes
    from domain.period import parse_period
    from services.annual import annual_report

    period = parse_period(args.year)
    if period is None or period.quarter is not None:
        print(tr._("Not a year: {year}. Use e.g. 2026.").format(year=args.year), file=sys.stderr)
        return 1
    try:
        quarters, annual_weight = (Decimal(w) for w in args.weights.split(","))
        if quarters < 0 or annual_weight < 0 or quarters + annual_weight == 0:
            raise ValueError(args.weights)
        if min(args.excellent_years, args.fail_years, args.fail_quarters) < 1:
            raise ValueError("years")
    except (ValueError, InvalidOperation):
        print(
            tr._(
                "Weights are two numbers, not negative and not both 0, e.g. 40,60; years and quarters at least 1."
            ),
            file=sys.stderr,
        )
        return 1
    engine = make_engine(settings.database_url)
    if engine.dialect.name == "sqlite":
        await upgrade(engine)
    sessions = make_sessions(engine)
    try:
        async with sessions() as session:
            report = await annual_report(
                session,
                period.year,
                weights=(quarters, annual_weight),
                excellent_years=args.excellent_years,
                fail_years=args.fail_years,
                fail_quarters=args.fail_quarters,
            )
    finally:
        await engine.dispose()
    if not report.results:
        print(
            tr._("No results of {year} have been published yet.").format(year=period.year),
            file=sys.stderr,
        )
        return 1
    print(cli_text(report, tr))
    if args.csv:
        args.csv.write_bytes(csv_bytes(report, tr))
        print(tr._("Table written to {path}.").format(path=args.csv), file=sys.stderr)
    return 0
