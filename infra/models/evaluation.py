"""Cycles, template versions, who rates whom, and the answers (四, 五(二))."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from domain.enums import AssignmentStatus, CycleKind, CyclePhase, Source
from infra.models.base import Base, Timestamped, enum_column
from infra.models.types import ExactDecimal, utcnow


class TemplateVersion(Base):
    """An indicator system as validated; immutable, identified by its digest (三).

    It takes effect once a leadership-group member approves it (二(一)).
    """

    __tablename__ = "template"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    content: Mapped[dict[str, Any]]
    source_filename: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    approved_at: Mapped[dt.datetime | None]
    approved_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class Cycle(Timestamped, Base):
    """A quarterly (``2026Q4``) or annual (``2026``) evaluation, moving through its phases."""

    __tablename__ = "cycle"
    __table_args__ = (
        # only one cycle of a kind collects at a time
        Index(
            "uq_cycle_collecting_kind",
            "kind",
            unique=True,
            sqlite_where=text("phase = 'collecting'"),
            postgresql_where=text("phase = 'collecting'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(8), unique=True)
    kind: Mapped[CycleKind] = mapped_column(enum_column(CycleKind))
    phase: Mapped[CyclePhase] = mapped_column(enum_column(CyclePhase), default=CyclePhase.PREPARING)
    template_id: Mapped[int] = mapped_column(ForeignKey("template.id"))
    deadline: Mapped[dt.datetime]
    peer_count: Mapped[int] = mapped_column(default=5)
    # Secret that draws the peer graph (四(二) anonymity): random at cycle start, never
    # shown or derived from anything public, so only the server can redraw its plan.
    peer_seed: Mapped[str | None] = mapped_column(String(64))
    reminder_days: Mapped[list[Any]] = mapped_column(default=lambda: [3, 1])
    collecting_since: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    scored_at: Mapped[dt.datetime | None]
    review_round: Mapped[int] = mapped_column(default=0, server_default="0")  # sent to the leaders
    # Grows with every change to what scoring reads (answers, citizen responses, phase);
    # results count only while ``scored_revision`` equals it (stale results are never sent).
    revision: Mapped[int] = mapped_column(default=0, server_default="0")
    scored_revision: Mapped[int | None]
    published_at: Mapped[dt.datetime | None]
    appeals_until: Mapped[dt.datetime | None]
    # Publishing tells people in chunks after the publishing transaction: the id of the last
    # result whose notices are queued; NULL when none are left (``services.result_push``).
    push_cursor: Mapped[int | None]


class Assignment(Timestamped, Base):
    """One rating form: a rater, a source and a ratee (a person or a unit).

    ``cursor`` is where the rater stands in the form; it is written with each answer.
    """

    __tablename__ = "assignment"
    __table_args__ = (
        UniqueConstraint("cycle_id", "source", "rater_staff_id", "ratee_key"),
        Index("ix_assignment_rater", "cycle_id", "rater_staff_id"),
        Index("ix_assignment_ratee", "cycle_id", "ratee_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id", ondelete="CASCADE"))
    source: Mapped[Source] = mapped_column(enum_column(Source))
    rater_staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    ratee_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    ratee_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    ratee_key: Mapped[str] = mapped_column(String(16))  # "p:<staff id>" or "u:<unit id>"
    status: Mapped[AssignmentStatus] = mapped_column(
        enum_column(AssignmentStatus), default=AssignmentStatus.OPEN
    )
    cursor: Mapped[str] = mapped_column(String(40), default="")
    submitted_at: Mapped[dt.datetime | None]
    proxy_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))  # 代錄 by an admin
    active: Mapped[bool] = mapped_column(default=True)  # False once reassigned to someone else


class Answer(Base):
    """One answer in a form: a score (0–100 points) or a text; upserted, so a double tap counts once."""

    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("assignment_id", "item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("assignment.id", ondelete="CASCADE"), index=True
    )
    item: Mapped[str] = mapped_column(
        String(40)
    )  # "i:<indicator code>", "w:<written part>", "c:comment"
    points: Mapped[Decimal | None] = mapped_column(ExactDecimal(7, 2))
    level: Mapped[int | None]
    text: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    entered_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
