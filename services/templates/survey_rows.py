"""The survey rows (sheets 问卷 and 问卷设置, TOML ``[survey]``) to a ``SurveySpec``.

A workbook row of 问卷设置 says in its 项目 cell what it sets (an answer level's
points, the rectification deadline or a problem choice with its English); a TOML
record says it in ``expect``. Validation problems point back at the same rows.
"""

from __future__ import annotations

from decimal import Decimal

from domain.enums import Satisfaction
from domain.template import (
    DEFAULT_POINTS,
    DEFAULT_SURVEY,
    Area,
    Indicator,
    Ref,
    SurveyQuestion,
    SurveySpec,
    TemplateProblem,
    Where,
)
from domain.template import problems as rule
from domain.template.survey import DEFAULT_WORKING_DAYS
from services.templates import messages as msg
from services.templates.rows import Cells, Draft, Record
from services.templates.vocab import DAYS_ITEM, PROBLEM_ITEM, SATISFACTIONS, SURVEY_ITEMS, norm

AREAS = (Area.SURVEY, Area.SURVEY_QUESTIONS, Area.SURVEY_POINTS, Area.SURVEY_PROBLEMS)


class SurveyRows(Cells):
    """Reads the survey rows once (``spec``), then answers for them (``locate``, ``spoiled``)."""

    def __init__(self, draft: Draft, problems: list[TemplateProblem]) -> None:
        super().__init__(problems)  # shared with the builder: one list, in one order
        self.draft = draft
        self.at_question: list[Record] = []
        self.at_item: dict[str, Record] = {}  # an answer level's value, or DAYS_ITEM
        self.at_problem: list[Record] = []
        self.at_problem_en: list[Record] = []
        self.unread_levels: set[Satisfaction] = set()
        self.unknown_items = False

    def spec(self, bureau: tuple[Indicator, ...]) -> SurveySpec | None:
        """The survey section (None: the file has none); points and deadline default to
        DEFAULT_POINTS and 15 working days. An indicator code is matched as ``norm`` does.
        """
        if not self.draft.survey:
            return None
        by_norm = {norm(i.code): i.code for i in bureau}
        questions: list[SurveyQuestion] = []
        for rec in self.draft.survey_questions:
            code, text, indicator, text_en = (
                self.text(rec, key) for key in ("code", "text", "indicator", "text_en")
            )
            if not (code or text or indicator or text_en):
                continue
            indicator = by_norm.get(norm(indicator), indicator)
            questions.append(SurveyQuestion(code, text, indicator, text_en or None))
            self.at_question.append(rec)
        points: dict[Satisfaction, Decimal] = {}
        points_given = False
        days = DEFAULT_WORKING_DAYS
        problems: list[str] = []
        english: list[str] = []
        for rec in self.draft.survey_settings:
            if rec.expect == "problems_en":
                english.append(self.text(rec, "value_en"))
                self.at_problem_en.append(rec)
                continue
            item = self.text(rec, "item")
            if not item:
                if self.text(rec, "value"):
                    self.problem(rec, "item", msg.REQUIRED, column=rec.fields.get("item", "item"))
                continue
            kind = (SATISFACTIONS if rec.expect == "points" else SURVEY_ITEMS).get(norm(item))
            if kind is None:
                bad = msg.BAD_SATISFACTION if rec.expect == "points" else msg.BAD_SURVEY_ITEM
                self.problem(rec, "item", bad, value=item)
                self.unknown_items = True
            elif kind == PROBLEM_ITEM:
                problems.append(self.text(rec, "value"))
                self.at_problem.append(rec)
                if rec.expect is None:  # a workbook row holds the choice and its English
                    english.append(self.text(rec, "value_en"))
                    self.at_problem_en.append(rec)
            elif kind in self.at_item:
                self.problem(rec, "item", msg.DUPLICATE_ITEM, value=item)
            elif isinstance(kind, Satisfaction):
                self.at_item[kind.value] = rec
                points_given = True
                number = self.number(rec, "value", percent=False)
                if number is None:
                    self.unread_levels.add(kind)
                else:
                    points[kind] = number
            else:  # DAYS_ITEM
                self.at_item[kind] = rec
                number = self.number(rec, "value", percent=False)
                if number is not None and number != number.to_integral_value():
                    column = rec.fields.get("value", "value")
                    self.problem(rec, "value", msg.BAD_WHOLE_NUMBER, value=number, column=column)
                elif number is not None:
                    days = int(number)
        return SurveySpec(
            questions=tuple(questions),
            points=points if points_given else DEFAULT_POINTS,
            problems=tuple(problems),
            problems_en=tuple(english) if any(english) else (),
            rectification_working_days=days,
        )

    def locate(self, ref: Ref, key: str | None, whole: Where) -> Where:
        """Questions by position; points by level; problem choices by position (the
        workbook keeps a choice's English in its row, TOML in a list of its own).
        """
        rec: Record | None = None
        column = key
        if ref.area is Area.SURVEY_QUESTIONS and ref.index is not None:
            rec = _at(self.at_question, ref.index)
        elif ref.area is Area.SURVEY_POINTS:
            rec, column = self.at_item.get(ref.key or ""), "value"
        elif ref.area is Area.SURVEY_PROBLEMS and ref.index is not None:
            english = key == "problems_en"
            rec = _at(self.at_problem_en if english else self.at_problem, ref.index)
            column = "value_en" if english else "value"
        elif ref.area is Area.SURVEY and key == "rectification_working_days":
            rec, column = self.at_item.get(DAYS_ITEM), "value"
        if rec is not None:
            return rec.where(column)
        fields = self.draft.survey_fields
        named = ref.key if ref.area is Area.SURVEY_POINTS else key
        return whole[0], None, fields.get(named) if named else None

    def spoiled(self, p: TemplateProblem, unread_codes: set[str], unread_sources: set[str]) -> bool:
        """A survey problem that an unreadable row or a missing sheet already explains:
        a missing level's points, or an indicator whose row or sources were not all read.
        """
        params = p.params
        if p.message == rule.SURVEY_POINTS_MISSING:
            return self.unknown_items or params.get("level") in self.unread_levels
        if p.message == rule.SURVEY_INDICATOR_UNKNOWN:
            unread = {str(params.get("indicator"))} & unread_codes
        elif p.message == rule.SURVEY_INDICATOR_NOT_CITIZEN:
            unread = {str(params.get("indicator"))} & unread_sources
        elif p.message == rule.SURVEY_DEFAULT_UNFIT:
            default = {q.indicator for q in DEFAULT_SURVEY.questions}
            unread = default & (unread_codes | unread_sources)
        else:
            return False
        no_sheet = self.draft.area_sheets.get(Area.INDICATORS) in self.draft.missing_sheets
        return no_sheet or bool(unread)


def _at(records: list[Record], index: int) -> Record | None:
    return records[index] if 0 <= index < len(records) else None
