"""``jixiao staff …``: import the roster, hand out invite codes, re-issue one, unbind."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from bot.commands import bot_username, open_database
from infra.config import Settings
from infra.db import SessionFactory, make_sessions
from infra.i18n import Translator
from infra.models.types import utcnow
from services import files, invites
from services.errors import DomainError
from services.invite_csv import invites_csv
from services.staff_import import RosterInvalid, apply_import, parse_roster, plan_import


async def staff(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    engine = await open_database(settings, tr, create=args.staff_command == "import")
    sessions = make_sessions(engine)
    ttl = dt.timedelta(days=settings.invite_ttl_days)
    try:
        if args.staff_command == "import":
            return await _import(args, sessions, tr)
        if args.staff_command == "invites":
            return await _invites(args, sessions, settings, tr)
        try:
            async with sessions.begin() as session:
                if args.staff_command == "reissue":
                    issued_one = await invites.reissue(
                        session, args.employee_no, now=utcnow(), ttl=ttl, actor_label="cli"
                    )
                    print(
                        f"{issued_one.employee_no},{issued_one.name},{issued_one.payload},{issued_one.link(await bot_username(settings, tr))}"
                    )
                elif args.staff_command == "unbind":
                    await invites.unbind(session, args.employee_no, now=utcnow(), actor_label="cli")
                    print(tr._("Unlinked."))
        except DomainError as exc:
            print(exc.plain(tr, codes=True), file=sys.stderr)
            return 1
        return 0
    finally:
        await engine.dispose()


async def _invites(
    args: argparse.Namespace, sessions: SessionFactory, settings: Settings, tr: Translator
) -> int:
    """New codes only for those without a valid one, unless ``--reissue`` (which kills the rest)."""
    username = await bot_username(settings, tr)  # before anything is issued
    if args.out:  # a folder or an unwritable path fails here, before codes are issued
        with args.out.open("ab"):
            pass
    now = utcnow()
    async with sessions.begin() as session:
        issued = await invites.issue_for_unbound(
            session,
            now=now,
            ttl=dt.timedelta(days=settings.invite_ttl_days),
            actor_label="cli",
            keep_valid=not args.reissue,
        )
        kept, until = await invites.pending_codes(session, now=now)
        kept -= len(issued)
    if issued:
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
    if args.reissue and issued:
        print(
            tr._(
                "Warning: codes were issued again for everyone not yet linked; the codes of earlier batches no longer work."
            ),
            file=sys.stderr,
        )
    elif kept:
        print(
            tr.ngettext(
                "{count} person not yet linked still holds a valid code from an earlier batch (valid until {date}). Only hashes of codes are stored, so it cannot be printed again; “jixiao staff invites --reissue” replaces every code (earlier codes then stop working).",
                "{count} people not yet linked still hold valid codes from an earlier batch (valid until {date}). Only hashes of codes are stored, so they cannot be printed again; “jixiao staff invites --reissue” replaces every code (earlier codes then stop working).",
                kept,
            ).format(count=kept, date=tr.date(until) if until else ""),
            file=sys.stderr,
        )
    elif not issued:
        print(tr._("Everyone active is already linked. No codes were issued."), file=sys.stderr)
    return 0


async def _import(args: argparse.Namespace, sessions: SessionFactory, tr: Translator) -> int:
    path = args.file
    try:
        roster = parse_roster(files.read_limited(path), path.name)
    except RosterInvalid as exc:
        print(
            tr._(
                "Nothing was imported. Please correct these problems in the file and import it again:"
            ),
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
    if args.dry_run:
        print(tr._("Dry run: nothing was changed."))
    return 0
