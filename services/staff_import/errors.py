"""Roster problems as values: a row, a column, an English msgid and its parameters.

The admin fixes the spreadsheet, not the code, so every problem names the row as
the spreadsheet shows it (header = row 1) and the column in the admin's language.
Messages are msgids marked with ``N_``; ``render`` translates them at the edge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.i18n import N_, Translator
from services.staff_import.columns import HEADERS, Col

# File as a whole
EMPTY_FILE = N_("The file is empty.")
NO_PEOPLE = N_("The file lists no people; a roster needs at least one person.")
BAD_ENCODING = N_("The file is not UTF-8, GB18030 or Big5 text; save it as CSV (UTF-8) or .xlsx.")
BAD_CSV = N_("The file cannot be read as CSV from line {line} on; save it again as CSV or .xlsx.")
FILE_TOO_LARGE = N_("The file is larger than {max} MB.")
XLSX_TOO_LARGE = N_(
    "The workbook unpacks to more than {max} MB; save it again without pictures or extra sheets."
)
TOO_MANY_ROWS = N_(
    "The roster has more than {max} rows, more than any bureau; delete stray rows below"
    " the table, or check that this is the roster."
)
OLD_XLS = N_("Old .xls workbooks cannot be read; save the file as .xlsx or CSV.")
BAD_XLSX = N_("The file cannot be read as an .xlsx workbook.")
MISSING_COLUMN = N_("Missing required column {column}.")
DUPLICATE_COLUMN = N_("Row {row} ({column}): this column appears more than once.")
NO_ROOT = N_("No root unit: exactly one unit, the bureau, must have an empty parent unit.")
# One cell
REQUIRED = N_("Row {row} ({column}): this value is required.")
TOO_LONG = N_("Row {row} ({column}): {value} is longer than {max} characters.")
BAD_EMPLOYEE_NO = N_(
    "Row {row} ({column}): employee number {value} may only contain letters, digits, _ and -."
)
DUPLICATE_EMPLOYEE_NO = N_(
    "Row {row} ({column}): employee number {value} already appears on row {other_row}."
)
BAD_KIND = N_(
    "Row {row} ({column}): unknown unit type {value}; use bureau, section, institution or outpost."
)
BAD_BOOLEAN = N_("Row {row} ({column}): {value} is neither yes nor no.")
BAD_LEADERSHIP = N_(
    "Row {row} ({column}): unknown leadership group seat {value}; use chief, deputy or member."
)
NOT_A_PERSON = N_(
    "Row {row} ({column}): a row without employee number and name only declares a unit;"
    " fill in the person or clear this cell."
)
# Units
UNIT_CONFLICT = N_(
    "Row {row} ({column}): unit {unit} is given {value} here but {other} on row {other_row}."
)
UNIT_UNDECLARED = N_(
    "Row {row} ({column}): unit {value} has no unit type on any row; give its type and parent unit."
)
PARENT_UNKNOWN = N_("Row {row} ({column}): parent unit {value} is not a unit in the file.")
PARENT_CYCLE = N_("Row {row} ({column}): units are each other's parents: {path}.")
SECOND_ROOT = N_(
    "Row {row} ({column}): unit {unit} has no parent unit, but {other} on row {other_row}"
    " is already the root."
)
ROOT_NOT_BUREAU = N_("Row {row} ({column}): the root unit {unit} must be of type bureau.")
BUREAU_NOT_ROOT = N_(
    "Row {row} ({column}): unit {unit} is of type bureau, so it cannot have a parent unit."
)
SECOND_HEAD = N_(
    "Row {row} ({column}): unit {unit} already has a head, {other} on row {other_row}."
)
LEADS_UNKNOWN = N_("Row {row} ({column}): unit {value} is not a unit in the file.")
SECOND_LEADER = N_(
    "Row {row} ({column}): unit {value} already has a leader in charge, {other} on row {other_row}."
)
# People
SUPERVISOR_UNKNOWN = N_("Row {row} ({column}): no person with employee number {value}.")
SUPERVISOR_SELF = N_("Row {row} ({column}): a person cannot be their own supervisor.")
SUPERVISOR_CYCLE = N_("Row {row} ({column}): supervisors form a loop: {path}.")
SECOND_CHIEF = N_(
    "Row {row} ({column}): the leadership group has one chief, and {other} on row {other_row}"
    " already is."
)


@dataclass(frozen=True)
class RowError:
    """One problem in the file; ``row``/``column`` are None when it concerns the whole file."""

    row: int | None
    column: Col | None
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def at(cls, row: int | None, column: Col | None, message: str, **params: Any) -> RowError:
        """Shorthand that takes the parameters as keywords."""
        return cls(row, column, message, params)

    def render(self, tr: Translator) -> str:
        """The translated sentence, with the column titled as the user's language titles it."""
        return self._format(tr._(self.message), tr.locale)

    def __str__(self) -> str:
        return self._format(self.message, "en")

    def _format(self, text: str, locale: str) -> str:
        column = HEADERS[self.column].label(locale) if self.column else ""
        return text.format(row=self.row, column=column, **self.params)

    def sort_key(self) -> tuple[int, int, str]:
        """File-level problems first, then by row and by column as the sheet lays them out."""
        columns = list(Col)
        return (
            self.row or 0,
            columns.index(self.column) if self.column else -1,
            self.message,
        )


class RosterInvalid(Exception):
    """The file was refused; ``errors`` lists every problem found, in sheet order."""

    def __init__(self, errors: Iterable[RowError]) -> None:
        self.errors = sorted(errors, key=RowError.sort_key)
        super().__init__("\n".join(str(e) for e in self.errors))

    def render(self, tr: Translator, limit: int | None = None) -> str:
        """One line per problem; past ``limit`` a count, so a chat message stays readable."""
        shown = self.errors if limit is None else self.errors[:limit]
        lines = [e.render(tr) for e in shown]
        hidden = len(self.errors) - len(shown)
        if hidden:
            more = tr.ngettext(
                "… and {count} more problem.", "… and {count} more problems.", hidden
            )
            lines.append(more.format(count=hidden))
        return "\n".join(lines)
