"""Integrity signals over submitted forms: patterns the working group should look at.

五(二)3 has the working group 汇总和整理 what was collected, and 一(三)2 asks for
客观公正; these signals help it check the data before scores go to the leadership
group. They only flag — nothing here changes or excludes a rating; a person
decides (a 差评 found malicious is excluded through 申诉复核, not by a heuristic).
Signals name raters, so they are for the working group only, never for the rated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from domain.enums import Source
from domain.template.survey import OVERALL
from domain.template.values import freeze
from scoring.numbers import exact, round2


@dataclass(frozen=True)
class Form:
    """One submitted form (or one citizen response): ``answers`` maps an indicator (or
    question) code to its points 0–100.
    """

    rater: str
    ratee: str
    source: Source
    answers: Mapping[str, Decimal]

    def __post_init__(self) -> None:
        object.__setattr__(self, "answers", freeze(self.answers))


class SignalKind:
    """Stable strings, stored and used as message keys."""

    MUTUAL_TOP_PEER = "mutual_top_peer"  # two colleagues gave each other top marks
    STRAIGHT_LINING = "straight_lining"  # the same points on every item of a form
    SELF_ABOVE_OTHERS = "self_above_others"  # self far above superior + peers
    REPEATED_BAD_REVIEWS = "repeated_bad_reviews"  # many 差评 from one citizen account


_KIND_ORDER = (
    SignalKind.MUTUAL_TOP_PEER,
    SignalKind.STRAIGHT_LINING,
    SignalKind.SELF_ABOVE_OTHERS,
    SignalKind.REPEATED_BAD_REVIEWS,
)


@dataclass(frozen=True)
class Signal:
    """A pattern worth a look; ``raters`` and ``ratees`` sorted, ``params`` plain strings."""

    kind: str
    raters: tuple[str, ...]
    ratees: tuple[str, ...]
    params: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", freeze(self.params))


@dataclass(frozen=True)
class IntegrityOptions:
    """Thresholds. A citizen response counts as a 差评 when its overall level is at most
    ``bad_points`` (不满意 = 40 by default), as the survey decides a 差评 by that level
    alone; a response from before the overall level was asked, when any answer is.
    Citizens are left out of straight-lining by default: a satisfied citizen tapping
    非常满意 four times is the common case, not a pattern.
    """

    mutual_top_points: Decimal = Decimal(95)
    straight_line_min_items: int = 4
    straight_line_sources: frozenset[Source] = frozenset(
        {Source.SELF, Source.SUPERIOR, Source.PEER}
    )
    self_gap_points: Decimal = Decimal(20)
    bad_points: Decimal = Decimal(40)
    bad_min_responses: int = 3


DEFAULT_INTEGRITY = IntegrityOptions()


def _mean(values: Sequence[Decimal]) -> Fraction:
    return sum((exact(v) for v in values), Fraction(0)) / len(values)


def integrity_signals(
    forms: Sequence[Form], *, options: IntegrityOptions = DEFAULT_INTEGRITY
) -> list[Signal]:
    """Every signal in ``forms``, ordered by kind, then raters, then ratees."""
    signals = [
        *_mutual_top(forms, options),
        *_straight_lining(forms, options),
        *_self_above(forms, options),
        *_repeated_bad(forms, options),
    ]
    return sorted(signals, key=lambda s: (_KIND_ORDER.index(s.kind), s.raters, s.ratees))


def _mutual_top(forms: Sequence[Form], options: IntegrityOptions) -> list[Signal]:
    """Two colleagues each gave the other at least the threshold on every peer item."""
    answers: dict[tuple[str, str], list[Decimal]] = {}
    for form in forms:
        if form.source is Source.PEER:
            answers.setdefault((form.rater, form.ratee), []).extend(form.answers.values())

    def top(pair: tuple[str, str]) -> bool:
        values = answers.get(pair)
        return bool(values) and all(v >= options.mutual_top_points for v in values or ())

    pairs = sorted({tuple(sorted(pair)) for pair in answers if pair[0] != pair[1]})
    return [
        Signal(
            SignalKind.MUTUAL_TOP_PEER,
            (a, b),
            (a, b),
            {"min_points": format(options.mutual_top_points, "f")},
        )
        for a, b in pairs
        if top((a, b)) and top((b, a))
    ]


def _straight_lining(forms: Sequence[Form], options: IntegrityOptions) -> list[Signal]:
    """The same points on every item of one form with enough items to mean something."""
    return [
        Signal(
            SignalKind.STRAIGHT_LINING,
            (form.rater,),
            (form.ratee,),
            {
                "source": form.source.value,
                "points": format(next(iter(form.answers.values())), "f"),
                "items": str(len(form.answers)),
            },
        )
        for form in forms
        if form.source in options.straight_line_sources
        and len(form.answers) >= options.straight_line_min_items
        and len(set(form.answers.values())) == 1
    ]


def _self_above(forms: Sequence[Form], options: IntegrityOptions) -> list[Signal]:
    """Mean of the self answers at least the gap above the mean of superior + peer answers."""
    own: dict[str, list[Decimal]] = {}
    others: dict[str, list[Decimal]] = {}
    for form in forms:
        if form.source is Source.SELF:
            own.setdefault(form.ratee, []).extend(form.answers.values())
        elif form.source in (Source.SUPERIOR, Source.PEER):
            others.setdefault(form.ratee, []).extend(form.answers.values())
    signals = []
    for ratee in sorted(own):
        if not own[ratee] or not others.get(ratee):
            continue
        self_mean, others_mean = _mean(own[ratee]), _mean(others[ratee])
        if self_mean - others_mean >= exact(options.self_gap_points):
            signals.append(
                Signal(
                    SignalKind.SELF_ABOVE_OTHERS,
                    (ratee,),
                    (ratee,),
                    {
                        "self_mean": str(round2(self_mean)),
                        "others_mean": str(round2(others_mean)),
                        "gap": str(round2(self_mean - others_mean)),
                    },
                )
            )
    return signals


def _repeated_bad(forms: Sequence[Form], options: IntegrityOptions) -> list[Signal]:
    """One citizen account with many 差评, against one subject or spread over several."""
    bad: dict[str, list[str]] = {}
    for form in forms:
        if form.source is not Source.CITIZEN:
            continue
        overall = form.answers.get(OVERALL)
        levels = form.answers.values() if overall is None else (overall,)
        if any(v <= options.bad_points for v in levels):
            bad.setdefault(form.rater, []).append(form.ratee)
    signals = []
    for rater in sorted(bad):
        ratees = bad[rater]
        if len(ratees) < options.bad_min_responses:
            continue
        most = max(ratees.count(r) for r in set(ratees))
        signals.append(
            Signal(
                SignalKind.REPEATED_BAD_REVIEWS,
                (rater,),
                tuple(sorted(set(ratees))),
                {
                    "responses": str(len(ratees)),
                    "max_per_subject": str(most),
                },
            )
        )
    return signals
