"""Peer anonymity (四(二)): nobody outside the server can work out who rated whom.

The peer graph is drawn from a secret the server stores at cycle start, so the
period, the roster and one's own /peer list are not enough to recompute it; and the
rated person sees the peer source as one combined figure unless at least five
colleagues rated them, so two colluding raters cannot subtract their way to a third.
"""

from __future__ import annotations

import asyncio
import random
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from domain.assignments import PersonNode, UnitNode, plan_assignments
from domain.enums import CyclePhase, Source
from fakebotapi import FakeBotApi
from infra.db import SessionFactory, make_engine, make_sessions
from infra.models import Assignment, Cycle, OrgUnit, Result, Staff, TelegramAccount
from tests.dbs import DatabaseFactory
from tests.drivers import results as results_driver
from tests.factories import bind, fill_all_forms, make_org, open_cycle

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


async def _published_with_three_peers(
    sessions: SessionFactory, settings, telegram_id: int
) -> list[int]:  # type: ignore[no-untyped-def]
    """A unit of five, three peers each, every form answered, scored and published;
    the second member is bound to ``telegram_id`` (results go to bound accounts)."""
    import datetime as dt

    from services import cycles, result_review, results

    org = await make_org(sessions, people=4)
    await bind(sessions, telegram_id, org.staff_ids[0])
    async with sessions.begin() as s:
        account = await s.get(TelegramAccount, telegram_id)
        assert account is not None
        account.language = "en"
    cycle_id = await open_cycle(sessions, peer_count=3)
    await fill_all_forms(sessions, cycle_id, level=lambda a, n: (a.rater_staff_id * 7 + n) % 5)
    now = dt.datetime.now(dt.UTC)
    async with sessions.begin() as s:
        cycle = await s.get(Cycle, cycle_id)
        assert cycle is not None
        await cycles.close(s, cycle.period, now=now, actor=cycles.Actor("test"))
        await results.score_cycle(s, cycle, tz=settings.tz, now=now)
        cycle.phase = CyclePhase.REVIEW
        await result_review.publish(s, cycle, now=now)
    return [org.head_id, *org.staff_ids]


def _peer_parts(breakdown: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Indicator code → (indicator score, peer mean) where peers counted."""
    return {
        i["code"]: (i["score"], s["mean"])
        for d in breakdown["dimensions"]
        for i in d["indicators"]
        for s in i["sources"]
        if s["source"] == Source.PEER.value
    }


async def test_three_peers_show_the_rated_person_one_combined_peer_figure(
    server: FakeBotApi, bot, sessions: SessionFactory, settings
) -> None:  # type: ignore[no-untyped-def]
    """With 3 peers, per-indicator peer means (or scores that hide one) would let two
    colluding raters compute the third's answers; the rated person sees one figure."""
    import services.appeals as ap
    from infra.i18n import Translator

    me = (await _published_with_three_peers(sessions, settings, 9501))[1]
    user = server.user(9501, language_code="en")
    async with sessions() as s:
        result = await s.scalar(select(Result).where(Result.staff_id == me))
        assert result is not None
    parts = _peer_parts(result.breakdown)  # the record keeps the detail (working group)
    assert set(parts) == {"T03", "T04"}
    assert all(
        s["raters"] == 3
        for d in result.breakdown["dimensions"]
        for i in d["indicators"]
        for s in i["sources"]
        if s["source"] == "peer"
    )

    await user.wait_until(lambda: any("Total:" in (m.text or "") for m in user.messages), 120)
    message = next(m for m in user.messages if "Total:" in (m.text or ""))
    await results_driver.open_why(user, message)
    why = (await user.expect_text("is made", timeout=60)).text or ""
    assert why.count("Peer review") == 1, why  # one combined line, no per-indicator part
    for name, code in (("Teamwork", "T03"), ("Communication and coordination", "T04")):
        line = next(line for line in why.splitlines() if name in line)
        assert parts[code][0] not in line, line  # the score would give the peer mean back
    combined = next(line for line in why.splitlines() if "Peer review" in line)
    by_source = next(line for line in (message.text or "").splitlines() if "Peer review" in line)
    mean = re.search(r"Peer review[^\d]*(\d+\.\d\d)", by_source)
    assert mean is not None and mean.group(1) in combined
    # contributions still add up exactly to the total
    total = Decimal(re.search(r"(\d+\.\d\d)", why).group(1))  # type: ignore[union-attr]
    assert sum(Decimal(x) for x in re.findall(r"= (\d+\.\d\d)", why)) == total

    # The appeal flow shows the appellant the same: no peer figure per indicator.
    tr = Translator("en")
    names = {"T03": ("团队协作", "Teamwork"), "T04": ("沟通配合", "Communication")}
    for target in ("ind:T03", "ind:T04", "dim:attitude", "src:peer"):
        detail = "\n".join(ap.target_detail(tr, result, target, names))
        for score, peer_mean in parts.values():
            assert f"{peer_mean} (weight" not in detail, (target, detail)
            if target != "src:peer":
                assert f"{score} (weight" not in detail, (target, detail)
        if target == "src:peer":  # one line for all indicators, none per indicator
            assert "Teamwork" not in detail and "Communication" not in detail, detail
    # The working group deciding an appeal keeps the detail.
    full = "\n".join(ap.target_detail(tr, result, "ind:T04", names, full=True))
    assert f"Peer review: {parts['T04'][1]}" in full


def test_five_peers_keep_the_detail() -> None:
    from services.peer_view import ratee_view

    b = {
        "dimensions": [
            {
                "dimension": "attitude",
                "score": "80.00",
                "weight": "100",
                "contribution": "80.00",
                "indicators": [
                    {
                        "code": "T04",
                        "score": "80.00",
                        "weight": "100",
                        "contribution": "80.00",
                        "sources": [
                            {
                                "source": "self",
                                "mean": "90.00",
                                "raters": 1,
                                "trimmed": False,
                                "weight": "50",
                                "contribution": "45.00",
                            },
                            {
                                "source": "peer",
                                "mean": "70.00",
                                "raters": 5,
                                "trimmed": True,
                                "weight": "50",
                                "contribution": "35.00",
                            },
                        ],
                    }
                ],
            }
        ],
        "notes": [],
    }
    assert ratee_view(b) == b
    b["dimensions"][0]["indicators"][0]["sources"][1]["raters"] = 4
    hidden = ratee_view(b)
    indicator = hidden["dimensions"][0]["indicators"][0]
    assert [s["source"] for s in indicator["sources"]] == ["self"]
    assert indicator["score"] is None and indicator["contribution"] == "45.00"
    assert hidden["peer_combined"]["mean"] == "70.00"
    assert hidden["peer_combined"]["contribution"] == "35.00"
