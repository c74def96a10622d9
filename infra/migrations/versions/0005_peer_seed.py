"""peer seed: the secret that draws a cycle's peer graph

Revision ID: 0005peerseed
Revises: 4a99394c857a
Create Date: 2026-12-06

Cycles that already collect were drawn from their period (the old, public seed); the
period is stored for them so the server can still redraw exactly what they hold.
Cycles still waiting for approval get a fresh secret when they start collecting.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005peerseed"
down_revision: str | None = "4a99394c857a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cycle", schema=None) as batch_op:
        batch_op.add_column(sa.Column("peer_seed", sa.String(length=64), nullable=True))
    op.execute("UPDATE cycle SET peer_seed = period WHERE phase <> 'preparing'")


def downgrade() -> None:
    with op.batch_alter_table("cycle", schema=None) as batch_op:
        batch_op.drop_column("peer_seed")
