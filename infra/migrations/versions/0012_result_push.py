"""Published results are told in chunks: where the pushes of a published cycle stand

Revision ID: 0012push
Revises: 0011calendar
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012push"
down_revision: str | None = "0011calendar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cycle", sa.Column("push_cursor", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cycle") as batch:
        batch.drop_column("push_cursor")
