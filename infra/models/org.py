"""The organisation: units as a tree, staff, and explicitly granted roles (二)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.enums import Role, UnitKind
from infra.models.base import Base, Timestamped, enum_column


class OrgUnit(Timestamped, Base):
    """科室, 直屬事業單位 or 派出機構; evaluated itself (collective performance) and a tree node."""

    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    head_staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", use_alter=True, ondelete="SET NULL")
    )
    leader_staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", use_alter=True, ondelete="SET NULL")
    )
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], lazy="raise")


class Staff(Timestamped, Base):
    """工作人員; never deleted, only deactivated, so history and audit keep their references."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_no: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    position: Mapped[str] = mapped_column(String(64), default="")
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    deactivated_at: Mapped[dt.datetime | None]

    unit: Mapped[OrgUnit] = relationship(foreign_keys=[unit_id], lazy="raise")


class RoleGrant(Base):
    """A role held by a staff member: working-group admin or a leadership-group seat."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("staff_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role))
