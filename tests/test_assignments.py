"""The rating plan of 四(二): who self-assesses, who reviews whom, who rates which peers."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest

from domain.assignments import (
    PersonNode,
    PlannedAssignment,
    UnitNode,
    peer_load,
    plan_assignments,
    superior_of,
    unit_superior_of,
)
from domain.enums import Source

pytestmark = pytest.mark.nodb

CHIEF, DEPUTY_A, DEPUTY_B = 1, 2, 3
ROOT = 1
# unit id -> (name, size, leader in charge); the head is the unit's first person.
SECTIONS = {
    10: ("办公室", 1, DEPUTY_A),
    20: ("应急指挥科", 2, DEPUTY_A),
    30: ("安全生产科", 7, DEPUTY_B),
    40: ("综合执法大队", 40, DEPUTY_B),
}
# Explicit roster supervisors: a deputy section chief over part of the staff.
SUPERVISORS = {305: 302, 306: 302, **dict.fromkeys(range(410, 420), 402)}


def bureau() -> tuple[list[UnitNode], list[PersonNode]]:
    """应急管理局 with a 局长, two 副局长 in charge, and sections of 1, 2, 7 and 40 people."""
    units = [UnitNode(ROOT, "应急管理局", None, CHIEF, None)]
    people = [PersonNode(pid, ROOT, None) for pid in (CHIEF, DEPUTY_A, DEPUTY_B)]
    for unit_id, (name, size, leader) in SECTIONS.items():
        ids = [unit_id * 10 + i for i in range(1, size + 1)]
        units.append(UnitNode(unit_id, name, ROOT, ids[0], leader))
        people += [PersonNode(pid, unit_id, SUPERVISORS.get(pid)) for pid in ids]
    return units, people


def of(plan: Sequence[PlannedAssignment], source: Source) -> list[PlannedAssignment]:
    return [a for a in plan if a.source is source]


def person_superiors(plan: Sequence[PlannedAssignment]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for a in of(plan, Source.SUPERIOR):
        if a.ratee_person_id is not None:
            out.setdefault(a.ratee_person_id, []).append(a.rater_id)
    return out


def check_invariants(
    units: Sequence[UnitNode], people: Sequence[PersonNode], peer_count: int, seed: str
) -> list[PlannedAssignment]:
    """What must hold for any org tree; returns the plan for further checks."""
    plan = plan_assignments(units, people, peer_count=peer_count, seed=seed)
    assert plan == plan_assignments(
        list(reversed(units)), list(reversed(people)), peer_count=peer_count, seed=seed
    )
    assert plan == sorted(plan, key=PlannedAssignment.sort_key)
    assert len(set(plan)) == len(plan)
    active = {p.id for p in people}
    unit_of = {p.id: p.unit_id for p in people}
    by_unit = Counter(unit_of.values())
    for a in plan:
        assert a.rater_id in active
        assert (a.ratee_person_id is None) != (a.ratee_unit_id is None)
        if a.source is not Source.SELF:
            assert a.rater_id != a.ratee_person_id
    # SELF: one per person, one per non-root unit with an active head, by that head.
    selves = of(plan, Source.SELF)
    assert Counter(
        a.ratee_person_id for a in selves if a.ratee_person_id is not None
    ) == dict.fromkeys(active, 1)
    assert all(a.rater_id == a.ratee_person_id for a in selves if a.ratee_person_id is not None)
    expected_unit_selves = {
        (u.head_id, u.id) for u in units if not u.is_root and u.head_id in active
    }
    assert {
        (a.rater_id, a.ratee_unit_id) for a in selves if a.ratee_unit_id is not None
    } == expected_unit_selves
    # SUPERIOR: at most one per person / unit, matching the walk; never for the root unit.
    sup = of(plan, Source.SUPERIOR)
    assert (
        max(
            Counter(a.ratee_person_id for a in sup if a.ratee_person_id is not None).values(),
            default=1,
        )
        == 1
    )
    unit_sups = Counter(a.ratee_unit_id for a in sup if a.ratee_unit_id is not None)
    assert max(unit_sups.values(), default=1) == 1
    units_by_id = {u.id: u for u in units}
    assert not any(units_by_id[u].is_root for u in unit_sups)
    for a in sup:
        if a.ratee_unit_id is not None:
            assert a.rater_id != units_by_id[a.ratee_unit_id].head_id
    people_by_id = {p.id: p for p in people}
    for p in people:
        has_supervisor = p.supervisor_id in active and p.supervisor_id != p.id
        if has_supervisor:
            assert person_superiors(plan)[p.id] == [p.supervisor_id]
        superior = superior_of(p, units_by_id, people_by_id)
        assert (superior is None) == (p.id not in person_superiors(plan))
    # PEER: within the unit, everybody gives and receives exactly k = min(peer_count, n - 1).
    peers = of(plan, Source.PEER)
    given = Counter(a.rater_id for a in peers)
    load = peer_load(plan)
    for pid in active:
        k = min(peer_count, by_unit[unit_of[pid]] - 1)
        assert given.get(pid, 0) == k
        assert load.get(pid, 0) == k
    assert all(unit_of[a.rater_id] == unit_of[a.ratee_person_id or 0] for a in peers)
    return plan


def test_bureau_plan_holds_every_invariant() -> None:
    units, people = bureau()
    check_invariants(units, people, peer_count=5, seed="2025Q1")


def test_everybody_self_assesses_once_and_nobody_rates_themselves_otherwise() -> None:
    units, people = bureau()
    plan = plan_assignments(units, people, seed="2025Q1")
    person_selves = Counter(
        a.ratee_person_id for a in of(plan, Source.SELF) if a.ratee_person_id is not None
    )
    assert person_selves == {p.id: 1 for p in people}
    assert all(a.rater_id != a.ratee_person_id for a in plan if a.source is not Source.SELF)
    assert Source.CITIZEN not in {a.source for a in plan}


def test_peer_load_is_exactly_k_per_unit() -> None:
    units, people = bureau()
    plan = plan_assignments(units, people, seed="2025Q1")
    load = peer_load(plan)
    given = Counter(a.rater_id for a in of(plan, Source.PEER))
    expected = {ROOT: 2, 10: 0, 20: 1, 30: 5, 40: 5}
    for p in people:
        assert load.get(p.id, 0) == expected[p.unit_id]
        assert given.get(p.id, 0) == expected[p.unit_id]


def test_one_person_unit_has_no_peer_ratings() -> None:
    units, people = bureau()
    plan = plan_assignments(units, people)
    assert not [a for a in of(plan, Source.PEER) if 101 in (a.rater_id, a.ratee_person_id)]


def test_every_person_but_the_chief_has_one_superior() -> None:
    units, people = bureau()
    plan = plan_assignments(units, people)
    superiors = person_superiors(plan)
    assert set(superiors) == {p.id for p in people} - {CHIEF}
    assert all(len(raters) == 1 and raters[0] != pid for pid, raters in superiors.items())
    assert superiors[DEPUTY_A] == superiors[DEPUTY_B] == [CHIEF]
    # staff → unit head, unless the roster names a supervisor
    assert superiors[302] == superiors[307] == [301]
    assert superiors[305] == superiors[306] == [302]
    assert superiors[415] == [402] and superiors[420] == [401]


def test_unit_head_is_reviewed_by_the_leader_in_charge() -> None:
    units, people = bureau()
    superiors = person_superiors(plan_assignments(units, people))
    for unit in units[1:]:
        assert unit.head_id is not None
        assert superiors[unit.head_id] == [unit.leader_id]


def test_every_section_has_one_self_and_one_superior_review() -> None:
    units, people = bureau()
    plan = plan_assignments(units, people)
    unit_selves = {a.ratee_unit_id: a.rater_id for a in of(plan, Source.SELF) if a.ratee_unit_id}
    unit_sups = Counter(
        (a.ratee_unit_id, a.rater_id) for a in of(plan, Source.SUPERIOR) if a.ratee_unit_id
    )
    assert unit_selves == {u.id: u.head_id for u in units[1:]}
    assert unit_sups == {(u.id, u.leader_id): 1 for u in units[1:]}


def test_different_seeds_give_different_equally_balanced_plans() -> None:
    units, people = bureau()
    first = check_invariants(units, people, peer_count=5, seed="2025Q1")
    second = check_invariants(units, people, peer_count=5, seed="2025Q2")
    assert of(first, Source.PEER) != of(second, Source.PEER)
    assert peer_load(first) == peer_load(second)
    assert of(first, Source.SELF) == of(second, Source.SELF)
    assert of(first, Source.SUPERIOR) == of(second, Source.SUPERIOR)


def test_peer_count_is_respected() -> None:
    units, people = bureau()
    plan = check_invariants(units, people, peer_count=3, seed="x")
    load = peer_load(plan)
    assert {load[pid] for pid in range(401, 441)} == {3}
    assert {load[pid] for pid in range(301, 308)} == {3}
    assert load[201] == load[202] == 1
    assert not of(plan_assignments(units, people, peer_count=0), Source.PEER)
    with pytest.raises(ValueError):
        plan_assignments(units, people, peer_count=-1)


def test_plan_is_deterministic() -> None:
    units, people = bureau()
    assert plan_assignments(units, people, seed="s") == plan_assignments(units, people, seed="s")


def test_unit_without_leader_falls_back_to_parent_head() -> None:
    units, people = bureau()
    units = [replace(u, leader_id=None) if u.id == 30 else u for u in units]
    plan = plan_assignments(units, people)
    assert person_superiors(plan)[301] == [CHIEF]
    assert {
        (a.ratee_unit_id, a.rater_id) for a in of(plan, Source.SUPERIOR) if a.ratee_unit_id == 30
    } == {(30, CHIEF)}


def test_inactive_people_are_skipped_up_the_tree() -> None:
    units, people = bureau()
    # Supervisor 302 and head 401 left: their staff go to the unit head / leader in charge.
    people = [p for p in people if p.id not in (302, 401)]
    plan = check_invariants(units, people, peer_count=5, seed="")
    superiors = person_superiors(plan)
    assert superiors[305] == [301]
    assert superiors[402] == superiors[430] == [DEPUTY_B]
    assert not [a for a in of(plan, Source.SELF) if a.ratee_unit_id == 40]
    # Without the deputy in charge either, the 局长 reviews section 40.
    people = [p for p in people if p.id != DEPUTY_B]
    plan = check_invariants(units, people, peer_count=5, seed="")
    assert person_superiors(plan)[430] == [CHIEF]
    assert [a.rater_id for a in of(plan, Source.SUPERIOR) if a.ratee_unit_id == 40] == [CHIEF]


def test_self_as_supervisor_is_ignored() -> None:
    units, people = bureau()
    people = [replace(p, supervisor_id=p.id) if p.id in (CHIEF, 303) else p for p in people]
    superiors = person_superiors(check_invariants(units, people, 5, ""))
    assert CHIEF not in superiors
    assert superiors[303] == [301]


def test_head_of_own_unit_is_not_its_superior_reviewer() -> None:
    """A unit whose leader in charge is its own head goes to the parent's head instead."""
    units = [UnitNode(1, "局", None, 1, None), UnitNode(2, "科", 1, 2, 2)]
    people = [PersonNode(1, 1, None), PersonNode(2, 2, None)]
    plan = check_invariants(units, people, 5, "")
    assert [a.rater_id for a in of(plan, Source.SUPERIOR) if a.ratee_unit_id == 2] == [1]
    assert person_superiors(plan)[2] == [1]


def test_nested_units_and_a_parent_cycle_terminate() -> None:
    units = {
        1: UnitNode(1, "局", None, 1, None),
        2: UnitNode(2, "大队", 1, 2, None),
        3: UnitNode(3, "中队", 2, None, None),
    }
    people = {pid: PersonNode(pid, unit, None) for pid, unit in ((1, 1), (2, 2), (3, 3))}
    assert superior_of(people[3], units, people) == 2
    assert unit_superior_of(units[3], units, people) == 2
    cyclic = {1: replace(units[1], parent_id=2, head_id=None), 2: replace(units[2], parent_id=1)}
    assert superior_of(people[2], cyclic, people) is None


def test_bad_input_is_refused() -> None:
    units, people = bureau()
    with pytest.raises(ValueError):
        plan_assignments(units, [*people, PersonNode(999, 77, None)])
    with pytest.raises(ValueError):
        plan_assignments(units, [*people, people[0]])
    with pytest.raises(ValueError):
        PlannedAssignment(Source.PEER, 1, ratee_person_id=1)
    with pytest.raises(ValueError):
        PlannedAssignment(Source.SELF, 1, ratee_person_id=2, ratee_unit_id=3)
    with pytest.raises(ValueError):
        PlannedAssignment(Source.CITIZEN, 1, ratee_unit_id=3)


# --- random org trees -------------------------------------------------------------------

INACTIVE = 100_000  # ids from here on are referenced but not passed in (left the bureau)


def random_bureau(
    draw: Callable[[int, int], int],
) -> tuple[list[UnitNode], list[PersonNode]]:
    """A random tree with missing heads, inactive leaders, odd supervisors and empty units."""
    n_units = draw(1, 7)
    sizes = [draw(0, 12) for _ in range(n_units)]
    people_ids = list(range(1, sum(sizes) + 1))
    members: list[list[int]] = []
    start = 0
    for size in sizes:
        members.append(people_ids[start : start + size])
        start += size

    def pick(pool: Sequence[int], unit_id: int) -> int | None:
        kind = draw(0, 3)
        if kind == 0 or not pool:
            return None
        if kind == 1:
            return INACTIVE + unit_id
        return pool[draw(0, len(pool) - 1)]

    units = [
        UnitNode(
            i + 1,
            f"unit{i + 1}",
            None if i == 0 else draw(1, i),
            pick(members[i] or people_ids, i + 1),
            pick(people_ids, i + 1),
        )
        for i in range(n_units)
    ]
    people = [
        PersonNode(pid, unit + 1, pick(people_ids, pid) if draw(0, 1) else None)
        for unit, ids in enumerate(members)
        for pid in ids
    ]
    return units, people


@pytest.mark.parametrize("case", range(150))
def test_random_trees_hold_the_invariants(case: int) -> None:
    rng = random.Random(case)
    units, people = random_bureau(rng.randint)
    check_invariants(units, people, peer_count=rng.randint(0, 6), seed=str(case))


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # the stdlib cases above still run
    pass
else:

    @st.composite
    def bureaus(draw: st.DrawFn) -> tuple[list[UnitNode], list[PersonNode]]:
        return random_bureau(lambda lo, hi: draw(st.integers(lo, hi)))

    @settings(max_examples=200, deadline=None)
    @given(bureaus(), st.integers(0, 7), st.text(max_size=8))
    def test_property_no_self_rating_and_exact_balance(
        tree: tuple[list[UnitNode], list[PersonNode]], peer_count: int, seed: str
    ) -> None:
        check_invariants(*tree, peer_count=peer_count, seed=seed)
