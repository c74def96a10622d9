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
            print(exc.render(tr), file=sys.stderr)
            return 1
        return 0
    finally:
        await engine.dispose()


async def _import(args: argparse.Namespace, sessions, tr: Translator) -> int:  # type: ignore[no-untyped-def]
    from services.staff_import import RosterInvalid, apply_import, parse_roster, plan_import

    path = args.file
    if not path.exists():
        print(tr._("File not found: {path}").format(path=path), file=sys.stderr)
        return 1
    try:
        roster = parse_roster(path.read_bytes(), path.name)
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
