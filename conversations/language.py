"""``/language``: choose 简体中文, 繁體中文 or English; remembered on the account."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler

from chat.callbacks import Callbacks
from chat.context import JxContext
from chat.flow import END, Flow, Position, Prompt, answer_query, send_prompt
from conversations.common import keyboard
from conversations.home import show_home
from domain.text import html_format
from infra.config import SUPPORTED_LOCALES
from infra.i18n import LANGUAGE_NAMES, N_, Translator
from infra.models import TelegramAccount


class State(StrEnum):
    CHOOSE = "choose"


CB = Callbacks("lg1", "language")
PICK = CB.action("pick", str)  # lg1:pick:<locale>


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    rows = [[(LANGUAGE_NAMES[loc], PICK.data(loc))] for loc in SUPPORTED_LOCALES]
    return Prompt(tr._("Please choose the language of the interface:"), keyboard(*rows))


flow = Flow("language", N_("language selection"), render, prefix="lg1:")


@flow.step
async def ask(update: Update, context: JxContext) -> object:
    async with flow.tx(update, context) as tx:
        tx.goto(State.CHOOSE)
    await flow.show(update, context)
    return tx.state


@flow.step
async def choose(update: Update, context: JxContext) -> object:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    (locale,) = PICK.args(update)
    if locale not in SUPPORTED_LOCALES:
        return await flow._stale_button(update, context)
    async with flow.tx(update, context) as tx:
        account = await tx.session.get(TelegramAccount, user.id)
        if account is None:
            tx.session.add(TelegramAccount(telegram_id=user.id, language=locale))
        else:
            account.language = locale
        tx.end()
    if account is None:
        context.forget_account()  # the new row's defaults are read back with it
    else:
        context.remember_account(account)
    tr = await context.tr(update)
    await answer_query(update)
    await send_prompt(
        update,
        context,
        Prompt(
            html_format(
                tr._("The interface language is now {language}."), language=LANGUAGE_NAMES[locale]
            )
        ),
    )
    await show_home(update, context)
    return END


def build_handler() -> ConversationHandler:
    return flow.handler(
        entry_points=[CommandHandler("language", ask)],
        states={State.CHOOSE: [PICK.handler(choose)]},
    )
