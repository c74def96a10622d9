"""The citizen's one-minute survey, opened from a QR code: ``/start sv_<token>``.

Shaped like 政务服务「好差评」: QUESTION (five levels as buttons: the overall level first,
then the questions), TAGS (tags that depend on the overall level, multi-select with
"完成": what went well, with an optional comment typed here; after a 差评 — an overall
不满意/非常不满意 — what went wrong, of which one chosen or typed reason is required),
REPLY (after a 差评: do they want an answer). A 差评 ends with where it went and its
number; praise with thanks. Every answer is stored as given; an abandoned survey is
finished later by opening the same link. The citizen is known only by a keyed hash of
their Telegram id.

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
from domain.text import escape, html_format
from infra.i18n import N_, Translator
from services import surveys
from services.errors import DomainError
from services.templates import localized


class State(StrEnum):
    QUESTION = "question"  # the overall level, then each question
    TAGS = "tags"
    REPLY = "reply"


CB = Callbacks("sv1", "survey")
RATE = CB.action("a", int, str, int)  # sv1:a:<response>:<question code or ~all>:<level index>
TOGGLE = CB.action("t", int, int)  # sv1:t:<response>:<tag index>
NEXT = CB.action("n", int)  # sv1:n:<response>: 完成, the tags chosen
WANTS_REPLY = CB.action("r", int, int)  # sv1:r:<response>:<1 yes, 0 no>

FACES = ("😀", "🙂", "😐", "🙁", "😞")


def state_for(step: str) -> State:
    return {surveys.TAGS: State.TAGS, surveys.REPLY: State.REPLY}.get(step, State.QUESTION)


def greeting(view: surveys.SurveyView, tr: Translator) -> str:
    unit = html(localized(view.unit, tr.locale))
    text: str
    if view.staff:
        text = html_format(
            tr._("Hello! Thank you for using the services of {unit} (staff member: {staff})."),
            unit=unit,
            staff=view.staff,
        )
    else:
        text = html_format(tr._("Hello! Thank you for using the services of {unit}."), unit=unit)
    if view.reference:  # 一事一评: the service this code was handed out for
        text += "\n" + escape(tr.label(tr._("Service"), localized(view.reference, tr.locale)))
    return text


async def render(session: AsyncSession, tr: Translator, pos: Position, update: Update) -> Prompt:
    return prompt_of(await surveys.load_tap(session, int(pos.data["rid"])), tr)


def prompt_of(view: surveys.SurveyView, tr: Translator) -> Prompt:
    """The prompt of the view's next step. A step shows the view it has just committed rather
    than reading the response again (``render``): half the reads of a citizen's tap."""
    rid = view.response.id
    step = view.next_step()
    codes = [surveys.OVERALL, *(q.code for q in view.spec.questions)]
    if step in codes:
        return _question(view, tr, codes.index(step), len(codes))
    if step == surveys.TAGS:
        return _tags(view, tr)
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
    return _thanks(view, tr)


def _question(view: surveys.SurveyView, tr: Translator, index: int, total: int) -> Prompt:
    """The overall level (with the greeting), or one question, with the five levels."""
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
        code, text = surveys.OVERALL, tr._("Overall, are you satisfied with this service?")
    else:
        question = view.spec.questions[index - 1]
        code, text = question.code, localized(question.text, tr.locale, question.text_en)
    lines.append(f"<b>{index + 1}/{total}</b> {html(text)}")
    rows = [
        [(f"{FACES[n]} {tr._(SATISFACTION_LABELS[level])}", RATE.data(view.response.id, code, n))]
        for n, level in enumerate(surveys.LEVELS)
    ]
    return Prompt("\n".join(lines), keyboard(*rows))


def _tags(view: surveys.SurveyView, tr: Translator) -> Prompt:
    """The tags of the overall level, ticked as chosen, and 完成."""
    labels, english = view.spec.tags(view.bad)
    chosen, rid = set(view.tags), view.response.id
    rows = [
        [
            (
                ("✅ " if n in chosen else "▫️ ")
                + localized(label, tr.locale, english[n] if n < len(english) else None),
                TOGGLE.data(rid, n),
            )
        ]
        for n, label in enumerate(labels)
    ]
    rows.append([(tr._("Done ➡"), NEXT.data(rid))])
    if view.bad:
        text = tr._(
            "We are sorry the service fell short. What went wrong? Choose all that apply and tap “Done”, or type what happened."
        )
    else:
        text = html_format(
            tr._(
                "What went well? Choose any that apply and tap “Done”. Anything else you would like to tell us? Type it here (at most {limit} characters)."
            ),
            limit=surveys.MAX_COMMENT,
        )
    return Prompt(text, keyboard(*rows))


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
    payload = start_payload(update) or StartPayload(PayloadKind.SURVEY, "-")
    try:
        async with flow.tx(update, context) as tx:
            await context.account(update, tx.session)  # for tr; ``begin`` gets its own copy
            tr = await context.tr(update)
            response, _resumed = await surveys.begin(
                tx.session,
                payload,
                respondent=surveys.telegram_respondent(context.services.settings, user.id),
                settings=context.services.settings,
                now=now(context),
                locale=tr.locale,
            )
            view = await surveys.load_tap(tx.session, response.id)
            tx.goto(state_for(view.next_step()), rid=response.id)
    except DomainError as exc:
        await reply(update, exc.render(await context.tr(update)))
        return END
    await send_prompt(update, context, prompt_of(view, tr))
    return tx.state


Change = Callable[[FlowTx, surveys.SurveyView], Awaitable[str | None]]
"""One button's effect on the response; a text when the press changes nothing: the press is
answered with it once the transaction has ended (no network call holds the writer)."""


class _Elsewhere(Exception):
    """The chat is not at the response the update is for: the transaction writes nothing."""


async def _press(update: Update, context: JxContext, rid: int, change: Change) -> object:
    """Apply one button's answer to the response this chat is in, then go to the next step.

    The position, the caller's account and the response are read in the step's own
    transaction: one round trip each, no read session beside it; the response as plain rows,
    its changes written as one UPDATE and an INSERT (issue 12). A survey that has nothing
    left to ask (no complaint, so no reply question) is finished in the same transaction,
    so its answers count from the moment it ends.
    """
    try:
        async with flow.tx(update, context) as tx:
            await context.account(update, tx.session)
            pos = await tx.position()
            if pos is None or int(pos.data.get("rid", 0)) != rid:
                raise _Elsewhere
            view = await surveys.load_tap(tx.session, rid)
            said = await change(tx, view)
            if said is None:
                view = await _stored(tx, update, context, view)
                _goto(tx, view)
    except _Elsewhere:
        return await flow._stale_button(update, context)
    except DomainError as exc:
        await answer_query(update, exc.plain(await context.tr(update)))
        await flow.show(update, context, edit=False)
        return None
    if said is not None:
        await answer_query(update, said)
        return None
    tr = await context.tr(update)
    await answer_query(update)
    if tx.state == END:
        context.services.outbox_wake()
        await send_prompt(update, context, _thanks(view, tr))
        return END
    await send_prompt(update, context, prompt_of(view, tr))
    return tx.state


def _goto(tx: FlowTx, view: surveys.SurveyView) -> None:
    if view.next_step() == surveys.DONE:
        tx.end()
    else:
        tx.goto(state_for(view.next_step()), rid=view.response.id)


async def _stored(
    tx: FlowTx, update: Update, context: JxContext, view: surveys.SurveyView
) -> surveys.SurveyView:
    """Write the tap's changes; a survey with nothing left to ask is finished, which opens
    a 差评's rectification item: then the view of the finished response, as mapped objects."""
    await surveys.save_tap(tx.session, view)
    if view.next_step() != surveys.DONE or view.response.status == ResponseStatus.COMPLETE:
        return view
    user = update.effective_user
    assert user is not None
    finished = await surveys.load_view(tx.session, view.response.id, fresh=True)
    await surveys.finish(
        tx.session,
        finished,
        wants_reply=view.response.wants_reply,
        respondent=surveys.telegram_respondent(context.services.settings, user.id),
        now=now(context),
        settings=context.services.settings,
    )
    return finished


@flow.step
async def rate(update: Update, context: JxContext) -> object:
    """A level for the question asked; a repeated tap on an earlier answer is "already saved"."""
    rid, code, level = RATE.args(update)

    async def change(tx: FlowTx, view: surveys.SurveyView) -> str | None:
        if code != view.next_step():
            answered = view.answers.get(code)
            if answered is None or level >= len(surveys.LEVELS):
                raise DomainError(EXPIRED)
            if answered.level != surveys.LEVELS[level]:
                raise DomainError(EXPIRED)
            return (await context.tr(update))._("Already saved.")
        key = _key(update, context)
        await surveys.answer(tx.session, view, code, level, key=key, now=now(context))
        return None

    return await _press(update, context, rid, change)


def _at(view: surveys.SurveyView, step: str) -> None:
    if view.next_step() != step:
        raise DomainError(EXPIRED)


@flow.step
async def toggle_tag(update: Update, context: JxContext) -> object:
    """Tick or untick one of the tags offered for the overall level (several may apply)."""
    rid, index = TOGGLE.args(update)

    async def change(tx: FlowTx, view: surveys.SurveyView) -> None:
        _at(view, surveys.TAGS)
        surveys.toggle_tag(view, index, key=_key(update, context))

    return await _press(update, context, rid, change)


@flow.step
async def tags_chosen(update: Update, context: JxContext) -> object:
    """完成: the tags are chosen (after a 差评, at least one, unless a reason is typed)."""
    (rid,) = NEXT.args(update)

    async def change(tx: FlowTx, view: surveys.SurveyView) -> None:
        _at(view, surveys.TAGS)
        surveys.finish_tags(view, None, key=_key(update, context))

    return await _press(update, context, rid, change)


@flow.step
async def choose_reply(update: Update, context: JxContext) -> object:
    """Whether the citizen wants to hear how the complaint was handled; the survey ends."""
    rid, wanted = WANTS_REPLY.args(update)

    async def change(tx: FlowTx, view: surveys.SurveyView) -> None:
        _at(view, surveys.REPLY)
        if wanted not in (0, 1):
            raise DomainError(EXPIRED)
        view.response.wants_reply = wanted == 1  # the last step: ``_stored`` finishes it

    return await _press(update, context, rid, change)


def _thanks(view: surveys.SurveyView, tr: Translator) -> Prompt:
    """An honest ending: a 差评 says where it went and its number, and whether an answer
    will come here; praise is thanked."""
    if not view.bad:
        return Prompt(tr._("Thank you for your rating! It helps us serve you better."))
    unit = localized(view.unit, tr.locale)
    ref = view.rectification_id or "—"
    if view.response.wants_reply:
        text = tr._(
            "Your comments have been passed to {unit} to look into (No. {ref}). You will get their answer here."
        )
    else:
        text = tr._(
            "Your comments have been passed to {unit} to verify and handle (No. {ref}). Thank you for your feedback."
        )
    return Prompt(html_format(text, unit=unit, ref=ref))


Write = Callable[[surveys.SurveyView, str, str], None]


async def _typed(update: Update, context: JxContext, step: str, write: Write) -> object:
    """Store a typed text at ``step`` (a comment, or what went wrong), then go on."""
    text = update.message.text if update.message else None
    if text is None:
        return END
    key = _key(update, context)
    try:
        async with flow.tx(update, context) as tx:
            await context.account(update, tx.session)
            pos = await tx.position()
            if pos is None:
                raise _Elsewhere
            view = await surveys.load_tap(tx.session, int(pos.data["rid"]))
            if view.next_step() != step:
                raise DomainError(N_("Please use the buttons below."))
            write(view, text, key)
            view = await _stored(tx, update, context, view)
            _goto(tx, view)
    except _Elsewhere:
        return END
    except DomainError as exc:
        await reply(update, exc.render(await context.tr(update)))
        await flow.show(update, context, edit=False)
        return None
    tr = await context.tr(update)
    if tx.state == END:
        context.services.outbox_wake()
        await reply(update, _thanks(view, tr).text)
        return END
    await send_prompt(update, context, prompt_of(view, tr), edit=False)
    return tx.state


@flow.step
async def write_tags_text(update: Update, context: JxContext) -> object:
    """Typed at the tags: a comment, or after a 差评 what went wrong in the citizen's words."""

    def write(view: surveys.SurveyView, text: str, key: str) -> None:
        surveys.finish_tags(view, text, key=key)

    return await _typed(update, context, surveys.TAGS, write)


def build_handler() -> ConversationHandler:
    def typed(step: StepFn) -> MessageHandler:
        return MessageHandler(F.TEXT & ~F.COMMAND & ~F.UpdateType.EDITED, step)

    # a tap on an answer given earlier may come in any state: "already saved"
    return flow.handler(
        entry_points=[CommandHandler("start", open_survey, filters=deep_link(PayloadKind.SURVEY))],
        states={
            State.QUESTION: [RATE.handler(rate)],
            State.TAGS: [
                TOGGLE.handler(toggle_tag),
                NEXT.handler(tags_chosen),
                typed(write_tags_text),
                RATE.handler(rate),
            ],
            State.REPLY: [WANTS_REPLY.handler(choose_reply), RATE.handler(rate)],
        },
    )
