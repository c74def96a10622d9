"""Staff onboarding from a roster file (二): parse and check it, plan the changes, apply them.

``parse_roster`` is pure and refuses a bad file whole; ``plan_import`` tells the
admin what would change; ``apply_import`` writes it in the caller's transaction.
"""

from services.staff_import.columns import HEADERS, REQUIRED, Col
from services.staff_import.errors import RosterInvalid, RowError
from services.staff_import.plan import FieldChange, ImportPlan, PersonRef, RoleChange
from services.staff_import.roster import Roster, RosterPerson, RosterUnit, parse_roster
from services.staff_import.sync import apply_import, plan_import

__all__ = [
    "HEADERS",
    "REQUIRED",
    "Col",
    "FieldChange",
    "ImportPlan",
    "PersonRef",
    "RoleChange",
    "Roster",
    "RosterInvalid",
    "RosterPerson",
    "RosterUnit",
    "RowError",
    "apply_import",
    "parse_roster",
    "plan_import",
]
