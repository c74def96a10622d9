"""The facts of one cycle as plain frozen values: what the workbook and the report show.

Telegram-free and text-free: names as stored (Simplified Chinese), enums for the labels the
reader's language gives them, ``Decimal`` for every figure. Peer raters appear only as
``RawAnswer.rater`` pseudonyms (see ``pseudonyms``), never as a name or id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from domain.enums import (
    AppealStatus,
    CyclePhase,
    Dimension,
    Grade,
    PlanStatus,
    RectificationOutcome,
    RectificationStatus,
    Satisfaction,
    Source,
    UnitKind,
)
from domain.period import Period

_TENTH = Decimal("0.1")


def percent(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in percent with one decimal (half up), None when nothing counted."""
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(_TENTH, ROUND_HALF_UP)


@dataclass(frozen=True)
class Unit:
    """A unit of the bureau, in the roster's order."""

    id: int
    name: str
    kind: UnitKind
    parent_id: int | None


@dataclass(frozen=True)
class IndicatorInfo:
    """An indicator as the template names it (the Chinese name, and the English when given)."""

    code: str
    dimension: Dimension
    name: str
    name_en: str | None


@dataclass(frozen=True)
class SourceFigure:
    """One source's mean on one indicator of a result, with how many raters it stands on."""

    source: Source
    mean: Decimal
    raters: int
    weight: Decimal  # percent, renormalised over the sources present
    contribution: Decimal


@dataclass(frozen=True)
class IndicatorFigure:
    code: str
    dimension: Dimension
    score: Decimal | None
    weight: Decimal  # percent within the dimension
    contribution: Decimal
    sources: tuple[SourceFigure, ...]


@dataclass(frozen=True)
class DimensionFigure:
    dimension: Dimension
    score: Decimal | None
    weight: Decimal  # percent of the total
    contribution: Decimal


@dataclass(frozen=True)
class ResultFacts:
    """A person's or a unit's stored result (as adjusted on appeal), with its full breakdown.

    The working group's view: peer means per indicator are kept here (``services.peer_view``
    withholds them only from the rated person).
    """

    key: str  # "p:<staff id>" or "u:<unit id>"
    staff_id: int | None
    employee_no: str | None
    name: str  # the person's, or the unit's
    position: str
    unit_id: int
    unit: str
    total: Decimal
    grade: Grade
    rank_in_unit: int | None
    rank_overall: int | None  # among people, or among units
    bonus_coefficient: Decimal | None
    weakest: Dimension | None
    dimensions: tuple[DimensionFigure, ...]
    indicators: tuple[IndicatorFigure, ...]
    source_means: dict[Source, Decimal]  # weighted as they count in the total
    adjusted: bool  # changed by an appeal decision
    published_at: dt.datetime | None

    @property
    def is_unit(self) -> bool:
        return self.staff_id is None

    def dimension(self, dimension: Dimension) -> DimensionFigure | None:
        return next((d for d in self.dimensions if d.dimension == dimension), None)


@dataclass(frozen=True)
class GradeCounts:
    """How many people of a unit (or of the bureau: ``unit_id`` None) got each grade."""

    unit_id: int | None
    unit: str
    counts: dict[Grade, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class QuestionStats:
    """Counted answers to one survey question at one unit (the overall level: code ``overall``)."""

    unit_id: int
    code: str
    text: str
    text_en: str | None
    counts: dict[Satisfaction, int]
    mean_points: Decimal | None  # two decimals, half up

    @property
    def answers(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class UnitSurvey:
    """A unit's citizen survey in the period: responses counted, 满意率, 差评 and their handling."""

    unit_id: int
    unit: str
    responses: int
    satisfied: int  # overall 基本满意 or better
    bad: int  # 差评 counted (excluded ones never count)
    excluded: int  # 差评 excluded after 申诉复核
    rectifications: dict[RectificationStatus, int]
    overdue: int  # open or under review past their deadline
    web: int = 0  # of ``responses``, those given on the survey page (the rest in the chat)

    @property
    def rate(self) -> Decimal | None:
        return percent(self.satisfied, self.responses)

    @property
    def chat(self) -> int:
        """Responses counted that were given in the chat (Telegram)."""
        return self.responses - self.web

    @property
    def web_share(self) -> Decimal | None:
        """Share of the counted responses given on the survey page: the working group weighs
        how far "one person" was only a cookie and an address."""
        return percent(self.web, self.responses)


@dataclass(frozen=True)
class RectificationFacts:
    """One 差评's rectification item (编号 = its id, as the unit and the working group see it)."""

    id: int
    unit_id: int
    unit: str
    overall: Satisfaction | None
    problems: tuple[tuple[str, str | None], ...]  # the ticked problems: (Chinese, English)
    problem_text: str | None  # the citizen's own words
    opened_at: dt.datetime
    deadline: dt.datetime
    status: RectificationStatus
    outcome: RectificationOutcome | None
    answered_at: dt.datetime | None
    citizen_rating: str | None
    review_decision: str | None
    overdue: bool


@dataclass(frozen=True)
class AppealFacts:
    """申诉 and its decision (五(四)3)."""

    id: int
    staff_id: int
    employee_no: str
    name: str
    unit: str
    target: str  # "total", "dim:<d>", "ind:<code>", "src:<s>"
    reason: str
    status: AppealStatus
    filed_at: dt.datetime
    deadline: dt.datetime
    decision: str | None  # "upheld" or "adjusted"
    decision_reason: str | None
    decided_at: dt.datetime | None
    total_before: Decimal | None  # the result's total before this appeal's adjustment
    total_after: Decimal | None


@dataclass(frozen=True)
class MilestoneFacts:
    due: dt.date
    text: str
    progress: str | None
    done_at: dt.datetime | None
    overdue: bool


@dataclass(frozen=True)
class PlanFacts:
    """An improvement plan (七(一)) with its milestones."""

    id: int
    subject_key: str
    subject: str  # the person's or the unit's name
    unit: str
    status: PlanStatus
    author: str
    approver: str | None
    goals: str
    measures: str
    responsible: str
    submitted_at: dt.datetime | None
    approved_at: dt.datetime | None
    milestones: tuple[MilestoneFacts, ...]


@dataclass(frozen=True)
class Participation:
    """Forms given by raters of a unit, per source: assigned, submitted, submitted by the deadline."""

    unit_id: int
    unit: str
    source: Source
    assigned: int
    submitted: int
    on_time: int

    @property
    def rate(self) -> Decimal | None:
        return percent(self.submitted, self.assigned)


@dataclass(frozen=True)
class PersonParticipation:
    """What one person had to fill in and did, per source (peer forms as counts only)."""

    staff_id: int
    employee_no: str
    name: str
    unit_id: int
    unit: str
    assigned: dict[Source, int]
    submitted: dict[Source, int]
    proxied: dict[Source, int]  # submitted forms entered on paper by an admin (代录)


@dataclass(frozen=True)
class RawAnswer:
    """One answer of a submitted form. ``rater`` names the self-assessor and the superior;
    a peer rater is only ``peer_no``, a pseudonym (see ``pseudonyms``), and ``rater`` is None."""

    source: Source
    ratee_key: str
    ratee: str
    unit: str
    rater: str | None
    peer_no: int | None
    item: str  # an indicator code, or a written part ("~ach", "~prb", "~msr", "~cmt")
    points: Decimal | None
    level: int | None
    level_label: tuple[str, str | None] | None  # the level's label (Chinese, English)
    text: str | None


@dataclass(frozen=True)
class CycleFacts:
    """Everything about one cycle the working group files and reports (五(二)3, 五(四)1)."""

    period: Period
    cycle_id: int
    phase: CyclePhase
    bureau: str  # the root unit's name
    template_name: str
    deadline: dt.datetime
    scored_at: dt.datetime | None
    published_at: dt.datetime | None
    units: tuple[Unit, ...]
    indicators: dict[str, IndicatorInfo]
    people: tuple[ResultFacts, ...]  # by rank overall
    unit_results: tuple[ResultFacts, ...]  # by rank
    grades: tuple[GradeCounts, ...]  # the bureau first, then each unit with people scored
    survey: tuple[UnitSurvey, ...]
    questions: tuple[QuestionStats, ...]
    rectifications: tuple[RectificationFacts, ...]
    appeals: tuple[AppealFacts, ...]
    plans: tuple[PlanFacts, ...]
    participation: tuple[Participation, ...]
    people_participation: tuple[PersonParticipation, ...]
    answers: tuple[RawAnswer, ...] = field(default=())

    @property
    def satisfaction(self) -> tuple[int, int, Decimal | None]:
        """(satisfied, responses, rate) over the bureau: the 满意率 of the period."""
        satisfied = sum(u.satisfied for u in self.survey)
        responses = sum(u.responses for u in self.survey)
        return satisfied, responses, percent(satisfied, responses)

    def unit_name(self, unit_id: int) -> str:
        return next((u.name for u in self.units if u.id == unit_id), "?")
