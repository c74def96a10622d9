"""The roster file as values, checked against the rules of 二 before anything touches the DB.

``parse_roster`` is pure: it reads every row, collects every problem, and either
returns a consistent ``Roster`` or raises ``RosterInvalid`` listing them all, so
the admin fixes the sheet in one round rather than one error per upload.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.enums import Role, UnitKind
from services.staff_import import errors as msg
from services.staff_import.columns import HEADER_INDEX, REQUIRED, Col, norm
from services.staff_import.errors import RosterInvalid, RowError
from services.staff_import.reader import Row, read_rows
from services.staff_import.rows import RowReader
from services.staff_import.rules import check_people, check_tree

HEADER_SEARCH_ROWS = 5  # a title or a note above the header is skipped, a whole page is not


@dataclass(frozen=True)
class RosterUnit:
    """A unit as the file declares it; ``row`` is where it first appears."""

    name: str
    kind: UnitKind
    parent: str | None
    row: int


@dataclass(frozen=True)
class RosterPerson:
    """One person row; references to others are by employee number and unit name."""

    employee_no: str
    name: str
    unit: str
    position: str
    supervisor_no: str | None
    unit_head: bool
    leads_units: tuple[str, ...]
    leadership: Role | None
    admin: bool
    row: int

    @property
    def roles(self) -> frozenset[Role]:
        """The grants this row asks for: leadership seat and working group (二(一), 二(二))."""
        roles = {self.leadership} if self.leadership else set()
        if self.admin:
            roles.add(Role.ADMIN)
        return frozenset(roles)


@dataclass(frozen=True)
class Roster:
    """The whole organisation as one file states it; ``source`` names the file for the audit log."""

    units: tuple[RosterUnit, ...]
    people: tuple[RosterPerson, ...]
    source: str = field(default="", compare=False)

    def heads(self) -> dict[str, str]:
        """Unit name → employee number of its 负责人."""
        return {p.unit: p.employee_no for p in self.people if p.unit_head}

    def leaders(self) -> dict[str, str]:
        """Unit name → employee number of its 分管领导."""
        return {u: p.employee_no for p in self.people for u in p.leads_units}


def parse_roster(data: bytes, filename: str) -> Roster:
    """Read a CSV or XLSX roster and check it whole; raise ``RosterInvalid`` with every problem."""
    rows = read_rows(data, filename)
    start = _header_index(rows)
    header_row, header = rows[start]
    columns: dict[Col, int] = {}
    errors: list[RowError] = []
    for index, title in enumerate(header):
        col = HEADER_INDEX.get(norm(title))
        if col is None:
            continue  # unknown extra columns (备注, 电话 …) are the admin's business
        if col in columns:
            errors.append(RowError(header_row, col, msg.DUPLICATE_COLUMN))
        else:
            columns[col] = index
    errors += [RowError(None, c, msg.MISSING_COLUMN) for c in REQUIRED if c not in columns]
    if errors:
        raise RosterInvalid(errors)
    reader = RowReader(columns)
    for number, cells in rows[start + 1 :]:
        reader.read(number, cells)
    errors = reader.errors
    if not reader.people:
        errors.append(RowError.at(None, None, msg.NO_PEOPLE))
    errors += check_tree(reader.units)
    errors += check_people(reader.people, reader.by_no, reader.units)
    if errors:
        raise RosterInvalid(errors)
    units = tuple(
        RosterUnit(d.name, d.kind, d.parent, d.row) for d in reader.units.values() if d.kind
    )
    people = tuple(
        RosterPerson(
            employee_no=p.employee_no,
            name=p.name,
            unit=p.unit,
            position=p.position,
            supervisor_no=p.supervisor_no or None,
            unit_head=p.unit_head,
            leads_units=p.leads_units,
            leadership=p.leadership,
            admin=p.admin,
            row=p.row,
        )
        for p in reader.people
    )
    return Roster(units, people, filename)


def _header_index(rows: list[Row]) -> int:
    """The header is the first row naming the 工号 column; sheets often carry a title row above."""
    for index, (_, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if any(HEADER_INDEX.get(norm(c)) is Col.EMPLOYEE_NO for c in cells):
            return index
    return 0  # no such row: the first one is the header, and its missing columns are reported
