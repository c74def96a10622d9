"""Peer raters in the raw answers: a pseudonym per cycle, rater and rated person (四(二)).

Keyed with the cycle's peer secret (``Cycle.peer_seed``, never shown), so the same export
gives the same numbers and nothing in the workbook recomputes them. A pseudonym deliberately
does NOT follow one rater across the people they rated: the peer circle is balanced (rater i
rates the next k colleagues), so the set of people one pseudonym rated — and in a small unit
simply the one colleague it did not rate — would give its holder's name back. Numbered
1…k within each rated person in the order of the keyed hash, not of any id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import defaultdict
from collections.abc import Iterable


def peer_numbers(
    secret: str | None, cycle_id: int, pairs: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], int]:
    """(rater staff id, ratee key) → the rater's number among the ratee's peer raters (from 1)."""
    key = (secret or secrets.token_hex(32)).encode()  # no secret: no peer forms to keep stable

    def digest(rater: int, ratee: str) -> bytes:
        return hmac.new(key, f"peer:{cycle_id}:{rater}:{ratee}".encode(), hashlib.sha256).digest()

    by_ratee: dict[str, list[int]] = defaultdict(list)
    for rater, ratee in pairs:
        by_ratee[ratee].append(rater)
    numbers: dict[tuple[int, str], int] = {}
    for ratee, raters in by_ratee.items():
        ordered = sorted(set(raters), key=lambda r: digest(r, ratee))
        numbers.update({(rater, ratee): n for n, rater in enumerate(ordered, 1)})
    return numbers
