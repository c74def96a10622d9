"""How a rating form looks in the chat: prompts for each step, built from the database.

Kept apart from the handlers (``conversations/form.py``) because the same rendering
serves the next question, a stale button and the re-prompt after a restart. The form's
states and callback codec live here, beside the prompts and buttons they draw;
``conversations/form.py`` routes each action to its handler. The data keeps its first format,
``fm1:<letter>:<assignment>[:<item>[:<value>]]``, so buttons already in chats still work.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Update

from chat.callbacks import Callbacks
from chat.flow import Position, Prompt
from conversations.common import html, keyboard
from domain.enums import AssignmentStatus, Dimension, Source
from domain.labels import DIMENSION_LABELS, SOURCE_LABELS
from domain.template import ScaleKind
from domain.text import MESSAGE_LIMIT, Html, clip, clip_html, escape, html_format, utf16_len
from infra.i18n import Translator
from infra.models import Staff, TelegramAccount
from services import forms
from services.forms import COMMENT_KEY, DONE, SUMMARY, WRITTEN_LABELS, Form, FormItem
from services.templates import localized

SCORE_BUTTONS = (100, 95, 90, 85, 80, 75, 70, 65, 60, 50)
EXCERPT = 60  # UTF-16 units of a written answer shown in the summary
SUMMARY_LIMIT = 3800  # the summary leaves room for Telegram's 4,096 (see render_summary)
KIND_OF = {Source.SELF: "self", Source.SUPERIOR: "review", Source.PEER: "peer"}

CB = Callbacks("fm1", "form")
OPEN = CB.action("p", int)  # fm1:p:<assignment>: a form from the list
CONTINUE = CB.action("c", int)  # fm1:c:<assignment>: the half-done form, after all
SWITCH = CB.action("g", str)  # fm1:g:<self|review|peer>: the other task instead
SCORE = CB.action("v", int, str, int)  # fm1:v:<assignment>:<item>:<score or level index>
KEEP = CB.action("k", int, str)  # fm1:k:<assignment>:<item>: keep the text, or skip the comment
BACK = CB.action("b", int, str)  # fm1:b:<assignment>:<item>: the question before it
TO_SUMMARY = CB.action("s", int)  # fm1:s:<assignment>
EDIT = CB.action("e", int, str)  # fm1:e:<assignment>:<item>: change an answer from the summary
FULL_TEXT = CB.action("f", int, str)  # fm1:f:<assignment>:<item>: a long text in full
SUBMIT = CB.action("x", int)  # fm1:x:<assignment>: asks for the second tap
YES_SUBMIT = CB.action("y", int)  # fm1:y:<assignment>: the one-way submit
NOT_YET = CB.action("n", int)  # fm1:n:<assignment>: back to the answers
SELF_TEXT = CB.action("a", int)  # fm1:a:<assignment>: the ratee's self-assessment in full
GOALS = CB.action("o", int)  # fm1:o:<assignment>: the unit's annual goals
SELF_EXCERPT = 300  # UTF-16 units of each self-assessment part on the superior's first question


class State(StrEnum):
    """The form flow's states (``conversations.form``); stored with each chat, so never renamed."""

    PICK = "pick"
    ITEM = "item"
    TEXT = "text"
    SUMMARY = "summary"
    CONFIRM = "confirm"
    CHOICE = "choice"


KINDS = {"self": Source.SELF, "review": Source.SUPERIOR, "peer": Source.PEER}
IN_A_FORM = (State.ITEM, State.TEXT, State.SUMMARY, State.CONFIRM)


def state_of(form: forms.Form) -> State | None:
    """The state showing the form's cursor; None once it is submitted."""
    cursor = form.current
    if cursor == forms.DONE:
        return None
    if cursor == forms.SUMMARY:
        return State.SUMMARY
    item = form.item(cursor)
    return State.TEXT if item is not None and item.is_text else State.ITEM


async def _staff_id(session: AsyncSession, update: Update) -> int | None:
    user = update.effective_user
    account = await session.get(TelegramAccount, user.id) if user else None
    return account.staff_id if account else None


async def render_position(
    session: AsyncSession, tr: Translator, pos: Position, update: Update
) -> Prompt:
    """The prompt of a stored position: the next question, after a stale button or a restart."""
    if pos.state == State.PICK and pos.data.get("kind") == "proxy":
        return await render_proxy_pick(session, tr, int(pos.data["for"]))
    if pos.state == State.PICK:
        return await render_pick(session, tr, await _staff_id(session, update), pos.data["kind"])
    form = await forms.load_form(session, int(pos.data["aid"]))
    if pos.state == State.CHOICE:
        new = KINDS[pos.data["kind"]]
        return Prompt(
            html_format(
                tr._(
                    "You have not finished {form} ({done} of {total} answered). Continue it, or do the other task first? Your answers so far are saved either way."
                ),
                form=title(form, tr),
                done=form.answered_count,
                total=len(form.items),
            ),
            keyboard(
                [(tr._("Continue"), CONTINUE.data(form.assignment.id))],
                [
                    (
                        tr._("Go to: {task}").format(task=tr._(SOURCE_LABELS[new])),
                        SWITCH.data(pos.data["kind"]),
                    )
                ],
            ),
        )
    prefix = ""
    if pos.data.get("proxy"):
        rater = await session.get(Staff, form.assignment.rater_staff_id)
        prefix = (
            html_format(
                tr._("✍️ Entering a paper form on behalf of {name}"),
                name=rater.name if rater else "",
            )
            + "\n"
        )
    if pos.state == State.CONFIRM:
        prompt = render_confirm(form, tr)
    else:
        prompt = render(form, tr)
    return Prompt(prefix + prompt.text, prompt.markup)


async def render_proxy_pick(session: AsyncSession, tr: Translator, staff_id: int) -> Prompt:
    """The working group picks which of a person's open forms to enter from paper (代錄)."""
    person = await session.get(Staff, staff_id)
    rows = []
    for source in (Source.SELF, Source.SUPERIOR, Source.PEER):
        mine = await forms.my_assignments(session, staff_id, source)
        names = await forms.ratee_names(session, [a for a, _ in mine])
        for assignment, _cycle in mine:
            if assignment.status == AssignmentStatus.OPEN:
                label = f"{tr._(SOURCE_LABELS[source])} · {names[assignment.id]}"
                rows.append((label, OPEN.data(assignment.id)))
    if not rows:
        return Prompt(
            html_format(tr._("{name} has no open forms."), name=person.name if person else "")
        )
    return Prompt(
        html_format(
            tr._(
                "Which form of {name} do you enter from paper? Answers will be marked as entered by you, and the submission is audited."
            ),
            name=person.name if person else "",
        ),
        pick_markup(rows),
    )


async def render_pick(
    session: AsyncSession, tr: Translator, staff_id: int | None, kind: str
) -> Prompt:
    mine = await forms.my_assignments(session, staff_id or 0, KINDS[kind])
    names = await forms.ratee_names(session, [a for a, _ in mine])
    if not mine:
        return Prompt(tr._("You have no open forms of this kind."))
    rows = []
    done = 0
    for assignment, _cycle in mine:
        submitted = assignment.status == AssignmentStatus.SUBMITTED
        done += submitted
        unit_mark = tr._(" (unit)") if assignment.ratee_unit_id else ""
        rows.append(
            (
                ("✅ " if submitted else "▫️ ") + names[assignment.id] + unit_mark,
                OPEN.data(assignment.id),
            )
        )
    title = {
        "self": tr._("Self-assessment"),
        "review": tr._("Superior review"),
        "peer": tr._("Peer review"),
    }[kind]
    text = "\n".join(
        [
            f"<b>{title}</b> · {html(tr.period(mine[0][1].period))}",
            html_format(
                tr._("Done: {done} of {total}. Choose whom to rate:"), done=done, total=len(mine)
            ),
        ]
    )
    if kind == "peer":
        text += "\n" + tr._(
            "Your ratings are anonymous: the colleagues you rate never see who rated them."
        )
    return Prompt(text, pick_markup(rows))


def title(form: Form, tr: Translator) -> Html:
    label = tr._(SOURCE_LABELS[form.source])
    if form.source == Source.SELF and form.is_unit:
        label = tr._("Unit self-assessment")
    if form.source == Source.SELF and not form.is_unit:
        return html_format(
            "<b>{label}</b> · {period}", label=label, period=tr.period(form.cycle.period)
        )
    return html_format(
        "<b>{label} · {who}</b> · {period}",
        label=label,
        who=form.ratee_name,
        period=tr.period(form.cycle.period),
    )


def item_label(form: Form, item: FormItem, tr: Translator) -> str:
    if item.indicator is not None:
        return localized(item.indicator.name, tr.locale, item.indicator.name_en)
    if item.part is not None:
        return tr._(WRITTEN_LABELS[item.part])
    return tr._("Comment (optional)")


def answer_text(form: Form, item: FormItem, tr: Translator, *, excerpt: bool = True) -> Html:
    """The answer as HTML (escaped here, once)."""
    answer = form.answers.get(item.key)
    if answer is None:
        return Html(tr._("(not answered)"))
    if item.indicator is not None:
        scale = form.template.scales[item.indicator.scale]
        if scale.kind == ScaleKind.LEVELS and answer.level is not None:
            level = scale.levels[answer.level]
            label = localized(level.label, tr.locale, level.label_en)
            return html_format("{label}{points}", label=label, points=tr.paren(_num(answer.points)))
        return escape(_num(answer.points))
    text = answer.text or ""
    if not text:
        return Html(tr._("(none)"))
    return html(clip(text, EXCERPT) if excerpt else text)


def render(form: Form, tr: Translator) -> Prompt:
    cursor = form.current
    if cursor == DONE:
        return Prompt(title(form, tr) + "\n\n" + tr._("This form has been submitted. Thank you!"))
    if cursor == SUMMARY:
        return render_summary(form, tr)
    item = form.item(cursor)
    assert item is not None
    return render_text_item(form, item, tr) if item.is_text else render_indicator(form, item, tr)


def _progress(form: Form, item: FormItem, tr: Translator) -> str:
    return html_format(
        tr._("Question {n} of {total}"), n=form.index(item.key) + 1, total=len(form.items)
    )


def render_indicator(form: Form, item: FormItem, tr: Translator) -> Prompt:
    indicator = item.indicator
    assert indicator is not None
    aid = form.assignment.id
    lines = [title(form, tr), _progress(form, item, tr)]
    if form.source == Source.SUPERIOR and form.index(item.key) == 0:
        lines += ["", *self_assessment_lines(form, tr, excerpt=SELF_EXCERPT)]
    lines += [
        "",
        html(tr.heading(tr._(DIMENSION_LABELS[indicator.dimension])))
        + f"<b>{html(item_label(form, item, tr))}</b>",
    ]
    description = localized(indicator.description, tr.locale, indicator.description_en)
    if description:
        lines.append(html(description))
    goals_here = bool(form.goals) and indicator.dimension == Dimension.PERFORMANCE
    if goals_here and _first_of_dimension(form, item):
        lines += ["", *goal_lines(form, tr)]
    if item.key in form.answers:
        lines += [
            "",
            html_format(tr._("Current answer: {answer}"), answer=answer_text(form, item, tr)),
        ]
    scale = form.template.scales[indicator.scale]
    rows: list[list[tuple[str, str]]] = []
    current = form.answers.get(item.key)
    if scale.kind == ScaleKind.LEVELS:
        for n, level in enumerate(scale.levels):
            mark = "✓ " if current is not None and current.level == n else ""
            label = localized(level.label, tr.locale, level.label_en)
            rows.append([(f"{mark}{label} · {_num(level.points)}", SCORE.data(aid, item.key, n))])
        lines += [
            "",
            html_format(
                tr._("Tap a level, or type its number (1–{count})."), count=len(scale.levels)
            ),
        ]
    else:
        buttons = [
            (
                ("✓ " if current is not None and current.points == v else "") + str(v),
                SCORE.data(aid, item.key, v),
            )
            for v in SCORE_BUTTONS
        ]
        rows += [buttons[i : i + 5] for i in range(0, len(buttons), 5)]
        lines += ["", tr._("Tap a score, or type any score from 0 to 100.")]
    rows.append(_reference(form, tr, goals=goals_here and not _first_of_dimension(form, item)))
    rows.append(_nav(form, item, tr))
    return Prompt("\n".join(lines), keyboard(*[r for r in rows if r]))


def _first_of_dimension(form: Form, item: FormItem) -> bool:
    """The form's first question of ``item``'s dimension: where the goals are shown in full."""
    assert item.indicator is not None
    dimension = item.indicator.dimension
    first = next(i for i in form.items if i.indicator and i.indicator.dimension == dimension)
    return first.key == item.key


def _goals_matter(form: Form) -> bool:
    """The unit has goals and the form rates performance, which is judged against them."""
    return bool(form.goals) and any(
        i.indicator is not None and i.indicator.dimension == Dimension.PERFORMANCE
        for i in form.items
    )


def _reference(form: Form, tr: Translator, *, goals: bool) -> list[tuple[str, str]]:
    """Buttons that show, in a message of their own, what a rater reads beside a question."""
    aid = form.assignment.id
    row = []
    if form.self_assessment is not None:
        row.append((tr._("📄 Self-assessment"), SELF_TEXT.data(aid)))
    if goals:
        row.append((tr._("🎯 Annual goals"), GOALS.data(aid)))
    return row


def goal_lines(form: Form, tr: Translator) -> list[str]:
    """The unit's annual goals (三(一)), against which the performance items are judged."""
    lines = [
        html_format(tr._("Annual goals of {unit}:"), unit=localized(form.unit_name, tr.locale))
    ]
    return lines + [f"• {html(localized(g, tr.locale, None))}" for g in form.goals]


def self_assessment_lines(form: Form, tr: Translator, *, excerpt: int | None) -> list[str]:
    """What the ratee wrote of their own work, for the superior (each part cut to ``excerpt``)."""
    if form.self_assessment is None:
        return [
            html_format(
                tr._("{name} has not submitted a self-assessment yet."), name=form.ratee_name
            )
        ]
    lines: list[str] = [html_format(tr._("<b>Self-assessment of {name}</b>"), name=form.ratee_name)]
    for part, text in form.self_assessment:
        shown = clip(text, excerpt) if excerpt is not None else text
        lines.append(html(tr.label(tr._(WRITTEN_LABELS[part]), shown or tr._("(none)"))))
    return lines


def self_assessment_messages(form: Form, tr: Translator) -> list[Html]:
    """The self-assessment in full: one message, or one per part when together too long."""
    whole = "\n".join(self_assessment_lines(form, tr, excerpt=None))
    if utf16_len(whole) <= MESSAGE_LIMIT:
        return [Html(whole)]
    heading, *parts = self_assessment_lines(form, tr, excerpt=None)
    return [Html(heading + "\n" + part) for part in parts]


def render_text_item(form: Form, item: FormItem, tr: Translator) -> Prompt:
    aid = form.assignment.id
    lines = [
        title(form, tr),
        _progress(form, item, tr),
        "",
        f"<b>{html(item_label(form, item, tr))}</b>",
    ]
    if item.part is not None:
        lines.append(
            html_format(
                tr._("Please write it as a message (at most {limit} characters)."),
                limit=item.max_length,
            )
        )
    else:
        lines.append(
            html_format(
                tr._("You may add a comment as a message (at most {limit} characters), or skip."),
                limit=item.max_length,
            )
        )
    if item.key in form.answers and form.answers[item.key].text:
        lines += ["", html_format(tr._("What you wrote: {text}"), text=answer_text(form, item, tr))]
    row: list[tuple[str, str]] = []
    if item.key in form.answers:
        row.append((tr._("Keep it"), KEEP.data(aid, item.key)))
    elif item.key == COMMENT_KEY:
        row.append((tr._("Skip"), KEEP.data(aid, item.key)))
    rows = (row, _reference(form, tr, goals=False), _nav(form, item, tr))
    return Prompt("\n".join(lines), keyboard(*[r for r in rows if r]))


def _nav(form: Form, item: FormItem, tr: Translator) -> list[tuple[str, str]]:
    aid = form.assignment.id
    nav = []
    if form.index(item.key) > 0:
        nav.append((tr._("⬅ Previous"), BACK.data(aid, item.key)))
    if form.complete:
        nav.append((tr._("Summary ➡"), TO_SUMMARY.data(aid)))
    return nav


def render_summary(form: Form, tr: Translator) -> Prompt:
    """Every answer on one screen (within Telegram's 4,096 characters: long texts as excerpts)."""
    aid = form.assignment.id
    lines = [title(form, tr), tr._("Please check your answers, then submit."), ""]
    for n, item in enumerate(form.items, 1):
        lines.append(
            f"{n}. " + tr.label(html(item_label(form, item, tr)), answer_text(form, item, tr))
        )
    text = clip_html("\n".join(lines), SUMMARY_LIMIT)
    edit = [(f"✏️{n}", EDIT.data(aid, item.key)) for n, item in enumerate(form.items, 1)]
    rows = [edit[i : i + 6] for i in range(0, len(edit), 6)]
    long_texts = [
        (tr._("📄 Full text {n}").format(n=n), FULL_TEXT.data(aid, item.key))
        for n, item in enumerate(form.items, 1)
        if item.is_text
        and item.key in form.answers
        and utf16_len(form.answers[item.key].text or "") > EXCERPT
    ]
    rows += [long_texts[i : i + 3] for i in range(0, len(long_texts), 3)]
    rows.append(_reference(form, tr, goals=_goals_matter(form)))
    rows.append([(tr._("✅ Submit"), SUBMIT.data(aid))])
    return Prompt(text, keyboard(*[r for r in rows if r]))


def render_confirm(form: Form, tr: Translator) -> Prompt:
    aid = form.assignment.id
    return Prompt(
        title(form, tr)
        + "\n\n"
        + tr._("After submitting you can no longer change your answers. Submit now?"),
        keyboard(
            [
                (tr._("✅ Yes, submit"), YES_SUBMIT.data(aid)),
                (tr._("⬅ Back to the answers"), NOT_YET.data(aid)),
            ]
        ),
    )


def _num(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return (
        format(value.normalize(), "f")
        if value == value.to_integral()
        else format(value.quantize(Decimal("0.01")), "f")
    )


def pick_markup(rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return keyboard(*[[r] for r in rows])
