"""The workbook's sheets: each turns ``CycleFacts`` into translated headers and plain rows.

Every figure comes from the read model as it is stored (scores with two decimals, rates in
percent with one); labels are the reader's (gettext, template texts through ``localized``).
Names of people and units stay as the roster has them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
    cols = _cols(
        tr,
        (N_("Employee no."), T),
        (N_("Name"), T),
        (N_("Unit"), T),
        (N_("Dimension"), T),
        (N_("Dimension weight"), P),
        (N_("Dimension score"), S),
        (N_("Indicator code"), T),
        (N_("Indicator"), T),
        (N_("Indicator weight"), P),
        (N_("Indicator score"), S),
        (N_("Source"), T),
        (N_("Source weight"), P),
        (N_("Mean"), S),
        (N_("Raters"), N),
        (N_("Points in the total"), S),
    )
    rows: list[list[Value]] = []
    for r in (*f.people, *f.unit_results):
        for i in r.indicators:
            d = r.dimension(i.dimension)
            for s in i.sources:
                rows.append(
                    [
                        r.employee_no or "",
                        r.name,
                        localized(r.unit, tr.locale),
                        tr._(DIMENSION_LABELS[i.dimension]),
                        d.weight if d else None,
                        d.score if d else None,
                        i.code,
                        _indicator(f, tr, i.code),
                        i.weight,
                        i.score,
                        tr._(SOURCE_LABELS[s.source]),
                        s.weight,
                        s.mean,
                        s.raters,
                        s.contribution,
                    ]
                )
    return Sheet(tr._("Score breakdown"), cols, rows, freeze_columns=2)


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
    cols = _cols(
        tr,
        (N_("No."), N),
        (N_("Unit"), T),
        (N_("Rating"), T),
        (N_("Problems"), T),
        (N_("In the citizen's words"), T),
        (N_("Received"), DT),
        (N_("Due"), DT),
        (N_("Status"), T),
        (N_("Outcome"), T),
        (N_("Handled"), DT),
        (N_("Citizen's rating of the handling"), T),
        (N_("Overdue"), T),
    )
    rows: list[list[Value]] = []
    for r in f.rectifications:
        rows.append(
            [
                r.id,
                localized(r.unit, tr.locale),
                tr._(SATISFACTION_LABELS[r.overall]) if r.overall else "",
                tr.join(localized(zh, tr.locale, en) for zh, en in r.problems),
                r.problem_text or "",
                r.opened_at,
                r.deadline,
                tr._(RECT_STATUS[r.status]),
                tr._(OUTCOME_LABELS[r.outcome]) if r.outcome else "",
                r.answered_at,
                tr._(SATISFACTION_LABELS[Satisfaction(r.citizen_rating)])
                if r.citizen_rating
                else "",
                _yes(tr, r.overdue),
            ]
        )
    return Sheet(tr._("Negative ratings"), cols, rows, freeze_columns=2)


def appeals(f: CycleFacts, tr: Translator) -> Sheet:
    cols = _cols(
        tr,
        (N_("No."), N),
        (N_("Employee no."), T),
        (N_("Name"), T),
        (N_("Unit"), T),
        (N_("Disputed"), T),
        (N_("Reason for the appeal"), T),
        (N_("Filed"), DT),
        (N_("Decision due"), DT),
        (N_("Status"), T),
        (N_("Decision"), T),
        (N_("Reason for the decision"), T),
        (N_("Decided"), DT),
        (N_("Total before"), S),
        (N_("Total after"), S),
    )
    names = {code: (i.name, i.name_en) for code, i in f.indicators.items()}
    rows: list[list[Value]] = []
    for a in f.appeals:
        decision = ""
        if a.decision:
            decision = tr._("score adjusted") if a.decision == ADJUSTED else tr._("result upheld")
        rows.append(
            [
                a.id,
                a.employee_no,
                a.name,
                localized(a.unit, tr.locale),
                target_label(tr, a.target, names),
                a.reason,
                a.filed_at,
                a.deadline,
                tr._(APPEAL_STATUS[a.status]),
                decision,
                a.decision_reason or "",
                a.decided_at,
                a.total_before,
                a.total_after,
            ]
        )
    return Sheet(tr._("Appeals"), cols, rows, freeze_columns=3)


def plans(f: CycleFacts, tr: Translator) -> Sheet:
    cols = _cols(
        tr,
        (N_("No."), N),
        (N_("Person or unit"), T),
        (N_("Unit"), T),
        (N_("Status"), T),
        (N_("Written by"), T),
        (N_("Approved by"), T),
        (N_("Goals"), T),
        (N_("Measures"), T),
        (N_("Responsible person"), T),
        (N_("Submitted on"), DT),
        (N_("Approved on"), DT),
    )
    rows: list[list[Value]] = [
        [
            p.id,
            p.subject,
            localized(p.unit, tr.locale),
            tr._(PLAN_STATUS[p.status]),
            p.author,
            p.approver or "",
            p.goals,
            p.measures,
            p.responsible,
            p.submitted_at,
            p.approved_at,
        ]
        for p in f.plans
    ]
    return Sheet(tr._("Improvement plans"), cols, rows, freeze_columns=2)


def milestones(f: CycleFacts, tr: Translator) -> Sheet:
    cols = _cols(
        tr,
        (N_("Plan no."), N),
        (N_("Person or unit"), T),
        (N_("Due date"), D),
        (N_("Milestone"), T),
        (N_("Progress"), T),
        (N_("Done on"), DT),
        (N_("Overdue"), T),
    )
    rows: list[list[Value]] = [
        [p.id, p.subject, m.due, m.text, m.progress or "", m.done_at, _yes(tr, m.overdue)]
        for p in f.plans
        for m in p.milestones
    ]
    return Sheet(tr._("Milestones"), cols, rows, freeze_columns=2)


def participation(f: CycleFacts, tr: Translator) -> Sheet:
    cols = _cols(
        tr,
        (N_("Unit"), T),
        (N_("Source"), T),
        (N_("Forms"), N),
        (N_("Submitted"), N),
        (N_("On time"), N),
        (N_("Submission rate"), P),
    )
    rows: list[list[Value]] = [
        [
            localized(p.unit, tr.locale),
            tr._(SOURCE_LABELS[p.source]),
            p.assigned,
            p.submitted,
            p.on_time,
            p.rate,
        ]
        for p in f.participation
    ]
    return Sheet(tr._("Participation"), cols, rows, freeze_columns=2)


def people_participation(f: CycleFacts, tr: Translator) -> Sheet:
    cols = _cols(
        tr,
        (N_("Employee no."), T),
        (N_("Name"), T),
        (N_("Unit"), T),
        (N_("Source"), T),
        (N_("Forms"), N),
        (N_("Submitted"), N),
        (N_("Entered from paper"), N),
    )
    rows: list[list[Value]] = [
        [
            p.employee_no,
            p.name,
            localized(p.unit, tr.locale),
            tr._(SOURCE_LABELS[s]),
            p.assigned[s],
            p.submitted[s],
            p.proxied[s],
        ]
        for p in f.people_participation
        for s in Source
        if s in p.assigned
    ]
    return Sheet(tr._("Participation by person"), cols, rows, freeze_columns=2)


def answers(f: CycleFacts, tr: Translator) -> Sheet:
    cols = _cols(
        tr,
        (N_("Rated person or unit"), T),
        (N_("Unit"), T),
        (N_("Source"), T),
        (N_("Rater"), T),
        (N_("Item"), T),
        (N_("Item name"), T),
        (N_("Points"), S),
        (N_("Level"), T),
        (N_("Text"), T),
    )
    written = {
        key: tr._(label) for part, key in WRITTEN_KEYS.items() for label in [WRITTEN_LABELS[part]]
    }
    written[COMMENT_KEY] = tr._("Comment")
    rows: list[list[Value]] = []
    for a in f.answers:
        rater = (
            tr._("Colleague {number}").format(number=a.peer_no)
            if a.peer_no is not None
            else (a.rater or "")
        )
        level = localized(a.level_label[0], tr.locale, a.level_label[1]) if a.level_label else ""
        rows.append(
            [
                a.ratee,
                localized(a.unit, tr.locale),
                tr._(SOURCE_LABELS[a.source]),
                rater,
                "" if a.item in written else a.item,
                written.get(a.item) or _indicator(f, tr, a.item),
                a.points,
                level,
                a.text or "",
            ]
        )
    return Sheet(tr._("Raw answers"), cols, rows, freeze_columns=2)


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
