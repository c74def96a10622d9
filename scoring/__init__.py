"""Pure score computation: plain ``domain`` values in, plain values out (五(三), 六).

Imports only ``domain`` — never ``telegram``, ``sqlalchemy`` or ``conversations``.
"""

from scoring.engine import NothingToScore, score_subject
from scoring.grades import (
    DEFAULT_ANNUAL_WEIGHTS,
    QuotaPreview,
    annual_total,
    bonus_coefficient,
    grade_for,
    quota_preview,
    rank,
    rank_within,
    weakest_dimension,
)
from scoring.integrity import (
    DEFAULT_INTEGRITY,
    Form,
    IntegrityOptions,
    Signal,
    SignalKind,
    integrity_signals,
)
from scoring.model import (
    DEFAULT_BANDS,
    DEFAULT_BONUS_COEFFICIENTS,
    DEFAULT_OPTIONS,
    FORMAT_VERSION,
    Adjustment,
    DimensionScore,
    GradeBands,
    IndicatorScore,
    Note,
    NoteKind,
    Rating,
    ScoringOptions,
    SourceScore,
    SubjectScore,
    from_dict,
    to_dict,
)
from scoring.numbers import round2

__all__ = [
    "DEFAULT_ANNUAL_WEIGHTS",
    "DEFAULT_BANDS",
    "DEFAULT_BONUS_COEFFICIENTS",
    "DEFAULT_INTEGRITY",
    "DEFAULT_OPTIONS",
    "FORMAT_VERSION",
    "Adjustment",
    "DimensionScore",
    "Form",
    "GradeBands",
    "IndicatorScore",
    "IntegrityOptions",
    "Note",
    "NoteKind",
    "NothingToScore",
    "QuotaPreview",
    "Rating",
    "ScoringOptions",
    "Signal",
    "SignalKind",
    "SourceScore",
    "SubjectScore",
    "annual_total",
    "bonus_coefficient",
    "from_dict",
    "grade_for",
    "integrity_signals",
    "quota_preview",
    "rank",
    "rank_within",
    "round2",
    "score_subject",
    "to_dict",
    "weakest_dimension",
]
