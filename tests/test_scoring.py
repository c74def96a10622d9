"""The scoring engine (五(三), 六): pure, exact, hand-computed; no database, no bot."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path

import pytest

from domain.enums import Dimension, Grade, Source
from domain.template import Indicator, Scale, ScaleKind, Target, Template, validate
from scoring import (
    DEFAULT_OPTIONS,
    Adjustment,
    Form,
    GradeBands,
    IntegrityOptions,
    NoteKind,
    NothingToScore,
    Rating,
    ScoringOptions,
    SignalKind,
    SubjectScore,
    annual_total,
    bonus_coefficient,
    from_dict,
    grade_for,
    integrity_signals,
    quota_preview,
    rank,
    rank_within,
    round2,
    score_subject,
    to_dict,
    weakest_dimension,
)
from services.templates import load_template

pytestmark = pytest.mark.nodb

D = Decimal
SELF, SUP, PEER, CIT = Source.SELF, Source.SUPERIOR, Source.PEER, Source.CITIZEN
DP, DA, DT, DI = Dimension.PERFORMANCE, Dimension.ABILITY, Dimension.ATTITUDE, Dimension.INNOVATION
PERSON, UNIT = Target.PERSON, Target.UNIT
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "template.toml"
CHENGDONG = "城东应急管理所"


# --------------------------------------------------------------------------- helpers


@cache
def shipped() -> Template:
    return load_template(EXAMPLE.read_bytes(), EXAMPLE.name)


def make_template(
    indicators: Iterable[tuple[str, Dimension, int, Iterable[Source]]],
    *,
    dims: Mapping[Dimension, int] | None = None,
    sources: Mapping[Source, int] | None = None,
    targets: Iterable[Target] = (PERSON,),
) -> Template:
    """A small, valid template: (code, dimension, weight, sources) per indicator."""
    template = Template(
        name="test",
        dimension_weights={d: D(w) for d, w in (dims or {DP: 60, DA: 15, DT: 15, DI: 10}).items()},
        source_weights={
            s: D(w) for s, w in (sources or {SELF: 20, SUP: 40, PEER: 20, CIT: 20}).items()
        },
        scales={"score": Scale("score", ScaleKind.SCORE)},
        indicators=tuple(
            Indicator(
                code=code,
                dimension=dim,
                name=code,
                description="",
                weight=D(weight),
                scale="score",
                sources=frozenset(srcs),
                targets=frozenset(targets),
            )
            for code, dim, weight, srcs in indicators
        ),
    )
    # valid but for the survey, whose built-in questions feed the shipped codes
    assert [p for p in validate(template) if p.sheet != "survey"] == []
    return template


# One indicator per dimension; P1 and T1 also rated by citizens and peers.
SIMPLE = make_template(
    [
        ("P1", DP, 100, (SELF, SUP, CIT)),
        ("A1", DA, 100, (SELF, SUP)),
        ("T1", DT, 100, (SELF, SUP, PEER)),
        ("I1", DI, 100, (SELF, SUP)),
    ]
)


def r(source: Source, code: str, points: str | int, rater: str | None = None) -> Rating:
    return Rating(source, code, D(points), rater or source.value)


def complete_ratings(*, citizens: bool = True, peers: int = 3) -> list[Rating]:
    out = [
        r(SELF, "P1", 90),
        r(SUP, "P1", 80),
        r(SELF, "A1", 80),
        r(SUP, "A1", 70),
        r(SELF, "T1", 100),
        r(SUP, "T1", 90),
        r(SELF, "I1", 70),
        r(SUP, "I1", 60),
    ]
    if citizens:
        out += [r(CIT, "P1", p, f"resp{n}") for n, p in enumerate((100, 80, 60))]
    out += [r(PEER, "T1", p, f"peer{n}") for n, p in enumerate((80, 90, 100)[:peers])]
    return out


def notes_of(score: SubjectScore, kind: str) -> list[Mapping[str, str]]:
    return [n.params for n in score.notes if n.kind == kind]


def assert_adds_up(score: SubjectScore) -> None:
    """Contributions add up exactly at every level; sibling weights to exactly 100.00 %."""
    hundred = D("100.00")
    assert sum((d.contribution for d in score.dimensions), D(0)) == score.total
    rated = [d for d in score.dimensions if d.score is not None]
    assert sum((d.weight for d in rated), D(0)) == hundred
    for d in score.dimensions:
        assert sum((i.contribution for i in d.indicators), D(0)) == d.contribution
        if d.score is None:
            assert d.weight == d.contribution == 0
            continue
        assert sum((i.weight for i in d.indicators if i.score is not None), D(0)) == hundred
        for i in d.indicators:
            assert sum((s.contribution for s in i.sources), D(0)) == i.contribution
            if i.score is not None:
                assert sum((s.weight for s in i.sources), D(0)) == hundred
            for value in (i.contribution, *(s.contribution for s in i.sources)):
                assert value >= 0 and value.as_tuple().exponent == -2
    assert score.total.as_tuple().exponent == -2


def indicator(score: SubjectScore, code: str):  # type: ignore[no-untyped-def]
    return next(i for d in score.dimensions for i in d.indicators if i.code == code)


def source_of(score: SubjectScore, code: str, source: Source):  # type: ignore[no-untyped-def]
    return next((s for s in indicator(score, code).sources if s.source is source), None)


# --------------------------------------------------------------------------- a complete person


def test_complete_person_by_hand() -> None:
    score = score_subject(SIMPLE, target=PERSON, unit=None, ratings=complete_ratings())
    # P1: self 90 (w20), superior 80 (w40), citizens 100/80/60 → 80 (w20):
    #     (20·90 + 40·80 + 20·80) / 80 = 6600 / 80 = 82.5
    # A1: (20·80 + 40·70) / 60 = 4400 / 60 = 73.333…
    # T1: peers 80/90/100 → 90: (20·100 + 40·90 + 20·90) / 80 = 7400 / 80 = 92.5
    # I1: (20·70 + 40·60) / 60 = 3800 / 60 = 63.333…
    # total = .60·82.5 + .15·73.333… + .15·92.5 + .10·63.333…
    #       = 49.5 + 11 + 13.875 + 6.333… = 80.708333… → 80.71 (良好)
    assert score.total == D("80.71")
    assert score.grade is Grade.GOOD
    assert score.notes == ()
    assert [d.score for d in score.dimensions] == [D("82.50"), D("73.33"), D("92.50"), D("63.33")]
    assert [d.weight for d in score.dimensions] == [D("60.00"), D("15.00"), D("15.00"), D("10.00")]
    # Dimension contributions 49.5 / 11 / 13.875 / 6.333…: floors 4950+1100+1387+633 = 8070
    # cents, one cent short of 8071: the largest remainder (.5, attitude) gets it.
    assert [d.contribution for d in score.dimensions] == [
        D("49.50"),
        D("11.00"),
        D("13.88"),
        D("6.33"),
    ]
    # P1 sources: self .6·¼·90 = 13.5, superior .6·½·80 = 24, citizen .6·¼·80 = 12
    p1 = indicator(score, "P1")
    assert [(s.source, s.mean, s.raters, s.weight, s.contribution) for s in p1.sources] == [
        (SELF, D("90.00"), 1, D("25.00"), D("13.50")),
        (SUP, D("80.00"), 1, D("50.00"), D("24.00")),
        (CIT, D("80.00"), 3, D("25.00"), D("12.00")),
    ]
    # T1 sources: 3.75 + 6.75 + 3.375 = 13.875, shown 13.88: the peer's .5 remainder wins
    assert [s.contribution for s in indicator(score, "T1").sources] == [
        D("3.75"),
        D("6.75"),
        D("3.38"),
    ]
    # A1: self ⅓, superior ⅔ → 33.33 + 66.67 = 100.00 %; 4 + 7 = 11
    a1 = indicator(score, "A1")
    assert [(s.weight, s.contribution) for s in a1.sources] == [
        (D("33.33"), D("4.00")),
        (D("66.67"), D("7.00")),
    ]
    # I1: 2.333… + 4 = 6.333…, shown 6.33: floors 233 + 400 already add up
    assert [s.contribution for s in indicator(score, "I1").sources] == [D("2.33"), D("4.00")]
    assert_adds_up(score)


# --------------------------------------------------------------------------- appeal adjustments


def test_an_adjusted_indicator_is_scored_as_if_every_source_had_given_its_value() -> None:
    # P1 set to 95 on appeal: .6·95 + 11 + 13.875 + 6.333… = 88.208333… → 88.21 (良好),
    # where the total alone would have read 80.71 beside dimensions of 80.71.
    adjusted = Adjustment("P1", D(95))
    score = score_subject(
        SIMPLE, target=PERSON, unit=None, ratings=complete_ratings(), adjustments=[adjusted]
    )
    assert score.total == D("88.21") and score.grade is Grade.GOOD
    p1 = indicator(score, "P1")
    assert p1.score == D("95.00") and {s.mean for s in p1.sources} == {D("95.00")}
    assert [s.raters for s in p1.sources] == [1, 1, 3]  # the raters stay what they were
    assert notes_of(score, NoteKind.ADJUSTED) == [{"indicator": "P1", "source": ""}]
    assert_adds_up(score)


def test_an_adjusted_source_changes_its_mean_only() -> None:
    # the superior's P1 80 → 90.5: P1 = (20·90 + 40·90.5 + 20·80) / 80 = 87.75
    # total = .6·87.75 + 31.208333… = 83.858333… → 83.86
    adjusted = Adjustment("P1", D("90.5"), SUP)
    score = score_subject(
        SIMPLE, target=PERSON, unit=None, ratings=complete_ratings(), adjustments=[adjusted]
    )
    assert indicator(score, "P1").score == D("87.75") and score.total == D("83.86")
    assert [s.mean for s in indicator(score, "P1").sources] == [D("90.00"), D("90.50"), D("80.00")]
    assert_adds_up(score)


def test_a_later_adjustment_replaces_an_earlier_one() -> None:
    first, then = Adjustment("P1", D(60), SUP), Adjustment("P1", D(95))
    both = score_subject(
        SIMPLE, target=PERSON, unit=None, ratings=complete_ratings(), adjustments=[first, then]
    )
    alone = score_subject(
        SIMPLE, target=PERSON, unit=None, ratings=complete_ratings(), adjustments=[then]
    )
    assert both.total == alone.total == D("88.21")


@pytest.mark.parametrize(
    "adjustment",
    [Adjustment("P9", D(90)), Adjustment("A1", D(90), CIT), Adjustment("P1", D(101))],
)
def test_an_adjustment_of_nothing_there_is_refused(adjustment: Adjustment) -> None:
    with pytest.raises(ValueError):
        score_subject(
            SIMPLE, target=PERSON, unit=None, ratings=complete_ratings(), adjustments=[adjustment]
        )


def test_missing_source_spreads_its_weight_and_says_so() -> None:
    score = score_subject(
        SIMPLE, target=PERSON, unit=None, ratings=complete_ratings(citizens=False)
    )
    # P1 without citizens: (20·90 + 40·80) / 60 = 5000 / 60 = 83.333…
    # total = .6·83.333… + 11 + 13.875 + 6.333… = 50 + 31.208333… = 81.208333… → 81.21
    assert indicator(score, "P1").score == D("83.33")
    assert [s.weight for s in indicator(score, "P1").sources] == [D("33.33"), D("66.67")]
    assert score.total == D("81.21")
    assert notes_of(score, NoteKind.SOURCE_MISSING) == [{"source": "citizen", "indicators": "P1"}]
    assert_adds_up(score)


def test_no_superior_at_the_top_of_the_tree() -> None:
    ratings = [x for x in complete_ratings() if x.source is not SUP]
    score = score_subject(SIMPLE, target=PERSON, unit=None, ratings=ratings)
    assert notes_of(score, NoteKind.SOURCE_MISSING) == [
        {"source": "superior", "indicators": "P1,A1,T1,I1"}
    ]
    # A1 and I1 are then rated by self alone: 80 and 70
    assert indicator(score, "A1").score == D("80.00")
    assert indicator(score, "I1").sources[0].weight == D("100.00")
    assert_adds_up(score)


# --------------------------------------------------------------------------- trimming


def citizen_only(points: Sequence[int]) -> SubjectScore:
    template = make_template(
        [
            ("P1", DP, 100, (CIT,)),
            ("A1", DA, 100, (CIT,)),
            ("T1", DT, 100, (CIT,)),
            ("I1", DI, 100, (CIT,)),
        ]
    )
    ratings = [
        r(CIT, code, p, f"resp{n}")
        for code in ("P1", "A1", "T1", "I1")
        for n, p in enumerate(points)
    ]
    return score_subject(template, target=PERSON, unit=None, ratings=ratings)


def test_four_raters_are_averaged_untrimmed() -> None:
    score = citizen_only([100, 80, 60, 20])
    source = source_of(score, "P1", CIT)
    assert source is not None
    # (100 + 80 + 60 + 20) / 4 = 65
    assert (source.mean, source.raters, source.trimmed) == (D("65.00"), 4, False)
    assert score.total == D("65.00")


def test_five_raters_drop_the_highest_and_the_lowest() -> None:
    score = citizen_only([100, 80, 60, 20, 40])
    source = source_of(score, "P1", CIT)
    assert source is not None
    # drop 100 and 20: (80 + 60 + 40) / 3 = 60
    assert (source.mean, source.raters, source.trimmed) == (D("60.00"), 5, True)
    assert score.total == D("60.00")


def test_trimming_threshold_is_an_option() -> None:
    template = make_template(
        [
            ("P1", DP, 100, (CIT,)),
            ("A1", DA, 100, (CIT,)),
            ("T1", DT, 100, (CIT,)),
            ("I1", DI, 100, (CIT,)),
        ]
    )
    ratings = [
        r(CIT, c, p, f"x{n}")
        for c in ("P1", "A1", "T1", "I1")
        for n, p in enumerate((90, 30, 60, 60))
    ]
    score = score_subject(
        template,
        target=PERSON,
        unit=None,
        ratings=ratings,
        options=ScoringOptions(trim_min_raters=4),
    )
    # four raters, trimmed from 4 on: drop 90 and 30 → (60 + 60) / 2 = 60
    assert score.total == D("60.00")


def test_one_citizen_response_is_one_rater() -> None:
    # A response whose three questions all feed P1 counts once, with the mean of its answers.
    ratings = [r(CIT, "P1", p, "resp1") for p in (100, 80, 60)] + [r(CIT, "P1", 40, "resp2")]
    ratings += [r(SELF, c, 80) for c in ("P1", "A1", "T1", "I1")]
    score = score_subject(SIMPLE, target=PERSON, unit=None, ratings=ratings)
    source = source_of(score, "P1", CIT)
    assert source is not None
    # resp1 → 80, resp2 → 40: (80 + 40) / 2 = 60 from 2 raters
    assert (source.mean, source.raters) == (D("60.00"), 2)


def test_citizen_answers_are_averaged_exactly() -> None:
    # One response's three answers to P1 (100, 100, 80) are one rater with the mean 280/3;
    # the person rated P1 93.3 and the rest 85. Self 25 : citizen 75, so
    # P1 = 23.325 + 70 = 93.325 and the total .6 · 93.325 + .4 · 85 = 89.995 → 90.00 (优秀).
    template = make_template(
        [
            ("P1", DP, 100, (SELF, CIT)),
            ("A1", DA, 100, (SELF,)),
            ("T1", DT, 100, (SELF,)),
            ("I1", DI, 100, (SELF,)),
        ],
        sources={SELF: 25, SUP: 0, PEER: 0, CIT: 75},
    )
    own = [r(SELF, "P1", "93.3")] + [r(SELF, c, 85) for c in ("A1", "T1", "I1")]
    answers = [r(CIT, "P1", p, "resp1") for p in (100, 100, 80)]
    score = score_subject(template, target=PERSON, unit=None, ratings=own + answers)
    assert (score.total, score.grade) == (D("90.00"), Grade.EXCELLENT)
    citizen = source_of(score, "P1", CIT)
    assert citizen is not None and citizen.raters == 1
    # The same mean handed over as a 28-digit Decimal (93.333…3) falls short of 89.995.
    rounded = [r(CIT, "P1", D(280) / 3, "resp1")]
    assert score_subject(template, target=PERSON, unit=None, ratings=own + rounded).total == D(
        "89.99"
    )


# --------------------------------------------------------------------------- peer anonymity


def test_two_peers_are_dropped_without_a_count() -> None:
    score = score_subject(SIMPLE, target=PERSON, unit=None, ratings=complete_ratings(peers=2))
    # T1 without peers: (20·100 + 40·90) / 60 = 5600 / 60 = 93.333…
    t1 = indicator(score, "T1")
    assert t1.score == D("93.33")
    assert [s.source for s in t1.sources] == [SELF, SUP]  # no peer mean, no peer count
    assert notes_of(score, NoteKind.PEER_DROPPED) == [
        {"scope": "person", "min_raters": "3", "indicators": "T1"}
    ]
    assert notes_of(score, NoteKind.SOURCE_MISSING) == []  # no second note that could count
    assert "peer" not in json.dumps(to_dict(score)["dimensions"])
    # total = 49.5 + 11 + .15·93.333… + 6.333… = 49.5 + 11 + 14 + 6.333… = 80.8333… → 80.83
    assert score.total == D("80.83")
    assert_adds_up(score)


def test_no_peers_at_all_reads_the_same_as_too_few() -> None:
    score = score_subject(SIMPLE, target=PERSON, unit=None, ratings=complete_ratings(peers=0))
    assert notes_of(score, NoteKind.PEER_DROPPED) == [
        {"scope": "person", "min_raters": "3", "indicators": "T1"}
    ]


def test_three_peers_are_kept() -> None:
    score = score_subject(SIMPLE, target=PERSON, unit=None, ratings=complete_ratings(peers=3))
    peer = source_of(score, "T1", PEER)
    assert peer is not None and (peer.mean, peer.raters) == (D("90.00"), 3)
    assert notes_of(score, NoteKind.PEER_DROPPED) == []


def test_peers_are_counted_across_indicators_but_each_part_needs_three() -> None:
    template = make_template(
        [
            ("P1", DP, 100, (SELF,)),
            ("A1", DA, 100, (SELF,)),
            ("T1", DT, 50, (SELF, PEER)),
            ("T2", DT, 50, (SELF, PEER)),
            ("I1", DI, 100, (SELF,)),
        ]
    )
    ratings = [r(SELF, c, 80) for c in ("P1", "A1", "T1", "T2", "I1")]
    ratings += [r(PEER, "T1", 90, f"p{n}") for n in range(3)]
    ratings += [r(PEER, "T2", 90, "p0")]  # one lone answer on T2 must not show
    score = score_subject(template, target=PERSON, unit=None, ratings=ratings)
    assert source_of(score, "T1", PEER) is not None
    assert source_of(score, "T2", PEER) is None
    assert notes_of(score, NoteKind.PEER_DROPPED) == [
        {"scope": "indicator", "min_raters": "3", "indicators": "T2"}
    ]


# --------------------------------------------------------------------------- rounding and bands

# Self and superior 50 : 50, one indicator per dimension, all four rated alike: the
# total is exactly (self + superior) / 2.
HALVES = make_template(
    [
        ("P1", DP, 100, (SELF, SUP)),
        ("A1", DA, 100, (SELF, SUP)),
        ("T1", DT, 100, (SELF, SUP)),
        ("I1", DI, 100, (SELF, SUP)),
    ],
    sources={SELF: 50, SUP: 50, PEER: 0, CIT: 0},
)


@pytest.mark.parametrize(
    ("own", "boss", "shown", "grade"),
    [
        ("59.988", "60", "59.99", Grade.FAIL),  # (59.988 + 60) / 2 = 59.994
        ("59.99", "60", "60.00", Grade.PASS),  # 59.995 → 60.00
        ("60", "60", "60.00", Grade.PASS),
        ("89.988", "90", "89.99", Grade.GOOD),  # 89.994
        ("89.99", "90", "90.00", Grade.EXCELLENT),  # 89.995 → 90.00 → 优秀
        ("90", "90", "90.00", Grade.EXCELLENT),
        ("79.99", "80", "80.00", Grade.GOOD),  # 79.995
        ("0", "0", "0.00", Grade.FAIL),
        ("100", "100", "100.00", Grade.EXCELLENT),
    ],
)
def test_boundaries_round_half_up_before_banding(
    own: str, boss: str, shown: str, grade: Grade
) -> None:
    ratings = [r(SELF, c, own) for c in ("P1", "A1", "T1", "I1")]
    ratings += [r(SUP, c, boss) for c in ("P1", "A1", "T1", "I1")]
    score = score_subject(HALVES, target=PERSON, unit=None, ratings=ratings)
    assert (score.total, score.grade) == (D(shown), grade)
    assert grade_for(score.total) is grade
    assert_adds_up(score)


def test_a_third_never_rounds_the_wrong_way() -> None:
    # Three raters 89.99, 90, 90 → 89.99666…, rounds to 90.00 only because it is ≥ 89.995;
    # 89.98, 90, 90 → 89.98666… → 89.99. Exact rationals: no 89.99499… from a float.
    template = make_template(
        [
            ("P1", DP, 100, (CIT,)),
            ("A1", DA, 100, (CIT,)),
            ("T1", DT, 100, (CIT,)),
            ("I1", DI, 100, (CIT,)),
        ]
    )
    for first, shown in (("89.99", "90.00"), ("89.98", "89.99"), ("89.985", "90.00")):
        # 89.985 + 180 = 269.985 / 3 = 89.995 exactly → 90.00
        ratings = [
            r(CIT, c, p, f"x{n}")
            for c in ("P1", "A1", "T1", "I1")
            for n, p in enumerate((first, "90", "90"))
        ]
        assert score_subject(template, target=PERSON, unit=None, ratings=ratings).total == D(shown)


def test_grade_for_with_custom_bands() -> None:
    bands = GradeBands(excellent=D(95), good=D(85), passing=D(70))
    assert grade_for(D("94.995"), bands) is Grade.EXCELLENT
    assert grade_for(D("94.994"), bands) is Grade.GOOD
    assert grade_for(D("69.99"), bands) is Grade.FAIL
    with pytest.raises(ValueError):
        GradeBands(excellent=D(80), good=D(90), passing=D(60))


# --------------------------------------------------------------------------- ranks


def test_rank_is_standard_competition() -> None:
    totals = {"a": D("95"), "b": D("90.004"), "c": D("90.001"), "d": D("85"), "e": D("85.00")}
    # b and c both show 90.00: they tie at 2, d and e at 4
    assert rank(totals) == {"a": 1, "b": 2, "c": 2, "d": 4, "e": 4}
    assert list(rank(totals)) == ["a", "b", "c", "d", "e"]
    assert rank({"x": D(1), "y": D(2), "z": D(2), "w": D(3)}) == {"w": 1, "y": 2, "z": 2, "x": 4}
    assert rank({}) == {}


def test_rank_within_units() -> None:
    totals = {"a": D(90), "b": D(80), "c": D(85), "d": D(85), "e": D(70)}
    units = {"a": "u1", "b": "u1", "c": "u2", "d": "u2", "e": "u2"}
    assert rank_within(totals, units) == {"a": 1, "b": 2, "c": 1, "d": 1, "e": 3}


# --------------------------------------------------------------------------- the shipped template


def all_ratings(
    template: Template,
    *,
    unit: str | None,
    target: Target,
    rng: random.Random,
    peers: int = 4,
    citizens: int = 6,
) -> list[Rating]:
    raters = {SELF: ["self"], SUP: ["boss"], PEER: [f"p{n}" for n in range(peers)]}
    raters[CIT] = [f"c{n}" for n in range(citizens)]
    out = []
    for source in Source:
        for ind in template.indicators_for(unit=unit, target=target, source=source):
            for rater in raters[source]:
                out.append(Rating(source, ind.code, D(rng.choice([95, 85, 70, 60, 40])), rater))
    return out


def test_shipped_template_person_adds_up() -> None:
    rng = random.Random(7)
    for _ in range(50):
        ratings = all_ratings(shipped(), unit="办公室", target=PERSON, rng=rng)
        score = score_subject(shipped(), target=PERSON, unit="办公室", ratings=ratings)
        assert_adds_up(score)
        assert score.notes == ()
        codes = [i.code for d in score.dimensions for i in d.indicators]
        assert codes == "P01 P02 P03 P05 A01 A02 A03 T01 T02 T03 T04 T05 I01 I02".split()
        assert from_dict(json.loads(json.dumps(to_dict(score)))) == score


def test_unit_scoring_has_no_peers() -> None:
    rng = random.Random(3)
    ratings = all_ratings(shipped(), unit="防汛抗旱科", target=UNIT, rng=rng)
    assert not any(x.source is PEER for x in ratings)
    score = score_subject(shipped(), target=UNIT, unit="防汛抗旱科", ratings=ratings)
    codes = [i.code for d in score.dimensions for i in d.indicators]
    assert codes == "P01 P02 P03 P04 A01 A02 A03 T01 T02 T05 T06 I01 I02".split()
    assert score.notes == ()  # no peer note: peers never rate units (四(二)3)
    assert_adds_up(score)


def test_unit_scoring_by_hand() -> None:
    # Every answer 80, except the superior's 100 on P04 (百分制): P04 = (20·80 + 40·100)/60
    # = 93.333…; performance = (25·80 + 20·80 + 25·80 + 30·93.333…)/100 = 52 + 28 = 84;
    # total = .6·84 + .4·80 = 50.4 + 32 = 82.4
    ratings = []
    for source in (SELF, SUP, CIT):
        for ind in shipped().indicators_for(unit="防汛抗旱科", target=UNIT, source=source):
            ratings.append(r(source, ind.code, 100 if (source, ind.code) == (SUP, "P04") else 80))
    score = score_subject(shipped(), target=UNIT, unit="防汛抗旱科", ratings=ratings)
    assert indicator(score, "P04").score == D("93.33")
    assert score.dimensions[0].score == D("84.00")
    assert score.total == D("82.40")


def test_chengdong_uses_its_own_set() -> None:
    rng = random.Random(5)
    ratings = all_ratings(shipped(), unit=CHENGDONG, target=PERSON, rng=rng, citizens=0)
    ratings += [r(CIT, "T05", 100, "c1"), r(CIT, "P03", 20, "c1")]  # P03 is not theirs
    score = score_subject(shipped(), target=PERSON, unit=CHENGDONG, ratings=ratings)
    codes = [i.code for i in score.dimensions[0].indicators]
    assert codes == ["P11", "P12", "P13", "P14", "P05"]
    assert notes_of(score, NoteKind.RATINGS_IGNORED) == [{"source": "citizen", "indicators": "P03"}]
    assert notes_of(score, NoteKind.SOURCE_MISSING) == [
        {"source": "citizen", "indicators": "P13,P14"}
    ]
    assert source_of(score, "T05", CIT) is not None
    assert_adds_up(score)
    # the bureau-wide set for a person elsewhere would have counted P03 instead
    elsewhere = score_subject(shipped(), target=PERSON, unit="办公室", ratings=ratings)
    assert [i.code for i in elsewhere.dimensions[0].indicators] == ["P01", "P02", "P03", "P05"]


def test_unrated_indicator_and_dimension() -> None:
    template = make_template(
        [
            ("P1", DP, 60, (SELF,)),
            ("P2", DP, 40, (SELF,)),
            ("A1", DA, 100, (SELF,)),
            ("T1", DT, 100, (SELF,)),
            ("I1", DI, 100, (SELF,)),
        ]
    )
    ratings = [r(SELF, "P1", 90), r(SELF, "A1", 80), r(SELF, "T1", 70)]
    score = score_subject(template, target=PERSON, unit=None, ratings=ratings)
    # performance = P1 alone = 90; innovation unrated: the other three weigh 60 : 15 : 15
    # total = (60·90 + 15·80 + 15·70) / 90 = (5400 + 1200 + 1050) / 90 = 85
    assert score.total == D("85.00")
    assert notes_of(score, NoteKind.INDICATOR_UNRATED) == [
        {"dimension": "performance", "indicators": "P2"}
    ]
    assert notes_of(score, NoteKind.DIMENSION_UNRATED) == [{"dimension": "innovation"}]
    innovation = score.dimensions[3]
    assert (innovation.score, innovation.weight, innovation.contribution) == (None, 0, 0)
    assert indicator(score, "P2").score is None
    assert [d.weight for d in score.dimensions] == [D("66.67"), D("16.67"), D("16.66"), D("0.00")]
    assert weakest_dimension(score) is Dimension.ATTITUDE
    assert_adds_up(score)


def test_nothing_to_score_and_bad_points() -> None:
    with pytest.raises(NothingToScore):
        score_subject(SIMPLE, target=PERSON, unit=None, ratings=[])
    with pytest.raises(NothingToScore):  # two peers only: dropped, nothing left
        score_subject(SIMPLE, target=PERSON, unit=None, ratings=[r(PEER, "T1", 90, "a")])
    for bad in ("100.01", "-1", "NaN", "Infinity"):
        with pytest.raises(ValueError):
            score_subject(SIMPLE, target=PERSON, unit=None, ratings=[r(SELF, "P1", bad)])


def test_json_round_trip_is_exact() -> None:
    score = score_subject(SIMPLE, target=PERSON, unit=None, ratings=complete_ratings(peers=2))
    data = to_dict(score)
    assert data["total"] == "80.83" and data["grade"] == "good"
    assert from_dict(json.loads(json.dumps(data, ensure_ascii=False))) == score


# --------------------------------------------------------------------------- uses of results


def test_weakest_dimension_ties_go_to_regulation_order() -> None:
    ratings = [r(SELF, c, p) for c, p in (("P1", 80), ("A1", 70), ("T1", 70), ("I1", 90))]
    score = score_subject(HALVES, target=PERSON, unit=None, ratings=ratings)
    assert weakest_dimension(score) is Dimension.ABILITY  # A and T tie at 70; A comes first


def test_bonus_coefficients() -> None:
    assert [bonus_coefficient(g) for g in Grade] == [D("1.2"), D("1.0"), D("0.8"), D("0.5")]
    custom = ScoringOptions(
        bonus_coefficients={
            Grade.EXCELLENT: D(2),
            Grade.GOOD: D(1),
            Grade.PASS: D("0.5"),
            Grade.FAIL: D(0),
        }
    )
    assert bonus_coefficient(Grade.FAIL, custom) == 0
    with pytest.raises(ValueError):  # 六(一)1: 依次递减
        ScoringOptions(
            bonus_coefficients={
                Grade.EXCELLENT: D(1),
                Grade.GOOD: D(1),
                Grade.PASS: D(1),
                Grade.FAIL: D(0),
            }
        )
    assert DEFAULT_OPTIONS.bonus_coefficients[Grade.EXCELLENT] == D("1.2")


def test_quota_preview() -> None:
    totals = {
        "a": D(95), "b": D(91), "c": D(88), "d": D("88.001"), "e": D(87),
        "f": D(80), "g": D(75), "h": D(70), "i": D(65), "j": D(60), "k": D(50),
    }  # fmt: skip
    preview = quota_preview(totals)
    # 11 people, ⌈0.2 · 11⌉ = 3; the third shows 88.00 and so does d: both are in
    assert preview.quota == 3
    assert preview.by_quota == ("a", "b", "c", "d")
    assert preview.by_bands == ("a", "b")
    assert preview.only_by_quota == ("c", "d")
    assert preview.only_by_bands == ()
    small = quota_preview({"x": D(95), "y": D(93), "z": D(91)}, D("0.2"))
    assert (small.quota, small.by_quota, small.only_by_bands) == (1, ("x",), ("y", "z"))
    assert quota_preview({}).by_quota == ()


def test_annual_roll_up() -> None:
    # quarters 80, 85, 90, 95 → 87.5; .4·87.5 + .6·90 = 35 + 54 = 89
    assert annual_total([D(80), D(85), D(90), D(95)], D(90)) == D("89.00")
    # only quarters: their mean; (80.01 + 80.02 + 80.02) / 3 = 80.01666… → 80.02
    assert annual_total([D("80.01"), D("80.02"), D("80.02")], None) == D("80.02")
    # only the annual assessment
    assert annual_total([], D("77.5")) == D("77.50")
    # (89.99 · .4 + 90 · .6) = 35.996 + 54 = 89.996 → 90.00
    assert annual_total([D("89.99")], D(90)) == D("90.00")
    # weights are an option: 50 : 50 → (70 + 80) / 2
    assert annual_total([D(70)], D(80), weights=(D(50), D(50))) == D("75.00")
    with pytest.raises(ValueError):
        annual_total([], None)


# --------------------------------------------------------------------------- integrity


def form(rater: str, ratee: str, source: Source, *points: str | int) -> Form:
    return Form(rater, ratee, source, {f"X{n}": D(p) for n, p in enumerate(points)})


def test_a_citizen_bad_review_is_judged_by_the_overall_level() -> None:
    """With the overall level asked (好差评), one low question under a good overall level is
    no 差评; a low overall level is, whatever the questions say."""
    overall = "~all"  # domain.template.survey.OVERALL
    pleased = [
        Form("cit", f"u{n}", Source.CITIZEN, {overall: D(80), "X0": D(20)}) for n in range(3)
    ]
    unhappy = [
        Form("cit", f"u{n}", Source.CITIZEN, {overall: D(40), "X0": D(100)}) for n in range(3)
    ]
    assert not integrity_signals(pleased)
    [signal] = integrity_signals(unhappy)
    assert signal.kind == SignalKind.REPEATED_BAD_REVIEWS and signal.ratees == ("u0", "u1", "u2")


def test_integrity_signals() -> None:
    forms = [
        # mutual top: a and b gave each other ≥ 95 on every item
        form("a", "b", PEER, 95, 100),
        form("b", "a", PEER, 96, 95),
        # c gave a top marks, but a gave c 90 on one item: nothing
        form("c", "a", PEER, 100, 100),
        form("a", "c", PEER, 100, 90),
        # straight-lining: a superior's form with 4 identical answers
        form("boss", "d", SUP, 85, 85, 85, 85),
        form("boss", "e", SUP, 85, 85, 85),  # 3 items: too few to mean anything
        form("q1", "d", CIT, 100, 100, 100, 100),  # citizens: not by default
        # self far above others: 95 vs (70 + 70 + 80) / 3 = 73.33 → gap 21.67
        form("f", "f", SELF, 95, 95),
        form("boss", "f", SUP, 70, 70),
        form("a", "f", PEER, 80),
        # gap 19.99: nothing
        form("g", "g", SELF, "89.99"),
        form("boss", "g", SUP, 70),
        # one citizen account, three 差评 (any answer ≤ 40) against one unit
        form("cit1", "u1", CIT, 40, 80),
        form("cit1", "u1", CIT, 20),
        form("cit1", "u1", CIT, 40),
        # another, two only
        form("cit2", "u1", CIT, 20),
        form("cit2", "u2", CIT, 20),
        form("cit2", "u2", CIT, 60),
        # a third, spread over three subjects
        form("cit3", "u1", CIT, 40),
        form("cit3", "u2", CIT, 30),
        form("cit3", "u3", CIT, 20),
    ]
    signals = integrity_signals(forms)
    found = [(s.kind, s.raters, s.ratees) for s in signals]
    assert found == [
        (SignalKind.MUTUAL_TOP_PEER, ("a", "b"), ("a", "b")),
        (SignalKind.STRAIGHT_LINING, ("boss",), ("d",)),
        (SignalKind.SELF_ABOVE_OTHERS, ("f",), ("f",)),
        (SignalKind.REPEATED_BAD_REVIEWS, ("cit1",), ("u1",)),
        (SignalKind.REPEATED_BAD_REVIEWS, ("cit3",), ("u1", "u2", "u3")),
    ]
    gap = next(s for s in signals if s.kind == SignalKind.SELF_ABOVE_OTHERS)
    assert dict(gap.params) == {"self_mean": "95.00", "others_mean": "73.33", "gap": "21.67"}
    bad = [s for s in signals if s.kind == SignalKind.REPEATED_BAD_REVIEWS]
    assert [dict(s.params) for s in bad] == [
        {"responses": "3", "max_per_subject": "3"},
        {"responses": "3", "max_per_subject": "1"},
    ]
    # order of the forms does not matter
    assert integrity_signals(list(reversed(forms))) == signals
    # thresholds are options; citizens can be included in straight-lining
    loose = IntegrityOptions(straight_line_sources=frozenset(Source), self_gap_points=D("19.99"))
    kinds = [(s.kind, s.ratees) for s in integrity_signals(forms, options=loose)]
    assert (SignalKind.STRAIGHT_LINING, ("d",)) in kinds
    assert (SignalKind.SELF_ABOVE_OTHERS, ("g",)) in kinds


# --------------------------------------------------------------------------- properties

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # the hand-computed cases above still run
    pass
else:
    POINTS = st.one_of(
        st.sampled_from([D(95), D(85), D(70), D(60), D(40)]),
        st.integers(0, 10_000).map(lambda c: D(c).scaleb(-2)),
    )

    @st.composite
    def subjects(draw: st.DrawFn) -> tuple[str | None, Target, list[Rating]]:
        target = draw(st.sampled_from(list(Target)))
        unit = draw(st.sampled_from([None, "办公室", CHENGDONG]))
        peers = [f"p{n}" for n in range(draw(st.integers(0, 6)))]
        citizens = [f"c{n}" for n in range(draw(st.integers(0, 7)))]
        raters = {SELF: ["self"], SUP: ["boss", "deputy"], PEER: peers, CIT: citizens}
        ratings = []
        for source in Source:
            for ind in shipped().indicators_for(unit=unit, target=target, source=source):
                for rater in raters[source]:
                    for _ in range(draw(st.integers(0, 2 if source is CIT else 1))):
                        ratings.append(Rating(source, ind.code, draw(POINTS), rater))
        if not ratings:  # at least one answer that counts
            first = shipped().indicators_for(unit=unit, target=target, source=SELF)[0]
            ratings.append(Rating(SELF, first.code, draw(POINTS), "self"))
        return unit, target, ratings

    def score_of(unit: str | None, target: Target, ratings: Sequence[Rating]) -> SubjectScore:
        return score_subject(shipped(), target=target, unit=unit, ratings=ratings)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(subjects(), st.randoms(use_true_random=False))
    def test_property_bounded_additive_order_free(
        subject: tuple[str | None, Target, list[Rating]], rng: random.Random
    ) -> None:
        unit, target, ratings = subject
        score = score_of(unit, target, ratings)
        assert D(0) <= score.total <= D(100)
        assert_adds_up(score)
        assert score.grade is grade_for(score.total)
        shuffled = list(ratings)
        rng.shuffle(shuffled)
        assert score_of(unit, target, shuffled) == score
        assert from_dict(to_dict(score)) == score

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(subjects(), st.data())
    def test_property_raising_an_answer_never_lowers_the_total(
        subject: tuple[str | None, Target, list[Rating]], data: st.DataObject
    ) -> None:
        unit, target, ratings = subject
        index = data.draw(st.integers(0, len(ratings) - 1))
        old = ratings[index]
        higher = data.draw(
            st.integers(int(old.points * 100), 10_000).map(lambda c: D(c).scaleb(-2))
        )
        raised = [
            *ratings[:index],
            Rating(old.source, old.indicator, higher, old.rater),
            *ratings[index + 1 :],
        ]
        assert score_of(unit, target, raised).total >= score_of(unit, target, ratings).total

    # An independent, plain-Fraction reference for random templates with awkward weights
    # (12.5 %, zero-weight sources and dimensions): the engine's integer arithmetic over
    # one common denominator must give exactly the same rounded total and scores.

    WEIGHTS = st.integers(0, 400).map(lambda q: D(q) / 4)  # 0, 0.25 … 100

    @st.composite
    def random_cases(draw: st.DrawFn) -> tuple[Template, list[Rating]]:
        indicators = []
        for dim in Dimension:
            for n in range(draw(st.integers(1, 3))):
                sources = draw(st.sets(st.sampled_from(list(Source)), min_size=1))
                weight = draw(st.integers(1, 400).map(lambda q: D(q) / 4))
                indicators.append((f"{dim.value[:3]}{n}", dim, weight, sources))
        template = Template(
            name="random",
            dimension_weights={d: draw(WEIGHTS) for d in Dimension},
            source_weights={s: draw(WEIGHTS) for s in Source},
            scales={"score": Scale("score", ScaleKind.SCORE)},
            indicators=tuple(
                Indicator(code, dim, code, "", w, "score", frozenset(srcs), frozenset({PERSON}))
                for code, dim, w, srcs in indicators
            ),
        )
        raters = st.sampled_from(["r1", "r2", "r3", "r4", "r5", "r6"])
        ratings = [
            Rating(source, code, draw(POINTS), draw(raters))
            for code, _, _, srcs in indicators
            for source in srcs
            for _ in range(draw(st.integers(0, 6)))
        ]
        return template, ratings

    def wmean(pairs: Sequence[tuple[Fraction, Fraction]]) -> Fraction:
        zero = Fraction(0)
        return sum((w * v for w, v in pairs), zero) / sum((w for w, _ in pairs), zero)

    def reference(
        template: Template, ratings: Sequence[Rating]
    ) -> tuple[Fraction, dict[str, Fraction]] | None:
        opts = DEFAULT_OPTIONS
        sw = {s: Fraction(template.source_weights[s]) for s in Source}
        by: dict[tuple[Source, str], dict[str, list[Fraction]]] = {}
        codes = {i.code: i for i in template.indicators}
        for x in ratings:
            if sw[x.source] > 0 and x.source in codes[x.indicator].sources:
                by.setdefault((x.source, x.indicator), {}).setdefault(x.rater, []).append(
                    Fraction(x.points)
                )
        peers = {r for (s, _), d in by.items() if s is PEER for r in d}
        dims: list[tuple[Fraction, Fraction]] = []
        scores: dict[str, Fraction] = {}
        for dim in Dimension:
            if template.dimension_weights[dim] <= 0:
                continue
            parts = []
            for ind in (i for i in template.indicators if i.dimension is dim):
                srcs = []
                for s in Source:
                    d = by.get((s, ind.code))
                    if not d or (
                        s is PEER
                        and (len(peers) < opts.peer_min_raters or len(d) < opts.peer_min_raters)
                    ):
                        continue
                    vals = sorted(sum(v, Fraction(0)) / len(v) for v in d.values())
                    if len(vals) >= opts.trim_min_raters:
                        vals = vals[1:-1]
                    srcs.append((sw[s], sum(vals, Fraction(0)) / len(vals)))
                if srcs:
                    score = wmean(srcs)
                    scores[ind.code] = score
                    parts.append((Fraction(ind.weight), score))
            if parts:
                dims.append(
                    (
                        Fraction(template.dimension_weights[dim]),
                        wmean(parts),
                    )
                )
        if not dims:
            return None
        return wmean(dims), scores

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(random_cases())
    def test_property_matches_a_plain_fraction_reference(
        case: tuple[Template, list[Rating]],
    ) -> None:
        template, ratings = case
        expected = reference(template, ratings)
        if expected is None:
            with pytest.raises(NothingToScore):
                score_subject(template, target=PERSON, unit=None, ratings=ratings)
            return
        score = score_subject(template, target=PERSON, unit=None, ratings=ratings)
        total, scores = expected
        assert score.total == round2(total)
        assert_adds_up(score)
        shown = {
            i.code: i.score for d in score.dimensions for i in d.indicators if i.score is not None
        }
        assert shown == {code: round2(v) for code, v in scores.items() if code in shown}
