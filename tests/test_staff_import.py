"""Staff onboarding from the roster file: the admin's sheet becomes the org tree (二)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from domain.enums import Role, UnitKind
from infra.db import SessionFactory
from infra.i18n import Translator
from infra.models import AuditEntry, OrgUnit, RoleGrant, Staff, TelegramAccount
from services.staff_import import (
    HEADERS,
    Col,
    FieldChange,
    ImportPlan,
    PersonRef,
    Roster,
    RosterInvalid,
    apply_import,
    parse_roster,
    plan_import,
)
from services.staff_import import errors as msg
from services.staff_import.plan import FILE_TOTALS, NO_CHANGES

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SAMPLE_CSV = (EXAMPLES / "staff.csv").read_bytes()
SAMPLE_XLSX = (EXAMPLES / "staff.xlsx").read_bytes()
T0 = dt.datetime(2026, 3, 31, 9, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=30)
ZH = Translator("zh_Hans")
EN = Translator("en")

Rows = list[list[str]]


def sample_rows() -> Rows:
    return list(csv.reader(io.StringIO(SAMPLE_CSV.decode("utf-8"))))


HEADER = sample_rows()[0]


def to_csv(rows: Rows, encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode(encoding)


def edit(rows: Rows, employee_no: str, column: str, value: str) -> Rows:
    """Set one cell of the person row with ``employee_no``; ``column`` is the zh_Hans header."""
    next(r for r in rows if r[0] == employee_no)[HEADER.index(column)] = value
    return rows


def edit_unit(rows: Rows, unit: str, column: str, value: str) -> Rows:
    """Set a column on every row of ``unit`` (a unit's parent and type must agree everywhere)."""
    for r in rows[1:]:
        if r[HEADER.index("单位")] == unit:
            r[HEADER.index(column)] = value
    return rows


def without(rows: Rows, *employee_nos: str) -> Rows:
    return [r for r in rows if r[0] not in employee_nos]


def roster(rows: Rows | None = None) -> Roster:
    return parse_roster(to_csv(rows or sample_rows()), "staff.csv")


async def run_import(sessions: SessionFactory, r: Roster, now: dt.datetime = T0) -> ImportPlan:
    async with sessions.begin() as s:
        return await apply_import(s, r, actor_label="cli:test", now=now)


async def staff_by_no(sessions: SessionFactory) -> dict[str, Staff]:
    async with sessions() as s:
        return {p.employee_no: p for p in await s.scalars(select(Staff))}


async def units_by_name(sessions: SessionFactory) -> dict[str, OrgUnit]:
    async with sessions() as s:
        return {u.name: u for u in await s.scalars(select(OrgUnit))}


async def grants(sessions: SessionFactory) -> set[tuple[str, Role]]:
    async with sessions() as s:
        rows = await s.execute(
            select(Staff.employee_no, RoleGrant.role).join(Staff, Staff.id == RoleGrant.staff_id)
        )
        return {(no, role) for no, role in rows}


# --- the file -------------------------------------------------------------------------------


def test_sample_csv_and_xlsx_give_the_same_roster() -> None:
    from_csv = parse_roster(SAMPLE_CSV, "staff.csv")
    from_xlsx = parse_roster(SAMPLE_XLSX, "staff.xlsx")
    assert from_csv == from_xlsx
    assert len(from_csv.units) == 9 and len(from_csv.people) == 46
    assert from_csv.units[0].kind is UnitKind.BUREAU and from_csv.units[0].parent is None
    assert all(u.name in from_csv.heads() for u in from_csv.units)
    chief = [p for p in from_csv.people if p.leadership is Role.LEADER_CHIEF]
    assert [p.name for p in chief] == ["张建国"]
    assert sum(p.admin for p in from_csv.people) == 2


def test_gb18030_and_bom_csv_parse_like_utf8() -> None:
    expected = roster()
    text = SAMPLE_CSV.decode("utf-8")
    assert parse_roster(text.encode("gb18030"), "导出.csv") == expected
    assert parse_roster(b"\xef\xbb\xbf" + SAMPLE_CSV, "staff.csv") == expected


def test_traditional_and_english_headers_and_values_are_accepted() -> None:
    expected = roster()
    by_zh = {h.zh_hans: h for h in HEADERS.values()}
    values = {
        "直属事业单位": "直屬事業單位",
        "派出机构": "派出機構",
        "组长": "組長",
        "副组长": "副組長",
        "成员": "成員",
        "科室": "section",
        "是": "Y",
    }
    for title in ("zh_hant", "en"):
        rows = sample_rows()
        rows[0] = [f" {getattr(by_zh[h], title).upper()} " for h in rows[0]]
        rows = [[*r, "备注"] for r in rows]  # an unknown extra column is ignored
        rows[1:] = [[values.get(c, c) for c in r] for r in rows[1:]]
        assert roster(rows) == expected


def test_xlsx_numbers_become_text_and_blank_rows_are_skipped() -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["工号", "姓名", "单位", "上级单位", "单位类型", "直接上级工号", "单位负责人"])
    ws.append([1001, "张建国", "应急管理局", None, "局", None, True])
    ws.append([])
    ws.append([1002.0, "李文华", "应急管理局", None, None, 1001, None])
    buf = io.BytesIO()
    wb.save(buf)
    r = parse_roster(buf.getvalue(), "upload.xlsx")
    assert [(p.employee_no, p.supervisor_no, p.unit_head, p.row) for p in r.people] == [
        ("1001", None, True, 2),
        ("1002", "1001", False, 4),
    ]


def test_title_rows_above_the_header_are_skipped() -> None:
    rows = [["应急管理局工作人员花名册"], ["（2026年3月）", ""], *sample_rows()]
    r = roster(rows)
    assert len(r.people) == 46 and r.people[0].row == 4  # numbered as the sheet shows them


def test_unit_only_row_declares_a_unit_without_people() -> None:
    rows = [*sample_rows(), ["", "", "应急物资储备库", "应急管理局", "直属事业单位"]]
    r = roster(rows)
    assert r.units[-1].name == "应急物资储备库" and r.units[-1].row == 48
    assert "应急物资储备库" not in r.heads()


BadFile = Callable[[], Rows]
CASES: list[tuple[str, BadFile, tuple[int | None, Col | None, str]]] = [
    (
        "duplicate employee_no",
        lambda: edit(sample_rows(), "YJ046", "工号", "YJ045"),
        (47, Col.EMPLOYEE_NO, msg.DUPLICATE_EMPLOYEE_NO),
    ),
    (
        "bad employee_no",
        lambda: edit(sample_rows(), "YJ009", "工号", "YJ 009"),
        (10, Col.EMPLOYEE_NO, msg.BAD_EMPLOYEE_NO),
    ),
    (
        "missing name",
        lambda: edit(sample_rows(), "YJ009", "姓名", ""),
        (10, Col.NAME, msg.REQUIRED),
    ),
    (
        "long name",
        lambda: edit(sample_rows(), "YJ009", "姓名", "周" * 65),
        (10, Col.NAME, msg.TOO_LONG),
    ),
    (
        "unknown supervisor",
        lambda: edit(sample_rows(), "YJ012", "直接上级工号", "A999"),
        (13, Col.SUPERVISOR_NO, msg.SUPERVISOR_UNKNOWN),
    ),
    (
        "own supervisor",
        lambda: edit(sample_rows(), "YJ008", "直接上级工号", "YJ008"),
        (9, Col.SUPERVISOR_NO, msg.SUPERVISOR_SELF),
    ),
    (
        "supervisor cycle",
        lambda: edit(sample_rows(), "YJ005", "直接上级工号", "YJ006"),
        (6, Col.SUPERVISOR_NO, msg.SUPERVISOR_CYCLE),
    ),
    (
        "two heads",
        lambda: edit(sample_rows(), "YJ006", "单位负责人", "是"),
        (7, Col.UNIT_HEAD, msg.SECOND_HEAD),
    ),
    (
        "bad yes/no",
        lambda: edit(sample_rows(), "YJ009", "工作小组", "也许"),
        (10, Col.ADMIN, msg.BAD_BOOLEAN),
    ),
    (
        "unknown parent",
        lambda: edit_unit(sample_rows(), "应急指挥中心", "上级单位", "应急管理厅"),
        (11, Col.PARENT_UNIT, msg.PARENT_UNKNOWN),
    ),
    (
        "bad kind",
        lambda: edit(sample_rows(), "YJ041", "单位类型", "街道"),
        (42, Col.UNIT_KIND, msg.BAD_KIND),
    ),
    (
        "kind differs",
        lambda: edit(sample_rows(), "YJ041", "单位类型", "科室"),
        (42, Col.UNIT_KIND, msg.UNIT_CONFLICT),
    ),
    (
        "second root",
        lambda: edit_unit(sample_rows(), "城西应急管理所", "上级单位", ""),
        (44, Col.PARENT_UNIT, msg.SECOND_ROOT),
    ),
    (
        "root not bureau",
        lambda: edit_unit(sample_rows(), "应急管理局", "单位类型", "科室"),
        (2, Col.UNIT_KIND, msg.ROOT_NOT_BUREAU),
    ),
    (
        "unit cycle",
        lambda: edit_unit(
            edit_unit(sample_rows(), "办公室", "上级单位", "应急指挥中心"),
            "应急指挥中心",
            "上级单位",
            "办公室",
        ),
        (6, Col.PARENT_UNIT, msg.PARENT_CYCLE),
    ),
    (
        "leads unknown unit",
        lambda: edit(sample_rows(), "YJ002", "分管单位", "办公室、后勤科"),
        (3, Col.LEADS_UNITS, msg.LEADS_UNKNOWN),
    ),
    (
        "unit led twice",
        lambda: edit(sample_rows(), "YJ003", "分管单位", "防汛抗旱科;办公室"),
        (4, Col.LEADS_UNITS, msg.SECOND_LEADER),
    ),
    (
        "two chiefs",
        lambda: edit(sample_rows(), "YJ002", "领导小组", "组长"),
        (3, Col.LEADERSHIP, msg.SECOND_CHIEF),
    ),
    (
        "bad seat",
        lambda: edit(sample_rows(), "YJ002", "领导小组", "顾问"),
        (3, Col.LEADERSHIP, msg.BAD_LEADERSHIP),
    ),
    (
        "person column on a unit row",
        lambda: [*sample_rows(), ["", "", "后勤科", "应急管理局", "科室", "科员"]],
        (48, Col.POSITION, msg.NOT_A_PERSON),
    ),
    (
        "missing required column",
        lambda: [r[:3] + r[4:] for r in sample_rows()],
        (None, Col.PARENT_UNIT, msg.MISSING_COLUMN),
    ),
    ("header only", lambda: sample_rows()[:1], (None, None, msg.NO_PEOPLE)),
]


@pytest.mark.parametrize(("bad", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_one_bad_row_refuses_the_file_and_names_the_row(
    bad: BadFile, expected: tuple[int | None, Col | None, str]
) -> None:
    with pytest.raises(RosterInvalid) as caught:
        roster(bad())
    assert [(e.row, e.column, e.message) for e in caught.value.errors] == [expected]


def test_every_problem_is_listed_in_sheet_order() -> None:
    rows = edit(sample_rows(), "YJ012", "直接上级工号", "A999")
    edit(rows, "YJ006", "单位负责人", "是")
    rows = without(rows, "YJ001")  # no chief, root has no head: both allowed; YJ002-4 lose theirs
    with pytest.raises(RosterInvalid) as caught:
        roster(rows)
    problems = [(e.row, e.column) for e in caught.value.errors]
    assert problems == [
        (2, Col.SUPERVISOR_NO),
        (3, Col.SUPERVISOR_NO),
        (4, Col.SUPERVISOR_NO),
        (6, Col.UNIT_HEAD),
        (12, Col.SUPERVISOR_NO),
    ]
    text = caught.value.render(EN, limit=2).splitlines()
    assert len(text) == 3 and "3" in text[-1]


def test_errors_render_in_the_users_language() -> None:
    with pytest.raises(RosterInvalid) as caught:
        roster(edit(sample_rows(), "YJ012", "直接上级工号", "A999"))
    (error,) = caught.value.errors
    assert error.params == {"value": "A999"}
    assert str(error) == "Row 13 (supervisor_no): no person with employee number A999."
    assert all(part in error.render(ZH) for part in ("13", "直接上级工号", "A999"))
    assert "直接上級工號" in error.render(Translator("zh_Hant"))


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "staff.csv", msg.EMPTY_FILE),
        (b" \r\n,,,\r\n", "staff.csv", msg.EMPTY_FILE),
        (b"\xd0\xcf\x11\xe0" + b"\0" * 64, "staff.xls", msg.OLD_XLS),
        (b"PK\x03\x04 broken", "staff.xlsx", msg.BAD_XLSX),
        (b"\x80\x81\xff", "staff.csv", msg.BAD_ENCODING),  # no BOM: UTF-16 is read too
    ],
)
def test_unreadable_files_are_refused(data: bytes, name: str, message: str) -> None:
    with pytest.raises(RosterInvalid) as caught:
        parse_roster(data, name)
    assert [(e.row, e.message) for e in caught.value.errors] == [(None, message)]


# --- the database ---------------------------------------------------------------------------


async def test_sample_import_builds_the_bureau(sessions: SessionFactory) -> None:
    plan = await run_import(sessions, parse_roster(SAMPLE_XLSX, "staff.xlsx"))
    assert plan.counts() == {
        "units_created": 9,
        "units_updated": 0,
        "units_reactivated": 0,
        "units_deactivated": 0,
        "people_created": 46,
        "people_updated": 0,
        "people_reactivated": 0,
        "people_deactivated": 0,
        "roles_granted": 14,
        "roles_revoked": 0,
    }
    units, staff = await units_by_name(sessions), await staff_by_no(sessions)
    assert len(units) == 9 and len(staff) == 46
    bureau, office = units["应急管理局"], units["办公室"]
    assert bureau.parent_id is None and bureau.kind is UnitKind.BUREAU
    assert office.parent_id == bureau.id and units["城东应急管理所"].kind is UnitKind.OUTPOST
    assert bureau.head_staff_id == staff["YJ001"].id and office.head_staff_id == staff["YJ005"].id
    assert office.leader_staff_id == staff["YJ002"].id
    assert units["安全生产执法监察大队"].leader_staff_id == staff["YJ004"].id
    assert staff["YJ034"].supervisor_id == staff["YJ032"].id
    assert staff["YJ034"].unit_id == units["安全生产执法监察大队"].id
    assert staff["YJ034"].position == "执法队员" and staff["YJ034"].created_at == T0
    heads = {"YJ005", "YJ010", "YJ016", "YJ021", "YJ026", "YJ031", "YJ039", "YJ043"}
    assert await grants(sessions) == (
        {("YJ001", Role.LEADER_CHIEF), ("YJ005", Role.ADMIN), ("YJ007", Role.ADMIN)}
        | {(no, Role.LEADER_DEPUTY) for no in ("YJ002", "YJ003", "YJ004")}
        | {(no, Role.LEADER_MEMBER) for no in heads}
    )
    async with sessions() as s:
        (entry,) = await s.scalars(select(AuditEntry))
    assert entry.action == "staff.import" and entry.actor_label == "cli:test" and entry.at == T0
    assert entry.object_id == "staff.xlsx" and entry.detail["people_created"] == 46


async def test_reimporting_the_same_file_changes_nothing(sessions: SessionFactory) -> None:
    await run_import(sessions, roster())
    before = await staff_by_no(sessions)
    async with sessions() as s:
        plan = await plan_import(s, parse_roster(SAMPLE_XLSX, "staff.xlsx"))
    assert not plan.has_changes
    assert plan.summary(EN).splitlines() == [
        EN._(FILE_TOTALS).format(people=46, units=9),
        EN._(NO_CHANGES),
    ]
    assert plan == await run_import(sessions, roster(), now=T1)
    after = await staff_by_no(sessions)
    assert after.keys() == before.keys()
    assert all(p.updated_at == T0 for p in after.values())  # no row was written
    assert len(await grants(sessions)) == 14
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(OrgUnit)) == 9
        assert await s.scalar(select(func.count()).select_from(AuditEntry)) == 2


async def test_person_left_out_is_deactivated_and_comes_back(sessions: SessionFactory) -> None:
    await run_import(sessions, roster())
    zhao = (await staff_by_no(sessions))["YJ007"]  # 赵敏, working-group admin, bound to Telegram
    async with sessions.begin() as s:
        s.add(TelegramAccount(telegram_id=7_000_000_007, staff_id=zhao.id, bound_at=T0))

    leaving = roster(without(sample_rows(), "YJ007"))
    async with sessions() as s:
        plan = await plan_import(s, leaving)
    assert plan.people_deactivated == (PersonRef("YJ007", "赵敏"),)
    assert [(r.employee_no, r.role) for r in plan.roles_revoked] == [("YJ007", Role.ADMIN)]
    assert "赵敏（YJ007）" in plan.summary(ZH)
    await run_import(sessions, leaving, now=T1)

    gone = (await staff_by_no(sessions))["YJ007"]
    assert not gone.active and gone.deactivated_at == T1
    assert ("YJ007", Role.ADMIN) not in await grants(sessions)
    async with sessions() as s:
        account = await s.get(TelegramAccount, 7_000_000_007)
    assert account is not None and account.staff_id == zhao.id  # binding left to the caller

    async with sessions() as s:
        back = await plan_import(s, roster())
    assert back.people_reactivated == (PersonRef("YJ007", "赵敏"),)
    assert back.people_created == () and back.people_deactivated == ()
    await run_import(sessions, roster(), now=T1)
    returned = (await staff_by_no(sessions))["YJ007"]
    assert returned.active and returned.deactivated_at is None and returned.id == zhao.id
    assert ("YJ007", Role.ADMIN) in await grants(sessions)


async def test_moves_and_removed_units_are_planned_by_field(sessions: SessionFactory) -> None:
    await run_import(sessions, roster())
    rows = sample_rows()
    # 城西应急管理所 closes: its people leave, except 卢伟 who moves to 城东 as 副所长.
    edit(rows, "YJ045", "单位", "城东应急管理所")
    edit(rows, "YJ045", "职务", "副所长")
    edit(rows, "YJ045", "直接上级工号", "YJ039")
    edit(rows, "YJ003", "分管单位", "风险监测和综合减灾科、防汛抗旱科")
    rows = without(rows, "YJ043", "YJ044", "YJ046")
    rows.append(["", "", "应急物资储备库", "应急管理局", "直属事业单位"])
    async with sessions() as s:
        plan = await plan_import(s, roster(rows))
    assert plan.people_updated == (
        FieldChange("YJ045", "卢伟", ("unit", "position", "supervisor")),
    )
    assert plan.units_deactivated == ("城西应急管理所",)
    assert plan.units_created == ("应急物资储备库",)
    assert [p.employee_no for p in plan.people_deactivated] == ["YJ043", "YJ044", "YJ046"]
    assert [(r.employee_no, r.role) for r in plan.roles_revoked] == [("YJ043", Role.LEADER_MEMBER)]
    summary = plan.summary(ZH)
    assert "魏东（YJ043）" in summary and "城西应急管理所" in summary

    await run_import(sessions, roster(rows), now=T1)
    units, staff = await units_by_name(sessions), await staff_by_no(sessions)
    assert not units["城西应急管理所"].active and units["应急物资储备库"].head_staff_id is None
    assert staff["YJ045"].unit_id == units["城东应急管理所"].id
    assert staff["YJ045"].supervisor_id == staff["YJ039"].id
    async with sessions() as s:
        assert not (await plan_import(s, roster(rows))).has_changes


async def test_nothing_is_written_when_the_callers_transaction_fails(
    sessions: SessionFactory,
) -> None:
    with pytest.raises(RuntimeError):
        async with sessions.begin() as s:
            await apply_import(s, roster(), actor_label="cli:test", now=T0)
            raise RuntimeError("the admin's confirm expired")
    async with sessions() as s:
        for model in (OrgUnit, Staff, RoleGrant, AuditEntry):
            assert await s.scalar(select(func.count()).select_from(model)) == 0
