"""The State Council's holiday notices loaded by the working group, for years the calendar
packages do not hold yet

Revision ID: 0011calendar
Revises: 0010survey
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from infra.models.types import UtcDateTime

revision: str = "0011calendar"
down_revision: str | None = "0010survey"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "official_calendar",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("notice", sa.String(length=200), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("imported_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_official_calendar")),
    )


def downgrade() -> None:
    op.drop_table("official_calendar")
