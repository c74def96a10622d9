"""Small org trees built directly in the database, for tests that are not about the import."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from domain.enums import CyclePhase, Dimension, Grade, Role, UnitKind
from infra.db import SessionFactory
from infra.models import Cycle, OrgUnit, Result, RoleGrant, Staff, TelegramAccount
from services import invites
from services.survey_links import create_links
from services.workdays import PACKAGED


@dataclass
class Org:
    bureau_id: int
    unit_id: int
    head_id: int
    staff_ids: list[int]


async def make_org(sessions: SessionFactory, people: int = 4) -> Org:
    """应急管理局 → 应急指挥中心 with a head and ``people`` staff."""
    async with sessions.begin() as s:
        bureau = OrgUnit(name="应急管理局", kind=UnitKind.BUREAU)
        s.add(bureau)
        await s.flush()
        chief = Staff(employee_no="L001", name="王建国", unit_id=bureau.id, position="局长")
        s.add(chief)
        unit = OrgUnit(name="应急指挥中心", kind=UnitKind.SECTION, parent_id=bureau.id)
        s.add(unit)
        await s.flush()
        head = Staff(
            employee_no="A001",
            name="李明",
            unit_id=unit.id,
            position="主任",
            supervisor_id=chief.id,
        )
        s.add(head)
        await s.flush()
        unit.head_staff_id = head.id
        unit.leader_staff_id = chief.id
        s.add(RoleGrant(staff_id=chief.id, role=Role.LEADER_CHIEF))
        names = ["张伟", "刘芳", "陈静", "杨洋", "赵磊", "黄敏", "周杰", "吴霞"]
        staff = []
        for i in range(people):
            member = Staff(
                employee_no=f"A{i + 2:03d}",
                name=names[i % len(names)],
                unit_id=unit.id,
                position="科员",
                supervisor_id=head.id,
            )
            s.add(member)
            staff.append(member)
        await s.flush()
        return Org(bureau.id, unit.id, head.id, [m.id for m in staff])


async def invite_code(
    sessions: SessionFactory,
    employee_no: str,
    *,
    now: dt.datetime | None = None,
    ttl: dt.timedelta = dt.timedelta(days=14),
) -> str:
    now = now or dt.datetime.now(dt.UTC)
    async with sessions.begin() as s:
        issued = await invites.reissue(s, employee_no, now=now, ttl=ttl, actor_label="test")
    return str(issued.payload)


async def survey_links(
    sessions: SessionFactory,
    *,
    count: int = 1,
    single_use: bool = True,
    unit: str = "应急指挥中心",
    staff: str | None = None,
) -> list[str]:
    """Survey links of a unit (make_org's by default), as their ``sv_…`` payloads."""
    async with sessions.begin() as s:
        issued = await create_links(
            s,
            unit_name=unit,
            staff_employee_no=staff,
            count=count,
            single_use=single_use,
            actor_label="test",
            now=dt.datetime.now(dt.UTC),
        )
    return [str(i.payload) for i in issued]


async def bind(sessions: SessionFactory, telegram_id: int, staff_id: int) -> None:
    async with sessions.begin() as s:
        s.add(
            TelegramAccount(
                telegram_id=telegram_id, staff_id=staff_id, bound_at=dt.datetime.now(dt.UTC)
            )
        )


EXAMPLES = __import__("pathlib").Path(__file__).resolve().parent.parent / "examples"


async def open_cycle(
    sessions: SessionFactory,
    *,
    period: str = "2026Q4",
    approve: bool = True,
    deadline: dt.datetime | None = None,
    now: dt.datetime | None = None,
    peer_count: int = 5,
    reminder_days: tuple[int, ...] = (3, 1),
) -> int:
    """Open a cycle with the shipped default template; approved by the chief unless told not to."""
    from sqlalchemy import select

    from domain.period import parse_period
    from services import cycles
    from services.templates import load_template

    now = now or dt.datetime.now(dt.UTC)
    deadline = deadline or now + dt.timedelta(days=10)
    template = load_template((EXAMPLES / "template.toml").read_bytes(), "template.toml")
    async with sessions.begin() as s:
        version = await cycles.register_template(
            s, template, filename="template.toml", actor=cycles.Actor("test"), now=now
        )
        period_ = parse_period(period)
        assert period_ is not None
        cycle = await cycles.open_cycle(
            s,
            period_,
            version,
            deadline=deadline,
            now=now,
            actor=cycles.Actor("test"),
            peer_count=peer_count,
            reminder_days=reminder_days,
        )
        if approve and version.approved_at is None:
            chief = await s.scalar(
                select(RoleGrant.staff_id).where(RoleGrant.role == Role.LEADER_CHIEF)
            )
            assert chief is not None
            await cycles.approve_template(s, version.id, staff_id=chief, telegram_id=0, now=now)
        return cycle.id


async def fill_all_forms(
    sessions: SessionFactory, cycle_id: int, *, level=lambda assignment, n: n % 3
) -> int:  # type: ignore[no-untyped-def]
    """Answer and submit every form of the cycle directly through the form service."""
    from sqlalchemy import select

    from domain.enums import AssignmentStatus
    from infra.models import Assignment
    from services import forms

    now = dt.datetime.now(dt.UTC)
    async with sessions() as s:
        ids = list(
            await s.scalars(
                select(Assignment.id).where(
                    Assignment.cycle_id == cycle_id,
                    Assignment.active.is_(True),
                    Assignment.status == AssignmentStatus.OPEN,  # a form a test already submitted
                )
            )
        )
    for aid in ids:
        async with sessions.begin() as s:
            form = await forms.load_form(s, aid)
            rater = form.assignment.rater_staff_id
            for n, item in enumerate(form.items):
                if item.indicator is not None:
                    scale = form.template.scales[item.indicator.scale]
                    value = level(form.assignment, n) if scale.levels else 70 + (aid + n) % 30
                    await forms.save_score(s, form, item.key, value, staff_id=rater, now=now)
                else:
                    await forms.save_text(
                        s, form, item.key, "按计划完成各项工作。", staff_id=rater, now=now
                    )
            await forms.submit(s, form, staff_id=rater, now=now)
    return len(ids)


# --- published results (appeals, plans) ----------------------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")


def breakdown(total: str, *, peer: bool = False) -> dict[str, Any]:
    """A small result shaped like ``scoring.to_dict``: peers dropped unless ``peer``."""

    def src(source: str, mean: str, weight: str, contribution: str) -> dict[str, Any]:
        return {
            "source": source,
            "mean": mean,
            "raters": 1,
            "trimmed": False,
            "weight": weight,
            "contribution": contribution,
        }

    def indicator(code: str, score: str, weight: str, contribution: str) -> dict[str, Any]:
        sources = [src("self", "90.00", "40", "0"), src("superior", score, "60", "0")]
        if peer:
            sources.append(src("peer", "70.00", "20", "0"))
        return {
            "code": code,
            "score": score,
            "weight": weight,
            "contribution": contribution,
            "sources": sources,
        }

    return {
        "format": 1,
        "total": total,
        "grade": "pass",
        "dimensions": [
            {
                "dimension": "performance",
                "score": "75.00",
                "weight": "60",
                "contribution": "45.00",
                "indicators": [
                    indicator("P01", "70.00", "50", "21.00"),
                    indicator("P02", "80.00", "50", "24.00"),
                ],
            },
            {
                "dimension": "ability",
                "score": "80.00",
                "weight": "15",
                "contribution": "12.00",
                "indicators": [indicator("A01", "80.00", "100", "12.00")],
            },
            {
                "dimension": "attitude",
                "score": "80.00",
                "weight": "15",
                "contribution": "12.00",
                "indicators": [indicator("T01", "80.00", "100", "12.00")],
            },
            {
                "dimension": "innovation",
                "score": "90.00",
                "weight": "10",
                "contribution": "9.00",
                "indicators": [indicator("I01", "90.00", "100", "9.00")],
            },
        ],
        "notes": []
        if peer
        else [{"kind": "peer_dropped", "params": {"scope": "person", "min_raters": "3"}}],
    }


@dataclass
class Published:
    org: Org
    cycle_id: int
    mine: int  # the appellant's result
    theirs: int  # a colleague's result


async def published_cycle(
    sessions: SessionFactory,
    *,
    at: dt.datetime | None = None,
    appeal_days: int = 5,
    until: dt.datetime | None = None,
) -> Published:
    """A cycle in its appeal phase with two published results, as ``publish`` leaves it."""
    at = at or dt.datetime.now(dt.UTC)
    org = await make_org(sessions)
    cycle_id = await open_cycle(sessions, now=at - dt.timedelta(days=30))
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        cycle.phase = CyclePhase.APPEALS
        cycle.published_at = at
        cycle.appeals_until = until or PACKAGED.add_working_days(at, appeal_days, SHANGHAI)
        ids = []
        for staff_id, total, grade, rank in (
            (org.staff_ids[0], "78.00", Grade.PASS, 2),
            (org.staff_ids[1], "82.00", Grade.GOOD, 1),
        ):
            result = Result(
                cycle_id=cycle_id,
                subject_key=f"p:{staff_id}",
                staff_id=staff_id,
                unit_id=org.unit_id,
                total=Decimal(total),
                grade=grade,
                rank_in_unit=rank,
                rank_overall=rank,
                bonus_coefficient=Decimal("0.8") if grade == Grade.PASS else Decimal("1.0"),
                weakest=Dimension.PERFORMANCE,
                breakdown=breakdown(total),
                published_at=at,
            )
            s.add(result)
            await s.flush()
            ids.append(result.id)
    return Published(org, cycle_id, ids[0], ids[1])
