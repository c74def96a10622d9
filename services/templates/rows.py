"""What a reader finds (``Draft``: rows as ``Record``s) and how a cell becomes a value.

Both readers (``xlsx``, ``tomlfile``) only find rows; ``build`` and ``survey_rows``
turn their cells into values with ``Cells``, recording each refusal at its row.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import TypeVar

from domain.template import Area, TemplateProblem, Where, decimal_text
from services.templates import messages as msg
from services.templates.vocab import norm, split_list

E = TypeVar("E", bound=Enum)

# Weights, points and days are 0–100 or so; far beyond that a number is a typo or an
# attack (1e308 cannot even be rounded in 28 digits), so it is refused here, before any
# arithmetic, with room left for the rules to name a merely wrong value (150 %).
MAX_NUMBER = Decimal(1_000_000)
MAX_DECIMALS = 10


def _decimals(number: Decimal) -> int:
    """Decimal places that matter: 40.000 has none, 1E-400 has 400 (without computing 10**400)."""
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + zeros))


def _short(value: object) -> str:
    """The cell as the user wrote it, cut so a 5,000-digit number does not flood the chat."""
    text = str(value)
    return text if len(text) <= 24 else text[:20] + "…"


@dataclass
class Record:
    """One row (XLSX) or one table (TOML). A key absent from ``values`` means the column is
    missing altogether (already reported once); present but empty means an empty cell.
    """

    sheet: str
    row: int | None
    values: dict[str, object]
    fields: dict[str, str] = dataclasses.field(default_factory=dict)  # key -> header as written
    # TOML: what the table holds, where a workbook row says it in its item cell:
    # "dimension" or "source" (weights); "points", "days", "problems", "problems_en" (survey)
    expect: str | None = None

    def where(self, key: str | None) -> Where:
        return self.sheet, self.row, self.fields.get(key, key) if key else None


@dataclass
class Draft:
    """What a reader found, before meaning is checked."""

    area_sheets: dict[Area, str]  # where a problem about a whole part points
    order: list[str]  # sheet names in file order, for sorting problems
    name: str = ""
    name_where: Where = (None, None, "name")
    weights: list[Record] = dataclasses.field(default_factory=list)
    levels: list[Record] = dataclasses.field(default_factory=list)
    indicators: list[Record] = dataclasses.field(default_factory=list)
    goals: list[Record] = dataclasses.field(default_factory=list)
    survey: bool = False  # the file has a survey section (else the template gets none)
    survey_questions: list[Record] = dataclasses.field(default_factory=list)
    survey_settings: list[Record] = dataclasses.field(default_factory=list)
    # TOML: the survey's keys, so a problem about a whole list still names its key
    survey_fields: dict[str, str] = dataclasses.field(default_factory=dict)
    problems: list[TemplateProblem] = dataclasses.field(default_factory=list)
    missing_sheets: set[str] = dataclasses.field(default_factory=set)  # reported already


class Cells:
    """Cell values to model values; each refusal is added to ``problems`` with its row."""

    def __init__(self, problems: list[TemplateProblem]) -> None:
        self.problems = problems

    def problem(self, rec: Record, key: str | None, message: str, /, **params: object) -> None:
        self.problems.append(TemplateProblem(*rec.where(key), message, params))

    def text(self, rec: Record, key: str) -> str:
        value = rec.values.get(key)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | Decimal):
            return decimal_text(Decimal(str(value)))
        if isinstance(value, list | dict):
            self.problem(rec, key, msg.BAD_TYPE, key=rec.fields.get(key, key))
            return ""
        return unicodedata.normalize("NFC", str(value)).strip()

    def number(self, rec: Record, key: str, *, percent: bool) -> Decimal | None:
        """A number, or None after reporting why not; "40%" is 40 where ``percent``."""
        value = rec.values.get(key)
        column = rec.fields.get(key, key)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.problem(rec, key, msg.REQUIRED, column=column)
            return None
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(str(value))
        elif isinstance(value, str):
            text = unicodedata.normalize("NFKC", value).strip()
            if percent:
                text = text.removesuffix("%").strip()
            try:
                number = Decimal(text)
            except InvalidOperation:
                number = Decimal("NaN")
        else:
            number = Decimal("NaN")
        if not number.is_finite():
            self.problem(rec, key, msg.BAD_NUMBER, value=value, column=column)
            return None
        if number == 0:
            return Decimal(0)  # -0 and 0E-7 are plain 0
        if number.copy_abs() > MAX_NUMBER or _decimals(number) > MAX_DECIMALS:
            self.problem(rec, key, msg.NUMBER_OUT_OF_RANGE, value=_short(value), column=column)
            return None
        return number

    def members(
        self, rec: Record, key: str, vocab: Mapping[str, E], bad: str
    ) -> tuple[set[E], bool]:
        """The words of a list cell; the flag says some word was unknown (and reported)."""
        value = rec.values.get(key)
        words: list[str] = []
        if isinstance(value, list):
            for item in value:
                if not isinstance(item, str):
                    self.problem(rec, key, msg.BAD_TYPE, key=rec.fields.get(key, key))
                    return set(), True
                words.extend(split_list(item))
        else:
            words = split_list(self.text(rec, key))
        found: set[E] = set()
        unknown = False
        for word in words:
            member = vocab.get(norm(word))
            if member is None:
                self.problem(rec, key, bad, value=word)
                unknown = True
            else:
                found.add(member)
        return found, unknown
