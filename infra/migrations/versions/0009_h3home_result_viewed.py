"""the version of a result its person last opened, so home lists results not yet looked at

Revision ID: 0009home
Revises: 0008focus
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009home"
down_revision: str | None = "0008focus"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("result", schema=None) as batch_op:
        batch_op.add_column(sa.Column("viewed_version", sa.Integer(), nullable=True))
    # results published before this migration were pushed to their people long ago: do not
    # list them all as new on everyone's home screen
    op.execute("UPDATE result SET viewed_version = version WHERE published_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("result", schema=None) as batch_op:
        batch_op.drop_column("viewed_version")
