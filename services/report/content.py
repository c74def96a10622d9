"""The text and tables of the evaluation report (五(四)1), from a cycle's facts, in the reader's
language: process and participation, results and their distribution, dimension averages,
citizen satisfaction and 差评 handling, appeals, problems found, training needs (六(三)1) and
suggested improvements. Pure: facts in, a ``Document`` out.

Raters are never named: the report speaks of forms and sources, and of people only by their
own results (grades, training needs) and their own appeals and plans.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from domain.enums import Dimension, Grade, RectificationStatus
from domain.labels import DIMENSION_LABELS, GRADE_LABELS, SOURCE_LABELS
from infra.i18n import N_, Translator
from services.cycle_facts import CycleFacts, percent
from services.report import aggregates as agg
from services.report.document import Block, Bullets, Chart, Document, Heading, Paragraph, Table
from services.report.figures import GRADES, grades_spec
from services.templates import localized

TRAINING = {  # 六(三)1: what to train for a weak dimension
    Dimension.PERFORMANCE: N_("Job skills and working methods"),
    Dimension.ABILITY: N_("Professional skills: emergency response, risk assessment, drills"),
    Dimension.ATTITUDE: N_("Work style, discipline and service awareness"),
    Dimension.INNOVATION: N_("Innovation and new technology in emergency management"),
}
SUGGESTION = {  # what a unit whose weakest dimension this is should do
    Dimension.PERFORMANCE: N_(
        "{unit}: work performance is the weakest dimension (average {score}). Go through the year's targets task by task and set who does what by when."
    ),
    Dimension.ABILITY: N_(
        "{unit}: work ability is the weakest dimension (average {score}). Organise training in emergency response, risk assessment and drills, and learn by practising."
    ),
    Dimension.ATTITUDE: N_(
        "{unit}: work attitude is the weakest dimension (average {score}). Strengthen discipline and the first-responsibility and time-limit rules for serving the public."
    ),
    Dimension.INNOVATION: N_(
        "{unit}: innovation and development is the weakest dimension (average {score}). Encourage new ways of working and the use of information technology."
    ),
}
SATISFACTION_TARGET = Decimal(90)  # below this 满意率 a unit is asked to improve


def _score(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _threshold(value: Decimal) -> str:
    """A threshold as it was set: 80, 75.5 (no trailing zeros, never 8E+1)."""
    return f"{value.normalize():f}"


def _rate(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


class _Writer:
    """The report in one reader's language: the names of units and indicators localised."""

    def __init__(
        self, facts: CycleFacts, tr: Translator, now: dt.datetime, training_below: Decimal
    ) -> None:
        self.facts, self.tr, self.now = facts, tr, now
        self.training_below = training_below
        self._ = tr._
        self.sections = 0

    def unit(self, name: str) -> str:
        return localized(name, self.tr.locale)

    def section(self, title: str) -> Heading:
        self.sections += 1
        if self.tr.lang == "en":  # English numbers its headings 1. and 1.1, not 一、and（一）
            return Heading(f"{self.sections}. {title}")
        number = self._(_NUMBERS[self.sections - 1])
        return Heading(self._("{number}. {title}").format(number=number, title=title))

    def sub(self, n: int, title: str) -> Heading:
        if self.tr.lang == "en":
            return Heading(f"{self.sections}.{n} {title}", level=2)
        number = self._(_NUMBERS[n - 1])
        return Heading(self._("({number}) {title}").format(number=number, title=title), level=2)

    def indicator(self, code: str) -> str:
        info = self.facts.indicators.get(code)
        return localized(info.name, self.tr.locale, info.name_en) if info else code

    def dimension(self, d: Dimension) -> str:
        return self._(DIMENSION_LABELS[d])

    def grade(self, g: Grade) -> str:
        return self._(GRADE_LABELS[g])

    def date(self, value: dt.datetime) -> str:
        return self.tr.date(value)


_NUMBERS = (
    N_("one"),
    N_("two"),
    N_("three"),
    N_("four"),
    N_("five"),
    N_("six"),
    N_("seven"),
    N_("eight"),
)


def document(
    facts: CycleFacts, tr: Translator, *, now: dt.datetime, training_below: Decimal
) -> Document:
    """The evaluation report of ``facts`` as the reader's language writes it, dated ``now``;
    a weakest dimension below ``training_below`` is a training need (六(三)1)."""
    w = _Writer(facts, tr, now, training_below)
    _ = tr._
    blocks: list[Block] = [
        *_process(w),
        *_results(w),
        *_survey(w),
        *_appeals(w),
        *_problems(w),
        *_training(w),
        *_suggestions(w),
    ]
    return Document(
        title=_("Performance evaluation report"),
        bureau=w.unit(facts.bureau),
        period=tr.period(facts.period),
        date=_("Drafted on {date} for the working group's approval").format(date=tr.date(now)),
        pager=_("Page {page} of {pages}"),
        lang=tr.lang,
        region="tw" if tr.locale == "zh_Hant" else ("cn" if tr.lang == "zh" else "gb"),
        blocks=tuple(blocks),
    )


def _process(w: _Writer) -> Iterable[Block]:
    f, _ = w.facts, w._
    sources = agg.participation_by_source(f.participation)
    assigned = sum(s.assigned for s in sources)
    submitted = sum(s.submitted for s in sources)
    on_time = sum(s.on_time for s in sources)
    yield w.section(_("How the evaluation was carried out"))
    yield Paragraph(
        _(
            "The evaluation followed the indicator system “{template}”; forms were due by {deadline}. {assigned} forms were given out and {submitted} submitted ({rate}), {on_time} of them by the deadline ({on_time_rate}). Citizens’ evaluations were collected by survey during the period."
        ).format(
            template=localized(f.template_name, w.tr.locale),
            deadline=w.date(f.deadline),
            assigned=assigned,
            submitted=submitted,
            rate=_rate(percent(submitted, assigned)),
            on_time=on_time,
            on_time_rate=_rate(percent(on_time, assigned)),
        )
    )
    head = (_("Source"), _("Forms"), _("Submitted"), _("Submission rate"), _("By the deadline"))
    yield Table(
        head,
        tuple(
            (
                _(SOURCE_LABELS[s.source]),
                str(s.assigned),
                str(s.submitted),
                _rate(s.rate),
                str(s.on_time),
            )
            for s in sources
        ),
        align=("left", "right", "right", "right", "right"),
        widths=(3, 1, 1, 1, 1),
        caption=_("Table {n}: forms by source").format(n=1),
        empty=_("No forms were given out."),
    )
    per_unit = agg.unit_participation(f.participation)
    rows = []
    for unit in f.units:
        if unit.id in per_unit:
            a, s, o = per_unit[unit.id]
            rows.append((w.unit(unit.name), str(a), str(s), _rate(percent(s, a)), str(o)))
    yield Table(
        (_("Unit"), *head[1:]),
        tuple(rows),
        align=("left", "right", "right", "right", "right"),
        widths=(3, 1, 1, 1, 1),
        caption=_("Table {n}: forms by the raters' unit").format(n=2),
    )


def _results(w: _Writer) -> Iterable[Block]:
    f, _ = w.facts, w._
    yield w.section(_("Results"))
    yield w.sub(1, _("Grade distribution"))
    bureau = f.grades[0] if f.grades else None
    total = bureau.total if bureau else 0
    counts = bureau.counts if bureau else {}
    yield Paragraph(
        _(
            "{total} people were evaluated: {excellent} excellent, {good} good, {passed} pass and {failed} fail."
        ).format(
            total=total,
            excellent=counts.get(Grade.EXCELLENT, 0),
            good=counts.get(Grade.GOOD, 0),
            passed=counts.get(Grade.PASS, 0),
            failed=counts.get(Grade.FAIL, 0),
        )
    )
    rows = [
        (
            _("Whole bureau") if g.unit_id is None else w.unit(g.unit),
            str(g.total),
            *(str(g.counts.get(grade, 0)) for grade in GRADES),
        )
        for g in f.grades
    ]
    yield Table(
        (_("Unit"), _("People"), *(w.grade(g) for g in GRADES)),
        tuple(rows),
        align=("left", "right", "right", "right", "right", "right"),
        widths=(3, 1, 1, 1, 1, 1),
        caption=_("Table {n}: grades by unit").format(n=3),
    )
    if total:
        yield Chart(
            grades_spec(
                _("Grade distribution by unit"),
                [(row[0], g.counts) for row, g in zip(rows, f.grades, strict=True)],
                {g: w.grade(g) for g in Grade},
            ),
            caption=_("Figure {n}: grade distribution by unit").format(n=1),
        )
    yield w.sub(2, _("Average scores by dimension"))
    averages = agg.dimension_averages(f)
    yield Table(
        (_("Unit"), _("People"), *(w.dimension(d) for d in Dimension), _("Total score")),
        tuple(
            (
                _("Whole bureau") if a.unit_id is None else w.unit(a.unit),
                str(a.people),
                *(_score(a.averages[d]) for d in Dimension),
                _score(a.total),
            )
            for a in averages
        ),
        align=("left", "right", "right", "right", "right", "right", "right"),
        widths=(3, 1, 2, 2, 2, 2, 2),
        caption=_("Table {n}: average scores of the people of each unit").format(n=4),
    )
    if f.unit_results:
        yield w.sub(3, _("Units' own results"))
        yield Table(
            (_("Rank"), _("Unit"), _("Score"), _("Grade")),
            tuple(
                (str(r.rank_overall or "—"), w.unit(r.name), _score(r.total), w.grade(r.grade))
                for r in f.unit_results
            ),
            align=("right", "left", "right", "left"),
            widths=(1, 4, 2, 2),
            caption=_("Table {n}: results of the units").format(n=5),
        )


def _survey(w: _Writer) -> Iterable[Block]:
    f, _ = w.facts, w._
    satisfied, responses, rate = f.satisfaction
    bad = sum(u.bad for u in f.survey)
    handled = sum(
        u.rectifications.get(RectificationStatus.ANSWERED, 0)
        + u.rectifications.get(RectificationStatus.CLOSED, 0)
        for u in f.survey
    )
    excluded = sum(u.excluded for u in f.survey)
    yield w.section(_("Citizen satisfaction and negative ratings"))
    returned = w.tr.ngettext(
        "Citizens returned {responses} valid evaluation, {satisfied} satisfied: a satisfaction rate of {rate}.",
        "Citizens returned {responses} valid evaluations, {satisfied} of them satisfied: a satisfaction rate of {rate}.",
        responses,
    ).format(responses=responses, satisfied=satisfied, rate=_rate(rate))
    negatives = w.tr.ngettext(
        "Of {bad} negative rating, {handled} handled and answered, {excluded} excluded after review.",
        "Of {bad} negative ratings, {handled} handled and answered, {excluded} excluded after review.",
        bad,
    ).format(bad=bad, handled=handled, excluded=excluded)
    web = sum(u.web for u in f.survey)
    channels = _(
        "Of these, {web} were given on the survey page and {chat} in Telegram ({share} from the survey page)."
    ).format(web=web, chat=responses - web, share=_rate(percent(web, responses)))
    sentences = (returned, channels, negatives) if responses else (returned, negatives)
    # English sentences part with a space, Chinese ones after their 。 without one
    yield Paragraph((" " if w.tr.lang == "en" else "").join(sentences))
    yield Table(
        (
            _("Unit"),
            _("Evaluations"),
            _("Satisfied"),
            _("Satisfaction rate"),
            _("Negative"),
            _("Negative ratings handled"),  # a count, not the workbook's 办理时间 column
            _("Not yet closed"),
            _("Overdue"),
            _("Web"),  # where the evaluations came from: the survey page, or the chat
            _("Telegram"),
        ),
        tuple(
            (
                w.unit(u.unit),
                str(u.responses),
                str(u.satisfied),
                _rate(u.rate),
                str(u.bad),
                str(
                    u.rectifications.get(RectificationStatus.ANSWERED, 0)
                    + u.rectifications.get(RectificationStatus.CLOSED, 0)
                ),
                str(
                    u.rectifications.get(RectificationStatus.OPEN, 0)
                    + u.rectifications.get(RectificationStatus.UNDER_REVIEW, 0)
                ),
                str(u.overdue),
                str(u.web),
                str(u.chat),
            )
            for u in f.survey
        ),
        align=("left", *(("right",) * 9)),
        widths=(4, 2, 2, 2, 2, 2, 2, 2, 2, 3),  # "Telegram" needs a wider column
        caption=_("Table {n}: citizen satisfaction by unit").format(n=6),
        empty=_("No citizen evaluations were received in the period."),
    )


def _appeals(w: _Writer) -> Iterable[Block]:
    f, _ = w.facts, w._
    outcomes = agg.appeal_outcomes(f.appeals)
    yield w.section(_("Appeals and their outcomes"))
    yield Paragraph(
        w.tr.ngettext(
            "{count} appeal was filed. Outcomes: result adjusted {adjusted}, result upheld {upheld}, still under review {pending}.",
            "{count} appeals were filed. Outcomes: result adjusted {adjusted}, result upheld {upheld}, still under review {pending}.",
            len(f.appeals),
        ).format(count=len(f.appeals), **outcomes)
    )
    rows = []
    for a in f.appeals:
        if a.decision == "adjusted":
            outcome = _("adjusted: {before} → {after}").format(
                before=_score(a.total_before), after=_score(a.total_after)
            )
        elif a.decision == "upheld":
            outcome = _("the result stands")
        else:
            outcome = _("being looked into")
        rows.append((str(a.id), a.name, w.unit(a.unit), w.date(a.filed_at), outcome))
    yield Table(
        (_("No."), _("Appellant"), _("Unit"), _("Filed"), _("Outcome")),
        tuple(rows),
        align=("right", "left", "left", "left", "left"),
        widths=(1, 2, 3, 3, 3),
        caption=_("Table {n}: appeals").format(n=7),
        empty=_("No appeals were filed."),
    )


def _problems(w: _Writer) -> Iterable[Block]:
    f, _ = w.facts, w._
    yield w.section(_("Problems found"))
    yield w.sub(1, _("Weakest dimensions and indicators by unit"))
    rows = []
    for a in agg.dimension_averages(f)[1:]:
        weakest = a.weakest
        if weakest is None or a.unit_id is None:
            continue
        indicators = agg.weakest_indicators(f, a.unit_id)
        rows.append(
            (
                w.unit(a.unit),
                w.dimension(weakest) + w.tr.paren(_score(a.averages[weakest])),
                w.tr.join(w.indicator(i.code) + w.tr.paren(_score(i.average)) for i in indicators),
            )
        )
    yield Table(
        (_("Unit"), _("Weakest dimension (average)"), _("Weakest indicators (average)")),
        tuple(rows),
        widths=(2, 2, 5),
        caption=_("Table {n}: weakest dimensions and indicators").format(n=8),
        empty=_("No results to compare."),
    )
    yield w.sub(2, _("Negative ratings not yet put right"))
    items = agg.open_rectifications(f)
    yield Table(
        (_("No."), _("Unit"), _("Deadline"), _("Status")),
        tuple(
            (
                str(r.id),
                w.unit(r.unit),
                w.date(r.deadline),
                _("overdue") if r.overdue else _("in progress"),
            )
            for r in items
        ),
        align=("right", "left", "left", "left"),
        widths=(1, 3, 2, 2),
        empty=_("None: every negative rating has been handled."),
    )
    yield w.sub(3, _("Improvement plans behind schedule"))
    plans = agg.overdue_plans(f)
    yield Table(
        (_("Plan for"), _("Unit"), _("Milestone overdue"), _("Due")),
        tuple(
            (p.subject, w.unit(p.unit), m.text, w.tr.date(m.due))
            for p in plans
            for m in p.milestones
            if m.overdue
        ),
        widths=(2, 2, 4, 2),
        empty=_("None: every improvement plan is on schedule."),
    )


def _training(w: _Writer) -> Iterable[Block]:
    _ = w._
    yield w.section(_("Training needs"))
    yield Paragraph(
        _(
            "Each person's weakest dimension points to the training they need; the table groups them by unit, the lowest score first."
        )
    )
    yield Table(
        (_("Unit"), _("Training"), _("People"), _("Who (score in that dimension)")),
        tuple(
            (
                w.unit(n.unit),
                _(TRAINING[n.dimension]),
                str(len(n.people)),
                w.tr.join(name + w.tr.paren(_score(s)) for name, s in n.people),
            )
            for n in agg.training_needs(w.facts, w.training_below)
        ),
        align=("left", "left", "right", "left"),
        widths=(2, 3, 1, 5),
        caption=_(
            "Table {n}: training needs by unit (weakest dimension below {score} points)"
        ).format(n=9, score=_threshold(w.training_below)),
        empty=_("No one's weakest dimension is below {score} points.").format(
            score=_threshold(w.training_below)
        ),
    )


def _suggestions(w: _Writer) -> Iterable[Block]:
    f, _ = w.facts, w._
    items: list[str] = []
    for a in agg.dimension_averages(f)[1:]:
        weakest = a.weakest
        if weakest is not None:
            items.append(
                _(SUGGESTION[weakest]).format(
                    unit=w.unit(a.unit), score=_score(a.averages[weakest])
                )
            )
    sources = agg.participation_by_source(f.participation)
    assigned = sum(s.assigned for s in sources)
    on_time = sum(s.on_time for s in sources)
    if assigned and on_time < assigned:
        items.append(
            _(
                "{late} forms were late or not submitted ({rate} on time): units should plan the evaluation into their work and remind their people early."
            ).format(late=assigned - on_time, rate=_rate(percent(on_time, assigned)))
        )
    for u in f.survey:
        if u.rate is not None and u.rate < SATISFACTION_TARGET:
            items.append(
                _(
                    "{unit}: citizen satisfaction is {rate}, below {target}%. Review the negative ratings with the staff concerned and improve the service at the window."
                ).format(unit=w.unit(u.unit), rate=_rate(u.rate), target=SATISFACTION_TARGET)
            )
    open_items = agg.open_rectifications(f)
    if open_items:
        overdue = sum(1 for r in open_items if r.overdue)
        items.append(
            _(
                "{count} negative ratings are still open ({overdue} overdue): the units concerned should put them right and answer the citizens without delay."
            ).format(count=len(open_items), overdue=overdue)
        )
    failed = [p for p in f.people if p.grade == Grade.FAIL]
    if failed:
        items.append(  # 均 (each) only for more than one: Chinese has no plural forms to carry it
            _(
                "One person was graded fail: an improvement plan should be drawn up and approved, followed up by the working group."
            )
            if len(failed) == 1
            else _(
                "{count} people were graded fail: each should have an approved improvement plan, followed up by the working group."
            ).format(count=len(failed))
        )
    if agg.overdue_plans(f):
        items.append(
            _(
                "Improvement plans behind schedule should be followed up with the people responsible and their supervising leaders."
            )
        )
    yield w.section(_("Suggested improvements"))
    if items:
        yield Bullets(tuple(items))
    else:
        yield Paragraph(_("No particular problems were found this period."))
