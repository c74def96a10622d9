"""Working-group commands: invite codes, re-issue, unbind. Each is role-checked and audited."""

from __future__ import annotations

import datetime as dt
import io

from telegram import InputFile, Update
from telegram.ext import BaseHandler, CommandHandler

from chat.context import JxContext
from chat.flow import reply
from conversations.cases import admin_only
from conversations.common import now
from domain.text import html_format
from services import form_admin, invites
from services.errors import DomainError
from services.invite_csv import invites_csv


async def invites_command(update: Update, context: JxContext) -> None:
    if await admin_only(update, context, "invites") is None:
        return
    tr = await context.tr(update)
    ttl = dt.timedelta(days=context.services.settings.invite_ttl_days)
    user = update.effective_user
    async with context.transaction() as session:
        issued = await invites.issue_for_unbound(
            session, now=now(context), ttl=ttl, actor_label=f"telegram:{user.id if user else '?'}"
        )
    if not issued:
        await reply(update, tr._("Everyone active is already linked. No codes were issued."))
        return
    data = invites_csv(issued, context.bot.username, tr)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(
        InputFile(io.BytesIO(data), filename="invites.csv"),
        caption=tr.ngettext(  # plain text: the document is sent without a parse mode
            "{count} invite code issued. Codes work once and expire in {days} days; earlier unused codes no longer work.",
            "{count} invite codes issued. Codes work once and expire in {days} days; earlier unused codes no longer work.",
            len(issued),
        ).format(count=len(issued), days=ttl.days),
    )


async def reissue_command(update: Update, context: JxContext) -> None:
    if await admin_only(update, context, "reissue") is None:
        return
    tr = await context.tr(update)
    if not context.args:
        await reply(update, tr._("Please give the employee number, e.g. /reissue A0012"))
        return
    user = update.effective_user
    ttl = dt.timedelta(days=context.services.settings.invite_ttl_days)
    try:
        async with context.transaction() as session:
            issued = await invites.reissue(
                session,
                context.args[0],
                now=now(context),
                ttl=ttl,
                actor_label="telegram",
                actor_telegram_id=user.id if user else None,
            )
    except DomainError as exc:
        await reply(update, exc.render(tr))
        return
    await reply(
        update,
        html_format(
            tr._(
                "New code for {name} ({unit}): <code>{code}</code>\nLink: {link}\nValid until {date}. The old code no longer works."
            ),
            name=issued.name,
            unit=issued.unit,
            code=issued.payload,
            link=issued.link(context.bot.username),
            date=tr.date(issued.expires_at),
        ),
    )


async def unbind_command(update: Update, context: JxContext) -> None:
    if await admin_only(update, context, "unbind") is None:
        return
    tr = await context.tr(update)
    if not context.args:
        await reply(update, tr._("Please give the employee number, e.g. /unbind A0012"))
        return
    user = update.effective_user
    try:
        async with context.transaction() as session:
            await invites.unbind(
                session,
                context.args[0],
                now=now(context),
                actor_label="telegram",
                actor_telegram_id=user.id if user else None,
            )
    except DomainError as exc:
        await reply(update, exc.render(tr))
        return
    await reply(
        update,
        html_format(
            tr._(
                "Unlinked. Issue a new code with /reissue {employee_no} when the person needs to link again."
            ),
            employee_no=context.args[0],
        ),
    )


async def reassign_command(update: Update, context: JxContext) -> None:
    """/reassign <ratee no.> <absent rater no.> <new rater no.>: an absent reviewer is replaced."""
    if await admin_only(update, context, "reassign") is None:
        return
    tr = await context.tr(update)
    if not context.args or len(context.args) != 3:
        await reply(
            update,
            tr._(
                "Usage: /reassign &lt;employee no. of the rated person&gt; &lt;absent rater&gt; &lt;new rater&gt;, e.g. /reassign A0012 A0003 A0007"
            ),
        )
        return
    ratee, old, new = context.args
    user = update.effective_user
    try:
        async with context.transaction() as session:
            assignment = await form_admin.find_assignment(session, rater_no=old, ratee_no=ratee)
            new_id = await form_admin.staff_id_of(session, new)
            await form_admin.reassign(
                session,
                assignment.id,
                new_id,
                actor_staff_id=None,
                actor_telegram_id=user.id if user else None,
                now=now(context),
            )
    except DomainError as exc:
        await reply(update, exc.render(tr))
        return
    await reply(
        update,
        html_format(
            tr._(
                "Reassigned: {new} now fills this form instead of {old}. The change is in the audit log."
            ),
            new=new,
            old=old,
        ),
    )


async def reopen_command(update: Update, context: JxContext) -> None:
    """/reopen <rater no.> <ratee no.>: a submitted form can be changed again (audited)."""
    if await admin_only(update, context, "reopen") is None:
        return
    tr = await context.tr(update)
    if not context.args or len(context.args) != 2:
        await reply(
            update,
            tr._(
                "Usage: /reopen &lt;employee no. of the rater&gt; &lt;employee no. of the rated person&gt;; the same number twice for a self-assessment."
            ),
        )
        return
    user = update.effective_user
    try:
        async with context.transaction() as session:
            assignment = await form_admin.find_assignment(
                session, rater_no=context.args[0], ratee_no=context.args[1]
            )
            await form_admin.reopen(
                session,
                assignment.id,
                actor_staff_id=None,
                actor_telegram_id=user.id if user else None,
                now=now(context),
            )
    except DomainError as exc:
        await reply(update, exc.render(tr))
        return
    await reply(update, tr._("Reopened. The rater can change and submit the form again."))


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("reassign", reassign_command),
        CommandHandler("reopen", reopen_command),
        CommandHandler("invites", invites_command),
        CommandHandler("reissue", reissue_command),
        CommandHandler("unbind", unbind_command),
    ]
