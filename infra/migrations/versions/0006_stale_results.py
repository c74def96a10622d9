"""stale results: the cycle's revision and the revision its results were computed from

Revision ID: 0006staleresults
Revises: 0005peerseed
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006staleresults"
down_revision: str | None = "0005peerseed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cycle", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("scored_revision", sa.Integer(), nullable=True))
    # results computed before this migration are treated as stale: score again to send them


def downgrade() -> None:
    with op.batch_alter_table("cycle", schema=None) as batch_op:
        batch_op.drop_column("scored_revision")
        batch_op.drop_column("revision")
