"""The storage contract: exact decimals and aware UTC timestamps on both databases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Column, Integer, MetaData, Table, select

from infra.db import SessionFactory
from infra.models import AuditEntry
from infra.models.types import ExactDecimal


async def test_timestamps_come_back_aware_utc(sessions: SessionFactory) -> None:
    when = dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    async with sessions.begin() as s:
        s.add(AuditEntry(action="test", at=when))
    async with sessions() as s:
        row = await s.scalar(select(AuditEntry))
    assert row is not None
    assert row.at == when and row.at.tzinfo is not None and row.at.utcoffset() == dt.timedelta(0)


async def test_decimals_are_exact(sessions: SessionFactory) -> None:
    table = Table(
        "t_exact",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("v", ExactDecimal(9, 4)),
    )
    async with sessions.begin() as s:
        conn = await s.connection()
        await conn.run_sync(table.metadata.create_all)
        await s.execute(table.insert(), [{"v": Decimal("89.9950")}, {"v": "0.1"}])
    async with sessions() as s:
        values = (await s.execute(select(table.c.v).order_by(table.c.id))).scalars().all()
    assert values == [Decimal("89.9950"), Decimal("0.1000")]
    assert all(isinstance(v, Decimal) for v in values)
