"""The workbook the working group files (issue 13, item 2), read back with openpyxl and
checked figure by figure against the database for a scored, published cycle with appeals
and rectifications; peer raters only as pseudonyms; formula-like text stays text."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from domain.enums import (
    AssignmentStatus,
    Dimension,
    Grade,
    RectificationStatus,
    ResponseStatus,
    Satisfaction,
    Source,
)
from domain.labels import DIMENSION_LABELS, GRADE_LABELS, SATISFACTION_LABELS, SOURCE_LABELS
from infra.db import SessionFactory
from infra.i18n import Translator
from infra.models import (
    Answer,
    Appeal,
    Assignment,
    AuditEntry,
    Cycle,
    ImprovementPlan,
    OrgUnit,
    PlanMilestone,
    Rectification,
    Result,
    Staff,
    SurveyAnswer,
    SurveyResponse,
)
from services import export_xlsx
from services.cycle_facts.pseudonyms import peer_numbers
from services.rectification_view import STATUS_LABELS as RECT_STATUS
from tests.cycle_scenario import (
    APPEAL_REASON,
    CALLBACK_PHONE,
    HOSTILE,
    PEER_COMMENT,
    TAB_TEXT,
    Scenario,
    build,
)
from tests.factories import SHANGHAI
from tests.workbook_reader import dec, load, pct, records

EN = Translator("en", SHANGHAI)
H = EN._
CENT, TENTH = Decimal("0.01"), Decimal("0.1")


async def exported(sessions: SessionFactory, sc: Scenario, locale: str = "en") -> bytes:
    async with sessions.begin() as s:
        out = await export_xlsx.export(
            s, sc.period, Translator(locale, SHANGHAI), now=dt.datetime.now(dt.UTC)
        )
    return out.data


def local(at: dt.datetime | None) -> dt.datetime | None:
    return None if at is None else at.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)


def rate(part: int, whole: int) -> Decimal:
    return (Decimal(100) * part / whole).quantize(TENTH, ROUND_HALF_UP)


def source_means(breakdown: dict[str, Any]) -> dict[str, Decimal]:
    """Each source's mean weighted as it counts in the total, recomputed from the JSON."""
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for d in breakdown["dimensions"]:
        for i in d["indicators"]:
            for s in i["sources"]:
                w = Decimal(d["weight"]) * Decimal(i["weight"]) * Decimal(s["weight"])
                sums[s["source"]][0] += w * Decimal(s["mean"])
                sums[s["source"]][1] += w
    return {k: (t / w).quantize(CENT, ROUND_HALF_UP) for k, (t, w) in sums.items()}


async def test_every_figure_of_the_workbook_matches_the_database(
    sessions: SessionFactory,
) -> None:
    sc = await build(sessions)
    book = load(await exported(sessions, sc))
    async with sessions() as s:
        results = list(await s.scalars(select(Result).where(Result.cycle_id == sc.cycle_id)))
        people = {p.id: p for p in await s.scalars(select(Staff))}
        units = {u.id: u for u in await s.scalars(select(OrgUnit))}
        forms = list(await s.scalars(select(Assignment).where(Assignment.cycle_id == sc.cycle_id)))
        answers = list(await s.scalars(select(Answer)))
        responses = list(await s.scalars(select(SurveyResponse)))
        survey_answers = list(await s.scalars(select(SurveyAnswer)))
        rects = list(await s.scalars(select(Rectification).order_by(Rectification.id)))
        appeals = list(await s.scalars(select(Appeal).order_by(Appeal.id)))
        plans = list(await s.scalars(select(ImprovementPlan)))
        milestones = list(await s.scalars(select(PlanMilestone).order_by(PlanMilestone.due)))
        adjusted = list(
            await s.scalars(select(AuditEntry).where(AuditEntry.action == "result.adjust"))
        )

    # Person results: every stored figure, the dimension scores and the source means
    person_rows = {r[H("Employee no.")]: r for r in records(book, H("Person results"))}
    mine = [r for r in results if r.staff_id is not None]
    assert len(person_rows) == len(mine) == 12
    for r in mine:
        row, person = person_rows[people[r.staff_id].employee_no], people[r.staff_id]
        assert row[H("Name")] == person.name and row[H("Unit")] == units[r.unit_id].name
        assert dec(row[H("Total score")]) == r.total
        assert row[H("Grade")] == H(GRADE_LABELS[r.grade])
        assert row[H("Rank")] == r.rank_overall and row[H("Rank in unit")] == r.rank_in_unit
        assert dec(row[H("Bonus coefficient")]) == r.bonus_coefficient
        for d in r.breakdown["dimensions"]:
            label = H(DIMENSION_LABELS[Dimension(d["dimension"])])
            assert dec(row[label]) == (Decimal(d["score"]) if d["score"] else None)
        means = source_means(r.breakdown)
        for source in Source:
            shown = row[f"{H(SOURCE_LABELS[source])} ({H('mean')})"]
            assert dec(shown) == means.get(source.value)
        assert row[H("Changed on appeal")] == (
            H("yes") if r.breakdown.get("adjustments") else H("no")
        )
    assert person_rows["A002"][H("Changed on appeal")] == H("yes")  # the adjusted appeal

    # Unit results and the grade distribution, by unit and for the whole bureau
    unit_rows = {r[H("Unit")]: r for r in records(book, H("Unit results"))}
    for r in results:
        if r.staff_id is None:
            row = unit_rows[units[r.unit_id].name]
            assert dec(row[H("Total score")]) == r.total
            assert row[H("Grade")] == H(GRADE_LABELS[r.grade])
            assert row[H("People scored")] == sum(1 for p in mine if p.unit_id == r.unit_id)
    grades = {r[H("Unit")]: r for r in records(book, H("Grade distribution"))}
    counted = Counter(r.grade for r in mine)
    whole = grades[H("Whole bureau")]
    for g in Grade:
        assert whole[H(GRADE_LABELS[g])] == counted[g]
    assert whole[H("People scored")] == 12
    for unit_id in {r.unit_id for r in mine}:
        row = grades[units[unit_id].name]
        for g in Grade:
            assert row[H(GRADE_LABELS[g])] == sum(
                1 for r in mine if r.unit_id == unit_id and r.grade == g
            )

    # The breakdown: one row per result, indicator and source, as stored
    breakdown = records(book, H("Score breakdown"))
    stored = [
        (r, d, i, src)
        for r in results
        for d in r.breakdown["dimensions"]
        for i in d["indicators"]
        for src in i["sources"]
    ]
    assert len(breakdown) == len(stored)
    by_key = {
        (row[H("Name")], row[H("Indicator code")], row[H("Source")]): row for row in breakdown
    }
    for r, d, i, src in stored:
        name = people[r.staff_id].name if r.staff_id else units[r.unit_id].name
        row = by_key[(name, i["code"], H(SOURCE_LABELS[Source(src["source"])]))]
        assert dec(row[H("Mean")]) == Decimal(src["mean"])
        assert row[H("Raters")] == src["raters"]
        assert pct(row[H("Dimension weight")]) == Decimal(d["weight"]).quantize(TENTH)
        assert dec(row[H("Dimension score")]) == (Decimal(d["score"]) if d["score"] else None)
        assert dec(row[H("Points in the total")]) == Decimal(src["contribution"])
        assert pct(row[H("Source weight")]) == Decimal(src["weight"]).quantize(TENTH, ROUND_HALF_UP)
        assert dec(row[H("Indicator score")]) == (Decimal(i["score"]) if i["score"] else None)

    # Citizen satisfaction: counted responses, 满意率, 差评 and their handling
    counted_responses = [
        x for x in responses if x.status == ResponseStatus.COMPLETE and not x.excluded
    ]
    satisfied = sum(
        1
        for x in counted_responses
        if x.overall in (Satisfaction.VERY_SATISFIED, Satisfaction.SATISFIED, Satisfaction.BASIC)
    )
    sat = {r[H("Unit")]: r for r in records(book, H("Citizen satisfaction"))}
    total = sat[H("Whole bureau")]
    assert total[H("Responses")] == len(counted_responses) == 4
    assert total[H("Satisfied responses")] == satisfied == 2
    assert pct(total[H("Satisfaction rate")]) == rate(satisfied, len(counted_responses))
    # where the counted responses came from: the survey page or the chat
    web = sum(1 for x in counted_responses if x.channel == "web")
    assert any(x.channel == "web" and x.excluded for x in responses)  # never counted
    assert total[H("Responses on the survey page")] == web == 1
    assert total[H("Responses in Telegram")] == len(counted_responses) - web == 3
    assert pct(total[H("Share from the survey page")]) == rate(web, len(counted_responses))
    for unit_id in {x.unit_id for x in counted_responses}:
        row = sat[units[unit_id].name]
        mine = [x for x in counted_responses if x.unit_id == unit_id]
        on_web = sum(1 for x in mine if x.channel == "web")
        assert row[H("Responses on the survey page")] == on_web
        assert row[H("Responses in Telegram")] == len(mine) - on_web
        assert pct(row[H("Share from the survey page")]) == rate(on_web, len(mine))
    # the 回访 number of the open web 差评 is the unit head's alone: in no sheet
    assert any(x.callback_phone == CALLBACK_PHONE for x in responses)
    for sheet in book.worksheets:
        for cells in sheet.iter_rows(values_only=True):
            assert not any(CALLBACK_PHONE in str(v) for v in cells if v is not None), sheet.title
    assert total[H("Negative ratings")] == sum(
        1 for x in counted_responses if x.overall and x.overall.is_bad
    )
    for status in RectificationStatus:
        header = f"{H('Rectification')} ({H(RECT_STATUS[status])})"
        assert total[header] == sum(1 for x in rects if x.status == status), status
    # per question and level
    counted_ids = {x.id for x in counted_responses}
    levels = Counter((a.question, a.level) for a in survey_answers if a.response_id in counted_ids)
    for row in records(book, H("Survey questions")):
        code = "~all" if row[H("Question")] == H("Overall") else None
        if code is None:
            code = "Q1" if "attitude" in row[H("Question")] else "Q2"
        for level in Satisfaction:
            assert row[H(SATISFACTION_LABELS[level])] == levels[(code, level)]
    negative = records(book, H("Negative ratings"))
    assert [r[H("No.")] for r in negative] == [x.id for x in rects]
    for row, rect in zip(negative, rects, strict=True):
        assert row[H("Status")] == H(RECT_STATUS[rect.status])
        assert row[H("Due")] == local(rect.deadline)

    # Appeals: the decisions, and the totals the adjusting one moved (from its audit entry)
    shown = records(book, H("Appeals"))
    assert [r[H("No.")] for r in shown] == [a.id for a in appeals]
    adjusting = {r[H("No.")]: r for r in shown}[sc.adjusted_appeal]
    (entry,) = adjusted
    assert dec(adjusting[H("Total before")]) == Decimal(entry.detail["old"]["total"])
    assert dec(adjusting[H("Total after")]) == Decimal(entry.detail["new"]["total"])
    result = next(r for r in results if r.staff_id == sc.org.staff_ids[0])
    assert dec(adjusting[H("Total after")]) == result.total
    assert adjusting[H("Decision")] == H("score adjusted")
    upheld = {r[H("No.")]: r for r in shown}[sc.upheld_appeal]
    assert upheld[H("Decision")] == H("result upheld") and upheld[H("Total after")] is None
    assert all(r[H("Reason for the appeal")] == APPEAL_REASON for r in shown)

    # Plans and milestones
    (plan_row,) = records(book, H("Improvement plans"))
    (plan,) = plans
    assert plan_row[H("No.")] == plan.id and plan_row[H("Goals")] == plan.goals
    steps = records(book, H("Milestones"))
    assert [r[H("Milestone")] for r in steps] == [m.text for m in milestones]
    assert [r[H("Overdue")] for r in steps] == [H("yes"), H("no")]

    # Participation by unit and source, from the forms
    active = [f for f in forms if f.active]
    expected: Counter[tuple[str, str]] = Counter()
    done: Counter[tuple[str, str]] = Counter()
    for f in active:
        key = (units[people[f.rater_staff_id].unit_id].name, H(SOURCE_LABELS[f.source]))
        expected[key] += 1
        done[key] += f.status == AssignmentStatus.SUBMITTED
    part = {(r[H("Unit")], r[H("Source")]): r for r in records(book, H("Participation"))}
    assert set(part) == set(expected)
    for key, n in expected.items():
        assert part[key][H("Forms")] == n and part[key][H("Submitted")] == done[key]
        assert pct(part[key][H("Submission rate")]) == rate(done[key], n)
    by_person = records(book, H("Participation by person"))
    assert sum(r[H("Forms")] for r in by_person) == len(active)

    # Raw answers: every answer of a submitted form, named raters' points as stored
    submitted = {f.id: f for f in active if f.status == AssignmentStatus.SUBMITTED}
    raw = records(book, H("Raw answers"))
    assert len(raw) == sum(1 for a in answers if a.assignment_id in submitted)
    points = {
        (
            people[submitted[a.assignment_id].rater_staff_id].name,
            H(SOURCE_LABELS[submitted[a.assignment_id].source]),
            submitted[a.assignment_id].ratee_key,
            a.item,
        ): a.points
        for a in answers
        if a.assignment_id in submitted and submitted[a.assignment_id].source != Source.PEER
    }
    names = {p.name: f"p:{p.id}" for p in people.values()} | {
        u.name: f"u:{u.id}" for u in units.values()
    }
    checked = 0
    for row in raw:
        if row[H("Source")] == H(SOURCE_LABELS[Source.PEER]) or not row[H("Item")]:
            continue
        key = (
            row[H("Rater")],
            row[H("Source")],
            names[row[H("Rated person or unit")]],
            row[H("Item")],
        )
        assert dec(row[H("Points")]) == points[key]
        checked += 1
    assert checked == sum(1 for v in points.values() if v is not None)


async def test_peer_raters_appear_only_as_stable_pseudonyms(sessions: SessionFactory) -> None:
    sc = await build(sessions)
    first, again = await exported(sessions, sc), await exported(sessions, sc)
    async with sessions() as s:
        staff = list(await s.scalars(select(Staff)))
        cycle = await s.get(Cycle, sc.cycle_id)
        assert cycle is not None
        peer_forms = list(
            await s.scalars(
                select(Assignment).where(
                    Assignment.cycle_id == sc.cycle_id,
                    Assignment.source == Source.PEER,
                    Assignment.status == AssignmentStatus.SUBMITTED,
                )
            )
        )
    peer = H(SOURCE_LABELS[Source.PEER])
    rows = [r for r in records(load(first), H("Raw answers")) if r[H("Source")] == peer]
    assert rows
    # the same pseudonyms in every export of the cycle
    assert rows == [r for r in records(load(again), H("Raw answers")) if r[H("Source")] == peer]
    # never a name or an employee number: "Colleague k", k = 1…n among each rated person's
    # raters, the rows in that order
    ids = {p.name for p in staff} | {p.employee_no for p in staff}
    assert not any(r[H("Rater")] in ids for r in rows)
    by_ratee: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if (
            not by_ratee[r[H("Rated person or unit")]]
            or by_ratee[r[H("Rated person or unit")]][-1] != r[H("Rater")]
        ):
            by_ratee[r[H("Rated person or unit")]].append(r[H("Rater")])
    for labels in by_ratee.values():
        assert labels == [
            H("Colleague {number}").format(number=k) for k in range(1, len(labels) + 1)
        ]
    # A pseudonym does not follow a rater from one rated person to the next (the balanced
    # circle would give them away), and its number is drawn from the cycle's secret, not
    # from the rater's id: over eleven rated people, the id order cannot hold everywhere.
    numbers = peer_numbers(
        cycle.peer_seed, cycle.id, [(f.rater_staff_id, f.ratee_key) for f in peer_forms]
    )
    raters_of: dict[str, list[int]] = defaultdict(list)
    for rater, ratee in numbers:
        raters_of[ratee].append(rater)
    assert len(raters_of) >= 10
    assert not all(
        [numbers[r, ratee] for r in sorted(raters)] == list(range(1, len(raters) + 1))
        for ratee, raters in raters_of.items()
    )
    # the other sheets count peer forms and never name who rated whom
    for row in records(load(first), H("Participation by person")):
        assert set(row) == {
            H(h)
            for h in (
                "Employee no.", "Name", "Unit", "Source", "Forms", "Submitted",
                "Entered from paper",
            )
        }  # fmt: skip


async def test_formula_like_text_is_written_as_text(sessions: SessionFactory) -> None:
    sc = await build(sessions)
    book = load(await exported(sessions, sc, "zh_Hans"))
    hostile = {*HOSTILE.values(), PEER_COMMENT, TAB_TEXT, APPEAL_REASON, "@提高应急值守质量"}
    hostile.add("=cmd|' /C calc'!A0")
    found: set[str] = set()
    for ws in book:
        for line in ws.iter_rows():
            for cell in line:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value in hostile:
                    assert cell.data_type == "s" and cell.quotePrefix, (ws.title, cell.value)
                    found.add(cell.value)
    assert found == hostile


async def test_made_for_printing_in_the_readers_script(sessions: SessionFactory) -> None:
    sc = await build(sessions)
    hans, hant = (
        load(await exported(sessions, sc, "zh_Hans")),
        load(await exported(sessions, sc, "zh_Hant")),
    )
    assert hans.sheetnames[:2] == ["个人评估结果", "单位评估结果"]
    assert hant.sheetnames[:2] == ["個人評估結果", "單位評估結果"]
    scripts = (
        (hans, "单位", "应急管理局", "应急指挥中心", "第 &P 页 共 &N 页"),
        (hant, "單位", "應急管理局", "應急指揮中心", "第 &P 頁 共 &N 頁"),
    )
    for book, unit, bureau, centre, footer in scripts:
        period = "2026年第四季度"
        assert len(book.sheetnames) == 13
        for ws in book:
            assert len(ws.title) <= 31
            title = str(ws["A1"].value)
            assert title.startswith(bureau + period) and ws.title in title
            assert ws.oddFooter.center.text == footer
            assert ws.freeze_panes is not None and ws.freeze_panes.endswith("4")  # title + headers
            assert ws.print_title_rows == "$3:$3"
            assert str(ws.print_area).endswith(f"${ws.max_row}")
            assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
            assert ws.sheet_properties.pageSetUpPr.fitToPage
            assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4 == "9"
        headers = [c.value for c in book.worksheets[0][3]]
        assert unit in headers
        units = {r[headers.index(unit)].value for r in book.worksheets[0].iter_rows(min_row=4)}
        assert centre in units  # the unit names in the reader's script too
    ws = hans["个人评估结果"]
    headers = [c.value for c in ws[3]]
    total, name = headers.index("总分") + 1, headers.index("单位") + 1
    assert all(ws.cell(r, total).number_format == "0.00" for r in range(4, ws.max_row + 1))
    # CJK counts double: 应急指挥中心 (6 characters) needs 12 columns, plus a margin
    assert ws.column_dimensions[ws.cell(3, name).column_letter].width >= 12
    rate = hans["服务对象满意度"]
    col = [c.value for c in rate[3]].index("满意率") + 1
    assert rate.cell(4, col).number_format == "0.0%"
    assert hans["原始评分"].freeze_panes == "C4"  # who was rated stays in view
