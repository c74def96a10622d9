"""Bodies of the CLI subcommands (db, survey, annual) and what every command shares:
opening the database (checked, with one-line failures) and the bot's username.

``staff`` and ``cycle`` live in ``bot.staff_commands`` and ``bot.cycle_commands``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from telegram import Bot

from bot.annual_table import cli_text
from bot.cli_errors import (
    UNAVAILABLE,
    CliFailure,
    database_failure,
    database_label,
    suffixed,
    telegram_failure,
)
from domain.period import current_quarter, parse_period
from domain.text import unescape
from infra.config import ConfigError, Settings
from infra.db import (
    current_revision,
    head_revision,
    make_engine,
    make_sessions,
    upgrade,
)
from infra.i18n import N_, Translator
from infra.models.types import utcnow
from services import files, survey_links, survey_print
from services.annual import annual_report
from services.annual_text import csv_bytes
from services.audit import audit
from services.errors import DomainError
from services.qr import qr_png
from services.report import draft
from services.survey_report import satisfaction_report


async def db(action: str, settings: Settings, tr: Translator) -> int:
    engine = _engine(settings, tr)
    try:
        try:
            if action == "upgrade":
                await upgrade(engine)
            revision = await current_revision(engine)
            if revision is None:  # `db current` on a database jixiao has not set up yet
                raise CliFailure(
                    tr._(
                        "The database {database} has no jixiao tables yet. Run “jixiao db upgrade”."
                    ).format(database=database_label(settings.database_url)),
                    UNAVAILABLE,
                )
            print(revision)
        except Exception as exc:
            raise (database_failure(exc, settings.database_url, tr) or exc) from None
    finally:
        await engine.dispose()
    return 0


def _missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file ``url`` names, if it does not exist (None for other databases)."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):
        return None  # a URI filename with its own options: let SQLite decide
    path = Path(database)
    return None if path.exists() else path


def _engine(settings: Settings, tr: Translator) -> AsyncEngine:
    try:
        return make_engine(settings.database_url)
    except OSError as exc:  # the SQLite file's folder cannot be made
        reason = (
            tr._("{path} is not a folder.").format(path=exc.filename)
            if isinstance(exc, FileExistsError)
            else exc.strerror or str(exc)
        )
        raise CliFailure(
            tr._("Cannot reach the database {database}: {reason}").format(
                database=database_label(settings.database_url), reason=reason
            ),
            UNAVAILABLE,
        ) from None


async def open_database(settings: Settings, tr: Translator, *, create: bool = False) -> AsyncEngine:
    """The engine, once the database answers with the schema this version expects.

    The embedded SQLite database is migrated on the spot; a server database is left to
    ``jixiao db upgrade`` (a schema change there is the operator's decision). A SQLite file
    that does not exist is made only when ``create`` (importing the roster, the first step):
    any other command run from the wrong folder, or with a mistyped path, says so instead of
    answering from a new, empty database.
    """
    missing = _missing_sqlite_file(settings.database_url)
    if missing is not None and not create:
        raise CliFailure(
            tr._(
                "There is no database at {path}. Check JIXIAO_DATABASE_URL and the folder you run jixiao in; “jixiao staff import” or “jixiao run” creates a new one."
            ).format(path=missing),
            UNAVAILABLE,
        )
    engine = _engine(settings, tr)
    try:
        if engine.dialect.name == "sqlite":
            await upgrade(engine)
        else:
            current, expected = await current_revision(engine), head_revision()
            if current is None:
                raise CliFailure(
                    tr._(
                        "The database {database} has no jixiao tables yet. Run “jixiao db upgrade”."
                    ).format(database=database_label(settings.database_url)),
                    UNAVAILABLE,
                )
            if current != expected:
                raise CliFailure(
                    tr._(
                        "The database schema is not up to date (it is at {current}, this version needs {expected}). Run “jixiao db upgrade”."
                    ).format(current=current, expected=expected),
                    UNAVAILABLE,
                )
    except Exception as exc:
        await engine.dispose()
        if isinstance(exc, CliFailure):
            raise
        raise (database_failure(exc, settings.database_url, tr) or exc) from None
    return engine


async def bot_username(settings: Settings, tr: Translator) -> str:
    """From the configuration, else asked of Telegram with the token."""
    if settings.bot_username:
        return settings.bot_username.lstrip("@")
    if not settings.bot_token:
        raise ConfigError(
            "JIXIAO_BOT_USERNAME",
            N_("missing (or set JIXIAO_BOT_TOKEN so that it can be looked up)"),
        )
    bot = Bot(
        settings.bot_token,
        base_url=settings.telegram_base_url,
        base_file_url=settings.telegram_file_base_url,
    )
    try:
        async with bot:
            return bot.username
    except Exception as exc:
        raise (telegram_failure(exc, settings.telegram_base_url, tr) or exc) from None


async def survey(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    """``survey links``: create links and write their QR codes; ``survey revoke``: stop one."""
    engine = await open_database(settings, tr)
    sessions = make_sessions(engine)
    try:
        if args.survey_command == "stats":
            if args.period and parse_period(args.period) is None:
                raise CliFailure(
                    tr._(
                        "Not a period: {period}. Use 2026Q4 for a quarter or 2026 for a year."
                    ).format(period=args.period)
                )
            async with sessions() as session:
                print(await _survey_stats(session, tr, args.period, tz=settings.tz, now=utcnow()))
            return 0
        if args.survey_command == "revoke":
            async with sessions.begin() as session:
                link = await survey_links.revoke(
                    session, args.link, actor_label="cli", now=utcnow()
                )
            print(tr._("Survey link {serial} revoked.").format(serial=survey_links.serial(link.id)))
            return 0
        # before anything is created; the survey page's address needs no bot name
        username = "" if settings.public_url else await bot_username(settings, tr)
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
                reference=args.reference,
                actor_label="cli",
                now=utcnow(),
            )
        target = _survey_files(issued, username, settings.public_url, args.out, tr)
        print(
            tr.ngettext(
                "{count} survey link for {target} written to {path}.",
                "{count} survey links for {target} written to {path}.",
                len(issued),
            ).format(count=len(issued), target=target, path=args.out)
        )
        return 0
    except DomainError as exc:
        print(exc.plain(tr, codes=True), file=sys.stderr)
        return 1
    finally:
        await engine.dispose()


async def _survey_stats(
    session: AsyncSession,
    tr: Translator,
    period_text: str | None,
    *,
    tz: dt.tzinfo,
    now: dt.datetime,
) -> str:
    """``survey stats``: per unit, responses, satisfaction rate, answers per question, rectifications.

    The same figures and wording as the chat's ``/surveys``, as plain text and not clipped.
    """
    period = (
        parse_period(period_text) if period_text else current_quarter(now.astimezone(tz).date())
    )
    assert period is not None  # checked by the caller
    return unescape(await satisfaction_report(session, tr, period, tz=tz, now=now))


def _survey_files(issued, username: str, public_url: str | None, out, tr: Translator) -> str:  # type: ignore[no-untyped-def]
    """``<serial>.png`` per link, ``sheet.pdf`` (A4 slips, 3 × 4 a page), ``links.csv``, and
    for window codes ``poster.pdf`` (A4; the window is the label); returns who is rated.
    Codes open the survey page when ``public_url`` is set, else the bot."""
    first = issued[0]
    target = survey_print.target(tr, first)
    prompt = tr._(survey_print.SLIP_PROMPT)
    rows = []
    for link in issued:
        url = link.link(username, public_url)
        serial = tr._(survey_print.SERIAL).format(serial=link.serial)
        (out / f"{link.serial}.png").write_bytes(
            qr_png(url, caption=survey_print.caption(tr, link), subcaption=prompt, serial=serial)
        )
        rows.append(
            [
                link.serial,
                link.unit,
                link.staff or "",
                "yes" if link.single_use else "no",
                link.reference or "",
                url,
            ]
        )
    (out / "sheet.pdf").write_bytes(
        survey_print.slips_pdf(tr, issued, username, public_url=public_url)
    )
    if not first.single_use:
        (out / "poster.pdf").write_bytes(
            survey_print.poster_pdf(tr, first, username, public_url=public_url)
        )
    header = ["serial", "unit", "staff", "single_use", "reference", "link"]
    (out / "links.csv").write_bytes(files.csv_bytes(header, rows))  # names made formula-safe
    return target


async def annual(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    """``annual YEAR``: the year's roll-up table, award lists and flags; ``--csv`` writes the table."""
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
    engine = await open_database(settings, tr)
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


async def report(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    """``report PERIOD --out FILE``: the evaluation report (五(四)1) as a PDF, for the working group."""
    if not suffixed(args.out, ".pdf", tr):
        return 1
    engine = await open_database(settings, tr)
    sessions = make_sessions(engine)
    try:
        async with sessions.begin() as session:
            document = await draft(
                session,
                args.period,
                tr,
                now=utcnow(),
                training_below=settings.training_threshold,
            )
            # audited like the chat's /report and the CLI's export: who drew which cycle's report
            await audit(
                session,
                "report.written",
                actor_label="cli",
                object_type="cycle",
                object_id=args.period,
            )
    except DomainError as exc:
        print(exc.plain(tr, codes=True), file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    # matplotlib and Typst load for this command only: the others start faster without them
    from services.report.typeset import typeset

    args.out.write_bytes(typeset(document))
    print(tr._("Report written to {path}.").format(path=args.out), file=sys.stderr)
    return 0
