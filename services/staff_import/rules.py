"""Checks that need the whole file: the unit tree, supervisors, heads, 分管 and the one 组长.

They run on drafts after every row was read, so a reference to a later row is
fine and each problem is reported once, at the row that can fix it.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

from domain.enums import Role, UnitKind
from services.staff_import import errors as msg
from services.staff_import.columns import Col
from services.staff_import.errors import RowError
from services.staff_import.rows import PersonDraft, UnitDraft


def check_tree(units: Mapping[str, UnitDraft]) -> list[RowError]:
    """One root, and it is the bureau; every parent declared; no unit its own ancestor (一(二))."""
    errors: list[RowError] = []
    for d in units.values():
        if d.kind is None:
            errors.append(RowError.at(d.row, Col.UNIT, msg.UNIT_UNDECLARED, value=d.name))
        if d.parent is not None and d.parent not in units:
            errors.append(
                RowError.at(d.parent_row, Col.PARENT_UNIT, msg.PARENT_UNKNOWN, value=d.parent)
            )
        if d.parent is not None and d.kind is UnitKind.BUREAU:
            errors.append(RowError.at(d.kind_row, Col.UNIT_KIND, msg.BUREAU_NOT_ROOT, unit=d.name))
    roots = [d for d in units.values() if d.parent is None]
    if units and not roots:
        errors.append(RowError.at(None, None, msg.NO_ROOT))
    if roots:
        root = next((d for d in roots if d.kind is UnitKind.BUREAU), roots[0])
        if root.kind not in (None, UnitKind.BUREAU):
            errors.append(
                RowError.at(root.kind_row, Col.UNIT_KIND, msg.ROOT_NOT_BUREAU, unit=root.name)
            )
        errors += [
            RowError.at(
                d.row,
                Col.PARENT_UNIT,
                msg.SECOND_ROOT,
                unit=d.name,
                other=root.name,
                other_row=root.row,
            )
            for d in roots
            if d is not root
        ]
    parents = {
        d.name: d.parent for d in units.values() if d.parent is not None and d.parent in units
    }
    for cycle in find_cycles(parents, list(units)):
        path = " → ".join([*cycle, cycle[0]])
        errors.append(
            RowError.at(units[cycle[0]].parent_row, Col.PARENT_UNIT, msg.PARENT_CYCLE, path=path)
        )
    return errors


def check_people(
    people: Sequence[PersonDraft],
    by_no: Mapping[str, PersonDraft],
    units: Mapping[str, UnitDraft],
) -> list[RowError]:
    """Supervisors exist and form no loop; one head and one 分管领导 per unit; one 组长 (二(一))."""
    errors: list[RowError] = []
    heads: dict[str, PersonDraft] = {}
    leaders: dict[str, PersonDraft] = {}
    chiefs: dict[str, PersonDraft] = {}

    def once(
        seen: dict[str, PersonDraft],
        key: str,
        p: PersonDraft,
        col: Col,
        message: str,
        **params: str,
    ) -> None:
        if key in seen:
            other = seen[key]
            errors.append(
                RowError.at(p.row, col, message, other=other.name, other_row=other.row, **params)
            )
        else:
            seen[key] = p

    for p in people:
        if p.unit_head and p.unit:
            once(heads, p.unit, p, Col.UNIT_HEAD, msg.SECOND_HEAD, unit=p.unit)
        if p.supervisor_no and p.supervisor_no == p.employee_no:
            errors.append(RowError.at(p.row, Col.SUPERVISOR_NO, msg.SUPERVISOR_SELF))
        elif p.supervisor_no and p.supervisor_no not in by_no:
            errors.append(
                RowError.at(p.row, Col.SUPERVISOR_NO, msg.SUPERVISOR_UNKNOWN, value=p.supervisor_no)
            )
        for unit in p.leads_units:
            if unit in units:
                once(leaders, unit, p, Col.LEADS_UNITS, msg.SECOND_LEADER, value=unit)
            else:
                errors.append(RowError.at(p.row, Col.LEADS_UNITS, msg.LEADS_UNKNOWN, value=unit))
        if p.leadership is Role.LEADER_CHIEF:
            once(chiefs, "", p, Col.LEADERSHIP, msg.SECOND_CHIEF)
    supervisors = {
        no: p.supervisor_no
        for no, p in by_no.items()
        if p.supervisor_no in by_no and p.supervisor_no != no
    }
    for cycle in find_cycles(supervisors, list(by_no)):
        path = " → ".join(f"{by_no[no].name} ({no})" for no in [*cycle, cycle[0]])
        errors.append(
            RowError.at(by_no[cycle[0]].row, Col.SUPERVISOR_NO, msg.SUPERVISOR_CYCLE, path=path)
        )
    return errors


K = TypeVar("K", bound=Hashable)


def find_cycles(successor: Mapping[K, K], order: Sequence[K]) -> list[list[K]]:
    """Each loop in a functional graph once, starting at its node earliest in ``order``.

    Every node has at most one successor (a parent, a supervisor), so a walk from
    each unvisited node either ends or closes exactly one loop.
    """
    rank = {node: i for i, node in enumerate(order)}
    done: set[K] = set()
    cycles: list[list[K]] = []
    for start in order:
        path: list[K] = []
        on_path: dict[K, int] = {}
        node: K | None = start
        while node is not None and node not in done and node not in on_path:
            on_path[node] = len(path)
            path.append(node)
            node = successor.get(node)
        if node is not None and node in on_path:
            loop = path[on_path[node] :]
            first = min(range(len(loop)), key=lambda i: rank.get(loop[i], len(rank)))
            cycles.append(loop[first:] + loop[:first])
        done.update(path)
    return cycles
