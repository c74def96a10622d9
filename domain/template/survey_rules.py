"""What makes a template's citizen survey acceptable (四(二)4).

Short questions that each count for a citizen-rated indicator of the template,
points that never reward a worse answer, a few tappable problem choices and a
real deadline for the unit head. A template without a survey gets
``DEFAULT_SURVEY``, so then that one must fit the template's indicators.
"""

from __future__ import annotations

from decimal import Decimal

from domain.enums import Satisfaction, Source
from domain.template import problems as msg
from domain.template.limits import (
    CODE,
    MAX_CODE,
    MAX_LABEL,
    MAX_LABEL_EN,
    MAX_PROBLEMS,
    MAX_QUESTION,
    MAX_QUESTION_EN,
    MAX_QUESTIONS,
    MAX_WORKING_DAYS,
)
from domain.template.model import Template
from domain.template.problems import Area, Ref, Report
from domain.template.survey import DEFAULT_SURVEY, SurveySpec
from domain.template.values import HUNDRED, canonical


def check_survey(report: Report, template: Template) -> None:
    """The template's own survey, or whether the built-in one fits it."""
    if template.survey is None:
        _default_survey_fits(report, template)
        return
    survey = template.survey
    _survey_questions(report, template, survey)
    _survey_points(report, survey)
    _survey_problems(report, survey)
    days = survey.rectification_working_days
    if not 1 <= days <= MAX_WORKING_DAYS:
        report.add(
            Ref(Area.SURVEY),
            "rectification_working_days",
            msg.SURVEY_DAYS_RANGE,
            days=days,
            max=MAX_WORKING_DAYS,
        )


def _survey_questions(report: Report, template: Template, survey: SurveySpec) -> None:
    count = len(survey.questions)
    if not 1 <= count <= MAX_QUESTIONS:
        report.add(
            Ref(Area.SURVEY_QUESTIONS),
            "questions",
            msg.SURVEY_QUESTION_COUNT,
            count=count,
            max=MAX_QUESTIONS,
        )
    bureau = {i.code: i for i in template.indicators}
    codes: set[str] = set()
    for index, question in enumerate(survey.questions):
        ref = Ref(Area.SURVEY_QUESTIONS, index=index)
        code = question.code.strip()
        if not code:
            report.add(ref, "code", msg.SURVEY_CODE_REQUIRED, number=index + 1)
        elif not CODE.fullmatch(code) or len(code) > MAX_CODE:
            report.add(ref, "code", msg.SURVEY_CODE_BAD, code=code, max=MAX_CODE)
        elif code in codes:
            report.add(ref, "code", msg.SURVEY_CODE_DUPLICATE, code=code)
        codes.add(code)
        label = code or str(index + 1)
        if not question.text.strip():
            report.add(ref, "text", msg.SURVEY_TEXT_REQUIRED, code=label)
        report.length(ref, "text", question.text, MAX_QUESTION)
        report.length(ref, "text_en", question.text_en, MAX_QUESTION_EN)
        indicator = bureau.get(question.indicator.strip())
        if not question.indicator.strip():
            report.add(ref, "indicator", msg.SURVEY_INDICATOR_REQUIRED, code=label)
        elif indicator is None:
            report.add(
                ref,
                "indicator",
                msg.SURVEY_INDICATOR_UNKNOWN,
                code=label,
                indicator=question.indicator,
            )
        elif Source.CITIZEN not in indicator.sources:
            report.add(
                ref,
                "indicator",
                msg.SURVEY_INDICATOR_NOT_CITIZEN,
                code=label,
                indicator=indicator.code,
                source=Source.CITIZEN,
            )


def _survey_points(report: Report, survey: SurveySpec) -> None:
    better: tuple[Satisfaction, Decimal] | None = None
    for level in Satisfaction:  # best first
        ref = Ref(Area.SURVEY_POINTS, key=level.value)
        points = survey.points.get(level)
        if points is None:
            report.add(ref, "points", msg.SURVEY_POINTS_MISSING, level=level)
            continue
        if not 0 <= points <= HUNDRED:
            report.add(
                ref, "points", msg.SURVEY_POINTS_RANGE, level=level, points=canonical(points)
            )
        elif better is not None and points > better[1]:
            report.add(
                ref,
                "points",
                msg.SURVEY_POINTS_ORDER,
                level=level,
                points=canonical(points),
                better=better[0],
                better_points=canonical(better[1]),
            )
        better = (level, points)


def _survey_problems(report: Report, survey: SurveySpec) -> None:
    count = len(survey.problems)
    if not 1 <= count <= MAX_PROBLEMS:
        report.add(
            Ref(Area.SURVEY_PROBLEMS),
            "problems",
            msg.SURVEY_PROBLEM_COUNT,
            count=count,
            max=MAX_PROBLEMS,
        )
    seen: set[str] = set()
    for index, problem in enumerate(survey.problems):
        ref = Ref(Area.SURVEY_PROBLEMS, index=index)
        text = problem.strip()
        if not text:
            report.add(ref, "problems", msg.SURVEY_PROBLEM_EMPTY, number=index + 1)
        elif text in seen:
            report.add(ref, "problems", msg.SURVEY_PROBLEM_DUPLICATE, problem=text)
        seen.add(text)
        report.length(ref, "problems", problem, MAX_LABEL)
    if not survey.problems_en:
        return
    if len(survey.problems_en) != count:
        report.add(
            Ref(Area.SURVEY_PROBLEMS),
            "problems_en",
            msg.SURVEY_PROBLEMS_EN_COUNT,
            count=count,
            count_en=len(survey.problems_en),
        )
        return
    for index, english in enumerate(survey.problems_en):
        ref = Ref(Area.SURVEY_PROBLEMS, index=index)
        if not english.strip():
            problem = survey.problems[index].strip() or str(index + 1)
            report.add(ref, "problems_en", msg.SURVEY_PROBLEM_EN_EMPTY, problem=problem)
        report.length(ref, "problems_en", english, MAX_LABEL_EN)


def _default_survey_fits(report: Report, template: Template) -> None:
    """Without a survey of its own, a template that citizens rate gets DEFAULT_SURVEY, whose
    answers would be lost if its indicators were not this template's citizen-rated ones.
    """
    if not any(Source.CITIZEN in i.sources for i in template.indicators):
        return  # no citizen-rated indicator: no survey is run under this template
    rated = {i.code for i in template.indicators if Source.CITIZEN in i.sources}
    unfit = dict.fromkeys(q.indicator for q in DEFAULT_SURVEY.questions if q.indicator not in rated)
    if unfit:
        report.add(
            Ref(Area.SURVEY),
            None,
            msg.SURVEY_DEFAULT_UNFIT,
            codes=", ".join(unfit),
            source=Source.CITIZEN,
        )
