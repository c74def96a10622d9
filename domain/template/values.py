"""Exact numbers and read-only mappings shared by the template's value types.

Its own module so that ``model`` (the template) and ``survey`` (its citizen survey)
both build on it without importing each other in a circle.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, getcontext
from typing import Any

HUNDRED = Decimal(100)


def canonical(value: Decimal) -> Decimal:
    """``40.0`` and ``40`` as one value, so equal templates serialise (and hash) alike.

    A value too long for the context's precision (only ever in a problem report: the
    readers refuse such numbers) is returned as it is rather than rounded or raising.
    """
    if not value.is_finite() or len(value.as_tuple().digits) > getcontext().prec:
        return value
    if value == value.to_integral_value():
        if value.adjusted() >= getcontext().prec:
            return value
        return value.quantize(Decimal(1))
    return value.normalize()


def decimal_text(value: Decimal) -> str:
    """Plain notation, no exponent: ``Decimal("1E+2")`` is written ``"100"``.

    Past 40 digits either side of the point (never a real weight or score) the exponent
    stays: ``1E+999999999`` written out would be a gigabyte of zeros.
    """
    if value.is_finite() and abs(value.adjusted()) > 40:
        return str(value)
    return format(canonical(value), "f")


class FrozenDict(dict[Any, Any]):
    """A read-only dict: a template shared by a running cycle must not change under it.

    Unlike ``MappingProxyType`` it pickles, deep-copies and hashes (so a Template does).
    """

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a template is immutable")

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]
    __ior__ = _refuse  # type: ignore[assignment]

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),))


def freeze(mapping: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """``mapping`` as a FrozenDict (itself if it already is one)."""
    return mapping if isinstance(mapping, FrozenDict) else FrozenDict(mapping)
