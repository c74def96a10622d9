"""Results, leadership review (審定), appeals (申訴) and improvement plans (七(一))."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from domain.enums import AppealStatus, Dimension, Grade, PlanStatus
from infra.models.base import Base, TelegramId, Timestamped, enum_column
from infra.models.types import ExactDecimal, utcnow


class Result(Timestamped, Base):
    """One person's or unit's score in a cycle; ``breakdown`` is the engine's full computation.

    ``version`` grows with each change after publishing (only appeal decisions may change it).
    """

    __tablename__ = "result"
    __table_args__ = (UniqueConstraint("cycle_id", "subject_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id", ondelete="CASCADE"), index=True)
    subject_key: Mapped[str] = mapped_column(String(16))  # "p:<staff id>" or "u:<unit id>"
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    total: Mapped[Decimal] = mapped_column(ExactDecimal(7, 2))
    grade: Mapped[Grade] = mapped_column(enum_column(Grade))
    rank_in_unit: Mapped[int | None]
    rank_overall: Mapped[int | None]
    bonus_coefficient: Mapped[Decimal | None] = mapped_column(ExactDecimal(5, 2))
    weakest: Mapped[Dimension | None] = mapped_column(enum_column(Dimension))
    breakdown: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(default=1)
    published_at: Mapped[dt.datetime | None]
    # the version the person last opened (home's 查看结果); behind ``version``: new to them
    viewed_version: Mapped[int | None]


class ResultReview(Base):
    """A leadership-group member's 審定 of a cycle's results: approve, or send back with a comment."""

    __tablename__ = "result_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    round: Mapped[int] = mapped_column(default=1)  # each submission to the leadership is a round
    approved: Mapped[bool]
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Appeal(Timestamped, Base):
    """申訴: one open appeal per person and cycle, decided by the working group within a period."""

    __tablename__ = "appeal"
    __table_args__ = (
        Index(
            "uq_appeal_open_per_person",
            "cycle_id",
            "staff_id",
            unique=True,
            sqlite_where=text("status != 'decided'"),
            postgresql_where=text("status != 'decided'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    result_id: Mapped[int] = mapped_column(ForeignKey("result.id"))
    target: Mapped[str] = mapped_column(String(32))  # "total", "dim:<d>", "ind:<code>", "src:<s>"
    reason: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list[Any]] = mapped_column(default=list)  # Telegram file ids with kinds
    status: Mapped[AppealStatus] = mapped_column(
        enum_column(AppealStatus), default=AppealStatus.OPEN
    )
    question: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    deadline: Mapped[dt.datetime]
    decision: Mapped[str | None] = mapped_column(String(16))  # "upheld" or "adjusted"
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(TelegramId)
    decided_at: Mapped[dt.datetime | None]
    reminded_at: Mapped[dt.datetime | None]


class ImprovementPlan(Timestamped, Base):
    """績效改進計劃 for a person or a unit graded 不合格 (or below a configured threshold)."""

    __tablename__ = "improvement_plan"
    __table_args__ = (UniqueConstraint("cycle_id", "subject_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id", ondelete="CASCADE"), index=True)
    subject_key: Mapped[str] = mapped_column(String(16))
    author_staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id")
    )  # the person, or the unit head
    approver_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[PlanStatus] = mapped_column(enum_column(PlanStatus), default=PlanStatus.DRAFT)
    goals: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[str] = mapped_column(Text, default="")
    responsible: Mapped[str] = mapped_column(String(64), default="")
    comment: Mapped[str | None] = mapped_column(Text)  # the approver's, when returned
    submitted_at: Mapped[dt.datetime | None]
    approved_at: Mapped[dt.datetime | None]
    cursor: Mapped[str] = mapped_column(String(24), default="")


class PlanMilestone(Base):
    """A dated step of an approved plan: reminded when due, progress reported by the author."""

    __tablename__ = "plan_milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("improvement_plan.id", ondelete="CASCADE"), index=True
    )
    due: Mapped[dt.date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(String(200))
    progress: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[dt.datetime | None]
    reminded_at: Mapped[dt.datetime | None]
