"""Citizen satisfaction surveys (四(二)4): links, pseudonymous responses, rectification (整改)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.enums import RectificationOutcome, RectificationStatus, ResponseStatus, Satisfaction
from infra.models.base import Base, TelegramId, enum_column
from infra.models.types import ExactDecimal, utcnow


class SurveyLink(Base):
    """A QR-code deep link for a unit (optionally one staff member); only the token's hash is kept.

    Single-use links (一事一評) are claimed by the first respondent; reusable links
    serve a window. Either way one response per respondent, unit and day counts (more
    are refused). Links outlive cycles.
    """

    __tablename__ = "survey_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    single_use: Mapped[bool] = mapped_column(default=True)
    label: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    revoked_at: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(
        String(64)
    )  # respondent key of a single-use link
    claimed_at: Mapped[dt.datetime | None]
    # 一事一评: the service (事项) or case number (办件编号) a single-use link is about,
    # shown to the unit with the rating
    reference: Mapped[str | None] = mapped_column(String(64))


class SurveyResponse(Base):
    """One citizen's answers; the respondent is a keyed hash, never a Telegram id or a name."""

    __tablename__ = "survey_response"
    __table_args__ = (
        # one response per respondent, unit and day ("u:<unit>@<day>"), whatever the link;
        # rows stored before this rule may carry "s:<staff>@<day>" or "link:<id>"
        UniqueConstraint("respondent_key", "dedupe_key"),
        Index("ix_survey_response_target", "target_key", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("survey_link.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    target_key: Mapped[str] = mapped_column(String(16))  # "u:<unit>" or "s:<staff>"
    respondent_key: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(40))
    day: Mapped[dt.date] = mapped_column(Date)  # in the bureau's time zone
    template_id: Mapped[int | None] = mapped_column(ForeignKey("template.id"))
    locale: Mapped[str] = mapped_column(String(8), default="zh_Hans")
    status: Mapped[ResponseStatus] = mapped_column(
        enum_column(ResponseStatus), default=ResponseStatus.OPEN
    )
    cursor: Mapped[str] = mapped_column(String(24), default="")
    overall: Mapped[Satisfaction | None] = mapped_column(
        enum_column(Satisfaction)
    )  # the overall level, asked first (rows from before 0009: the worst answer)
    comment: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[list[Any]] = mapped_column(default=list)  # after a 差评: what went wrong
    praise: Mapped[list[Any]] = mapped_column(default=list)  # otherwise: what went well
    problem_text: Mapped[str | None] = mapped_column(Text)
    wants_reply: Mapped[bool | None]
    reply_chat_id: Mapped[int | None] = mapped_column(TelegramId)  # erased once the reply is sent
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None]
    excluded: Mapped[bool] = mapped_column(default=False)  # after 申訴復核: stops counting
    # where the answers came from: "telegram" (the bot) or "web" (the survey page), so the
    # working group can see the share of each front end in the statistics
    channel: Mapped[str] = mapped_column(String(8), default="telegram", server_default="telegram")
    # a web 差评's short receipt code, hashed: with the reference number it opens the reply
    receipt_hash: Mapped[str | None] = mapped_column(String(64))
    # a web citizen's number for a return call (回访); erased when the item is closed
    callback_phone: Mapped[str | None] = mapped_column(String(32))


class SurveyAnswer(Base):
    """One question's level; each question maps to an indicator of the template."""

    __tablename__ = "survey_answer"
    __table_args__ = (UniqueConstraint("response_id", "question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_response.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(String(16))
    indicator: Mapped[str] = mapped_column(String(16))
    level: Mapped[Satisfaction] = mapped_column(enum_column(Satisfaction))
    points: Mapped[Decimal] = mapped_column(ExactDecimal(7, 2))
    answered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Rectification(Base):
    """整改: a bad review's follow-up by the unit head, with a working-day deadline."""

    __tablename__ = "rectification"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_response.id"), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    status: Mapped[RectificationStatus] = mapped_column(
        enum_column(RectificationStatus), default=RectificationStatus.OPEN
    )
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    deadline: Mapped[dt.datetime]
    answer: Mapped[str | None] = mapped_column(Text)  # the record of what was done (internal)
    outcome: Mapped[RectificationOutcome | None] = mapped_column(enum_column(RectificationOutcome))
    reply: Mapped[str | None] = mapped_column(Text)  # what the citizen was told
    answered_at: Mapped[dt.datetime | None]
    answered_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    citizen_rating: Mapped[str | None] = mapped_column(
        String(16)
    )  # satisfied / basic / dissatisfied
    rated_at: Mapped[dt.datetime | None]
    review_reason: Mapped[str | None] = mapped_column(Text)  # the unit's 申訴復核 request
    review_requested_at: Mapped[dt.datetime | None]
    review_decision: Mapped[str | None] = mapped_column(String(16))  # upheld / excluded
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[dt.datetime | None]
    reviewed_by: Mapped[int | None] = mapped_column(TelegramId)
    overdue_notified_at: Mapped[dt.datetime | None]
