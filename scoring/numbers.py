"""Exact arithmetic for scores: rationals inside, two-decimal ``Decimal`` outside.

Means over 3 raters and weights renormalised over the sources present (20 : 40 →
1/3 : 2/3) are not finite decimals, so the engine computes with ``Fraction`` and
rounds exactly once, half up, to the 2 decimals that are shown and banded (五(三)2):
89.995 is 90.00 and 优秀 whatever path the numbers took, never 89.99 by a float or a
28-digit ``Decimal`` that came out as 89.99499….
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

CENT = Fraction(1, 100)
HUNDRED = Decimal(100)


def exact(value: Decimal | int | Fraction) -> Fraction:
    """``value`` as a rational; ValueError for NaN or infinity."""
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return Fraction(value)


def cents(value: Fraction) -> int:
    """``value`` in hundredths, rounded half up (``value`` ≥ 0 here: points are 0–100)."""
    return math.floor(value * 100 + Fraction(1, 2))


def from_cents(count: int) -> Decimal:
    """Hundredths as a two-decimal ``Decimal``: ``9000`` → ``Decimal("90.00")``."""
    return Decimal(count).scaleb(-2)


def round2(value: Fraction | Decimal | int) -> Decimal:
    """``value`` rounded half up to 2 decimals (ROUND_HALF_UP, the way totals are shown)."""
    return from_cents(cents(exact(value)))


def apportion(target: int, parts: Sequence[Fraction]) -> list[int]:
    """Integers, each the floor or the ceiling of its part, that add up to ``target``.

    Largest remainder (Hamilton): floors first, the units left go to the largest
    fractional parts, ties to the earlier part (template order), so the result is
    deterministic. ``target`` must lie between the sum of the floors and the sum of
    the ceilings, which holds when it is the rounding of ``sum(parts)`` or itself an
    apportioned share of a larger whole (each share is a floor or a ceiling).
    """
    floors = [math.floor(p) for p in parts]
    left = target - sum(floors)
    if not 0 <= left <= len(parts):
        raise ValueError(f"cannot apportion {target} over {list(parts)}")
    order = sorted(range(len(parts)), key=lambda k: (floors[k] - parts[k], k))
    for k in order[:left]:
        floors[k] += 1
    return floors
