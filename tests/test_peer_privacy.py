"""Peer anonymity (四(二)): nobody outside the server can work out who rated whom.

The peer graph is drawn from a secret the server stores at cycle start, so the
period, the roster and one's own /peer list are not enough to recompute it; and the
rated person sees the peer source as one combined figure unless at least five
colleagues rated them, so two colluding raters cannot subtract their way to a third.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from sqlalchemy import select

from bot.db import SessionFactory, make_engine, make_sessions
from bot.models import Assignment, Cycle, OrgUnit, Staff
from domain.assignments import PersonNode, UnitNode, plan_assignments
from domain.enums import Source
from tests.dbs import DatabaseFactory
from tests.factories import make_org, open_cycle

Pairs = frozenset[tuple[int, int]]


async def _peer_pairs(sessions: SessionFactory, cycle_id: int) -> Pairs:
    async with sessions() as s:
        rows = await s.execute(
            select(Assignment.rater_staff_id, Assignment.ratee_staff_id).where(
                Assignment.cycle_id == cycle_id, Assignment.source == Source.PEER
            )
        )
        return frozenset((int(rater), int(ratee)) for rater, ratee in rows)


def _recompute_from_the_period(period: str, unit_id: int, members: list[int], k: int) -> Pairs:
    """What the audit did: the old public seed ``period:unit`` over the roster order."""
    order = sorted(members)
    random.Random(f"{period}:{unit_id}").shuffle(order)
    n = len(order)
    return frozenset(
        (rater, order[(i + step) % n]) for i, rater in enumerate(order) for step in range(1, k + 1)
    )


async def _bureau_with_a_cycle(sessions: SessionFactory) -> tuple[int, int, list[int]]:
    """A unit of 13 (its head and 12 staff), cycle 2026Q4 collecting with 3 peers each."""
    org = await make_org(sessions, people=12)
    cycle_id = await open_cycle(sessions, period="2026Q4", peer_count=3)
    return cycle_id, org.unit_id, [org.head_id, *org.staff_ids]


async def test_peer_raters_cannot_be_recomputed_from_the_period(
    sessions: SessionFactory, database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    cycle_id, unit_id, members = await _bureau_with_a_cycle(sessions)
    stored = await _peer_pairs(sessions, cycle_id)
    assert len(stored) == 3 * len(members)
    for person in members:  # still balanced: everybody gives and receives exactly 3
        assert sum(1 for rater, _ in stored if rater == person) == 3
        assert sum(1 for _, ratee in stored if ratee == person) == 3

    # Knowing the period, the roster order and one's own /peer list is not enough.
    assert stored != _recompute_from_the_period("2026Q4", unit_id, members, 3)

    # The same period and roster in another bureau's database: a different circle.
    (tmp_path / "other").mkdir()
    # the factory runs its own event loop for PostgreSQL: call it from a worker thread
    other_url = await asyncio.to_thread(database_factory.new, tmp_path / "other")
    engine = make_engine(other_url)
    try:
        other = make_sessions(engine)
        other_cycle, other_unit, other_members = await _bureau_with_a_cycle(other)
        assert (other_unit, other_members) == (unit_id, members)
        assert await _peer_pairs(other, other_cycle) != stored
    finally:
        await engine.dispose()
        await asyncio.to_thread(database_factory.drop, other_url)

    # The server alone can draw its own plan again, from the secret it stored.
    async with sessions() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None and cycle.peer_seed
        assert "2026Q4" not in cycle.peer_seed and len(cycle.peer_seed) >= 32
        units = list(await s.scalars(select(OrgUnit)))
        people = list(await s.scalars(select(Staff)))
    replanned = plan_assignments(
        [UnitNode(u.id, u.name, u.parent_id, u.head_staff_id, u.leader_staff_id) for u in units],
        [PersonNode(p.id, p.unit_id, p.supervisor_id) for p in people],
        peer_count=3,
        seed=cycle.peer_seed,
    )
    assert (
        frozenset(
            (a.rater_id, a.ratee_person_id)
            for a in replanned
            if a.source is Source.PEER and a.ratee_person_id is not None
        )
        == stored
    )
