"""Enumerations named after the regulation; their values are stored in the database.

Values are stable lower-case identifiers: renaming a member is a migration.
"""

from __future__ import annotations

from enum import StrEnum


class UnitKind(StrEnum):
    """Kinds of organisational unit, 一(二)."""

    BUREAU = "bureau"  # 局 (the root)
    SECTION = "section"  # 科室
    INSTITUTION = "institution"  # 直屬事業單位
    OUTPOST = "outpost"  # 派出機構


class Role(StrEnum):
    """Roles granted explicitly; unit head and superior are derived from the org tree."""

    ADMIN = "admin"  # 績效評估工作小組
    LEADER_CHIEF = "leader_chief"  # 領導小組 組長 (局長)
    LEADER_DEPUTY = "leader_deputy"  # 副組長 (副局長)
    LEADER_MEMBER = "leader_member"  # 成員

    @property
    def is_leadership(self) -> bool:
        return self in (Role.LEADER_CHIEF, Role.LEADER_DEPUTY, Role.LEADER_MEMBER)


class Dimension(StrEnum):
    """The four dimensions of 三(二); performance weighs at least 60 % (三(三))."""

    PERFORMANCE = "performance"  # 工作業績
    ABILITY = "ability"  # 工作能力
    ATTITUDE = "attitude"  # 工作態度
    INNOVATION = "innovation"  # 創新與發展


class Source(StrEnum):
    """The four evaluation sources of 四(二)."""

    SELF = "self"  # 自評
    SUPERIOR = "superior"  # 上級評估
    PEER = "peer"  # 同事互評
    CITIZEN = "citizen"  # 服務對象評價


class Grade(StrEnum):
    """Grades of 五(三)2, best first."""

    EXCELLENT = "excellent"  # 優秀
    GOOD = "good"  # 良好
    PASS = "pass"  # 合格
    FAIL = "fail"  # 不合格


class CycleKind(StrEnum):
    """Quarterly and annual evaluation, 四(一)."""

    QUARTER = "quarter"
    ANNUAL = "annual"


class CyclePhase(StrEnum):
    """Phases of a cycle, in order (五)."""

    PREPARING = "preparing"
    COLLECTING = "collecting"
    SCORING = "scoring"
    REVIEW = "review"
    PUBLISHED = "published"
    APPEALS = "appeals"
    CLOSED = "closed"


class OutboxStatus(StrEnum):
    """Life of a pushed message: pending until Telegram accepts it or refuses for good."""

    PENDING = "pending"
    SENT = "sent"
    BLOCKED = "blocked"  # the user blocked the bot; recorded, not retried
    FAILED = "failed"  # permanent error (bad request) after which retrying is pointless


class AssignmentStatus(StrEnum):
    """A rating form: open while being filled, submitted (read-only unless an admin reopens it)."""

    OPEN = "open"
    SUBMITTED = "submitted"


class Satisfaction(StrEnum):
    """The five levels of government-service evaluation (好差評), best first."""

    VERY_SATISFIED = "very_satisfied"  # 非常滿意
    SATISFIED = "satisfied"  # 滿意
    BASIC = "basic"  # 基本滿意
    DISSATISFIED = "dissatisfied"  # 不滿意
    VERY_DISSATISFIED = "very_dissatisfied"  # 非常不滿意

    @property
    def is_bad(self) -> bool:
        """A 差評: opens a rectification item (整改)."""
        return self in (Satisfaction.DISSATISFIED, Satisfaction.VERY_DISSATISFIED)


class ResponseStatus(StrEnum):
    OPEN = "open"  # being answered (an abandoned survey can be finished from the same link)
    COMPLETE = "complete"


class RectificationStatus(StrEnum):
    """A bad review's rectification item: open → answered → closed; or excluded after 申訴復核."""

    OPEN = "open"
    ANSWERED = "answered"
    UNDER_REVIEW = "under_review"  # the unit asked the working group to review the 差評
    EXCLUDED = "excluded"  # the working group found it mistaken or malicious: it stops counting
    CLOSED = "closed"


class RectificationOutcome(StrEnum):
    """How a 差评 was dealt with, as practice tells them apart."""

    IMMEDIATE = "immediate"  # 立行立改: put right at once
    DEADLINE = "deadline"  # 限期整改: put right by a deadline (kept in the 整改台账)
    EXPLAINED = "explained"  # 解释说明: explained; the request had no basis to grant


class AppealStatus(StrEnum):
    """申訴 (五(四)3): open → (question ↔ answered) → decided."""

    OPEN = "open"
    QUESTION = "question"  # the working group asked the appellant something
    DECIDED = "decided"


class PlanStatus(StrEnum):
    """績效改進計劃 (七(一)): drafted by the person (a unit's by its head), approved by the supervisor."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    DONE = "done"
