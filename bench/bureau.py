"""The bureau the chat benchmarks run against: the sample roster (grown to size), a quarter
collecting with the shipped template, staff linked to simulated users, survey links.

Built through the services, as an administrator would, before the bot starts; the bot's
own migrations have already run (``Harness.migrate``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import func, select

from bench.common import ROOT
from domain.enums import Role
from domain.period import parse_period
from infra.db import SessionFactory
from infra.models import RoleGrant, Staff, TelegramAccount
from services import cycles, survey_links
from services.staff_import import apply_import, parse_roster
from services.templates import load_template

EXAMPLES = ROOT / "examples"
SURVEY_UNIT = "办公室"


def roster_csv(staff: int) -> bytes:
    """The sample roster, with more 科员 under the sections' heads until it has ``staff`` people."""
    text = (EXAMPLES / "staff.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header, people = rows[0], rows[1:]
    sections = [(r[2], r[3], r[4], r[0]) for r in people if r[7] == "是" and r[3]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(people)
    for n in range(max(0, staff - len(people))):
        unit, parent, kind, head = sections[n % len(sections)]
        writer.writerow(
            [f"BX{n:05d}", f"测试员{n}", unit, parent, kind, "科员", head, "", "", "", ""]
        )
    return out.getvalue().encode("utf-8")


async def build(sessions: SessionFactory, *, staff: int = 0) -> None:
    """Import the roster and open 2026年第四季度 with the shipped template, approved by the chief
    (so the citizens' survey is the template's own, and every person has forms)."""
    now = dt.datetime.now(dt.UTC)
    roster = parse_roster(roster_csv(staff), "staff.csv")
    async with sessions.begin() as s:
        if await s.scalar(select(func.count()).select_from(Staff)):
            raise SystemExit("the database already holds a bureau: give the benchmark an empty one")
        await apply_import(s, roster, actor_label="bench", now=now)
    template = load_template((EXAMPLES / "template.toml").read_bytes(), "template.toml")
    period = parse_period("2026Q4")
    assert period is not None
    actor = cycles.Actor("bench")
    async with sessions.begin() as s:
        version = await cycles.register_template(
            s, template, filename="template.toml", actor=actor, now=now
        )
        await cycles.open_cycle(
            s, period, version, deadline=now + dt.timedelta(days=10), now=now, actor=actor
        )
        if version.approved_at is None:
            chief = await s.scalar(
                select(RoleGrant.staff_id).where(RoleGrant.role == Role.LEADER_CHIEF)
            )
            assert chief is not None, "the sample roster names a 组长"
            await cycles.approve_template(s, version.id, staff_id=chief, telegram_id=0, now=now)


async def link_staff(sessions: SessionFactory, telegram_ids: list[int]) -> list[int]:
    """Link one simulated user to each of the first staff (by employee number) after the cycle
    opened, so no "the cycle is open" notice lands in their chats mid-benchmark; returns the
    staff ids, in the order of ``telegram_ids``."""
    now = dt.datetime.now(dt.UTC)
    async with sessions.begin() as s:
        ids = list(
            await s.scalars(select(Staff.id).order_by(Staff.employee_no).limit(len(telegram_ids)))
        )
        if len(ids) < len(telegram_ids):
            raise SystemExit(f"the roster has {len(ids)} staff, {len(telegram_ids)} asked for")
        s.add_all(
            TelegramAccount(telegram_id=t, staff_id=i, bound_at=now)
            for t, i in zip(telegram_ids, ids, strict=True)
        )
    return ids


async def survey_payloads(sessions: SessionFactory, count: int) -> dict[str, int]:
    """``count`` single-use survey links of one unit: ``sv_…`` payload → link id."""
    now = dt.datetime.now(dt.UTC)
    issued: list[survey_links.IssuedLink] = []
    async with sessions.begin() as s:
        while len(issued) < count:
            issued += await survey_links.create_links(
                s,
                unit_name=SURVEY_UNIT,
                staff_employee_no=None,
                count=min(count - len(issued), 500),
                single_use=True,
                actor_label="bench",
                now=now,
            )
    return {str(i.payload): i.link_id for i in issued}
