"""The citizen's one-minute survey, opened from a QR code: ``/start sv_<token>``.

States: QUESTION (five levels as buttons), COMMENT (optional text), PROBLEMS (after a
不满意/非常不满意: what went wrong, multi-select plus free text), REPLY (do they want an
answer). Every answer is stored as given; an abandoned survey is finished later by
opening the same link. The citizen is known only by a keyed hash of their Telegram id.

Callback data names the response (``sv1:a:<response>:<question>:<level>``), so a button
of another survey never writes into this one. A tap on an answer already given says
"already saved" wherever the survey is; any other old button is answered as expired.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from chat.callbacks import Callbacks
from chat.context import JxContext
from chat.flow import (
    END,
    Flow,
    FlowTx,
    Position,
    Prompt,
    StepFn,
    answer_query,
    reply,
    send_prompt,
)
from conversations.common import html, keyboard, now, start_payload
from conversations.start import deep_link
from domain.enums import ResponseStatus
from domain.labels import SATISFACTION_LABELS
from domain.payload import PayloadKind, StartPayload
from domain.text import html_format
from infra.i18n import N_, Translator
from services import surveys
from services.errors import DomainError
from services.templates import localized


class State(StrEnum):
    QUESTION = "question"
    COMMENT = "comment"
    PROBLEMS = "problems"
    REPLY = "reply"


CB = Callbacks("sv1", "survey")
RATE = CB.action("a", int, str, int)  # sv1:a:<response>:<question code>:<level index>
SKIP = CB.action("c", int)  # sv1:c:<response>: no comment
TOGGLE = CB.action("t", int, int)  # sv1:t:<response>:<problem index>
NEXT = CB.action("n", int)  # sv1:n:<response>: problems chosen
WANTS_REPLY = CB.action("r", int, int)  # sv1:r:<response>:<1 yes, 0 no>

FACES = ("😀", "🙂", "😐", "🙁", "😞")


def state_for(step: str) -> State:
    return {
        surveys.COMMENT: State.COMMENT,
        surveys.PROBLEMS: State.PROBLEMS,
        surveys.REPLY: State.REPLY,
    }.get(step, State.QUESTION)


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
    if pos.state == State.QUESTION and step not in (
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
            [(f"{FACES[n]} {tr._(SATISFACTION_LABELS[level])}", RATE.data(rid, question.code, n))]
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
            keyboard([(tr._("Skip"), SKIP.data(rid))]),
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
                        TOGGLE.data(rid, n),
                    )
                ]
            )
        rows.append([(tr._("Next ➡"), NEXT.data(rid))])
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
                    (tr._("Yes, please reply"), WANTS_REPLY.data(rid, 1)),
                    (tr._("No, thank you"), WANTS_REPLY.data(rid, 0)),
                ]
            ),
        )
    return Prompt(tr._("Thank you for your feedback!"))


flow = Flow("survey", N_("satisfaction survey"), render, prefix="sv1:")
EXPIRED = N_("This button has expired. Here is where you are now.")


def _key(update: Update, context: JxContext) -> str:
    user = update.effective_user
    assert user is not None
    return surveys.respondent_key(context.services.settings, user.id)


@flow.step
async def open_survey(update: Update, context: JxContext) -> object:
    """Claim the link (or resume the survey begun from it) and ask the next question."""
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


Change = Callable[[FlowTx, surveys.SurveyView], Awaitable[bool | None]]
"""One button's effect on the response; True when it answered the press itself (no change)."""


async def _press(update: Update, context: JxContext, rid: int, change: Change) -> object:
    """Apply one button's answer to the response this chat is in, then go to the next step.

    A survey that has nothing left to ask (no complaint, so no reply question) is
    finished in the same transaction, so its answers count from the moment it ends.
    """
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    if pos is None or int(pos.data.get("rid", 0)) != rid:
        return await flow._stale_button(update, context)
    tr = await context.tr(update)
    try:
        async with flow.tx(update, context) as tx:
            view = await surveys.load_view(tx.session, rid)
            if await change(tx, view):
                return None
            if view.next_step() == surveys.DONE and view.response.status != ResponseStatus.COMPLETE:
                await _finish(tx, update, context, view, wants_reply=None)
            _goto(tx, view)
    except DomainError as exc:
        await answer_query(update, exc.plain(tr))
        await flow.show(update, context, edit=False)
        return None
    await answer_query(update)
    if tx.state == END:
        context.services.outbox_wake()
        await send_prompt(update, context, _thanks(view, tr))
        return END
    await flow.show(update, context)
    return tx.state


def _goto(tx: FlowTx, view: surveys.SurveyView) -> None:
    if view.next_step() == surveys.DONE:
        tx.end()
    else:
        tx.goto(state_for(view.next_step()), rid=view.response.id)


async def _finish(
    tx: FlowTx,
    update: Update,
    context: JxContext,
    view: surveys.SurveyView,
    *,
    wants_reply: bool | None,
) -> None:
    user = update.effective_user
    assert user is not None
    await surveys.finish(
        tx.session,
        view,
        wants_reply=wants_reply,
        telegram_id=user.id,
        key=_key(update, context),
        now=now(context),
        settings=context.services.settings,
    )


@flow.step
async def rate(update: Update, context: JxContext) -> object:
    """A level for the question asked; a repeated tap on an earlier answer is "already saved"."""
    rid, code, level = RATE.args(update)

    async def change(tx: FlowTx, view: surveys.SurveyView) -> bool:
        if code != view.next_step():
            answered = view.answers.get(code)
            if answered is None or level >= len(surveys.LEVELS):
                raise DomainError(EXPIRED)
            if answered.level != surveys.LEVELS[level]:
                raise DomainError(EXPIRED)
            tr = await context.tr(update)
            await answer_query(update, tr._("Already saved."))
            return True
        key = _key(update, context)
        await surveys.answer(tx.session, view, code, level, key=key, now=now(context))
        return False

    return await _press(update, context, rid, change)


def _at(view: surveys.SurveyView, step: str) -> None:
    if view.next_step() != step:
        raise DomainError(EXPIRED)


@flow.step
async def skip_comment(update: Update, context: JxContext) -> object:
    (rid,) = SKIP.args(update)

    async def change(tx: FlowTx, view: surveys.SurveyView) -> None:
        _at(view, surveys.COMMENT)
        await surveys.set_comment(tx.session, view, None, key=_key(update, context))

    return await _press(update, context, rid, change)


@flow.step
async def toggle_problem(update: Update, context: JxContext) -> object:
    """Tick or untick one of the listed problems (several may apply)."""
    rid, index = TOGGLE.args(update)

    async def change(tx: FlowTx, view: surveys.SurveyView) -> None:
        _at(view, surveys.PROBLEMS)
        surveys.toggle_problem(view, index, key=_key(update, context))

    return await _press(update, context, rid, change)


@flow.step
async def problems_chosen(update: Update, context: JxContext) -> object:
    (rid,) = NEXT.args(update)

    async def change(tx: FlowTx, view: surveys.SurveyView) -> None:
        _at(view, surveys.PROBLEMS)
        await surveys.set_problem_text(tx.session, view, "", key=_key(update, context))

    return await _press(update, context, rid, change)


@flow.step
async def choose_reply(update: Update, context: JxContext) -> object:
    """Whether the citizen wants to hear how the complaint was handled; the survey ends."""
    rid, wanted = WANTS_REPLY.args(update)

    async def change(tx: FlowTx, view: surveys.SurveyView) -> None:
        _at(view, surveys.REPLY)
        if wanted not in (0, 1):
            raise DomainError(EXPIRED)
        await _finish(tx, update, context, view, wants_reply=wanted == 1)

    return await _press(update, context, rid, change)


def _thanks(view: surveys.SurveyView, tr: Translator) -> Prompt:
    text = tr._("Thank you for your feedback! It helps us serve you better.")
    if view.response.wants_reply:
        text += "\n" + tr._("We will reply in this chat once the unit has looked into it.")
    return Prompt(text)


Write = Callable[[FlowTx, surveys.SurveyView, str, str], Awaitable[None]]


async def _typed(update: Update, context: JxContext, step: str, write: Write) -> object:
    """Store a typed text at ``step`` (a comment, or what went wrong), then go on."""
    tr = await context.tr(update)
    text = update.message.text if update.message else None
    async with context.services.reads() as session:
        pos = await flow.position(session, update)
    if pos is None or text is None:
        return END
    key = _key(update, context)
    try:
        async with flow.tx(update, context) as tx:
            view = await surveys.load_view(tx.session, int(pos.data["rid"]))
            if view.next_step() != step:
                raise DomainError(N_("Please use the buttons below."))
            await write(tx, view, text, key)
            if view.next_step() == surveys.DONE:
                await _finish(tx, update, context, view, wants_reply=None)
            _goto(tx, view)
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


@flow.step
async def write_comment(update: Update, context: JxContext) -> object:
    async def write(tx: FlowTx, view: surveys.SurveyView, text: str, key: str) -> None:
        await surveys.set_comment(tx.session, view, text, key=key)

    return await _typed(update, context, surveys.COMMENT, write)


@flow.step
async def describe_problem(update: Update, context: JxContext) -> object:
    """What went wrong, in the citizen's own words (beside the ticked problems)."""

    async def write(tx: FlowTx, view: surveys.SurveyView, text: str, key: str) -> None:
        await surveys.set_problem_text(tx.session, view, text, key=key)

    return await _typed(update, context, surveys.PROBLEMS, write)


def build_handler() -> ConversationHandler:
    def typed(step: StepFn) -> MessageHandler:
        return MessageHandler(F.TEXT & ~F.COMMAND & ~F.UpdateType.EDITED, step)

    # a tap on an answer given earlier may come in any state: "already saved"
    return flow.handler(
        entry_points=[CommandHandler("start", open_survey, filters=deep_link(PayloadKind.SURVEY))],
        states={
            State.QUESTION: [RATE.handler(rate)],
            State.COMMENT: [SKIP.handler(skip_comment), typed(write_comment), RATE.handler(rate)],
            State.PROBLEMS: [
                TOGGLE.handler(toggle_problem),
                NEXT.handler(problems_chosen),
                typed(describe_problem),
                RATE.handler(rate),
            ],
            State.REPLY: [WANTS_REPLY.handler(choose_reply), RATE.handler(rate)],
        },
    )
