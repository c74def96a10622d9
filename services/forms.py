"""Rating forms: which items an assignment asks, saving answers, moving the cursor, submitting.

The same engine serves self-assessment, superior review and peer review (四(二)):
they differ only in the items the template gives to the source, plus the three
written parts of the self-assessment (工作成績, 存在問題, 改進措施) or an optional
comment. Every check happens here, so the chat and any other caller share them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import AssignmentStatus, CyclePhase, Source
from domain.template import Indicator, ScaleKind, Target, Template, WrittenPart
from domain.text import N_
from infra.models import Answer, Assignment, Cycle, OrgUnit, Staff, TemplateVersion
from services.audit import audit
from services.cycles import touch
from services.errors import DomainError
from services.templates.stored import template_of

WRITTEN_KEYS = {
    WrittenPart.ACHIEVEMENTS: "~ach",
    WrittenPart.PROBLEMS: "~prb",
    WrittenPart.MEASURES: "~msr",
}
COMMENT_KEY = "~cmt"
SUMMARY = "summary"
DONE = "done"
MAX_WRITTEN = 2000
MAX_COMMENT = 1000

WRITTEN_LABELS = {
    WrittenPart.ACHIEVEMENTS: N_("Achievements"),  # 工作成績
    WrittenPart.PROBLEMS: N_("Problems"),  # 存在問題
    WrittenPart.MEASURES: N_("Improvement measures"),  # 改進措施
}


@dataclass(frozen=True)
class FormItem:
    """One question of a form: an indicator, a written part, or the optional comment."""

    key: str
    indicator: Indicator | None = None
    part: WrittenPart | None = None

    @property
    def is_text(self) -> bool:
        return self.indicator is None

    @property
    def required(self) -> bool:
        return self.key != COMMENT_KEY

    @property
    def max_length(self) -> int:
        return MAX_COMMENT if self.key == COMMENT_KEY else MAX_WRITTEN


@dataclass
class Form:
    """An assignment with everything needed to show and check it."""

    assignment: Assignment
    cycle: Cycle
    template: Template
    items: list[FormItem]
    answers: dict[str, Answer]
    ratee_name: str
    unit_name: str
    goals: tuple[str, ...] = field(default_factory=tuple)
    # what the person wrote in their submitted self-assessment, shown to the superior;
    # None: not a superior's form, or nothing submitted yet
    self_assessment: tuple[tuple[WrittenPart, str], ...] | None = None

    @property
    def source(self) -> Source:
        return self.assignment.source

    @property
    def is_unit(self) -> bool:
        return self.assignment.ratee_unit_id is not None

    def item(self, key: str) -> FormItem | None:
        return next((i for i in self.items if i.key == key), None)

    def index(self, key: str) -> int:
        return next((n for n, i in enumerate(self.items) if i.key == key), -1)

    def answered(self, key: str) -> bool:
        return key in self.answers

    @property
    def answered_count(self) -> int:
        return sum(1 for i in self.items if i.key in self.answers)

    @property
    def complete(self) -> bool:
        return all(i.key in self.answers for i in self.items if i.required)

    def next_after(self, key: str | None) -> str:
        """The next unanswered item after ``key`` (wrapping), else the summary."""
        start = self.index(key) + 1 if key else 0
        order = self.items[start:] + self.items[:start]
        return next((i.key for i in order if i.key not in self.answers), SUMMARY)

    @property
    def current(self) -> str:
        cursor = self.assignment.cursor
        if self.assignment.status == AssignmentStatus.SUBMITTED:
            return DONE
        if cursor and (cursor == SUMMARY or self.item(cursor) is not None):
            return cursor
        return self.next_after(None)

    @property
    def open(self) -> bool:
        return self.assignment.status == AssignmentStatus.OPEN


def items_for(template: Template, assignment: Assignment, unit_name: str) -> list[FormItem]:
    target = Target.UNIT if assignment.ratee_unit_id is not None else Target.PERSON
    indicators = template.indicators_for(unit=unit_name, target=target, source=assignment.source)
    items = [FormItem(i.code, indicator=i) for i in indicators]
    if assignment.source == Source.SELF:
        items += [FormItem(WRITTEN_KEYS[p], part=p) for p in WrittenPart]
    else:
        items.append(FormItem(COMMENT_KEY))
    return items


async def load_form(session: AsyncSession, assignment_id: int) -> Form:
    # the assignment, its cycle, the template's digest and whom it rates: one statement,
    # not five (a form step loads its form two or three times)
    row = (
        await session.execute(
            select(Assignment, Cycle, TemplateVersion.digest, Staff, OrgUnit)
            .join(Cycle, Cycle.id == Assignment.cycle_id)
            .outerjoin(TemplateVersion, TemplateVersion.id == Cycle.template_id)
            .outerjoin(Staff, Staff.id == Assignment.ratee_staff_id)
            .outerjoin(
                OrgUnit, OrgUnit.id == func.coalesce(Assignment.ratee_unit_id, Staff.unit_id)
            )
            .where(Assignment.id == assignment_id)
        )
    ).first()
    if row is None or not row[0].active:
        raise DomainError(N_("This form is no longer assigned to you."))
    assignment, cycle, digest, staff, unit = row
    template = await template_of(session, cycle.template_id, digest)
    assert template is not None
    unit_name = unit.name if unit else ""
    if assignment.ratee_unit_id is not None:
        ratee_name = unit_name
    else:
        ratee_name = staff.name if staff else ""
    answers = {
        a.item: a
        for a in await session.scalars(select(Answer).where(Answer.assignment_id == assignment.id))
    }
    return Form(
        assignment,
        cycle,
        template,
        items_for(template, assignment, unit_name),
        answers,
        ratee_name,
        unit_name,
        tuple(template.goals.get(unit_name, ())),
        await self_assessment_of(session, assignment)
        if assignment.source == Source.SUPERIOR
        else None,
    )


async def self_assessment_of(
    session: AsyncSession, assignment: Assignment
) -> tuple[tuple[WrittenPart, str], ...] | None:
    """The written parts of the ratee's submitted self-assessment in the same cycle.

    A superior judges the work better knowing what the person says of it (工作成績,
    存在問題, 改進措施); a draft stays private until it is submitted.
    """
    own = await session.scalar(
        select(Assignment).where(
            Assignment.cycle_id == assignment.cycle_id,
            Assignment.source == Source.SELF,
            Assignment.ratee_key == assignment.ratee_key,
            Assignment.active.is_(True),
            Assignment.status == AssignmentStatus.SUBMITTED,
        )
    )
    if own is None:
        return None
    texts = dict(
        (
            await session.execute(
                select(Answer.item, Answer.text).where(Answer.assignment_id == own.id)
            )
        ).all()
    )
    return tuple((part, texts.get(key) or "") for part, key in WRITTEN_KEYS.items())


def check_open(form: Form, *, staff_id: int, now: dt.datetime, proxy: bool = False) -> None:
    """Refuse writes outside the rater's own open form in a collecting cycle before its deadline."""
    if not proxy and form.assignment.rater_staff_id != staff_id:
        raise DomainError(N_("This form is not assigned to you."))
    if form.cycle.phase != CyclePhase.COLLECTING:
        raise DomainError(
            N_("The {period} evaluation is not accepting answers."), period=form.cycle.period
        )
    if now >= form.cycle.deadline:
        raise DomainError(
            N_(
                "The {period} evaluation closed at its deadline. If you need more time, please contact the evaluation working group."
            ),
            period=form.cycle.period,
        )
    if form.assignment.status != AssignmentStatus.OPEN:
        raise DomainError(
            N_(
                "This form has been submitted and can no longer be changed. The evaluation working group can reopen it if needed."
            )
        )


def points_for(
    indicator: Indicator, template: Template, value: str | int | Decimal
) -> tuple[Decimal, int | None]:
    """Points (0–100) and, for a level scale, the level index; ValueError when out of range."""
    scale = template.scales[indicator.scale]
    if scale.kind == ScaleKind.LEVELS:
        level = int(value)
        return scale.points(level), level
    return scale.points(Decimal(str(value))), None


async def save_score(
    session: AsyncSession,
    form: Form,
    key: str,
    value: str | int | Decimal,
    *,
    staff_id: int,
    now: dt.datetime,
    proxy: bool = False,
) -> str:
    """Store an indicator answer (an upsert) and move the cursor; returns the new cursor."""
    check_open(form, staff_id=staff_id, now=now, proxy=proxy)
    item = form.item(key)
    if item is None or item.indicator is None:
        raise DomainError(N_("This question is not part of your form."))
    try:
        points, level = points_for(item.indicator, form.template, value)
    except (ValueError, ArithmeticError):
        raise DomainError(
            N_("Please enter a score from 0 to 100, or tap one of the buttons.")
        ) from None
    await _upsert(
        session,
        form,
        key,
        points=points,
        level=level,
        text=None,
        staff_id=staff_id,
        proxy=proxy,
        now=now,
    )
    return _advance(form, key)


async def save_text(
    session: AsyncSession,
    form: Form,
    key: str,
    text: str | None,
    *,
    staff_id: int,
    now: dt.datetime,
    proxy: bool = False,
) -> str:
    """Store a written part or the comment (``None`` keeps what is there / skips the comment)."""
    check_open(form, staff_id=staff_id, now=now, proxy=proxy)
    item = form.item(key)
    if item is None or not item.is_text:
        raise DomainError(N_("This question is not part of your form."))
    if text is None:
        if key in form.answers:
            return _advance(form, key)
        if item.required:
            raise DomainError(N_("This part is required. Please write a few sentences."))
        text = ""
    text = text.strip()
    if item.required and not text:
        raise DomainError(N_("This part is required. Please write a few sentences."))
    if len(text) > item.max_length:
        raise DomainError(
            N_(
                "Your text has {length} characters; at most {limit} are allowed. Please shorten it and send it again."
            ),
            length=len(text),
            limit=item.max_length,
        )
    await _upsert(
        session,
        form,
        key,
        points=None,
        level=None,
        text=text,
        staff_id=staff_id,
        proxy=proxy,
        now=now,
    )
    return _advance(form, key)


async def move(
    session: AsyncSession,
    form: Form,
    key: str,
    *,
    staff_id: int,
    now: dt.datetime,
    proxy: bool = False,
) -> None:
    """Go to an item (edit from the summary, or back) or to the summary."""
    check_open(form, staff_id=staff_id, now=now, proxy=proxy)
    if key != SUMMARY and form.item(key) is None:
        raise DomainError(N_("This question is not part of your form."))
    if key == SUMMARY and not form.complete:
        key = form.next_after(None)
    form.assignment.cursor = key


async def submit(
    session: AsyncSession, form: Form, *, staff_id: int, now: dt.datetime, proxy: bool = False
) -> None:
    check_open(form, staff_id=staff_id, now=now, proxy=proxy)
    if not form.complete:
        raise DomainError(N_("Some questions are still unanswered."))
    form.assignment.status = AssignmentStatus.SUBMITTED
    form.assignment.submitted_at = now
    form.assignment.cursor = DONE
    await touch(session, form.cycle.id)  # a submitted form is what scoring reads
    if proxy:
        form.assignment.proxy_staff_id = staff_id
        await audit(
            session,
            "form.proxy_submit",
            actor_staff_id=staff_id,
            object_type="assignment",
            object_id=str(form.assignment.id),
            at=now,
        )


async def _upsert(
    session: AsyncSession,
    form: Form,
    key: str,
    *,
    points: Decimal | None,
    level: int | None,
    text: str | None,
    staff_id: int,
    proxy: bool,
    now: dt.datetime,
) -> None:
    answer = form.answers.get(key)
    if answer is None:
        answer = Answer(assignment_id=form.assignment.id, item=key)
        session.add(answer)
        form.answers[key] = answer
    answer.points, answer.level, answer.text = points, level, text
    answer.updated_at = now
    answer.entered_by_staff_id = staff_id if proxy else None


def _advance(form: Form, key: str) -> str:
    cursor = form.next_after(key)
    form.assignment.cursor = cursor
    return cursor


def same_answer(form: Form, key: str, value: str | int | Decimal) -> bool:
    """A repeated tap on an answer already stored (a double tap): nothing to do."""
    answer = form.answers.get(key)
    item = form.item(key)
    if answer is None or item is None or item.indicator is None:
        return False
    try:
        points, level = points_for(item.indicator, form.template, value)
    except (ValueError, ArithmeticError):
        return False
    return answer.points == points and answer.level == level


async def my_assignments(
    session: AsyncSession, staff_id: int, source: Source
) -> list[tuple[Assignment, Cycle]]:
    """The rater's forms of one source in collecting cycles, persons first then units."""
    rows = await session.execute(
        select(Assignment, Cycle)
        .join(Cycle, Cycle.id == Assignment.cycle_id)
        .where(
            Assignment.rater_staff_id == staff_id,
            Assignment.source == source,
            Assignment.active.is_(True),
            Cycle.phase == CyclePhase.COLLECTING,
        )
        .order_by(Cycle.id, Assignment.ratee_unit_id.is_not(None), Assignment.id)
    )
    return [(a, c) for a, c in rows]


async def ratee_names(session: AsyncSession, assignments: list[Assignment]) -> dict[int, str]:
    staff_ids = [a.ratee_staff_id for a in assignments if a.ratee_staff_id]
    unit_ids = [a.ratee_unit_id for a in assignments if a.ratee_unit_id]
    people = (
        dict(
            (
                await session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(staff_ids)))
            ).all()
        )
        if staff_ids
        else {}
    )
    units = (
        dict(
            (
                await session.execute(
                    select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(unit_ids))
                )
            ).all()
        )
        if unit_ids
        else {}
    )
    return {
        a.id: (
            people.get(a.ratee_staff_id, "")
            if a.ratee_staff_id
            else units.get(a.ratee_unit_id or 0, "")
        )
        for a in assignments
    }


@dataclass
class TaskSummary:
    """A rater's forms in one collecting cycle: (done, total) per source, units apart from persons."""

    cycle: Cycle
    counts: dict[tuple[Source, bool], tuple[int, int]] = field(default_factory=dict)


async def task_summary(session: AsyncSession, staff_id: int) -> list[TaskSummary]:
    rows = await session.execute(
        select(Cycle, Assignment.source, Assignment.ratee_unit_id.is_not(None), Assignment.status)
        .join(Cycle, Cycle.id == Assignment.cycle_id)
        .where(
            Assignment.rater_staff_id == staff_id,
            Assignment.active.is_(True),
            Cycle.phase == CyclePhase.COLLECTING,
        )
        .order_by(Cycle.id)
    )
    out: dict[int, TaskSummary] = {}
    for cycle, source, is_unit, status in rows:
        summary = out.setdefault(cycle.id, TaskSummary(cycle))
        done, total = summary.counts.get((source, bool(is_unit)), (0, 0))
        summary.counts[(source, bool(is_unit))] = (
            done + (status == AssignmentStatus.SUBMITTED),
            total + 1,
        )
    return list(out.values())
