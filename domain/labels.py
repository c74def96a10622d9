"""Display names of the regulation's terms, as gettext msgids (translated where shown)."""

from __future__ import annotations

from domain.enums import CyclePhase, Dimension, Grade, Satisfaction, Source
from domain.text import N_

DIMENSION_LABELS = {
    Dimension.PERFORMANCE: N_("Work performance"),  # 工作業績
    Dimension.ABILITY: N_("Work ability"),  # 工作能力
    Dimension.ATTITUDE: N_("Work attitude"),  # 工作態度
    Dimension.INNOVATION: N_("Innovation and development"),  # 創新與發展
}

SOURCE_LABELS = {
    Source.SELF: N_("Self-assessment"),  # 自評
    Source.SUPERIOR: N_("Superior review"),  # 上級評估
    Source.PEER: N_("Peer review"),  # 同事互評
    Source.CITIZEN: N_("Citizen evaluation"),  # 服務對象評價
}

GRADE_LABELS = {
    Grade.EXCELLENT: N_("Excellent"),  # 優秀
    Grade.GOOD: N_("Good"),  # 良好
    Grade.PASS: N_("Pass"),  # 合格
    Grade.FAIL: N_("Fail"),  # 不合格
}

PHASE_LABELS = {
    CyclePhase.PREPARING: N_("preparing"),
    CyclePhase.COLLECTING: N_("collecting"),
    CyclePhase.SCORING: N_("scoring"),
    CyclePhase.REVIEW: N_("leadership review"),
    CyclePhase.PUBLISHED: N_("published"),
    CyclePhase.APPEALS: N_("appeals"),
    CyclePhase.CLOSED: N_("closed"),
}

SATISFACTION_LABELS = {
    Satisfaction.VERY_SATISFIED: N_("Very satisfied"),  # 非常滿意
    Satisfaction.SATISFIED: N_("Satisfied"),  # 滿意
    Satisfaction.BASIC: N_("Fairly satisfied"),  # 基本滿意
    Satisfaction.DISSATISFIED: N_("Dissatisfied"),  # 不滿意
    Satisfaction.VERY_DISSATISFIED: N_("Very dissatisfied"),  # 非常不滿意
}
