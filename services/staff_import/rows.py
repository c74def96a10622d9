"""Row by row: turn cells into unit and person drafts, checking what one row can tell.

What needs the whole file (the tree, supervisors, one head per unit) is left to
``rules``; here a unit only accumulates what each row says about it, and rows
that say different things about the same unit are reported with both row numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.enums import Role, UnitKind
from services.staff_import import errors as msg
from services.staff_import.columns import (
    BOOLEANS,
    LEADERSHIP,
    LIST_SEPARATORS,
    PERSON_ONLY,
    UNIT_KINDS,
    Col,
    norm,
)
from services.staff_import.errors import RowError

MAX_EMPLOYEE_NO = 32  # staff.employee_no is String(32)
MAX_TEXT = 64  # names, unit names and positions are String(64)
_EMPLOYEE_NO = re.compile(r"[A-Za-z0-9_-]+")
_LIST_SPLIT = re.compile("|".join(map(re.escape, LIST_SEPARATORS)))


@dataclass
class UnitDraft:
    """A unit as the rows so far describe it, with the row that first gave each fact."""

    name: str
    row: int
    kind: UnitKind | None = None
    kind_text: str = ""
    kind_row: int = 0
    parent: str | None = None
    parent_row: int = 0


@dataclass
class PersonDraft:
    """A person row's cells, parsed; cross-references are still unchecked text."""

    row: int
    employee_no: str
    name: str
    unit: str
    position: str
    supervisor_no: str
    unit_head: bool
    leads_units: tuple[str, ...]
    leadership: Role | None
    admin: bool


class RowReader:
    """Collects drafts and the problems a single row shows, in the order the sheet has them."""

    def __init__(self, columns: dict[Col, int]) -> None:
        self.columns = columns
        self.errors: list[RowError] = []
        self.units: dict[str, UnitDraft] = {}  # in order of first appearance
        self.people: list[PersonDraft] = []
        self.by_no: dict[str, PersonDraft] = {}  # first row for each valid employee number

    def read(self, row: int, cells: list[str]) -> None:
        def cell(col: Col) -> str:
            index = self.columns.get(col)
            return cells[index] if index is not None and index < len(cells) else ""

        employee_no, name, unit = cell(Col.EMPLOYEE_NO), cell(Col.NAME), cell(Col.UNIT)
        if not (employee_no or name):  # a unit-only row: lets a unit without people exist
            for col in PERSON_ONLY:
                if cell(col):
                    self.errors.append(RowError.at(row, col, msg.NOT_A_PERSON))
            if unit:
                self._declare_unit(row, unit, cell(Col.PARENT_UNIT), cell(Col.UNIT_KIND))
            elif cell(Col.PARENT_UNIT) or cell(Col.UNIT_KIND):
                self.errors.append(RowError.at(row, Col.UNIT, msg.REQUIRED))
            return
        valid_no = self._check_employee_no(row, employee_no)
        self._check_text(row, Col.NAME, name)
        self._check_text(row, Col.POSITION, cell(Col.POSITION), required=False)
        if unit:
            self._declare_unit(row, unit, cell(Col.PARENT_UNIT), cell(Col.UNIT_KIND))
        else:
            self.errors.append(RowError.at(row, Col.UNIT, msg.REQUIRED))
        person = PersonDraft(
            row=row,
            employee_no=employee_no,
            name=name,
            unit=unit,
            position=cell(Col.POSITION),
            supervisor_no=cell(Col.SUPERVISOR_NO),
            unit_head=self._boolean(row, Col.UNIT_HEAD, cell(Col.UNIT_HEAD)),
            leads_units=split_list(cell(Col.LEADS_UNITS)),
            leadership=self._leadership(row, cell(Col.LEADERSHIP)),
            admin=self._boolean(row, Col.ADMIN, cell(Col.ADMIN)),
        )
        self.people.append(person)
        if valid_no:
            self.by_no[employee_no] = person

    def _check_employee_no(self, row: int, value: str) -> bool:
        problem: RowError | None = None
        if not value:
            problem = RowError.at(row, Col.EMPLOYEE_NO, msg.REQUIRED)
        elif len(value) > MAX_EMPLOYEE_NO:
            problem = RowError.at(
                row, Col.EMPLOYEE_NO, msg.TOO_LONG, value=value, max=MAX_EMPLOYEE_NO
            )
        elif not _EMPLOYEE_NO.fullmatch(value):
            problem = RowError.at(row, Col.EMPLOYEE_NO, msg.BAD_EMPLOYEE_NO, value=value)
        elif value in self.by_no:
            problem = RowError.at(
                row,
                Col.EMPLOYEE_NO,
                msg.DUPLICATE_EMPLOYEE_NO,
                value=value,
                other_row=self.by_no[value].row,
            )
        if problem:
            self.errors.append(problem)
        return problem is None

    def _check_text(self, row: int, col: Col, value: str, *, required: bool = True) -> None:
        if required and not value:
            self.errors.append(RowError.at(row, col, msg.REQUIRED))
        elif len(value) > MAX_TEXT:
            self.errors.append(RowError.at(row, col, msg.TOO_LONG, value=value, max=MAX_TEXT))

    def _boolean(self, row: int, col: Col, value: str) -> bool:
        parsed = BOOLEANS.get(norm(value)) if value else False
        if parsed is None:
            self.errors.append(RowError.at(row, col, msg.BAD_BOOLEAN, value=value))
        return bool(parsed)

    def _leadership(self, row: int, value: str) -> Role | None:
        seat = LEADERSHIP.get(norm(value)) if value else None
        if value and seat is None:
            self.errors.append(RowError.at(row, Col.LEADERSHIP, msg.BAD_LEADERSHIP, value=value))
        return seat

    def _declare_unit(self, row: int, name: str, parent: str, kind_text: str) -> None:
        """Each row may state a unit's parent and type; rows that state them must agree."""
        self._check_text(row, Col.UNIT, name)
        draft = self.units.setdefault(name, UnitDraft(name, row))
        if kind_text:
            kind = UNIT_KINDS.get(norm(kind_text))
            if kind is None:
                self.errors.append(RowError.at(row, Col.UNIT_KIND, msg.BAD_KIND, value=kind_text))
            elif draft.kind is None:
                draft.kind, draft.kind_text, draft.kind_row = kind, kind_text, row
            elif draft.kind != kind:
                self._conflict(row, Col.UNIT_KIND, name, kind_text, draft.kind_text, draft.kind_row)
        if parent:
            self._check_text(row, Col.PARENT_UNIT, parent)
            if draft.parent is None:
                draft.parent, draft.parent_row = parent, row
            elif draft.parent != parent:
                self._conflict(row, Col.PARENT_UNIT, name, parent, draft.parent, draft.parent_row)

    def _conflict(
        self, row: int, col: Col, unit: str, value: str, other: str, other_row: int
    ) -> None:
        self.errors.append(
            RowError.at(
                row,
                col,
                msg.UNIT_CONFLICT,
                unit=unit,
                value=value,
                other=other,
                other_row=other_row,
            )
        )


def split_list(text: str) -> tuple[str, ...]:
    """分管单位 as written: 办公室、应急指挥中心; repeated names count once."""
    return tuple(dict.fromkeys(u.strip() for u in _LIST_SPLIT.split(text) if u.strip()))
