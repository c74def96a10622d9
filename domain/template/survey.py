"""The citizen satisfaction survey of a template (服务对象评价, 四(二)4) as values.

A citizen who received a service (a service window, a site inspection, a training,
an incident) answers a few questions with the five levels of government-service
evaluation (好差评, ``Satisfaction``): first one overall level (总体而言，您对本次服务
是否满意？), then the questions, each phrased to fit the scale ("您对…是否满意？"), then
tags that depend on the overall level: what went well, or, for a 差评 (an overall
不满意 or worse), what went wrong, which is then required. Each answer, the overall one
included, feeds a citizen-rated indicator of the template with the points of its level
(the overall level feeds the first question's indicator). A 差评 gives the unit head a
deadline in working days to handle it (整改). A template without a survey section uses
``DEFAULT_SURVEY``; the praise tags are built in (``DEFAULT_PRAISE``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from domain.enums import Satisfaction
from domain.template.values import decimal_text, freeze

if TYPE_CHECKING:
    from domain.template.model import Template

DEFAULT_WORKING_DAYS = 15
OVERALL = "~all"  # the overall level's question code: no template code starts with "~"
# What went well, offered after a good overall level (GB/T 39734 content tags: 服务态度、
# 服务效率、服务水平 …); the problems after a 差评 name the same things gone wrong.
DEFAULT_PRAISE = ("服务态度好", "办事效率高", "业务水平高", "政策解释清楚", "一次办成")
DEFAULT_PRAISE_EN = (
    "Courteous staff",
    "Quick handling",
    "Knowledgeable staff",
    "Rules explained clearly",
    "Done in one visit",
)
DEFAULT_POINTS: Mapping[Satisfaction, Decimal] = freeze(
    {
        Satisfaction.VERY_SATISFIED: Decimal(100),
        Satisfaction.SATISFIED: Decimal(80),
        Satisfaction.BASIC: Decimal(60),
        Satisfaction.DISSATISFIED: Decimal(40),
        Satisfaction.VERY_DISSATISFIED: Decimal(20),
    }
)


@dataclass(frozen=True)
class SurveyQuestion:
    """One question; ``code`` (ASCII, ≤ 16) travels in callback data, ``indicator`` is
    the code of the bureau-wide, citizen-rated indicator its answers feed.
    """

    code: str
    text: str
    indicator: str
    text_en: str | None = None


@dataclass(frozen=True)
class SurveySpec:
    """The questions, what each answer level is worth (0–100, best first), the choices
    offered after a bad review, and the unit head's deadline to handle one (整改).
    """

    questions: tuple[SurveyQuestion, ...]
    points: Mapping[Satisfaction, Decimal]
    problems: tuple[str, ...]
    problems_en: tuple[str, ...] = ()
    rectification_working_days: int = DEFAULT_WORKING_DAYS
    praise: tuple[str, ...] = DEFAULT_PRAISE
    praise_en: tuple[str, ...] = DEFAULT_PRAISE_EN

    def __post_init__(self) -> None:
        # Tuples and a read-only mapping: the spec is part of a frozen, hashable Template.
        object.__setattr__(self, "questions", tuple(self.questions))
        object.__setattr__(self, "points", freeze(self.points))
        object.__setattr__(self, "problems", tuple(self.problems))
        object.__setattr__(self, "problems_en", tuple(self.problems_en))
        object.__setattr__(self, "praise", tuple(self.praise))
        object.__setattr__(self, "praise_en", tuple(self.praise_en))

    def points_for(self, level: Satisfaction) -> Decimal:
        """The 0–100 points of an answer; KeyError only for a spec that ``validate`` refuses."""
        return self.points[level]

    def question(self, code: str) -> SurveyQuestion | None:
        """The question with ``code`` (as in callback data), or None if there is none."""
        return next((q for q in self.questions if q.code == code), None)

    @property
    def overall_indicator(self) -> str:
        """The indicator the overall level counts for: the first question's."""
        return self.questions[0].indicator

    def tags(self, bad: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The tags offered after an overall level and their English: what went wrong after
        a 差评, what went well otherwise."""
        return (self.problems, self.problems_en) if bad else (self.praise, self.praise_en)


# Used when a template has no survey section. Its indicators are the citizen-rated ones
# of examples/template.toml: T05 服务态度与效率 and P03 突发事件应急处置效果.
DEFAULT_SURVEY = SurveySpec(
    questions=(
        SurveyQuestion(
            "Q1",
            "您对工作人员的服务态度是否满意？",
            "T05",
            "How satisfied are you with the staff's attitude?",
        ),
        SurveyQuestion(
            "Q2",
            "您对办事效率是否满意？",
            "T05",
            "How satisfied are you with how quickly your matter was handled?",
        ),
        SurveyQuestion(
            "Q3",
            "您对问题的解决情况是否满意？",
            "P03",
            "How satisfied are you with how your problem was resolved?",
        ),
    ),
    points=DEFAULT_POINTS,
    problems=("等待时间长", "态度生硬", "办事效率低", "政策解释不清", "多次跑腿"),
    problems_en=(
        "Long wait",
        "Unfriendly attitude",
        "Slow handling",
        "Rules not explained clearly",
        "Had to come back several times",
    ),
)


def survey_of(template: Template) -> SurveySpec:
    """The survey citizens answer under ``template``: its own, else the built-in one."""
    return template.survey if template.survey is not None else DEFAULT_SURVEY


def survey_dict(spec: SurveySpec) -> dict[str, Any]:
    """JSON-safe and canonical, as part of ``Template.to_dict``; the built-in praise tags are
    left out, so a template stored before they existed keeps its digest."""
    praise: dict[str, Any] = {}
    if (spec.praise, spec.praise_en) != (DEFAULT_PRAISE, DEFAULT_PRAISE_EN):
        praise = {"praise": list(spec.praise), "praise_en": list(spec.praise_en)}
    return praise | {
        "questions": [
            {"code": q.code, "text": q.text, "indicator": q.indicator, "text_en": q.text_en}
            for q in spec.questions
        ],
        "points": {s.value: decimal_text(spec.points[s]) for s in Satisfaction if s in spec.points},
        "problems": list(spec.problems),
        "problems_en": list(spec.problems_en),
        "rectification_working_days": spec.rectification_working_days,
    }


def survey_from(data: Mapping[str, Any]) -> SurveySpec:
    """The inverse of ``survey_dict``; raises KeyError/ValueError on a malformed dict."""
    return SurveySpec(
        questions=tuple(
            SurveyQuestion(q["code"], q["text"], q["indicator"], q.get("text_en"))
            for q in data["questions"]
        ),
        points={Satisfaction(k): Decimal(v) for k, v in data["points"].items()},
        problems=tuple(data["problems"]),
        problems_en=tuple(data.get("problems_en", ())),
        rectification_working_days=int(
            data.get("rectification_working_days", DEFAULT_WORKING_DAYS)
        ),
        praise=tuple(data.get("praise", DEFAULT_PRAISE)),
        praise_en=tuple(data.get("praise_en", DEFAULT_PRAISE_EN)),
    )
