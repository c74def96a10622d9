"""Who rates whom in a cycle: the rating plan of 四(二), computed from the org tree.

Pure planning: the service loads active people and units, calls :func:`plan_assignments`
and stores the result. Citizen surveys (服務對象評價) are not assignments to people, so
they never appear here.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from domain.enums import Source

_SOURCE_ORDER = {Source.SELF: 0, Source.SUPERIOR: 1, Source.PEER: 2}


@dataclass(frozen=True)
class UnitNode:
    """An org unit as the planner sees it; ``leader_id`` is its 分管領導 (leader in charge)."""

    id: int
    name: str
    parent_id: int | None
    head_id: int | None
    leader_id: int | None

    @property
    def is_root(self) -> bool:
        """The bureau itself: its leadership is not evaluated as a unit."""
        return self.parent_id is None


@dataclass(frozen=True)
class PersonNode:
    """An active person; ``supervisor_id`` comes from the roster import and may be missing."""

    id: int
    unit_id: int
    supervisor_id: int | None


@dataclass(frozen=True)
class PlannedAssignment:
    """One rating to collect: ``rater_id`` rates either a person or a unit, never both."""

    source: Source
    rater_id: int
    ratee_person_id: int | None = None
    ratee_unit_id: int | None = None

    def __post_init__(self) -> None:
        if (self.ratee_person_id is None) == (self.ratee_unit_id is None):
            raise ValueError("exactly one of ratee_person_id and ratee_unit_id must be set")
        if self.source not in _SOURCE_ORDER:
            raise ValueError(f"{self.source} is not planned per person")
        # 四(二): only 自評 rates oneself; superiors and peers rate others.
        if self.source is not Source.SELF and self.rater_id == self.ratee_person_id:
            raise ValueError(f"{self.source} rating of oneself: {self.rater_id}")
        if self.source is Source.SELF and self.ratee_person_id not in (None, self.rater_id):
            raise ValueError("a self-assessment is by the ratee")

    def sort_key(self) -> tuple[int, int, int, int]:
        """Source, rater, then persons before units: a stable order for storage and display."""
        if self.ratee_person_id is not None:
            ratee = (0, self.ratee_person_id)
        else:
            assert self.ratee_unit_id is not None
            ratee = (1, self.ratee_unit_id)
        return (_SOURCE_ORDER[self.source], self.rater_id, *ratee)


def _units_upward(start: int | None, units: Mapping[int, UnitNode]) -> Iterator[UnitNode]:
    """Yield ``start`` and its ancestors; stops at a missing unit or a (bad-data) cycle."""
    seen: set[int] = set()
    while start is not None and start in units and start not in seen:
        seen.add(start)
        unit = units[start]
        yield unit
        start = unit.parent_id


def _first_active(
    candidates: Iterator[int | None], people: Mapping[int, PersonNode], skip: int | None
) -> int | None:
    for candidate in candidates:
        if candidate is not None and candidate != skip and candidate in people:
            return candidate
    return None


def _chain(start: int | None, units: Mapping[int, UnitNode]) -> Iterator[int | None]:
    """Head, then leader in charge, of each unit from ``start`` up to the root."""
    for unit in _units_upward(start, units):
        yield unit.head_id
        yield unit.leader_id


def superior_of(
    person: PersonNode, units: Mapping[int, UnitNode], people: Mapping[int, PersonNode]
) -> int | None:
    """The one person who gives ``person`` the 上級評估 of 四(二), or None at the top.

    The roster's supervisor wins when set, active and not the person. Otherwise walk up
    from the person's unit, trying at each level its head, then its leader in charge
    (分管領導), then the parent unit's head and leader, and so on, skipping the person
    themselves and anyone not in ``people`` (inactive). So staff get their unit head; a
    head gets the unit's leader in charge, else the parent unit's head; the 局長 at the
    root gets nobody. Only ``people`` counts as active.
    """
    if person.supervisor_id is not None and person.supervisor_id != person.id:
        if person.supervisor_id in people:
            return person.supervisor_id
    return _first_active(_chain(person.unit_id, units), people, skip=person.id)


def unit_superior_of(
    unit: UnitNode, units: Mapping[int, UnitNode], people: Mapping[int, PersonNode]
) -> int | None:
    """Who reviews ``unit`` as its superior (四(二)): its leader in charge, else up the tree.

    Tries the unit's leader in charge, then the parent unit's head and leader, and so on;
    never the unit's own head (who writes its self-assessment), never an inactive person.
    The root is not evaluated collectively, so it gets None.
    """
    if unit.is_root:
        return None

    def candidates() -> Iterator[int | None]:
        yield unit.leader_id
        yield from _chain(unit.parent_id, units)

    return _first_active(candidates(), people, skip=unit.head_id)


def _peer_pairs(
    members: Sequence[int], unit_id: int, peer_count: int, seed: str
) -> Iterator[tuple[int, int]]:
    """A circulant over a seeded shuffle, so everybody gives and receives exactly k ratings.

    Balanced load keeps the peer source comparable between colleagues (四(二)). The seed
    is the cycle's secret: with it the server redraws its own plan; without it the
    period, the roster and one's own peer list say nothing about the other raters.
    """
    order = sorted(members)
    random.Random(f"{seed}:{unit_id}").shuffle(order)
    n = len(order)
    k = min(peer_count, n - 1)
    for i, rater in enumerate(order):
        for step in range(1, k + 1):
            yield rater, order[(i + step) % n]


def plan_assignments(
    units: Sequence[UnitNode],
    people: Sequence[PersonNode],
    *,
    peer_count: int = 5,
    seed: str = "",
) -> list[PlannedAssignment]:
    """Every rating a cycle must collect from people, per the sources of 四(二).

    ``people`` are the active staff only. ``seed`` draws the peer graph and must be a
    secret (the cycle's ``peer_seed``), never the period or anything else a rater could
    know, or peers stop being anonymous. Deterministic for the same input and seed,
    sorted by source, rater and ratee, without duplicates. Units without an active head
    get no unit self-assessment and people at the top get no superior review; the caller
    reports those gaps.
    """
    if peer_count < 0:
        raise ValueError("peer_count must not be negative")
    unit_by_id = {u.id: u for u in units}
    person_by_id = {p.id: p for p in people}
    if len(unit_by_id) != len(units) or len(person_by_id) != len(people):
        raise ValueError("duplicate unit or person id")
    unknown = sorted({p.unit_id for p in people} - unit_by_id.keys())
    if unknown:
        raise ValueError(f"people in unknown units: {unknown}")

    plan: set[PlannedAssignment] = set()
    members: dict[int, list[int]] = defaultdict(list)
    for person in people:
        members[person.unit_id].append(person.id)
        plan.add(PlannedAssignment(Source.SELF, person.id, ratee_person_id=person.id))
        superior = superior_of(person, unit_by_id, person_by_id)
        if superior is not None:
            plan.add(PlannedAssignment(Source.SUPERIOR, superior, ratee_person_id=person.id))

    for unit in units:
        if unit.is_root:
            continue
        if unit.head_id is not None and unit.head_id in person_by_id:
            plan.add(PlannedAssignment(Source.SELF, unit.head_id, ratee_unit_id=unit.id))
        reviewer = unit_superior_of(unit, unit_by_id, person_by_id)
        if reviewer is not None:
            plan.add(PlannedAssignment(Source.SUPERIOR, reviewer, ratee_unit_id=unit.id))

    for unit_id, ids in members.items():
        for rater, ratee in _peer_pairs(ids, unit_id, peer_count, seed):
            plan.add(PlannedAssignment(Source.PEER, rater, ratee_person_id=ratee))

    return sorted(plan, key=PlannedAssignment.sort_key)


def peer_load(plan: Iterable[PlannedAssignment]) -> dict[int, int]:
    """Peer ratings each person receives; people receiving none are absent.

    With fewer than 3 the peer source is dropped for that person (四(二), anonymity).
    """
    load = Counter(a.ratee_person_id for a in plan if a.source is Source.PEER)
    return {person: count for person, count in sorted(load.items()) if person is not None}
