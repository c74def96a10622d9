"""The State Council's holiday notices loaded by the working group (``jixiao calendar import``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from infra.models.base import Base
from infra.models.types import utcnow


class OfficialCalendar(Base):
    """One year's notice, stored as checked (``services.calendar_notice.CalendarNotice``):
    loading a year again replaces it; the audit log keeps who loaded what."""

    __tablename__ = "official_calendar"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    notice: Mapped[str] = mapped_column(String(200), default="")
    content: Mapped[dict[str, Any]]
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(64), default="")
