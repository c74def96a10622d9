"""Exact arithmetic for scores: integers and rationals inside, two-decimal ``Decimal`` outside.

Means over 3 raters and weights renormalised over the sources present (20 : 40 →
1/3 : 2/3) are not finite decimals, so nothing is rounded until the end: the engine
keeps every quantity as an integer over one common denominator per subject, the
rest of the package uses ``Fraction``, and a value is rounded exactly once, half up,
to the 2 decimals that are shown and banded (五(三)2): 89.995 is 90.00 and 优秀
whatever path the numbers took, never 89.99 by a float or a 28-digit ``Decimal``
that came out as 89.99499….
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction


def exact(value: Decimal | int | Fraction) -> Fraction:
    """``value`` as a rational; ValueError for NaN or infinity."""
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return Fraction(value)


def ratio_cents(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` (both ≥ 0, denominator > 0) in hundredths, half up."""
    return (200 * numerator + denominator) // (2 * denominator)


def cents(value: Fraction) -> int:
    """``value`` (≥ 0: points are 0–100) in hundredths, rounded half up."""
    return ratio_cents(value.numerator, value.denominator)


# Every score, weight and contribution is 0.00–100.00: one shared Decimal each (they are
# immutable), so a bureau's hundreds of thousands of breakdown figures allocate nothing.
_CENTS = tuple(Decimal(n).scaleb(-2) for n in range(10_001))
# Their texts, by identity (not by value: Decimal("90.0") equals Decimal("90.00") but reads
# otherwise), for ``scoring.model.to_dict``.
CENT_TEXTS = {id(d): format(d, "f") for d in _CENTS}


def from_cents(count: int) -> Decimal:
    """Hundredths as a two-decimal ``Decimal``: ``9000`` → ``Decimal("90.00")``."""
    if 0 <= count <= 10_000:
        return _CENTS[count]
    return Decimal(count).scaleb(-2)


def round2(value: Fraction | Decimal | int) -> Decimal:
    """``value`` rounded half up to 2 decimals (ROUND_HALF_UP, the way totals are shown)."""
    return from_cents(cents(exact(value)))


def apportion(target: int, numerators: Sequence[int], denominator: int) -> list[int]:
    """Integers, each the floor or the ceiling of its part ``n / denominator``, adding up
    to ``target``.

    Largest remainder (Hamilton): floors first, the units left go to the largest
    remainders, ties to the earlier part (template order), so the result is
    deterministic. ``target`` must lie between the sum of the floors and the sum of
    the ceilings, which holds when it is the rounding of the parts' sum or itself an
    apportioned share of a larger whole (each share is a floor or a ceiling).
    """
    shares = [divmod(n, denominator) for n in numerators]
    floors = [q for q, _ in shares]
    left = target - sum(floors)
    if not 0 <= left <= len(floors):
        raise ValueError(f"cannot apportion {target} over {list(numerators)}/{denominator}")
    if left:
        order = sorted(range(len(shares)), key=lambda k: (-shares[k][1], k))
        for k in order[:left]:
            floors[k] += 1
    return floors


def integer_weights(weights: Sequence[Decimal]) -> list[int]:
    """Decimal weights as integers in the same proportions (12.5 : 20 → 125 : 200)."""
    fractions = [Fraction(w) for w in weights]
    scale = math.lcm(1, *(f.denominator for f in fractions))
    return [int(f * scale) for f in fractions]
