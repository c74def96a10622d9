"""The evaluation report (五(四)1): drafted from a scored, published cycle as a PDF whose text
shows what the database holds, on the command line and in the chat for the working group."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from sqlalchemy import func, select

from domain.enums import (
    CyclePhase,
    Grade,
    RectificationStatus,
    ResponseStatus,
    Satisfaction,
    UnitKind,
)
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.i18n import Translator
from infra.models import (
    AuditEntry,
    Cycle,
    OrgUnit,
    Rectification,
    Result,
    Staff,
    SurveyLink,
    SurveyResponse,
)
from services import cycles, report, results
from services.report.document import Bullets, Heading, Paragraph, Table
from services.report.typeset import typeset
from services.survey_stats import SATISFIED
from tests.drivers.cli import jixiao
from tests.factories import SHANGHAI, bind, fill_all_forms, make_org, open_cycle, survey_links

GOOD = Decimal(80)  # 良好's lower bound: JIXIAO_TRAINING_THRESHOLD's default
ADMIN = 900001  # in the settings' JIXIAO_ADMIN_IDS
UNITS = ("应急管理局", "应急指挥中心", "综合减灾科")
LEVELS = (  # the citizens' overall levels: 3 satisfied of 5, two 差评
    Satisfaction.VERY_SATISFIED,
    Satisfaction.SATISFIED,
    Satisfaction.BASIC,
    Satisfaction.DISSATISFIED,
    Satisfaction.VERY_DISSATISFIED,
)
WEB = (0, 4)  # of LEVELS, the responses given on the survey page (2 of 5: 40.0%)
PHONE = "13912345678"  # the open web 差评's number for the 回访: never in the report


async def published(sessions: SessionFactory) -> int:
    """Two units with people, every form filled in, citizens' ratings (one 差评 handled, one
    overdue), scored and published: what the working group reports on."""
    org = await make_org(sessions, people=4)
    async with sessions.begin() as s:
        chief = await s.scalar(select(Staff).where(Staff.employee_no == "L001"))
        assert chief is not None
        unit = OrgUnit(name=UNITS[2], kind=UnitKind.SECTION, parent_id=org.bureau_id)
        s.add(unit)
        await s.flush()
        head = Staff(employee_no="B001", name="孙丽", unit_id=unit.id, position="科长")
        head.supervisor_id = chief.id
        s.add(head)
        await s.flush()
        unit.head_staff_id, unit.leader_staff_id = head.id, chief.id
        for n, name in enumerate(("钱进", "郑爽", "冯刚")):
            s.add(
                Staff(
                    employee_no=f"B{n + 2:03d}",
                    name=name,
                    unit_id=unit.id,
                    position="科员",
                    supervisor_id=head.id,
                )
            )
    now = dt.datetime.now(dt.UTC)
    cycle_id = await open_cycle(sessions, peer_count=3, period=_period(now))
    # each person rated at their own level, so the grades spread
    await fill_all_forms(sessions, cycle_id, level=lambda form, n: (form.ratee_staff_id or 0) % 4)
    await survey_links(sessions, count=len(LEVELS))
    async with sessions.begin() as s:
        links = list(await s.scalars(select(SurveyLink).order_by(SurveyLink.id)))
        for n, (link, level) in enumerate(zip(links, LEVELS, strict=True)):
            response = SurveyResponse(
                link_id=link.id,
                unit_id=org.unit_id,
                target_key=f"u:{org.unit_id}",
                respondent_key=secrets.token_hex(32),
                dedupe_key=f"link:{link.id}",
                day=now.astimezone(SHANGHAI).date(),
                status=ResponseStatus.COMPLETE,
                overall=level,
                completed_at=now - dt.timedelta(minutes=n + 1),
                channel="web" if n in WEB else "telegram",
                callback_phone=PHONE if level == Satisfaction.VERY_DISSATISFIED else None,
            )
            s.add(response)
            await s.flush()
            if level.is_bad:
                s.add(
                    Rectification(
                        response_id=response.id,
                        unit_id=org.unit_id,
                        status=RectificationStatus.CLOSED
                        if level == Satisfaction.DISSATISFIED
                        else RectificationStatus.OPEN,
                        opened_at=now - dt.timedelta(days=20),
                        deadline=now - dt.timedelta(days=1),
                    )
                )
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await cycles.close(s, cycle.period, now=now, actor=cycles.Actor("test"))
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await results.score_cycle(s, cycle, tz=SHANGHAI, now=now)
        cycle.phase, cycle.published_at = CyclePhase.APPEALS, now
    return cycle_id


def _period(now: dt.datetime) -> str:
    """The quarter of ``now``: the citizens' ratings of today count in it."""
    local = now.astimezone(SHANGHAI)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


async def expected(sessions: SessionFactory, cycle_id: int) -> tuple[dict[Grade, int], str]:
    """The grade counts and the satisfaction rate, counted straight from the tables."""
    async with sessions() as s:
        grades = dict(
            (
                await s.execute(
                    select(Result.grade, func.count())
                    .where(Result.cycle_id == cycle_id, Result.staff_id.is_not(None))
                    .group_by(Result.grade)
                )
            ).all()
        )
        total = await s.scalar(
            select(func.count())
            .select_from(SurveyResponse)
            .where(SurveyResponse.excluded.is_(False))
        )
        happy = await s.scalar(
            select(func.count())
            .select_from(SurveyResponse)
            .where(SurveyResponse.overall.in_(SATISFIED), SurveyResponse.excluded.is_(False))
        )
    return {g: grades.get(g, 0) for g in Grade}, f"{100 * happy / total:.1f}%"


def pdf_text(pdf: bytes) -> tuple[int, str]:
    """(pages, text of every page), as a reader's copy-and-paste would give it."""
    document = pdfium.PdfDocument(pdf)
    try:
        pages = [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()
    return len(pages), "\n".join(pages)


def check(pdf: bytes, grades: dict[Grade, int], rate: str) -> str:
    assert pdf.startswith(b"%PDF-")
    pages, text = pdf_text(pdf)
    flat = "".join(text.split())  # lines break anywhere in Chinese
    assert pages > 0
    for name in UNITS:
        assert name in flat
    assert "绩效评估报告" in flat and f"第1页共{pages}页" in flat
    people = sum(grades.values())
    assert (
        f"共评估{people}人，其中优秀{grades[Grade.EXCELLENT]}人、良好{grades[Grade.GOOD]}人、"
        f"合格{grades[Grade.PASS]}人、不合格{grades[Grade.FAIL]}人" in flat
    )
    assert f"满意率为{rate}" in flat
    # the CJK font is embedded (a subset), not left to the reader's machine
    assert b"/FontFile2" in pdf and b"WenQuanYiMicroHei" in pdf
    return text


async def test_report_shows_the_figures_of_the_database(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    cycle_id = await published(sessions)
    grades, rate = await expected(sessions, cycle_id)
    assert sum(grades.values()) == 10 and len([n for n in grades.values() if n]) > 1
    assert rate == "60.0%"
    async with sessions() as s:
        period = await report.latest_scored(s)
        assert period is not None
        document = await report.draft(
            s, period, Translator("zh_Hans"), now=dt.datetime.now(dt.UTC), training_below=GOOD
        )
    pdf = typeset(document)
    text = check(pdf, grades, rate)
    assert "2026年" in text or "2027年" in text  # the period as people write it, no code
    async with sessions() as s:  # where the evaluations came from, counted from the table
        channels = Counter(await s.scalars(select(SurveyResponse.channel)))
    web, chat = channels["web"], channels["telegram"]
    share = f"{100 * web / (web + chat):.1f}%"
    assert (web, chat, share) == (2, 3, "40.0%")
    flat = "".join(text.split())
    assert f"其中网页评价{web}条、Telegram评价{chat}条，网页评价占{share}。" in flat
    [table] = [b for b in document.blocks if isinstance(b, Table) and "网页" in b.header]
    assert table.header[-2:] == ("网页", "Telegram")
    [row] = [r for r in table.rows if r[0] == "应急指挥中心"]  # every response is its
    assert row[1] == str(web + chat) and row[-2:] == (str(web), str(chat))
    assert PHONE not in flat and PHONE not in str(document)
    # peer raters are never named: the report speaks of people only by their own results
    (tmp_path / "report.pdf").write_bytes(pdf)


async def test_report_in_the_readers_language(sessions: SessionFactory) -> None:
    """Traditional Chinese converts the stored names; English keeps them and speaks English."""
    await published(sessions)
    async with sessions() as s:
        period = await report.latest_scored(s)
        assert period is not None
        now = dt.datetime.now(dt.UTC)
        hant = await report.draft(s, period, Translator("zh_Hant"), now=now, training_below=GOOD)
        english = await report.draft(s, period, Translator("en"), now=now, training_below=GOOD)
    _, text = pdf_text(typeset(hant))
    flat = "".join(text.split())
    assert "績效評估報告" in flat and "應急指揮中心" in flat and "第1頁" in flat
    _, text = pdf_text(typeset(english))
    assert "Performance evaluation report" in text and "应急指挥中心" in text
    assert "Page 1 of" in text and "Training needs" in text


async def test_report_wording_says_what_it_counts(sessions: SessionFactory) -> None:
    """Headers and captions name what they count; 均 only for more than one; English numbers
    its headings 1. and 1.1 and agrees in number; the training table lists only weak scores."""
    cycle_id = await published(sessions)
    grades, _rate = await expected(sessions, cycle_id)
    async with sessions() as s:
        period = await report.latest_scored(s)
        assert period is not None
        now = dt.datetime.now(dt.UTC)
        hans = await report.draft(s, period, Translator("zh_Hans"), now=now, training_below=GOOD)
        english = await report.draft(s, period, Translator("en"), now=now, training_below=GOOD)
    tables = {t.caption.split("\u3000")[0]: t for t in hans.blocks if isinstance(t, Table)}
    assert "按评价人所在单位" in tables["表2"].caption
    assert "已办结" in tables["表6"].header and "办理时间" not in tables["表6"].header
    assert "低于80分" in tables["表9"].caption
    scores = [
        Decimal(x) for row in tables["表9"].rows for x in re.findall(r"（(\d+\.\d+)）", row[3])
    ]
    assert all(score < 80 for score in scores)
    text = _prose(hans)
    assert "经申诉复核剔除" not in text and "经复核剔除" in text
    if grades[Grade.FAIL]:
        assert ("均应制定" in text) == (grades[Grade.FAIL] > 1)
    headings = [h for h in english.blocks if isinstance(h, Heading)]
    assert headings and all(
        re.match(r"\d+\. " if h.level == 1 else r"\d+\.\d+ ", h.text) for h in headings
    ), [h.text for h in headings]
    prose = " ".join(b.text for b in english.blocks if isinstance(b, Paragraph))
    assert not re.search(r"\b1 (appeals|negative ratings|valid evaluations)\b", prose), prose


def _prose(document: report.Document) -> str:
    """The report's paragraphs and bullet points as one text."""
    text = "".join(b.text for b in document.blocks if isinstance(b, Paragraph))
    return text + "".join(i for b in document.blocks if isinstance(b, Bullets) for i in b.items)


async def test_one_person_graded_fail_reads_in_the_singular(sessions: SessionFactory) -> None:
    """Exactly one 不合格: "1人", no 均 (each), no plural calque, in each language."""
    cycle_id = await published(sessions)
    async with sessions.begin() as s:
        people = list(
            await s.scalars(
                select(Result)
                .where(Result.cycle_id == cycle_id, Result.staff_id.is_not(None))
                .order_by(Result.id)
            )
        )
        for n, result in enumerate(people):
            result.grade = Grade.FAIL if n == 0 else Grade.PASS
    async with sessions() as s:
        period = await report.latest_scored(s)
        assert period is not None
        now = dt.datetime.now(dt.UTC)
        hans, hant, english = [
            _prose(await report.draft(s, period, Translator(lang), now=now, training_below=GOOD))
            for lang in ("zh_Hans", "zh_Hant", "en")
        ]
    assert "1人评为不合格，应制定绩效改进计划" in hans
    assert "不合格1人" in hans  # the grade counts: the count after the grade, as 通报 write it
    assert "1人評為不合格，應制定績效改進計畫" in hant
    for text in (hans, hant):
        assert "均应" not in text and "均應" not in text and "人们" not in text
        assert "人們" not in text and "一个人" not in text
    assert "One person was graded fail: an improvement plan should be drawn up" in english
    assert "1 people" not in english and "people were graded fail" not in english


async def test_the_training_threshold_is_a_setting(sessions: SessionFactory) -> None:
    """JIXIAO_TRAINING_THRESHOLD decides who is listed for training (六(三)1): at 80 (the
    default) and at 90 the table lists exactly the weakest dimensions below it, and says so."""
    await published(sessions)

    async def training(below: Decimal) -> tuple[str, list[tuple[str, Decimal]]]:
        async with sessions() as s:
            period = await report.latest_scored(s)
            assert period is not None
            document = await report.draft(
                s, period, Translator("zh_Hans"), now=dt.datetime.now(dt.UTC), training_below=below
            )
        table = next(
            t for t in document.blocks if isinstance(t, Table) and t.caption.startswith("表9")
        )
        listed = [
            (name, Decimal(score))
            for row in table.rows
            for name, score in re.findall(r"([^、（）]+)（(\d+\.\d+)）", row[3])
        ]
        return table.caption, listed

    caption80, at80 = await training(GOOD)
    caption90, at90 = await training(Decimal(90))
    assert "低于80分" in caption80 and "低于90分" in caption90
    assert all(score < 80 for _name, score in at80)
    assert all(score < 90 for _name, score in at90)
    assert set(at80) < set(at90)  # raising the bar lists more people, the same ones among them
    assert any(score >= 80 for _name, score in at90)


async def test_a_cycle_not_scored_has_no_report(sessions: SessionFactory) -> None:
    await make_org(sessions)
    await open_cycle(sessions)
    async with sessions() as s:
        with pytest.raises(report.NotScored):
            await report.draft(
                s, "2026Q4", Translator("zh_Hans"), now=dt.datetime.now(dt.UTC), training_below=GOOD
            )
        with pytest.raises(report.UnknownPeriod):
            await report.draft(
                s, "2025Q1", Translator("zh_Hans"), now=dt.datetime.now(dt.UTC), training_below=GOOD
            )


@pytest.mark.slow
async def test_cli_writes_the_report(sessions: SessionFactory, db_url: str, tmp_path: Path) -> None:
    cycle_id = await published(sessions)
    grades, rate = await expected(sessions, cycle_id)
    async with sessions() as s:
        period = await s.scalar(select(Cycle.period).where(Cycle.id == cycle_id))
    out = tmp_path / "报告.pdf"
    done = jixiao(
        "report", str(period), "--out", str(out), cwd=tmp_path, JIXIAO_DATABASE_URL=db_url
    )
    assert done.returncode == 0, done.stderr
    check(out.read_bytes(), grades, rate)
    async with sessions() as s:
        written = (
            await s.scalars(select(AuditEntry).where(AuditEntry.action == "report.written"))
        ).all()
    assert [(e.actor_label, e.object_id) for e in written] == [("cli", str(period))]
    missing = jixiao(
        "report", "2019Q1", "--out", str(out), cwd=tmp_path, JIXIAO_DATABASE_URL=db_url
    )
    assert missing.returncode == 1 and "2019" in missing.stderr


async def test_admin_gets_the_report_and_others_are_refused(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:  # type: ignore[no-untyped-def]
    cycle_id = await published(sessions)
    grades, rate = await expected(sessions, cycle_id)
    async with sessions() as s:
        staff_id = await s.scalar(select(Staff.id).where(Staff.employee_no == "A002"))
    assert staff_id is not None
    await bind(sessions, 9201, staff_id)
    clerk = server.user(9201, language_code="zh-hans")
    await clerk.send("/report")
    await clerk.expect_text("仅限")
    assert not [m for m in clerk.messages if m.kind == "document"]

    admin = server.user(ADMIN, language_code="zh-hans")
    await admin.send("/report")
    await admin.expect_text("PDF")
    await admin.wait_until(lambda: any(m.kind == "document" for m in admin.messages), timeout=120)
    (sent,) = [m for m in admin.messages if m.kind == "document"]
    assert sent.document is not None and (sent.document_filename or "").endswith(".pdf")
    check(sent.document, grades, rate)
    async with sessions() as s:
        actions = list(await s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert "access.denied" in actions and "report.sent" in actions
