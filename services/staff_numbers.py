"""Employee numbers (工号) as a person types them, matched to the roster's spelling.

The console asks for a number where its command takes one as an argument; typed on a
phone it may come in full-width characters (Ａ００１２), lower case or with Chinese commas.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from infra.models import Staff

_SEPARATORS = re.compile(r"[\s,;，、；]+")


def split_numbers(text: str) -> list[str]:
    """The numbers in a typed reply: NFKC folds full-width forms (an IME's Ａ００１２)."""
    return [p for p in _SEPARATORS.split(unicodedata.normalize("NFKC", text)) if p]


@dataclass(frozen=True)
class Matched:
    """The typed numbers in the roster's spelling, or the first one nobody has."""

    numbers: tuple[str, ...]
    unknown: str | None


async def match(session: AsyncSession, typed: Sequence[str]) -> Matched:
    """Each typed number as the roster spells it, ignoring case; active or not (the command
    decides what an inactive person may have done to them, and says so in its own words)."""
    folded = {n.lower() for n in typed}
    rows = await session.scalars(
        select(Staff.employee_no).where(func.lower(Staff.employee_no).in_(folded))
    )
    spelled = {no.lower(): no for no in rows}
    for number in typed:
        if number.lower() not in spelled:
            return Matched((), number)
    return Matched(tuple(spelled[n.lower()] for n in typed), None)
