"""The annual roll-up (四(一)) and what it feeds (六): combined totals, consecutive-year
flags, award eligibility, the CLI table and CSV, ``/annual`` and ``/history`` in the chat.

Cycles and results are written straight into the database (published cycles with
hand-picked totals), so every expected number below is computed by hand.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from conversations.annual import history_text, summary_text
from domain.enums import CycleKind, CyclePhase, Grade, UnitKind
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.i18n import Translator
from infra.models import AuditEntry, Cycle, OrgUnit, Result, Staff, TemplateVersion
from scoring import grade_for
from services.annual import (
    AnnualReport,
    AnnualResult,
    AwardEntry,
    FlagKind,
    annual_report,
    annual_results,
    person_history,
)
from tests.drivers import annual as annual_chat
from tests.drivers.cli import jixiao
from tests.factories import bind, make_org

ADMIN = 900001
NOW = dt.datetime(2027, 1, 20, 8, 0, tzinfo=dt.UTC)
D = Decimal


class Bureau:
    """Staff and unit ids of the test bureau."""

    def __init__(self, ids: dict[str, int], units: dict[str, int], chief: int) -> None:
        self.ids, self.units, self.chief = ids, units, chief

    def p(self, who: str) -> str:
        return f"p:{self.ids[who]}"

    def u(self, unit: str) -> str:
        return f"u:{self.units[unit]}"


# totals per subject and period ("2026" is the annual assessment); grades follow the bands
PEOPLE = {
    #         Q1       Q2       Q3    Q4    2026    2025
    "zhang": ("92", "94", "90", "96", "95", "91"),  # 优秀 two years running
    "liu": ("95", "55", "98", "97", "99", "85"),  # 优秀 for 2026, but a 不合格 quarter
    "chen": ("58", "59", "70", "72", "55", "50"),  # 不合格 two years, two 不合格 quarters
    "yang": ("81.33", "82.17", "80", "85", "84.5", None),
    "head": ("88", "90", "86", "84", None, None),  # no annual assessment
    "zhao": (None, None, None, None, "89", None),  # only the annual assessment
}
UNITS = {
    "center": ("91", "92", "93", "94", "95", None),
    "flood": ("95", "58", "95", "95", "96", None),  # 优秀 for the year, a 不合格 quarter
}
PERIODS = ("2026Q1", "2026Q2", "2026Q3", "2026Q4", "2026", "2025")


async def _bureau(sessions: SessionFactory) -> Bureau:
    org = await make_org(sessions, people=4)
    async with sessions.begin() as s:
        flood = OrgUnit(name="防汛抗旱科", kind=UnitKind.SECTION, parent_id=org.bureau_id)
        s.add(flood)
        await s.flush()
        zhao = Staff(employee_no="B002", name="赵磊", unit_id=flood.id, position="科员")
        s.add(zhao)
        await s.flush()
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
        ids = dict(zip(["zhang", "liu", "chen", "yang"], org.staff_ids, strict=True))
        ids.update(head=org.head_id, zhao=zhao.id)
        return Bureau(ids, {"center": org.unit_id, "flood": flood.id}, int(chief or 0))


async def _publish(
    sessions: SessionFactory,
    bureau: Bureau,
    *,
    periods: tuple[str, ...] = PERIODS,
    phases: dict[str, CyclePhase] | None = None,
) -> None:
    """Cycles of ``periods`` with the totals above; published unless ``phases`` says otherwise."""
    phases = phases or {}
    async with sessions.begin() as s:
        template = TemplateVersion(name="测试指标体系", digest="t" * 64, content={})
        s.add(template)
        await s.flush()
        staff_units = dict(
            (
                await s.execute(
                    select(Staff.id, Staff.unit_id).where(Staff.id.in_(bureau.ids.values()))
                )
            ).all()
        )
        for period in periods:
            phase = phases.get(period, CyclePhase.CLOSED)
            published = phase in (CyclePhase.PUBLISHED, CyclePhase.APPEALS, CyclePhase.CLOSED)
            cycle = Cycle(
                period=period,
                kind=CycleKind.ANNUAL if len(period) == 4 else CycleKind.QUARTER,
                phase=phase,
                template_id=template.id,
                deadline=NOW,
                published_at=NOW if published else None,
            )
            s.add(cycle)
            await s.flush()
            column = PERIODS.index(period)
            for who, totals in PEOPLE.items():
                if totals[column] is not None:
                    staff_id = bureau.ids[who]
                    s.add(
                        _result(
                            cycle,
                            f"p:{staff_id}",
                            staff_id,
                            staff_units[staff_id],
                            totals[column],
                            published,
                        )
                    )
            for unit, totals in UNITS.items():
                if totals[column] is not None:
                    unit_id = bureau.units[unit]
                    s.add(_result(cycle, f"u:{unit_id}", None, unit_id, totals[column], published))
        await s.flush()
        # ranks in each cycle, as scoring would have written them (in-unit for people)
        for cycle in await s.scalars(select(Cycle)):
            rows = list(await s.scalars(select(Result).where(Result.cycle_id == cycle.id)))
            for r in rows:
                peers = [x for x in rows if x.staff_id is not None and x.unit_id == r.unit_id]
                if r.staff_id is not None:
                    r.rank_in_unit = 1 + sum(1 for x in peers if x.total > r.total)


def _result(
    cycle: Cycle, key: str, staff_id: int | None, unit_id: int, total: str, published: bool
) -> Result:
    return Result(
        cycle_id=cycle.id,
        subject_key=key,
        staff_id=staff_id,
        unit_id=unit_id,
        total=D(total),
        grade=grade_for(D(total)),
        breakdown={},
        published_at=NOW if published else None,
    )


async def test_combined_totals_grades_and_ranks(sessions: SessionFactory) -> None:
    bureau = await _bureau(sessions)
    await _publish(sessions, bureau)
    async with sessions() as s:
        found = {r.subject_key: r for r in await annual_results(s, 2026)}
    zhang = found[bureau.p("zhang")]
    # 0.4 × (92 + 94 + 90 + 96) / 4 + 0.6 × 95 = 0.4 × 93 + 57 = 94.20
    assert zhang.total == D("94.20") and zhang.grade is Grade.EXCELLENT
    assert zhang.quarters == {
        "2026Q1": D("92"),
        "2026Q2": D("94"),
        "2026Q3": D("90"),
        "2026Q4": D("96"),
    }
    assert zhang.annual == D("95") and zhang.name == "张伟" and zhang.unit == "应急指挥中心"
    # 0.4 × 86.25 + 0.6 × 99 = 34.50 + 59.40
    assert found[bureau.p("liu")].total == D("93.90")
    # 0.4 × 64.75 + 0.6 × 55 = 25.90 + 33.00
    assert found[bureau.p("chen")].total == D("58.90")
    assert found[bureau.p("chen")].grade is Grade.FAIL
    # (81.33 + 82.17 + 80 + 85) / 4 = 82.125; 0.4 × 82.125 + 0.6 × 84.5 = 32.85 + 50.70
    assert found[bureau.p("yang")].total == D("83.55")
    assert found[bureau.p("yang")].grade is Grade.GOOD
    # no annual assessment: the quarters count fully; no quarter: the annual one does
    head = found[bureau.p("head")]
    assert head.annual is None and head.total == D("87.00")
    zhao = found[bureau.p("zhao")]
    assert zhao.quarters == {} and zhao.total == D("89.00") and zhao.unit == "防汛抗旱科"
    # units: 0.4 × 92.5 + 0.6 × 95 = 94.00; 0.4 × 85.75 + 0.6 × 96 = 91.90
    assert found[bureau.u("center")].total == D("94.00")
    assert found[bureau.u("flood")].total == D("91.90")
    # ranks: people across the bureau and in their unit; units among units
    people = [k for k, r in found.items() if not r.is_unit]
    assert people == [bureau.p(w) for w in ("zhang", "liu", "zhao", "head", "yang", "chen")]
    assert [found[k].rank_overall for k in people] == [1, 2, 3, 4, 5, 6]
    assert [found[k].rank_in_unit for k in people] == [1, 2, 1, 3, 4, 5]
    assert (
        found[bureau.u("center")].rank_overall == 1
        and found[bureau.u("center")].rank_in_unit is None
    )
    assert found[bureau.u("flood")].rank_overall == 2
    # the weights are configurable: 50 : 50 gives 0.5 × 93 + 0.5 × 95
    async with sessions() as s:
        even = {r.subject_key: r for r in await annual_results(s, 2026, weights=(50, 50))}
    assert even[bureau.p("zhang")].total == D("94.00")


async def test_unpublished_annual_cycle_renormalises_to_the_quarters(
    sessions: SessionFactory,
) -> None:
    bureau = await _bureau(sessions)
    # the annual assessment is still with the leadership group and Q4 is being scored
    await _publish(
        sessions,
        bureau,
        periods=PERIODS[:5],
        phases={"2026": CyclePhase.REVIEW, "2026Q4": CyclePhase.SCORING},
    )
    async with sessions() as s:
        found = {r.subject_key: r for r in await annual_results(s, 2026)}
        report = await annual_report(s, 2026)
    zhang = found[bureau.p("zhang")]
    assert zhang.annual is None and set(zhang.quarters) == {"2026Q1", "2026Q2", "2026Q3"}
    assert zhang.total == D("92.00")  # (92 + 94 + 90) / 3, all the weight on the quarters
    assert bureau.p("zhao") not in found  # only an unpublished annual result
    assert not report.annual_published
    assert report.quarter_periods == ("2026Q1", "2026Q2", "2026Q3")


async def test_flags_and_award_lists(sessions: SessionFactory) -> None:
    bureau = await _bureau(sessions)
    await _publish(sessions, bureau)
    async with sessions() as s:
        report = await annual_report(s, 2026)
        stricter = await annual_report(s, 2026, excellent_years=3, fail_years=3)
        only_years = await annual_report(s, 2026, fail_quarters=3)
        neither = await annual_report(s, 2026, fail_years=3, fail_quarters=3)
    priority = report.flags_of(FlagKind.PRIORITY)
    assert [(f.result.subject_key, f.years) for f in priority] == [
        (bureau.p("zhang"), (2025, 2026))
    ]
    review = report.flags_of(FlagKind.REVIEW)
    assert [(f.result.subject_key, f.years, f.quarters) for f in review] == [
        (bureau.p("chen"), (2025, 2026), ("2026Q1", "2026Q2"))
    ]
    assert not stricter.flags_of(FlagKind.PRIORITY)
    assert [f.quarters for f in stricter.flags_of(FlagKind.REVIEW)] == [("2026Q1", "2026Q2")]
    assert [(f.years, f.quarters) for f in only_years.flags_of(FlagKind.REVIEW)] == [
        ((2025, 2026), ())
    ]
    assert not neither.flags_of(FlagKind.REVIEW)
    # 先进个人: 优秀 for the year; 刘芳 is 优秀 too, but her 不合格 Q2 costs her the year
    individuals = {e.result.subject_key: e for e in report.individuals}
    assert set(individuals) == {bureau.p("zhang"), bureau.p("liu")}
    assert individuals[bureau.p("zhang")].eligible
    assert individuals[bureau.p("liu")].excluded_by == ("2026Q2",)
    assert individuals[bureau.p("liu")].result.grade is Grade.EXCELLENT
    # 先进集体: the same for units
    collectives = {e.result.subject_key: e for e in report.collectives}
    assert collectives[bureau.u("center")].eligible
    assert collectives[bureau.u("flood")].excluded_by == ("2026Q2",)
    # the text says why
    text = summary_text(report, Translator("zh_Hans"))
    assert "应急管理先进个人" in text and "应急管理先进集体" in text
    assert "刘芳" in text and "2026年第二季度" in text and "六(四)2" in text
    english = summary_text(report, Translator("en"))
    assert (
        "excluded: Fail in Q2 2026" in english
        and "Excellent 2 years running (2025, 2026)" in english
    )


def test_summary_fits_one_message() -> None:
    def person(n: int) -> AnnualResult:
        return AnnualResult(
            f"p:{n}",
            f"测试人员{n:03d}",
            "应急管理局综合减灾与风险监测科",
            {},
            D(95),
            D(95),
            Grade.EXCELLENT,
            1,
            1,
            staff_id=n,
            unit_id=1,
            year=2026,
        )

    people = [person(n) for n in range(400)]
    report = AnnualReport(
        year=2026,
        weights=(D(40), D(60)),
        quarter_periods=(),
        annual_published=True,
        results=people,
        flags=[],
        individuals=[
            AwardEntry(p, ("2026Q1",) if p.staff_id and p.staff_id % 2 else ()) for p in people
        ],
        collectives=[],
    )
    for locale in ("zh_Hans", "zh_Hant", "en"):
        text = summary_text(report, Translator(locale))
        assert len(text) <= 4000
        assert "400" in text  # the distribution counts everyone even when the list is cut


async def test_person_history_only_their_own(sessions: SessionFactory) -> None:
    bureau = await _bureau(sessions)
    await _publish(sessions, bureau)
    async with sessions() as s:
        history = await person_history(s, bureau.ids["liu"])
    assert [e.period for e in history.entries] == [
        "2025",
        "2026Q1",
        "2026Q2",
        "2026Q3",
        "2026Q4",
        "2026",
    ]
    assert [e.total for e in history.entries] == [
        D(x) for x in ("85", "95", "55", "98", "97", "99")
    ]
    assert history.years[2026].total == D("93.90") and history.years[2025].total == D("85.00")
    assert history.years[2026].rank_in_unit == 2
    text = history_text(history, Translator("zh_Hans"), name="刘芳")
    assert "93.90" in text and "55.00" in text and "不合格" in text


async def test_cli_table_and_csv(db_url: str, sessions: SessionFactory, tmp_path: Path) -> None:
    bureau = await _bureau(sessions)
    await _publish(sessions, bureau)
    out = tmp_path / "annual.csv"
    result = jixiao("annual", "2026", "--csv", str(out), cwd=tmp_path, JIXIAO_DATABASE_URL=db_url)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    lines = text.splitlines()
    zhang = next(line for line in lines if line.startswith("张伟"))
    assert zhang.split() == [
        "张伟",
        "应急指挥中心",
        "92.00",
        "94.00",
        "90.00",
        "96.00",
        "95.00",
        "94.20",
        "优秀",
        "1",
        "1",
    ]
    head = next(line for line in lines if line.startswith("李明"))
    assert head.split() == [
        "李明",
        "应急指挥中心",
        "88.00",
        "90.00",
        "86.00",
        "84.00",
        "—",
        "87.00",
        "良好",
        "3",
        "4",
    ]
    assert "应急管理先进个人" in text and "应急管理先进集体" in text
    assert any("刘芳" in line and "2026年第二季度" in line and "六(四)2" in line for line in lines)
    assert any("张伟" in line and "2025" in line and "六(一)2" in line for line in lines)
    assert any("陈静" in line and "六(二)2" in line for line in lines)
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["类型", "工号", "姓名", "单位"] and "2026年第一季度" in rows[0]
    by_name = {row[2]: row for row in rows[1:]}
    assert by_name["张伟"][1] == "A002" and "94.20" in by_name["张伟"]
    assert by_name["防汛抗旱科"][0] == "单位" and "2026年第二季度" in by_name["防汛抗旱科"][-1]
    # a quarter is not a year; a year without results says so
    assert jixiao("annual", "2026Q1", cwd=tmp_path, JIXIAO_DATABASE_URL=db_url).returncode == 1
    empty = jixiao("annual", "2024", cwd=tmp_path, JIXIAO_DATABASE_URL=db_url)
    assert empty.returncode == 1 and "2024" in empty.stderr


async def test_history_shows_only_ones_own_results(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:  # type: ignore[no-untyped-def]
    bureau = await _bureau(sessions)
    await _publish(sessions, bureau)
    await bind(sessions, 9301, bureau.ids["liu"])
    liu = server.user(9301, language_code="zh-hans")
    mine = await annual_chat.history(liu, "刘芳")
    text = mine.text or ""
    for own in (
        "2025",
        "2026年第一季度",
        "2026年第二季度",
        "55.00",
        "99.00",
        "93.90",
        "85.00",
        "不合格",
    ):
        assert own in text, own
    # nobody else's results: not 张伟's totals, nor the unit's, nor anyone's name
    for other in ("张伟", "94.20", "92.00", "96.00", "91.00", "陈静", "58.90", "94.00"):
        assert other not in text, other


async def test_staff_may_not_see_the_annual_results(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:  # type: ignore[no-untyped-def]
    bureau = await _bureau(sessions)
    await _publish(sessions, bureau)
    await bind(sessions, 9301, bureau.ids["liu"])
    liu = server.user(9301, language_code="zh-hans")
    refusal = await annual_chat.summary(liu, "领导小组", year=2026)
    assert not annual_chat.offers_csv(refusal)
    async with sessions() as s:
        denied = await s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "access.denied")
        )
    assert denied == 1
    # the CSV button is re-checked: a staff member pressing it gets nothing
    await annual_chat.press_csv(liu, 2026, on=refusal)
    assert not any(m.kind == "document" for m in liu.messages)


async def test_the_working_group_gets_the_summary_and_the_csv(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:  # type: ignore[no-untyped-def]
    bureau = await _bureau(sessions)
    await _publish(sessions, bureau)
    admin = server.user(ADMIN, language_code="zh-hans")
    summary = await annual_chat.summary(admin, "应急管理先进个人", year=2026)
    assert "张伟" in (summary.text or "") and "六(四)2" in (summary.text or "")
    assert len(summary.text or "") <= 4096
    document = await annual_chat.download_csv(admin, summary)
    assert document.document and document.document.startswith(b"\xef\xbb\xbf")
    assert "刘芳".encode() in document.document


async def test_a_leader_sees_the_latest_year_in_their_language(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:  # type: ignore[no-untyped-def]
    bureau = await _bureau(sessions)
    await _publish(sessions, bureau)
    await bind(sessions, 9303, bureau.chief)
    leader = server.user(9303, language_code="en")
    english = await annual_chat.summary(leader, "Annual results 2026")  # the latest year
    assert "Advanced individual in emergency management" in (english.text or "")
    assert annual_chat.offers_csv(english)
    # a button of an older format is answered as expired; nothing is sent
    await annual_chat.press_old_format(leader, on=english)
    assert "expired" in (leader.callback_answers[-1].get("text") or "")
    assert not any(m.kind == "document" for m in leader.messages)
