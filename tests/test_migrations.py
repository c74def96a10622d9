"""The ORM models and the Alembic migrations describe the same schema."""

from __future__ import annotations

import json

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from infra.models import Base


async def test_models_match_migrations(db_url: str) -> None:
    engine = create_async_engine(db_url)

    def diff(sync_conn):  # type: ignore[no-untyped-def]
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(ctx, Base.metadata)

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    await engine.dispose()
    assert changes == [], (
        f"models and migrations disagree; run alembic revision --autogenerate:\n{changes}"
    )


async def test_upgrade_keeps_existing_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A database with data at an older revision upgrades without losing or refusing rows."""
    import datetime as dt

    from sqlalchemy import text

    from infra.db import make_engine, upgrade

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    await upgrade(engine, "403f66bb5042")  # surveys, before results
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO template (id, name, digest, content, source_filename, created_at, created_by) VALUES (1, 't', 'd', '{}', '', :n, '')"
            ),
            {"n": now},
        )
        await conn.execute(
            text(
                "INSERT INTO cycle (id, period, kind, phase, template_id, deadline, peer_count, reminder_days, created_at, updated_at) VALUES (1, '2026Q4', 'quarter', 'collecting', 1, :n, 5, '[3, 1]', :n, :n)"
            ),
            {"n": now},
        )
    await upgrade(engine)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT period, review_round FROM cycle"))).one() == (
            "2026Q4",
            0,
        )
        # a cycle that already collects keeps the seed its peer graph was drawn from
        assert (await conn.execute(text("SELECT peer_seed FROM cycle"))).scalar() == "2026Q4"
    await engine.dispose()


async def test_a_rectification_answered_before_0010_keeps_what_the_citizen_was_sent(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    """Until 0010 one text was both the record and the reply: it becomes the reply where a
    reply was asked for, and stays the record; older responses get no praise tags."""
    import datetime as dt

    from sqlalchemy import text

    from infra.db import make_engine, upgrade

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    await upgrade(engine, "0008focus")
    n = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    rows = [
        "INSERT INTO org_unit (id, name, kind, active, sort_order, created_at, updated_at)"
        " VALUES (1, 'u', 'section', 1, 0, :n, :n)",
        "INSERT INTO survey_link (id, token_hash, unit_id, single_use, label, created_at,"
        " created_by) VALUES (1, 'h', 1, 1, '', :n, '')",
    ]
    for rid, wants in ((1, 1), (2, 0)):
        rows += [
            "INSERT INTO survey_response (id, link_id, unit_id, target_key, respondent_key,"
            " dedupe_key, day, locale, status, cursor, problems, started_at, excluded,"
            f" wants_reply) VALUES ({rid}, 1, 1, 'u:1', 'k{rid}', 'd', '2026-12-01', 'zh_Hans',"
            f" 'complete', 'done', '[]', :n, 0, {wants})",
            "INSERT INTO rectification (id, response_id, unit_id, status, opened_at, deadline,"
            f" answer) VALUES ({rid}, {rid}, 1, 'closed', :n, :n, '已整改')",
        ]
    async with engine.begin() as conn:
        for row in rows:
            await conn.execute(text(row), {"n": n})
    await upgrade(engine)
    async with engine.connect() as conn:
        done = (await conn.execute(text("SELECT id, answer, reply FROM rectification"))).all()
        praise = (await conn.execute(text("SELECT praise FROM survey_response"))).scalars()
        assert sorted(done) == [(1, "已整改", "已整改"), (2, "已整改", None)]
        assert [json.loads(p) if isinstance(p, str) else p for p in praise] == [[], []]
    await engine.dispose()
