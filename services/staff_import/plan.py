"""What an import changes, as a value: shown to the admin before, recorded after.

Lists rather than counts, so the confirm message can name who is deactivated and
a caller can compare the plan it showed with the one ``apply_import`` carried out.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from babel.lists import format_list

from domain.enums import Role
from infra.i18n import N_, Translator

MAX_NAMES = 20  # a confirm message lists at most this many names per line

FILE_TOTALS = N_("People in the file: {people}; units: {units}.")
NO_CHANGES = N_("No changes: the database already matches the file.")
UNITS_LINE = N_(
    "Units: {created} new, {updated} changed, {reactivated} reactivated, {deactivated} deactivated."
)
PEOPLE_LINE = N_(
    "People: {created} new, {updated} changed, {reactivated} reactivated,"
    " {deactivated} deactivated."
)
ROLES_LINE = N_("Roles: {granted} granted, {revoked} revoked.")
DEACTIVATED_PEOPLE = N_("Deactivated people: {names}")
DEACTIVATED_UNITS = N_("Deactivated units: {names}")
MORE_NAMES = N_("{count} more")
_KINDS_OF_CHANGE = ("created", "updated", "reactivated", "deactivated")


@dataclass(frozen=True)
class PersonRef:
    """A person named in a plan, by employee number and name."""

    employee_no: str
    name: str


@dataclass(frozen=True)
class FieldChange:
    """An existing unit (key = name) or person (key = employee number) and what changes."""

    key: str
    name: str
    # units: kind, parent, head, leader, order; people: name, unit, position, supervisor
    fields: tuple[str, ...]


@dataclass(frozen=True)
class RoleChange:
    """A role granted or revoked."""

    employee_no: str
    name: str
    role: Role


@dataclass(frozen=True)
class ImportPlan:
    """What an import changes; equal plans mean equal effects, so a caller can compare."""

    units_in_file: int
    people_in_file: int
    units_created: tuple[str, ...] = ()
    units_updated: tuple[FieldChange, ...] = ()
    units_reactivated: tuple[str, ...] = ()
    units_deactivated: tuple[str, ...] = ()
    people_created: tuple[PersonRef, ...] = ()
    people_updated: tuple[FieldChange, ...] = ()
    people_reactivated: tuple[PersonRef, ...] = ()
    people_deactivated: tuple[PersonRef, ...] = ()
    roles_granted: tuple[RoleChange, ...] = ()
    roles_revoked: tuple[RoleChange, ...] = ()

    def counts(self) -> dict[str, int]:
        """Every list's length by name: the audit detail and the summary's numbers."""
        return {
            f.name: len(getattr(self, f.name))
            for f in fields(self)
            if f.name.startswith(("units_", "people_", "roles_")) and not f.name.endswith("_file")
        }

    @property
    def has_changes(self) -> bool:
        return any(self.counts().values())

    def summary(self, tr: Translator) -> str:
        """A few lines for the confirm message and the CLI: totals, counts, who is deactivated."""
        c = self.counts()
        lines = [tr._(FILE_TOTALS).format(people=self.people_in_file, units=self.units_in_file)]
        if not self.has_changes:
            lines.append(tr._(NO_CHANGES))
            return "\n".join(lines)
        for prefix, template in (("units", UNITS_LINE), ("people", PEOPLE_LINE)):
            numbers = {k: c[f"{prefix}_{k}"] for k in _KINDS_OF_CHANGE}
            if any(numbers.values()):
                lines.append(tr._(template).format(**numbers))
        if c["roles_granted"] or c["roles_revoked"]:
            lines.append(
                tr._(ROLES_LINE).format(granted=c["roles_granted"], revoked=c["roles_revoked"])
            )
        if self.people_deactivated:
            names = [p.name + tr.paren(p.employee_no) for p in self.people_deactivated]
            lines.append(tr._(DEACTIVATED_PEOPLE).format(names=_name_list(tr, names)))
        if self.units_deactivated:
            lines.append(
                tr._(DEACTIVATED_UNITS).format(names=_name_list(tr, list(self.units_deactivated)))
            )
        return "\n".join(lines)


def _name_list(tr: Translator, names: list[str]) -> str:
    shown = names[:MAX_NAMES]
    if len(names) > MAX_NAMES:
        shown.append(tr._(MORE_NAMES).format(count=len(names) - MAX_NAMES))
    return format_list(shown, locale=tr.locale)
