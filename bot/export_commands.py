"""``jixiao export PERIOD --out FILE.xlsx``: the workbook the working group files.

The same service as the chat's /export (``services.export_xlsx``), in ``JIXIAO_LOCALE``;
audited as an export from the command line. A refusal is one line on stderr, exit 1.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path

from bot.cli_errors import suffixed
from bot.commands import open_database
from infra.config import Settings
from infra.db import make_sessions
from infra.i18n import Translator
from infra.models.types import utcnow
from services import export_xlsx
from services.errors import DomainError


async def export(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    out: Path = args.out
    writable(out)
    if not suffixed(out, ".xlsx", tr):
        return 1
    engine = await open_database(settings, tr)
    sessions = make_sessions(engine)
    try:
        async with sessions.begin() as session:
            exported = await export_xlsx.export(
                session, args.period, tr, now=utcnow(), actor_label="cli"
            )
    except DomainError as exc:
        print(exc.plain(tr, codes=True), file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    out.write_bytes(exported.data)  # noqa: ASYNC240 - one write, after the commit
    facts = exported.facts
    print(
        tr._("Wrote {path}: {period}, {people} people, {units} units, {answers} answers.").format(
            path=out,
            period=tr.period(facts.period),
            people=len(facts.people),
            units=len(facts.unit_results),
            answers=len(facts.answers),
        )
    )
    return 0


def writable(out: Path) -> None:
    """Say a path that cannot be written before anything is read or audited (``bot.cli``
    turns the OSError into one line naming the path)."""
    if out.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(out))
    if not out.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(out.parent))
