"""The citizen's one-minute survey, opened from a QR code: ``/start sv_<token>``.

States: QUESTION (five levels as buttons), COMMENT (optional text), PROBLEMS (after a
不满意/非常不满意: what went wrong, multi-select plus free text), REPLY (do they want an
answer). Every answer is stored as given; an abandoned survey is finished later by
opening the same link. The citizen is known only by a keyed hash of their Telegram id.
"""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.context import JxContext
from chat.flow import END, Flow, Position, Prompt, answer_query, reply, send_prompt
from conversations.common import html, keyboard, now, start_payload
from domain.labels import SATISFACTION_LABELS
from domain.payload import PayloadKind, StartPayload
from domain.text import html_format
from infra.i18n import N_, Translator
from services import surveys
from services.errors import DomainError
from services.templates import localized

QUESTION, COMMENT, PROBLEMS, REPLY = "question", "comment", "problems", "reply"
DATA = re.compile(r"^sv1:([a-z]):(\d{1,12})(?::([A-Za-z0-9_.-]{1,16}))?(?::(\d{1,2}))?$")
FACES = ("😀", "🙂", "😐", "🙁", "😞")


def state_for(step: str) -> str:
    return {surveys.COMMENT: COMMENT, surveys.PROBLEMS: PROBLEMS, surveys.REPLY: REPLY}.get(
        step, QUESTION
    )


def greeting(view: surveys.SurveyView, tr: Translator) -> str:
    unit = html(localized(view.unit, tr.locale))
    if view.staff:
        return html_format(
            tr._("Hello! Thank you for using the services of {unit} (staff member: {staff})."),
            unit=unit,
            staff=view.staff,
        )
    return html_format(tr._("Hello! Thank you for using the services of {unit}."), unit=unit)


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    view = await surveys.load_view(session, int(pos.data["rid"]))
    rid = view.response.id
    step = view.next_step()
    total = len(view.spec.questions)
    if pos.state == QUESTION and step not in (
        surveys.COMMENT,
        surveys.PROBLEMS,
        surveys.REPLY,
        surveys.DONE,
    ):
        index = next(n for n, q in enumerate(view.spec.questions) if q.code == step)
        question = view.spec.questions[index]
        lines = []
        if index == 0:
            lines += [
                greeting(view, tr),
                html_format(
                    tr.ngettext(
                        "Please take a minute to rate this service: {count} question, a few taps.",
                        "Please take a minute to rate this service: {count} questions, a few taps.",
                        total,
                    ),
                    count=total,
                ),
                "",
            ]
        lines.append(
            f"<b>{index + 1}/{total}</b> {html(localized(question.text, tr.locale, question.text_en))}"
        )
        rows = [
            [(f"{FACES[n]} {tr._(SATISFACTION_LABELS[level])}", f"sv1:a:{rid}:{question.code}:{n}")]
            for n, level in enumerate(surveys.LEVELS)
        ]
        return Prompt("\n".join(lines), keyboard(*rows))
    if step == surveys.COMMENT:
        return Prompt(
            html_format(
                tr._(
                    "Anything else you would like to tell us? Type it here (at most {limit} characters), or skip."
                ),
                limit=surveys.MAX_COMMENT,
            ),
            keyboard([(tr._("Skip"), f"sv1:c:{rid}")]),
        )
    if step == surveys.PROBLEMS:
        chosen = set(view.response.problems or [])
        rows = []
        for n, problem in enumerate(view.spec.problems):
            en = view.spec.problems_en[n] if view.spec.problems_en else None
            rows.append(
                [
                    (
                        ("✅ " if n in chosen else "▫️ ") + localized(problem, tr.locale, en),
                        f"sv1:t:{rid}:x:{n}",
                    )
                ]
            )
        rows.append([(tr._("Next ➡"), f"sv1:n:{rid}")])
        return Prompt(
            tr._(
                "We are sorry the service fell short. What went wrong? Choose all that apply, then tap “Next”; you can also type what happened."
            ),
            keyboard(*rows),
        )
    if step == surveys.REPLY:
        return Prompt(
            tr._("Would you like us to tell you how we handled it? We will reply in this chat."),
            keyboard(
                [
                    (tr._("Yes, please reply"), f"sv1:r:{rid}:x:1"),
                    (tr._("No, thank you"), f"sv1:r:{rid}:x:0"),
                ]
            ),
        )
    return Prompt(tr._("Thank you for your feedback!"))


flow = Flow("survey", N_("satisfaction survey"), render, prefix="sv1:")


def _key(update: Update, context: JxContext) -> str:
    user = update.effective_user
    assert user is not None
    return surveys.respondent_key(context.services.settings, user.id)


@flow.step
async def on_start(update: Update, context: JxContext) -> object:
    user = update.effective_user
    assert user is not None and update.message is not None
    tr = await context.tr(update)
    payload = start_payload(update) or StartPayload(PayloadKind.SURVEY, "-")
    try:
        async with flow.tx(update, context) as tx:
            response, _resumed = await surveys.begin(
                tx.session,
                payload,
                telegram_id=user.id,
                settings=context.services.settings,
                now=now(context),
                locale=tr.locale,
            )
            view = await surveys.load_view(tx.session, response.id)
            tx.goto(state_for(view.next_step()), rid=response.id)
    except DomainError as exc:
        await reply(update, exc.render(tr))
        return END
    await flow.show(update, context)
    return tx.state


@flow.step
async def on_button(update: Update, context: JxContext) -> object:
    match = DATA.match(update.callback_query.data or "") if update.callback_query else None
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    if match is None or pos is None or int(pos.data.get("rid", 0)) != int(match.group(2)):
        return await flow._stale_button(update, context)
    action, rid, code, value = match.groups()
    tr = await context.tr(update)
    key = _key(update, context)
    user = update.effective_user
    assert user is not None
    try:
        async with flow.tx(update, context) as tx:
            view = await surveys.load_view(tx.session, int(rid))
            step = view.next_step()
            if action == "a" and code and value is not None:
                if code != step and code not in view.answers:
                    raise DomainError(N_("This button has expired. Here is where you are now."))
                if code != step and view.answers[code].level == surveys.LEVELS[int(value)]:
                    await answer_query(update, tr._("Already saved."))
                    return None
                if code != step:
                    raise DomainError(N_("This button has expired. Here is where you are now."))
                await surveys.answer(tx.session, view, code, int(value), key=key, now=now(context))
            elif action == "c" and step == surveys.COMMENT:
                await surveys.set_comment(tx.session, view, None, key=key)
            elif action == "t" and step == surveys.PROBLEMS and value is not None:
                surveys.toggle_problem(view, int(value), key=key)
            elif action == "n" and step == surveys.PROBLEMS:
                await surveys.set_problem_text(tx.session, view, "", key=key)
            elif action == "r" and step == surveys.REPLY and value in ("0", "1"):
                await surveys.finish(
                    tx.session,
                    view,
                    wants_reply=value == "1",
                    telegram_id=user.id,
                    key=key,
                    now=now(context),
                    settings=context.services.settings,
                )
            else:
                raise DomainError(N_("This button has expired. Here is where you are now."))
            if view.next_step() == surveys.DONE and view.response.status.value != "complete":
                await surveys.finish(
                    tx.session,
                    view,
                    wants_reply=None,
                    telegram_id=user.id,
                    key=key,
                    now=now(context),
                    settings=context.services.settings,
                )
            done = view.next_step() == surveys.DONE
            if done:
                tx.end()
            else:
                tx.goto(state_for(view.next_step()), rid=view.response.id)
    except DomainError as exc:
        await answer_query(update, exc.plain(tr))
        await flow.show(update, context, edit=False)
        return None
    await answer_query(update)
    if done:
        context.services.outbox_wake()
        await send_prompt(update, context, _thanks(view, tr))
        return END
    await flow.show(update, context)
    return tx.state


def _thanks(view: surveys.SurveyView, tr: Translator) -> Prompt:
    text = tr._("Thank you for your feedback! It helps us serve you better.")
    if view.response.wants_reply:
        text += "\n" + tr._("We will reply in this chat once the unit has looked into it.")
    return Prompt(text)


@flow.step
async def on_text(update: Update, context: JxContext) -> object:
    """A comment, or what went wrong in the citizen's own words."""
    tr = await context.tr(update)
    text = update.message.text if update.message else None
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    if pos is None or text is None:
        return END
    user = update.effective_user
    assert user is not None
    key = _key(update, context)
    try:
        async with flow.tx(update, context) as tx:
            view = await surveys.load_view(tx.session, int(pos.data["rid"]))
            step = view.next_step()
            if step == surveys.COMMENT:
                await surveys.set_comment(tx.session, view, text, key=key)
            elif step == surveys.PROBLEMS:
                await surveys.set_problem_text(tx.session, view, text, key=key)
            else:
                raise DomainError(N_("Please use the buttons below."))
            if view.next_step() == surveys.DONE:
                await surveys.finish(
                    tx.session,
                    view,
                    wants_reply=None,
                    telegram_id=user.id,
                    key=key,
                    now=now(context),
                    settings=context.services.settings,
                )
                tx.end()
            else:
                tx.goto(state_for(view.next_step()), rid=view.response.id)
    except DomainError as exc:
        await reply(update, exc.render(tr))
        await flow.show(update, context, edit=False)
        return None
    if tx.state == END:
        context.services.outbox_wake()
        await reply(update, _thanks(view, tr).text)
        return END
    await flow.show(update, context, edit=False)
    return tx.state


def build_handler() -> ConversationHandler:
    buttons = CallbackQueryHandler(on_button, pattern=r"^sv1:")
    text = MessageHandler(F.TEXT & ~F.COMMAND & ~F.UpdateType.EDITED, on_text)
    return flow.handler(
        entry_points=[CommandHandler("start", on_start, filters=F.Regex(r"^/start(@\w+)?\s+sv_"))],
        states={
            QUESTION: [buttons],
            COMMENT: [buttons, text],
            PROBLEMS: [buttons, text],
            REPLY: [buttons],
        },
    )
