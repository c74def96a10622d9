"""Onboarding: ``/start in_<code>`` shows whose code it is and binds on confirmation.

States: CONFIRM (waiting for 是我本人 / 不是我). Callback data ``iv1:ok:<invite id>`` and
``iv1:no:<invite id>`` name the invite, so a button of an older code can never confirm a
newer one: a press for any other invite than the one shown is answered as expired.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler

from chat.callbacks import Callbacks
from chat.context import JxContext
from chat.flow import END, Flow, Position, Prompt, answer_query, reply, send_prompt
from conversations.common import keyboard, now, start_payload
from conversations.home import show_home
from conversations.start import deep_link
from domain.payload import PayloadKind, StartPayload
from domain.text import html_format
from infra.i18n import N_, Translator
from infra.models import Invite, OrgUnit, Staff
from services import invites, leadership
from services.errors import DomainError
from services.notices import Localization
from services.templates import localized


class State(StrEnum):
    CONFIRM = "confirm"


CB = Callbacks("iv1", "invite")
ITS_ME = CB.action("ok", int)  # iv1:ok:<invite id>
NOT_ME = CB.action("no", int)  # iv1:no:<invite id>


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    invite = await session.get(Invite, int(pos.data["invite_id"]))
    staff = await session.get(Staff, invite.staff_id) if invite else None
    unit = await session.get(OrgUnit, staff.unit_id) if staff else None
    if invite is None or staff is None:
        return Prompt(
            tr._(
                "This invite is no longer valid. Send /cancel and ask the evaluation working group for a new code."
            )
        )
    text = "\n".join(
        [
            tr._("Please confirm that this is you:"),
            "",
            html_format(tr._("Name: {name}"), name=staff.name),
            html_format(tr._("Unit: {unit}"), unit=localized(unit.name, tr.locale) if unit else ""),
            html_format(
                tr._("Position: {position}"), position=localized(staff.position or "—", tr.locale)
            ),
            "",
            tr._(
                "After you confirm, this Telegram account is linked to this person and used for performance evaluation."
            ),
        ]
    )
    markup = keyboard(
        [(tr._("✅ Yes, this is me"), ITS_ME.data(invite.id))],
        [(tr._("✖ This is not me"), NOT_ME.data(invite.id))],
    )
    return Prompt(text, markup)


flow = Flow("invite", N_("account linking"), render, prefix="iv1:")


@flow.step
async def check_code(update: Update, context: JxContext) -> object:
    """Check the code (wrong ones count towards the lock-out, so commit either way)."""
    user = update.effective_user
    assert user is not None and update.message is not None
    payload = start_payload(update)
    error: DomainError | None = None
    async with flow.tx(update, context) as tx:
        try:
            view = await invites.lookup(
                tx.session,
                payload or StartPayload(PayloadKind.INVITE, "-"),
                user.id,
                now=now(context),
            )
            tx.goto(State.CONFIRM, invite_id=view.invite_id)
        except DomainError as exc:
            error = exc
            tx.end()
    tr = await context.tr(update)
    if error is not None:
        await reply(update, error.render(tr))
        return END
    await flow.show(update, context)
    return tx.state


async def _is_shown(update: Update, context: JxContext, invite_id: int) -> bool:
    """The button names the invite this chat is confirming (not an older code's)."""
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    return pos is not None and pos.data.get("invite_id") == invite_id


@flow.step
async def decline(update: Update, context: JxContext) -> object:
    """不是我: nothing is linked; the working group can correct the details."""
    (invite_id,) = NOT_ME.args(update)
    if not await _is_shown(update, context, invite_id):
        return await flow._stale_button(update, context)
    async with flow.tx(update, context) as tx:
        tx.end()
    tr = await context.tr(update)
    await answer_query(update)
    await send_prompt(
        update,
        context,
        Prompt(
            tr._(
                "Nothing was linked. If the details are wrong, please contact the evaluation working group."
            )
        ),
    )
    return END


@flow.step
async def confirm(update: Update, context: JxContext) -> object:
    """是我本人: link this Telegram account to the person, then show their home screen."""
    user = update.effective_user
    assert user is not None
    (invite_id,) = ITS_ME.args(update)
    if not await _is_shown(update, context, invite_id):
        return await flow._stale_button(update, context)
    tr = await context.tr(update)
    error: DomainError | None = None
    async with flow.tx(update, context) as tx:
        try:
            view = await invites.redeem(
                tx.session, invite_id, user.id, now=now(context), locale=tr.locale
            )
            settings = context.services.settings
            # a leader linking late gets what waits for their 审定, in this transaction
            await leadership.hand_over(
                tx.session,
                view.staff_id,
                user.id,
                tr.locale,
                quota=settings.excellent_quota,
                local=Localization.of(settings),
            )
        except DomainError as exc:
            error = exc
        tx.end()
    await answer_query(update)
    context.forget_account()
    context.services.outbox_wake()
    if error is not None:
        await send_prompt(update, context, Prompt(error.render(tr)))
        return END
    await send_prompt(
        update,
        context,
        Prompt(html_format(tr._("Linked. Welcome, {name}!"), name=view.name)),
    )
    await show_home(update, context)
    return END


def build_handler() -> ConversationHandler:
    return flow.handler(
        entry_points=[CommandHandler("start", check_code, filters=deep_link(PayloadKind.INVITE))],
        states={State.CONFIRM: [ITS_ME.handler(confirm), NOT_ME.handler(decline)]},
    )
