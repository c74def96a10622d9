"""What the rated person sees of their peer source (四(二): 同事互评 is anonymous).

The engine drops the peer source below 3 raters. From 3 it counts, but a peer mean of
three answers per indicator, with the answers of two colluding raters, gives the
third rater's. So unless every peer mean stands on at least ``PEER_DETAIL_MIN``
raters (from 5 the mean is also trimmed), the rated person's views — 为什么, the result
message, the appeal — show the peer source as ONE figure over all indicators: no peer
mean per indicator, and no score of an indicator the peer part is mixed into (their
own self-assessment and the superior's mean would give the peer mean back). The
combined figure weights each indicator as it counts in the total, so the dimension
scores, which must be shown, add nothing to it when the peer indicators share a
dimension. The stored result and the working group's views keep the detail.
"""

from __future__ import annotations

import copy
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from domain.enums import Source

PEER_DETAIL_MIN: Final = 5
_CENT = Decimal("0.01")


def _sources(breakdown: dict[str, Any]) -> list[tuple[dict, dict, dict]]:
    """(dimension, indicator, source) dicts of a stored breakdown, in order."""
    return [
        (d, i, s)
        for d in breakdown.get("dimensions") or []
        for i in d.get("indicators") or []
        for s in i.get("sources") or []
    ]


def peer_detail_shown(breakdown: dict[str, Any]) -> bool:
    """True when every peer mean stands on at least ``PEER_DETAIL_MIN`` raters (or none counted)."""
    raters = [
        int(s.get("raters") or 0)
        for _d, _i, s in _sources(breakdown)
        if s.get("source") == Source.PEER.value
    ]
    return min(raters, default=PEER_DETAIL_MIN) >= PEER_DETAIL_MIN


def _weight(d: dict, i: dict, s: dict) -> Decimal:
    """How much one source's mean of one indicator counts in the total."""
    return Decimal(d["weight"]) * Decimal(i["weight"]) * Decimal(s["weight"])


def source_means(breakdown: dict[str, Any]) -> dict[Source, Decimal]:
    """Each source's mean over the indicators it rated, weighted as they count in the total.

    The same weighting as the combined peer figure, so the two never disagree and the
    result message cannot be set against the 为什么 view. A dropped peer source is absent.
    """
    sums: dict[Source, tuple[Decimal, Decimal]] = {}
    for d, i, s in _sources(breakdown):
        source, w = Source(s["source"]), _weight(d, i, s)
        total, weights = sums.get(source, (Decimal(0), Decimal(0)))
        sums[source] = (total + w * Decimal(s["mean"]), weights + w)
    means: dict[Source, Decimal] = {}
    for source in Source:  # the regulation's order
        total, weights = sums.get(source, (Decimal(0), Decimal(0)))
        if weights:
            means[source] = (total / weights).quantize(_CENT, ROUND_HALF_UP)
    return means


def ratee_view(breakdown: dict[str, Any]) -> dict[str, Any]:
    """The breakdown as the rated person may see it (a copy when anything is withheld).

    Below the threshold, each indicator with a peer part loses its peer source and its
    score, keeps its other sources with ``contribution`` their sum, and is marked
    ``peer_combined``; the breakdown gains ``peer_combined`` = {mean, contribution,
    indicators}. Contributions still add up exactly to the total.
    """
    if peer_detail_shown(breakdown):
        return breakdown
    mean = source_means(breakdown).get(Source.PEER)
    out = copy.deepcopy(breakdown)
    contribution = Decimal(0)
    codes: list[str] = []
    for d in out.get("dimensions") or []:
        for i in d.get("indicators") or []:
            peer = [s for s in i.get("sources") or [] if s.get("source") == Source.PEER.value]
            if not peer:
                continue
            rest = [s for s in i["sources"] if s.get("source") != Source.PEER.value]
            contribution += sum((Decimal(s["contribution"]) for s in peer), Decimal(0))
            i["sources"] = rest
            i["score"] = None
            i["contribution"] = format(
                sum((Decimal(s["contribution"]) for s in rest), Decimal(0)).quantize(_CENT), "f"
            )
            i["peer_combined"] = True
            codes.append(str(i.get("code")))
    out["peer_combined"] = {
        "mean": None if mean is None else format(mean, "f"),
        "contribution": format(contribution.quantize(_CENT), "f"),
        "indicators": codes,
    }
    return out
