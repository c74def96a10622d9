"""The ``jixiao`` command line. Every level has ``--help``.

Failures are one line on stderr: 1 refused or bad input, 2 configuration, 3 the database
or Telegram unavailable (``bot.cli_errors``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.cli_errors import CliFailure, database_failure, file_failure, telegram_failure
from infra.config import ConfigError, Settings, load_settings
from infra.i18n import Translator, compile_catalogs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jixiao",
        description="jixiao 绩效 — the performance-management bot of the Emergency Management Bureau.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("run", help="run the bot with long polling (migrates the embedded SQLite first)")
    demo = sub.add_parser(
        "demo", help="a whole quarterly cycle, simulated locally: no token, no network"
    )
    demo.add_argument(
        "--out", type=Path, default=Path("jixiao-demo"), help="folder for the result chart"
    )

    db = sub.add_parser("db", help="database maintenance").add_subparsers(
        dest="db_command", required=True, metavar="ACTION"
    )
    db.add_parser("upgrade", help="apply pending migrations")
    db.add_parser("current", help="show the applied migration")

    staff = sub.add_parser("staff", help="the staff roster and account linking")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    imp = staff_sub.add_parser("import", help="import the roster from a CSV or XLSX file")
    imp.add_argument("file", type=Path, help="roster file (.csv or .xlsx); columns in the README")
    imp.add_argument(
        "--dry-run", action="store_true", help="show what would change, change nothing"
    )
    inv = staff_sub.add_parser(
        "invites",
        help="issue invite codes for everyone not yet linked who holds no valid code",
    )
    inv.add_argument("--format", choices=["csv"], default="csv", help="output format (csv)")
    inv.add_argument("--out", type=Path, help="write to this file instead of standard output")
    inv.add_argument(
        "--reissue",
        action="store_true",
        help="new codes for everyone not yet linked: the codes of earlier batches stop working",
    )
    re_ = staff_sub.add_parser(
        "reissue", help="a new invite code for one person (the old one dies)"
    )
    re_.add_argument("employee_no")
    unb = staff_sub.add_parser("unbind", help="unlink a person's Telegram account")
    unb.add_argument("employee_no")

    cycle = sub.add_parser("cycle", help="evaluation cycles: open, extend, close, status")
    cycle_sub = cycle.add_subparsers(dest="cycle_command", required=True, metavar="ACTION")
    opn = cycle_sub.add_parser(
        "open", help="open a cycle (2026Q4 or 2026) with an indicator template"
    )
    opn.add_argument("period", help="2026Q4 for a quarter, 2026 for a year")
    opn.add_argument("--template", type=Path, required=True, help="template file (.toml or .xlsx)")
    opn.add_argument(
        "--deadline", required=True, help="last day to answer, YYYY-MM-DD (bureau time, end of day)"
    )
    opn.add_argument(
        "--peer-count", type=int, default=5, help="colleagues each person rates (default 5)"
    )
    opn.add_argument(
        "--remind", default="3,1", help="days before the deadline to remind (default 3,1)"
    )
    ext = cycle_sub.add_parser(
        "extend", help="move the deadline later (reopens collection closed by the deadline)"
    )
    ext.add_argument("period")
    ext.add_argument("--deadline", required=True, help="new last day, YYYY-MM-DD")
    cls = cycle_sub.add_parser("close", help="stop collecting answers")
    cls.add_argument("period")
    rea = cycle_sub.add_parser("reassign", help="give an absent rater's form to someone else")
    rea.add_argument("period")
    rea.add_argument("ratee", help="employee number of the rated person")
    rea.add_argument("old_rater", help="employee number of the absent rater")
    rea.add_argument("new_rater", help="employee number of the new rater")
    rop = cycle_sub.add_parser("reopen", help="reopen a submitted form so it can be changed")
    rop.add_argument("period")
    rop.add_argument("rater", help="employee number of the rater")
    rop.add_argument(
        "ratee", help="employee number of the rated person (the same for a self-assessment)"
    )
    scr = cycle_sub.add_parser(
        "score", help="compute every result of a closed cycle (re-running gives the same)"
    )
    scr.add_argument("period")
    scr.add_argument(
        "--close",
        action="store_true",
        help="stop collecting first if the cycle still collects (lists the forms not submitted)",
    )
    snd = cycle_sub.add_parser(
        "submit", help="send the scored results to the leadership group for approval"
    )
    snd.add_argument("period")
    sts = cycle_sub.add_parser("status", help="phase, deadline, results and progress by unit")
    sts.add_argument("period", nargs="?", help="default: every cycle")

    survey = sub.add_parser("survey", help="citizen satisfaction surveys: links and QR codes")
    survey_sub = survey.add_subparsers(dest="survey_command", required=True, metavar="ACTION")
    lnk = survey_sub.add_parser(
        "links", help="create survey links with printable QR codes (PNGs, an A4 PDF, a CSV)"
    )
    lnk.add_argument("--unit", required=True, help="unit name, as in the roster")
    lnk.add_argument("--staff", metavar="EMPLOYEE_NO", help="links for one person of the unit")
    lnk.add_argument("--count", type=int, required=True, help="how many links (1-500)")
    use = lnk.add_mutually_exclusive_group()
    use.add_argument(
        "--single-use",
        dest="single_use",
        action="store_true",
        default=True,
        help="each link takes one response (一事一评; the default)",
    )
    use.add_argument(
        "--reusable",
        dest="single_use",
        action="store_false",
        help="links for a service window, answered by many",
    )
    lnk.add_argument("--label", default="", help="a note for the admin view (≤ 64 characters)")
    lnk.add_argument(
        "--reference",
        default="",
        help="一事一评: the service (事项) or case number (办件编号) single-use links are for, "
        "shown to the unit with the rating (≤ 64 characters)",
    )
    lnk.add_argument(
        "--out", type=Path, required=True, help="folder for <serial>.png, sheet.pdf, links.csv"
    )
    rvk = survey_sub.add_parser("revoke", help="stop a survey link from working")
    rvk.add_argument("link", metavar="SERIAL_OR_PAYLOAD", help="serial (000123), sv_… or the link")
    sst = survey_sub.add_parser(
        "stats", help="responses, satisfaction rate, answers per question, rectifications"
    )
    sst.add_argument("--period", help="2026Q4 or 2026 (default: the current quarter)")

    ann = sub.add_parser(
        "annual",
        help="the annual roll-up: results, award eligibility and consecutive-year flags",
    )
    ann.add_argument("year", metavar="PERIOD_YEAR", help="the year, e.g. 2026")
    ann.add_argument("--csv", type=Path, metavar="FILE", help="also write the table as CSV")
    ann.add_argument(
        "--weights",
        default="40,60",
        help="mean of the quarters and the annual assessment, QUARTERS,ANNUAL (default 40,60)",
    )
    ann.add_argument(
        "--excellent-years",
        type=int,
        default=2,
        help="years of Excellent in a row that give priority (default 2)",
    )
    ann.add_argument(
        "--fail-years",
        type=int,
        default=2,
        help="years of Fail in a row that flag for review (default 2)",
    )
    ann.add_argument(
        "--fail-quarters",
        type=int,
        default=2,
        help="quarters of Fail within the year that flag for review (default 2)",
    )

    i18n = sub.add_parser("i18n", help="translation catalogs").add_subparsers(
        dest="i18n_command", required=True, metavar="ACTION"
    )
    i18n.add_parser(
        "compile", help="write .mo files beside the .po catalogs (the bot does not need them)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure ends as one line on stderr and a non-zero status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(_config_error_line(exc, Translator("zh_Hans")), file=sys.stderr)
        return 2
    tr = Translator(settings.locale, settings.tz)
    try:
        return _dispatch(args, settings, tr)
    except ConfigError as exc:
        print(_config_error_line(exc, tr), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader (`| head`) has what it wanted; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell reports a process ended by SIGPIPE
    except Exception as exc:  # the last word: a line for the operator, never a traceback
        failure = _failure(exc, settings, tr)
        if args.verbose:
            logging.getLogger("jixiao").exception("the command failed")
        print(failure.line, file=sys.stderr)
        return failure.status


def _failure(exc: Exception, settings: Settings, tr: Translator) -> CliFailure:
    """Telegram first (its errors wrap OSErrors), then named files, then the database."""
    if isinstance(exc, CliFailure):
        return exc
    found = telegram_failure(exc, settings.telegram_base_url, tr)
    if found is None and isinstance(exc, OSError) and exc.filename is not None:
        found = file_failure(exc, tr)
    found = found or database_failure(exc, settings.database_url, tr)
    if found is not None:
        return found
    return CliFailure(
        tr._("Unexpected error: {error}. Run again with -v for details.").format(
            error=f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        )
    )


def _config_error_line(exc: ConfigError, tr: Translator) -> str:
    return tr._("Configuration error: {setting} is {problem}. See .env.example.").format(
        setting=exc.setting,
        problem=tr._(exc.problem),  # pydantic's own words stay as they are
    )


def _dispatch(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    # Deliberately imported here, not at the top: the commands load the services, the models
    # and the migrations (about 0.6 s), which --help and configuration errors do not need.
    from bot import commands, cycle_commands, staff_commands

    if args.command == "run":
        settings.require_token()
        # Deliberately imported here: the bot's stack (every flow, the outbox sender,
        # matplotlib for charts) is heavy, and no other command needs it.
        from bot.runner import run

        return run(settings, tr)
    if args.command == "demo":
        # Deliberately imported here: the demo carries the bot's stack and the fake Bot API server.
        from bot.demo import run_demo

        for noisy in ("telegram", "bot", "apscheduler", "fakebotapi", "tornado", "__main__"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        # SIGTERM ends the demo as Ctrl-C does, so its temporary database is removed
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        return asyncio.run(run_demo(args.out))
    if args.command == "db":
        return asyncio.run(commands.db(args.db_command, settings, tr))
    if args.command == "staff":
        return asyncio.run(staff_commands.staff(args, settings, tr))
    if args.command == "cycle":
        return asyncio.run(cycle_commands.cycle(args, settings, tr))
    if args.command == "survey":
        return asyncio.run(commands.survey(args, settings, tr))
    if args.command == "annual":
        return asyncio.run(commands.annual(args, settings, tr))
    if args.command == "i18n":
        for path in compile_catalogs():
            print(path)
        return 0
    return 1  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
