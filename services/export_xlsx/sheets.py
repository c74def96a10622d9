"""The workbook's sheets: each turns ``CycleFacts`` into translated headers and plain rows.

Every figure comes from the read model as it is stored (scores with two decimals, rates in
percent with one); labels are the reader's (gettext, template texts through ``localized``).
Names of people and units stay as the roster has them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.enums import Dimension, Grade, RectificationStatus, Satisfaction, Source
from domain.labels import DIMENSION_LABELS, GRADE_LABELS, SATISFACTION_LABELS, SOURCE_LABELS
from domain.template.survey import OVERALL
from domain.text import N_
from infra.i18n import Translator
from services.appeal_targets import target_label
from services.appeal_texts import ADJUSTED
from services.appeal_texts import STATUS_LABELS as APPEAL_STATUS
from services.cycle_facts import CycleFacts, percent
from services.export_xlsx.layout import Column, Kind, Value
from services.forms import COMMENT_KEY, WRITTEN_KEYS, WRITTEN_LABELS
from services.plan_view import STATUS_LABELS as PLAN_STATUS
from services.rectification_view import OUTCOME_LABELS
from services.rectification_view import STATUS_LABELS as RECT_STATUS
from services.templates import localized

# words put beside a label: "自评（均分）", "优秀（占比）", "整改（待处理）"
MEAN, SHARE, RECTIFICATION = N_("mean"), N_("share"), N_("Rectification")
T, N, S, P, DT, D = Kind.TEXT, Kind.INT, Kind.SCORE, Kind.PERCENT, Kind.DATETIME, Kind.DATE


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: list[Column]
    rows: list[list[Value]]
    freeze_columns: int = 0


def _cols(tr: Translator, *spec: tuple[str, Kind]) -> list[Column]:
    return [Column(tr._(msgid), kind) for msgid, kind in spec]


def _table(
    tr: Translator,
    title: str,
    items: Iterable[Any],
    *fields: tuple[str, Kind, Callable[[Any], Value]],
    freeze: int,
) -> Sheet:
    """A sheet of fixed columns, each given as (header msgid, kind, its value of an item), so
    a header sits beside what fills it; ``freeze``: columns kept in view when scrolling."""
    return Sheet(
        tr._(title),
        [Column(tr._(header), kind) for header, kind, _value in fields],
        [[value(item) for _header, _kind, value in fields] for item in items],
        freeze_columns=freeze,
    )


def _labelled(
    tr: Translator, labels: Mapping[Any, str], kind: Kind, keys: list[Any]
) -> list[Column]:
    return [Column(tr._(labels[k]), kind) for k in keys]


def _yes(tr: Translator, flag: bool) -> str:
    return tr._("yes") if flag else tr._("no")


def people(f: CycleFacts, tr: Translator) -> Sheet:
    cols = _cols(
        tr,
        (N_("Rank"), N),
        (N_("Employee no."), T),
        (N_("Name"), T),
        (N_("Unit"), T),
        (N_("Position"), T),
        (N_("Total score"), S),
        (N_("Grade"), T),
        (N_("Rank in unit"), N),
        (N_("Bonus coefficient"), S),
    )
    cols += _labelled(tr, DIMENSION_LABELS, S, list(Dimension))
    cols += [Column(tr._(SOURCE_LABELS[s]) + tr.paren(tr._(MEAN)), S) for s in Source]
    cols += _cols(tr, (N_("Weakest dimension"), T), (N_("Changed on appeal"), T))
    rows: list[list[Value]] = []
    for r in f.people:
        dims = [r.dimension(d) for d in Dimension]
        rows.append(
            [
                r.rank_overall,
                r.employee_no,
                r.name,
                localized(r.unit, tr.locale),
                r.position,
                r.total,
                tr._(GRADE_LABELS[r.grade]),
                r.rank_in_unit,
                r.bonus_coefficient,
                *(d.score if d else None for d in dims),
                *(r.source_means.get(s) for s in Source),
                tr._(DIMENSION_LABELS[r.weakest]) if r.weakest else "",
                _yes(tr, r.adjusted),
            ]
        )
    return Sheet(tr._("Person results"), cols, rows, freeze_columns=3)


def units(f: CycleFacts, tr: Translator) -> Sheet:
    cols = _cols(tr, (N_("Rank"), N), (N_("Unit"), T), (N_("Total score"), S), (N_("Grade"), T))
    cols += _labelled(tr, DIMENSION_LABELS, S, list(Dimension))
    cols += _cols(tr, (N_("People scored"), N), (N_("Average of its people"), S))
    cols += _labelled(tr, GRADE_LABELS, N, list(Grade))
    rows: list[list[Value]] = []
    for r in f.unit_results:
        mine = [p for p in f.people if p.unit_id == r.unit_id]
        mean = (
            (sum((p.total for p in mine), Decimal(0)) / len(mine)).quantize(Decimal("0.01"))
            if mine
            else None
        )
        dims = [r.dimension(d) for d in Dimension]
        rows.append(
            [
                r.rank_overall,
                r.name,
                r.total,
                tr._(GRADE_LABELS[r.grade]),
                *(d.score if d else None for d in dims),
                len(mine),
                mean,
                *(sum(1 for p in mine if p.grade == g) for g in Grade),
            ]
        )
    return Sheet(tr._("Unit results"), cols, rows, freeze_columns=2)


def breakdown(f: CycleFacts, tr: Translator) -> Sheet:
    lines = [
        (r, i, r.dimension(i.dimension), s)
        for r in (*f.people, *f.unit_results)
        for i in r.indicators
        for s in i.sources
    ]
    return _table(
        tr,
        N_("Score breakdown"),
        lines,
        (N_("Employee no."), T, lambda x: x[0].employee_no or ""),
        (N_("Name"), T, lambda x: x[0].name),
        (N_("Unit"), T, lambda x: localized(x[0].unit, tr.locale)),
        (N_("Dimension"), T, lambda x: tr._(DIMENSION_LABELS[x[1].dimension])),
        (N_("Dimension weight"), P, lambda x: x[2].weight if x[2] else None),
        (N_("Dimension score"), S, lambda x: x[2].score if x[2] else None),
        (N_("Indicator code"), T, lambda x: x[1].code),
        (N_("Indicator"), T, lambda x: _indicator(f, tr, x[1].code)),
        (N_("Indicator weight"), P, lambda x: x[1].weight),
        (N_("Indicator score"), S, lambda x: x[1].score),
        (N_("Source"), T, lambda x: tr._(SOURCE_LABELS[x[3].source])),
        (N_("Source weight"), P, lambda x: x[3].weight),
        (N_("Mean"), S, lambda x: x[3].mean),
        (N_("Raters"), N, lambda x: x[3].raters),
        (N_("Points in the total"), S, lambda x: x[3].contribution),
        freeze=2,
    )


def _indicator(f: CycleFacts, tr: Translator, code: str) -> str:
    info = f.indicators.get(code)
    return localized(info.name, tr.locale, info.name_en) if info else code


def grades(f: CycleFacts, tr: Translator) -> Sheet:
    cols = _cols(tr, (N_("Unit"), T))
    cols += _labelled(tr, GRADE_LABELS, N, list(Grade))
    cols += _cols(tr, (N_("People scored"), N))
    cols += [
        Column(tr._(GRADE_LABELS[g]) + tr.paren(tr._(SHARE)), P)
        for g in (Grade.EXCELLENT, Grade.FAIL)
    ]
    rows: list[list[Value]] = [
        [
            tr._("Whole bureau") if g.unit_id is None else localized(g.unit, tr.locale),
            *(g.counts[x] for x in Grade),
            g.total,
            percent(g.counts[Grade.EXCELLENT], g.total),
            percent(g.counts[Grade.FAIL], g.total),
        ]
        for g in f.grades
    ]
    return Sheet(tr._("Grade distribution"), cols, rows, freeze_columns=1)


_RECT_ORDER = [
    RectificationStatus.OPEN,
    RectificationStatus.ANSWERED,
    RectificationStatus.UNDER_REVIEW,
    RectificationStatus.CLOSED,
    RectificationStatus.EXCLUDED,
]


def satisfaction(f: CycleFacts, tr: Translator) -> Sheet:
    cols = _cols(
        tr,
        (N_("Unit"), T),
        (N_("Responses"), N),
        (N_("Satisfied responses"), N),
        (N_("Satisfaction rate"), P),
        (N_("Negative ratings"), N),
    )
    cols += [Column(tr._(RECTIFICATION) + tr.paren(tr._(RECT_STATUS[s])), N) for s in _RECT_ORDER]
    # where the responses came from: the working group weighs the survey page's share
    cols += _cols(
        tr,
        (N_("Overdue"), N),
        (N_("Responses on the survey page"), N),
        (N_("Responses in Telegram"), N),
        (N_("Share from the survey page"), P),
    )
    rows: list[list[Value]] = []
    for u in f.survey:
        rows.append(
            [
                localized(u.unit, tr.locale),
                u.responses,
                u.satisfied,
                u.rate,
                u.bad,
                *(u.rectifications.get(s, 0) for s in _RECT_ORDER),
                u.overdue,
                u.web,
                u.chat,
                u.web_share,
            ]
        )
    satisfied, responses, rate = f.satisfaction
    web = sum(u.web for u in f.survey)
    rows.append(
        [
            tr._("Whole bureau"),
            responses,
            satisfied,
            rate,
            sum(u.bad for u in f.survey),
            *(sum(u.rectifications.get(s, 0) for u in f.survey) for s in _RECT_ORDER),
            sum(u.overdue for u in f.survey),
            web,
            responses - web,
            percent(web, responses),
        ]
    )
    return Sheet(tr._("Citizen satisfaction"), cols, rows, freeze_columns=1)


def questions(f: CycleFacts, tr: Translator) -> Sheet:
    cols = _cols(tr, (N_("Unit"), T), (N_("Question"), T))
    cols += _labelled(tr, SATISFACTION_LABELS, N, list(Satisfaction))
    cols += _cols(tr, (N_("Answers"), N), (N_("Mean points"), S))
    rows: list[list[Value]] = []
    for q in f.questions:
        text = tr._("Overall") if q.code == OVERALL else localized(q.text, tr.locale, q.text_en)
        rows.append(
            [
                localized(f.unit_name(q.unit_id), tr.locale),
                text,
                *(q.counts[s] for s in Satisfaction),
                q.answers,
                q.mean_points,
            ]
        )
    return Sheet(tr._("Survey questions"), cols, rows, freeze_columns=2)


def rectifications(f: CycleFacts, tr: Translator) -> Sheet:
    def rated(r: Any) -> str:
        return tr._(SATISFACTION_LABELS[Satisfaction(r.citizen_rating)]) if r.citizen_rating else ""

    return _table(
        tr,
        N_("Negative ratings"),
        f.rectifications,
        (N_("No."), N, lambda r: r.id),
        (N_("Unit"), T, lambda r: localized(r.unit, tr.locale)),
        (N_("Rating"), T, lambda r: tr._(SATISFACTION_LABELS[r.overall]) if r.overall else ""),
        (
            N_("Problems"),
            T,
            lambda r: tr.join(localized(zh, tr.locale, en) for zh, en in r.problems),
        ),
        (N_("In the citizen's words"), T, lambda r: r.problem_text or ""),
        (N_("Received"), DT, lambda r: r.opened_at),
        (N_("Due"), DT, lambda r: r.deadline),
        (N_("Status"), T, lambda r: tr._(RECT_STATUS[r.status])),
        (N_("Outcome"), T, lambda r: tr._(OUTCOME_LABELS[r.outcome]) if r.outcome else ""),
        (N_("Handled"), DT, lambda r: r.answered_at),
        (N_("Citizen's rating of the handling"), T, rated),
        (N_("Overdue"), T, lambda r: _yes(tr, r.overdue)),
        freeze=2,
    )


def appeals(f: CycleFacts, tr: Translator) -> Sheet:
    names = {code: (i.name, i.name_en) for code, i in f.indicators.items()}

    def decision(a: Any) -> str:
        if not a.decision:
            return ""
        return tr._("score adjusted") if a.decision == ADJUSTED else tr._("result upheld")

    return _table(
        tr,
        N_("Appeals"),
        f.appeals,
        (N_("No."), N, lambda a: a.id),
        (N_("Employee no."), T, lambda a: a.employee_no),
        (N_("Name"), T, lambda a: a.name),
        (N_("Unit"), T, lambda a: localized(a.unit, tr.locale)),
        (N_("Disputed"), T, lambda a: target_label(tr, a.target, names)),
        (N_("Reason for the appeal"), T, lambda a: a.reason),
        (N_("Filed"), DT, lambda a: a.filed_at),
        (N_("Decision due"), DT, lambda a: a.deadline),
        (N_("Status"), T, lambda a: tr._(APPEAL_STATUS[a.status])),
        (N_("Decision"), T, decision),
        (N_("Reason for the decision"), T, lambda a: a.decision_reason or ""),
        (N_("Decided"), DT, lambda a: a.decided_at),
        (N_("Total before"), S, lambda a: a.total_before),
        (N_("Total after"), S, lambda a: a.total_after),
        freeze=3,
    )


def plans(f: CycleFacts, tr: Translator) -> Sheet:
    return _table(
        tr,
        N_("Improvement plans"),
        f.plans,
        (N_("No."), N, lambda p: p.id),
        (N_("Person or unit"), T, lambda p: p.subject),
        (N_("Unit"), T, lambda p: localized(p.unit, tr.locale)),
        (N_("Status"), T, lambda p: tr._(PLAN_STATUS[p.status])),
        (N_("Written by"), T, lambda p: p.author),
        (N_("Approved by"), T, lambda p: p.approver or ""),
        (N_("Goals"), T, lambda p: p.goals),
        (N_("Measures"), T, lambda p: p.measures),
        (N_("Responsible person"), T, lambda p: p.responsible),
        (N_("Submitted on"), DT, lambda p: p.submitted_at),
        (N_("Approved on"), DT, lambda p: p.approved_at),
        freeze=2,
    )


def milestones(f: CycleFacts, tr: Translator) -> Sheet:
    return _table(
        tr,
        N_("Milestones"),
        [(p, m) for p in f.plans for m in p.milestones],
        (N_("Plan no."), N, lambda x: x[0].id),
        (N_("Person or unit"), T, lambda x: x[0].subject),
        (N_("Due date"), D, lambda x: x[1].due),
        (N_("Milestone"), T, lambda x: x[1].text),
        (N_("Progress"), T, lambda x: x[1].progress or ""),
        (N_("Done on"), DT, lambda x: x[1].done_at),
        (N_("Overdue"), T, lambda x: _yes(tr, x[1].overdue)),
        freeze=2,
    )


def participation(f: CycleFacts, tr: Translator) -> Sheet:
    return _table(
        tr,
        N_("Participation"),
        f.participation,
        (N_("Unit"), T, lambda p: localized(p.unit, tr.locale)),
        (N_("Source"), T, lambda p: tr._(SOURCE_LABELS[p.source])),
        (N_("Forms"), N, lambda p: p.assigned),
        (N_("Submitted"), N, lambda p: p.submitted),
        (N_("On time"), N, lambda p: p.on_time),
        (N_("Submission rate"), P, lambda p: p.rate),
        freeze=2,
    )


def people_participation(f: CycleFacts, tr: Translator) -> Sheet:
    return _table(
        tr,
        N_("Participation by person"),
        [(p, s) for p in f.people_participation for s in Source if s in p.assigned],
        (N_("Employee no."), T, lambda x: x[0].employee_no),
        (N_("Name"), T, lambda x: x[0].name),
        (N_("Unit"), T, lambda x: localized(x[0].unit, tr.locale)),
        (N_("Source"), T, lambda x: tr._(SOURCE_LABELS[x[1]])),
        (N_("Forms"), N, lambda x: x[0].assigned[x[1]]),
        (N_("Submitted"), N, lambda x: x[0].submitted[x[1]]),
        (N_("Entered from paper"), N, lambda x: x[0].proxied[x[1]]),
        freeze=2,
    )


def answers(f: CycleFacts, tr: Translator) -> Sheet:
    written = {
        key: tr._(label) for part, key in WRITTEN_KEYS.items() for label in [WRITTEN_LABELS[part]]
    }
    written[COMMENT_KEY] = tr._("Comment")

    def rater(a: Any) -> str:
        if a.peer_no is not None:
            return tr._("Colleague {number}").format(number=a.peer_no)
        return str(a.rater or "")

    def level(a: Any) -> str:
        return localized(a.level_label[0], tr.locale, a.level_label[1]) if a.level_label else ""

    return _table(
        tr,
        N_("Raw answers"),
        f.answers,
        (N_("Rated person or unit"), T, lambda a: a.ratee),
        (N_("Unit"), T, lambda a: localized(a.unit, tr.locale)),
        (N_("Source"), T, lambda a: tr._(SOURCE_LABELS[a.source])),
        (N_("Rater"), T, rater),
        (N_("Item"), T, lambda a: "" if a.item in written else a.item),
        (N_("Item name"), T, lambda a: written.get(a.item) or _indicator(f, tr, a.item)),
        (N_("Points"), S, lambda a: a.points),
        (N_("Level"), T, level),
        (N_("Text"), T, lambda a: a.text or ""),
        freeze=2,
    )


SHEETS: list[Callable[[CycleFacts, Translator], Sheet]] = [
    people,
    units,
    breakdown,
    grades,
    satisfaction,
    questions,
    rectifications,
    appeals,
    plans,
    milestones,
    participation,
    people_participation,
    answers,
]
