"""The ``jixiao`` command line. Every level has ``--help``, in the operator's language
(``cli_locale``), and every positional says what it takes.

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
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path

from dotenv import dotenv_values

from bot.cli_errors import CliFailure, database_failure, file_failure, telegram_failure
from infra.config import SUPPORTED_LOCALES, ConfigError, Settings, load_settings
from infra.i18n import Translator, compile_catalogs, resolve_locale


def cli_locale(environ: Mapping[str, str] | None = None, env_file: Path = Path(".env")) -> str:
    """The language of the CLI's help and messages: ``JIXIAO_LOCALE`` (environment, then
    ``.env``), else the terminal's (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``),
    else 简体中文. Read without the settings, so ``--help`` works when they are broken."""
    environ = os.environ if environ is None else environ
    configured = environ.get("JIXIAO_LOCALE")
    if configured is None and env_file.is_file():
        configured = dotenv_values(env_file).get("JIXIAO_LOCALE")
    if configured in SUPPORTED_LOCALES:
        return configured
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "").split(":")[0].split(".")[0].split("@")[0]
        if value:
            return "zh_Hans" if value in ("C", "POSIX") else resolve_locale(value)
    return "zh_Hans"


def _version() -> str:
    try:
        return metadata.version("jixiao")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


Actions = argparse._SubParsersAction  # what add_subparsers returns (argparse names it so)


class _Parsers:
    """Every parser of the CLI with its help in one language (``-h`` translated too)."""

    def __init__(self, tr: Translator) -> None:
        self.tr = tr

    def root(self, description: str) -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(prog="jixiao", description=description, add_help=False)
        self._help(parser)
        return parser

    def sub(
        self,
        parent: Actions,
        name: str,
        help: str,
        *,
        epilog: str | None = None,
    ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = parent.add_parser(
            name,
            help=help,
            description=help,
            epilog=epilog,
            add_help=False,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        self._help(parser)
        return parser

    def actions(self, parser: argparse.ArgumentParser, dest: str) -> Actions:
        return parser.add_subparsers(
            dest=dest, required=True, metavar="ACTION", title=self.tr._("actions")
        )

    def _help(self, parser: argparse.ArgumentParser) -> None:
        # argparse has no public way to name these two sections; its own words stay English
        parser._positionals.title = self.tr._("positional arguments")
        parser._optionals.title = self.tr._("options")
        parser.add_argument(
            "-h", "--help", action="help", help=self.tr._("show this help and exit")
        )


def _run_epilog(tr: Translator) -> str:
    """What ``jixiao run`` reads: the settings an operator needs to get it running."""
    settings = [
        ("JIXIAO_BOT_TOKEN", tr._("the bot's token from @BotFather (required)")),
        (
            "JIXIAO_DATABASE_URL",
            tr._("sqlite:///… (default: data/jixiao.db) or postgresql://user:pw@host/db"),
        ),
        (
            "JIXIAO_TELEGRAM_BASE_URL",
            tr._("Bot API base URL, for a self-hosted Bot API server (default: Telegram's)"),
        ),
        (
            "JIXIAO_WEBHOOK_URL",
            tr._("public HTTPS URL Telegram calls; unset: long polling"),
        ),
        (
            "JIXIAO_WEBHOOK_LISTEN, JIXIAO_WEBHOOK_PORT",
            tr._("where the webhook listener binds behind your proxy (default 127.0.0.1, 8443)"),
        ),
        (
            "JIXIAO_WEBHOOK_SECRET",
            tr._("checked on every webhook call (default: derived from the token)"),
        ),
        ("JIXIAO_ADMIN_IDS", tr._("Telegram user ids of the working group from the start")),
        ("JIXIAO_LOCALE", tr._("default language: zh_Hans, zh_Hant or en")),
    ]
    lines = [
        tr._(
            "Settings come from environment variables or a .env file in the working directory; .env.example documents every one. The most used:"
        ),
        "",
    ]
    for name, meaning in settings:
        lines += [f"  {name}", f"      {meaning}"]
    return "\n".join(lines)


def _parser(tr: Translator | None = None) -> argparse.ArgumentParser:
    tr = tr or Translator(cli_locale())
    p = _Parsers(tr)
    parser = p.root(
        tr._("jixiao 绩效 — the performance-management bot of the Emergency Management Bureau.")
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"jixiao {_version()}",
        help=tr._("show the version and exit"),
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=tr._("debug logging"))
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", title=tr._("commands")
    )

    run = p.sub(
        sub,
        "run",
        tr._(
            "run the bot: long polling, or a webhook when JIXIAO_WEBHOOK_URL is set (migrates the embedded SQLite first)"
        ),
        epilog=_run_epilog(tr),
    )
    run.add_argument(
        "--workers",
        type=_worker_count(tr),
        default=1,
        metavar="N",
        help=tr._(
            "processes that handle updates, each a share of the chats (default 1; up to {most}; one per core)"
        ).format(most=MAX_WORKERS),
    )
    demo = p.sub(
        sub, "demo", tr._("a whole quarterly cycle, simulated locally: no token, no network")
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("jixiao-demo"),
        metavar="FOLDER",
        help=tr._("folder for the result chart"),
    )
    demo.add_argument(
        "--language",
        choices=("zh_Hans", "zh_Hant", "en"),
        default="zh_Hans",
        help="everyone's Telegram language, and the transcript's (default zh_Hans)",
    )
    demo.add_argument(
        "--keep",
        type=Path,
        metavar="FOLDER",
        help=tr._(
            "keep the demo's database in this folder, to try the other commands on a published cycle"
        ),
    )

    web = p.sub(
        sub,
        "web",
        tr._(
            "serve the citizens' survey page (JIXIAO_PUBLIC_URL/s/…) behind your HTTPS reverse proxy"
        ),
    )
    web.add_argument(
        "--host", default="127.0.0.1", help=tr._("address to listen on (default 127.0.0.1)")
    )
    web.add_argument(
        "--port", type=int, default=8080, help=tr._("port to listen on (default 8080)")
    )
    web.add_argument(
        "--workers",
        type=int,
        default=1,
        help=tr._("worker processes (default 1; several need PostgreSQL)"),
    )
    web.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        metavar="ADDRESSES",
        help=tr._(
            "the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are trusted, comma-separated (default 127.0.0.1)"
        ),
    )

    db = p.actions(p.sub(sub, "db", tr._("database maintenance")), "db_command")
    p.sub(db, "upgrade", tr._("apply pending migrations"))
    p.sub(db, "current", tr._("show the applied migration"))

    staff = p.sub(sub, "staff", tr._("the staff roster and account linking"))
    staff_sub = p.actions(staff, "staff_command")
    imp = p.sub(staff_sub, "import", tr._("import the roster from a CSV or XLSX file"))
    imp.add_argument(
        "file",
        type=Path,
        metavar="FILE",
        help=tr._("roster file (.csv or .xlsx); columns in the README"),
    )
    imp.add_argument(
        "--dry-run", action="store_true", help=tr._("show what would change, change nothing")
    )
    inv = p.sub(
        staff_sub,
        "invites",
        tr._("issue invite codes for everyone not yet linked who holds no valid code"),
    )
    inv.add_argument("--format", choices=["csv"], default="csv", help=tr._("output format (csv)"))
    inv.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help=tr._("write to this file instead of standard output"),
    )
    inv.add_argument(
        "--reissue",
        action="store_true",
        help=tr._(
            "new codes for everyone not yet linked: the codes of earlier batches stop working"
        ),
    )
    employee_no = tr._("employee number of the person, e.g. A0012")
    re_ = p.sub(staff_sub, "reissue", tr._("a new invite code for one person (the old one dies)"))
    re_.add_argument("employee_no", metavar="EMPLOYEE_NO", help=employee_no)
    unb = p.sub(staff_sub, "unbind", tr._("unlink a person's Telegram account"))
    unb.add_argument("employee_no", metavar="EMPLOYEE_NO", help=employee_no)

    period = tr._("the cycle, e.g. 2026Q4 for a quarter or 2026 for a year")
    cycle = p.sub(sub, "cycle", tr._("evaluation cycles: open, extend, close, status"))
    cycle_sub = p.actions(cycle, "cycle_command")
    opn = p.sub(cycle_sub, "open", tr._("open a cycle (2026Q4 or 2026) with an indicator template"))
    opn.add_argument("period", metavar="PERIOD", help=period)
    opn.add_argument(
        "--template",
        type=Path,
        required=True,
        metavar="FILE",
        help=tr._("template file (.toml or .xlsx)"),
    )
    opn.add_argument(
        "--deadline",
        required=True,
        metavar="YYYY-MM-DD",
        help=tr._("last day to answer, YYYY-MM-DD (bureau time, end of day)"),
    )
    opn.add_argument(
        "--peer-count", type=int, default=5, help=tr._("colleagues each person rates (default 5)")
    )
    opn.add_argument(
        "--remind", default="3,1", help=tr._("days before the deadline to remind (default 3,1)")
    )
    ext = p.sub(
        cycle_sub,
        "extend",
        tr._("move the deadline later (reopens collection closed by the deadline)"),
    )
    ext.add_argument("period", metavar="PERIOD", help=period)
    ext.add_argument(
        "--deadline", required=True, metavar="YYYY-MM-DD", help=tr._("new last day, YYYY-MM-DD")
    )
    cls = p.sub(cycle_sub, "close", tr._("stop collecting answers"))
    cls.add_argument("period", metavar="PERIOD", help=period)
    rea = p.sub(cycle_sub, "reassign", tr._("give an absent rater's form to someone else"))
    rea.add_argument("period", metavar="PERIOD", help=period)
    rea.add_argument("ratee", metavar="RATEE", help=tr._("employee number of the rated person"))
    rea.add_argument(
        "old_rater", metavar="OLD_RATER", help=tr._("employee number of the absent rater")
    )
    rea.add_argument(
        "new_rater", metavar="NEW_RATER", help=tr._("employee number of the new rater")
    )
    rop = p.sub(cycle_sub, "reopen", tr._("reopen a submitted form so it can be changed"))
    rop.add_argument("period", metavar="PERIOD", help=period)
    rop.add_argument("rater", metavar="RATER", help=tr._("employee number of the rater"))
    rop.add_argument(
        "ratee",
        metavar="RATEE",
        help=tr._("employee number of the rated person (the same for a self-assessment)"),
    )
    scr = p.sub(
        cycle_sub,
        "score",
        tr._("compute every result of a closed cycle (re-running gives the same)"),
    )
    scr.add_argument("period", metavar="PERIOD", help=period)
    scr.add_argument(
        "--close",
        action="store_true",
        help=tr._(
            "stop collecting first if the cycle still collects (lists the forms not submitted)"
        ),
    )
    snd = p.sub(
        cycle_sub, "submit", tr._("send the scored results to the leadership group for approval")
    )
    snd.add_argument("period", metavar="PERIOD", help=period)
    sts = p.sub(cycle_sub, "status", tr._("phase, deadline, results and progress by unit"))
    sts.add_argument(
        "period", metavar="PERIOD", nargs="?", help=tr._("the cycle (default: every cycle)")
    )
    exp = p.sub(
        sub,
        "export",
        tr._(
            "the cycle's Excel workbook for filing: results, breakdown, survey, appeals, plans, participation, raw answers"
        ),
    )
    exp.add_argument("period", metavar="PERIOD", help=period)
    exp.add_argument(
        "--out", type=Path, required=True, metavar="FILE.xlsx", help=tr._("the workbook to write")
    )

    survey = p.sub(sub, "survey", tr._("citizen satisfaction surveys: links and QR codes"))
    survey_sub = p.actions(survey, "survey_command")
    lnk = p.sub(
        survey_sub,
        "links",
        tr._("create survey links with printable QR codes (PNGs, an A4 PDF, a CSV)"),
    )
    lnk.add_argument("--unit", required=True, help=tr._("unit name, as in the roster"))
    lnk.add_argument(
        "--staff", metavar="EMPLOYEE_NO", help=tr._("links for one person of the unit")
    )
    lnk.add_argument("--count", type=int, required=True, help=tr._("how many links (1-500)"))
    use = lnk.add_mutually_exclusive_group()
    use.add_argument(
        "--single-use",
        dest="single_use",
        action="store_true",
        default=True,
        help=tr._("each link takes one response (一事一评; the default)"),
    )
    use.add_argument(
        "--reusable",
        dest="single_use",
        action="store_false",
        help=tr._("links for a service window, answered by many"),
    )
    lnk.add_argument(
        "--label",
        default="",
        help=tr._("the window or counter, printed on slips and posters (≤ 64 characters)"),
    )
    lnk.add_argument(
        "--reference",
        default="",
        help=tr._(
            "一事一评: the service (事项) or case number (办件编号) single-use links are for, shown to the unit with the rating (≤ 64 characters)"
        ),
    )
    lnk.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FOLDER",
        help=tr._("folder for SERIAL.png, sheet.pdf, links.csv (and poster.pdf with --reusable)"),
    )
    rvk = p.sub(survey_sub, "revoke", tr._("stop a survey link from working"))
    rvk.add_argument(
        "link",
        metavar="SERIAL_OR_PAYLOAD",
        help=tr._("serial (000123), sv_… or the link"),
    )
    sst = p.sub(
        survey_sub,
        "stats",
        tr._("responses, satisfaction rate, answers per question, rectifications"),
    )
    sst.add_argument("--period", help=tr._("2026Q4 or 2026 (default: the current quarter)"))

    rep = p.sub(
        sub,
        "report",
        tr._("draft the evaluation report of a scored cycle as a PDF, in the CLI's language"),
    )
    rep.add_argument("period", metavar="PERIOD", help=tr._("the period, e.g. 2026Q4"))
    rep.add_argument(
        "--out", type=Path, metavar="FILE", required=True, help=tr._("the PDF file to write")
    )

    ann = p.sub(
        sub,
        "annual",
        tr._("the annual roll-up: results, award eligibility and consecutive-year flags"),
    )
    ann.add_argument("year", metavar="PERIOD_YEAR", help=tr._("the year, e.g. 2026"))
    ann.add_argument("--csv", type=Path, metavar="FILE", help=tr._("also write the table as CSV"))
    ann.add_argument(
        "--weights",
        default="40,60",
        help=tr._(
            "mean of the quarters and the annual assessment, QUARTERS,ANNUAL (default 40,60)"
        ),
    )
    ann.add_argument(
        "--excellent-years",
        type=int,
        default=2,
        help=tr._("years of Excellent in a row that give priority (default 2)"),
    )
    ann.add_argument(
        "--fail-years",
        type=int,
        default=2,
        help=tr._("years of Fail in a row that flag for review (default 2)"),
    )
    ann.add_argument(
        "--fail-quarters",
        type=int,
        default=2,
        help=tr._("quarters of Fail within the year that flag for review (default 2)"),
    )

    aud = p.sub(sub, "audit", tr._("the audit log: who did what and when, refusals included"))
    aud.add_argument(
        "--since", metavar="YYYY-MM-DD", help=tr._("entries from this day on (bureau time)")
    )
    aud.add_argument("--actor", metavar="EMPLOYEE_NO", help=tr._("only what this person did"))
    aud.add_argument(
        "--limit",
        type=int,
        default=100,
        help=tr._("the newest this many entries (default 100)"),
    )
    cal = p.actions(
        p.sub(sub, "calendar", tr._("the official calendar deadlines count working days on")),
        "calendar_command",
    )
    cim = p.sub(
        cal,
        "import",
        tr._("load the State Council's holiday notice for a year (replaces a year loaded before)"),
    )
    cim.add_argument(
        "file",
        type=Path,
        metavar="FILE",
        help=tr._("the notice as TOML; the format: examples/calendar-2026.toml"),
    )
    csh = p.sub(
        cal, "show", tr._("a year: source, days off, weekend working days, working days by month")
    )
    csh.add_argument("year", metavar="YEAR", help=tr._("the year, e.g. 2027"))

    i18n = p.actions(p.sub(sub, "i18n", tr._("translation catalogs")), "i18n_command")
    p.sub(
        i18n,
        "compile",
        tr._("write .mo files beside the .po catalogs (the bot does not need them)"),
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure ends as one line on stderr and a non-zero status."""
    locale = cli_locale()
    args = _parser(Translator(locale)).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(_config_error_line(exc, Translator(locale)), file=sys.stderr)
        return 2
    tr = Translator(locale, settings.tz)
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


MAX_WORKERS = 32


def _worker_count(tr: Translator) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isdigit() or not 1 <= int(text) <= MAX_WORKERS:
            raise argparse.ArgumentTypeError(
                tr._("not a whole number from 1 to {most}").format(most=MAX_WORKERS)
            )
        return int(text)

    return parse


def _dispatch(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    # Deliberately imported here, not at the top: the commands load the services, the models
    # and the migrations (about 0.6 s), which --help and configuration errors do not need.
    from bot import (
        audit_command,
        calendar_commands,
        commands,
        cycle_commands,
        export_commands,
        staff_commands,
    )

    if args.command == "run":
        settings.require_token()
        # Deliberately imported here: the bot's stack (every flow, the outbox sender,
        # matplotlib for charts) is heavy, and no other command needs it.
        from bot.runner import run

        return run(settings, tr, workers=args.workers)
    if args.command == "demo":
        # Deliberately imported here: the demo carries the bot's stack and the fake Bot API server.
        from bot.demo import run_demo

        for noisy in ("telegram", "bot", "apscheduler", "fakebotapi", "tornado", "__main__"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        # SIGTERM ends the demo as Ctrl-C does, so its temporary database is removed
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        return asyncio.run(
            run_demo(args.out, language=args.language, keep=args.keep and args.keep.resolve())
        )
    if args.command == "web":
        # Deliberately imported here: uvicorn, Starlette and Jinja2 serve this command only.
        from bot.web_command import serve

        return serve(args, settings, tr)
    if args.command == "db":
        return asyncio.run(commands.db(args.db_command, settings, tr))
    if args.command == "staff":
        return asyncio.run(staff_commands.staff(args, settings, tr))
    if args.command == "cycle":
        return asyncio.run(cycle_commands.cycle(args, settings, tr))
    if args.command == "export":
        return asyncio.run(export_commands.export(args, settings, tr))
    if args.command == "survey":
        return asyncio.run(commands.survey(args, settings, tr))
    if args.command == "calendar":
        return asyncio.run(calendar_commands.calendar(args, settings, tr))
    if args.command == "annual":
        return asyncio.run(commands.annual(args, settings, tr))
    if args.command == "audit":
        return asyncio.run(audit_command.audit_log(args, settings, tr))
    if args.command == "report":
        return asyncio.run(commands.report(args, settings, tr))
    if args.command == "i18n":
        for path in compile_catalogs():
            print(path)
        return 0
    return 1  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
