"""Failures of the ``jixiao`` command line as one translated line and an exit status.

An operator running a command should read what went wrong and what to do, never a
traceback: 1 is a refused action or bad input (a missing file, an unknown cycle),
2 a configuration problem (a setting, a token Telegram rejects), 3 something the
command needs is unavailable (the database, its schema, Telegram).
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from telegram import error as tg_error

from infra.i18n import Translator

REFUSED = 1
CONFIG = 2
UNAVAILABLE = 3


class CliFailure(Exception):
    """Stop the command with this (already translated) line and status."""

    def __init__(self, line: str, status: int = REFUSED) -> None:
        super().__init__(line)
        self.line = line
        self.status = status


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, what it wraps (SQLAlchemy's ``orig``) and its causes, outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        orig = getattr(current, "orig", None)
        current = (
            orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
        )
    return seen


def database_label(url: str) -> str:
    """Where the database is, without its password: ``host:port/name`` or the SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


def database_failure(exc: BaseException, url: str, tr: Translator) -> CliFailure | None:
    """A failure to reach or open the database, or ``None`` when ``exc`` is something else."""
    where = database_label(url)
    for link in _chain(exc):
        if isinstance(link, BrokenPipeError):
            return None  # our reader went away (`| head`): not the database's doing
        name = type(link).__name__
        if name == "InvalidCatalogNameError":
            return CliFailure(
                tr._(
                    "The database {database} does not exist. Create it, then run “jixiao db upgrade”."
                ).format(database=where),
                UNAVAILABLE,
            )
        if name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
            return CliFailure(
                tr._("The database {database} refused the login: {reason}").format(
                    database=where, reason=_reason(link)
                ),
                CONFIG,
            )
        if isinstance(link, sqlite3.OperationalError | OSError | TimeoutError):
            return CliFailure(
                tr._("Cannot reach the database {database}: {reason}").format(
                    database=where, reason=_reason(link)
                ),
                UNAVAILABLE,
            )
    if isinstance(exc, sa_exc.DBAPIError):
        return CliFailure(
            tr._("The database {database} reported an error: {reason}").format(
                database=where, reason=_reason(exc.orig or exc)
            ),
            UNAVAILABLE,
        )
    return None


def telegram_failure(exc: BaseException, base_url: str, tr: Translator) -> CliFailure | None:
    """A token Telegram rejects, or Telegram out of reach; ``None`` for anything else."""
    if isinstance(exc, tg_error.InvalidToken):
        return CliFailure(
            tr._("Configuration error: {setting} is {problem}. See .env.example.").format(
                setting="JIXIAO_BOT_TOKEN", problem=tr._("rejected by Telegram")
            ),
            CONFIG,
        )
    if isinstance(exc, tg_error.NetworkError | tg_error.TimedOut):
        return CliFailure(
            tr._("Cannot reach Telegram at {url}: {reason}").format(
                url=base_url.removesuffix("/bot"), reason=_reason(exc)
            ),
            UNAVAILABLE,
        )
    return None


def file_failure(exc: OSError, tr: Translator) -> CliFailure:
    """A file that is missing, a folder, or not allowed, named by its path."""
    path = exc.filename if exc.filename is not None else "?"
    if isinstance(exc, FileNotFoundError):
        line = tr._("File not found: {path}")
    elif isinstance(exc, IsADirectoryError) or (
        isinstance(exc, PermissionError) and Path(str(path)).is_dir()
    ):
        line = tr._("{path} is a folder; please give a file.")
    elif isinstance(exc, NotADirectoryError):
        line = tr._("{path} is not a folder.")
    elif isinstance(exc, PermissionError):
        line = tr._("No permission to use {path}.")
    else:
        return CliFailure(
            tr._("Cannot use {path}: {reason}").format(path=path, reason=_reason(exc))
        )
    return CliFailure(line.format(path=path))


def _reason(exc: BaseException) -> str:
    """The exception's own words on one line (drivers' messages can span several)."""
    text = (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).strip()
    return " ".join(text.split())[:300]


def suffixed(out: Path, suffix: str, tr: Translator) -> bool:
    """Refuse a file name that would disguise what is written (an xlsx named e.csv), in one line."""
    if out.suffix.lower() == suffix:
        return True
    print(
        tr._("The file to write must end in {suffix}: {path}").format(suffix=suffix, path=out),
        file=sys.stderr,
    )
    return False
