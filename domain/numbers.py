"""Numbers as people write them beside a unit the message already carries (a weight's "%")."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def plain_number(value: object) -> str:
    """A stored weight without trailing zeros: ``"60.00"`` → 60, ``12.50`` → 12.5.

    Weights are stored to two places for the arithmetic; "60.00%" reads as false precision.
    Anything that is not a number (a dash for a missing value) is shown as it is.
    """
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not number.is_finite():
        return str(value)
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text
