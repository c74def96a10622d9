"""one conversation position per chat: the chat's current flow; other positions are drafts

Revision ID: 0008focus
Revises: 0007citizen
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import infra.models.types

revision: str = "0008focus"
down_revision: str | None = "0007citizen"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_focus",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("updated_at", infra.models.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_conversation_focus")),
    )
    # A chat with several open flows keeps the one it wrote last as its current flow;
    # the others become drafts it can go back to.
    op.execute(
        """
        INSERT INTO conversation_focus (key, name, updated_at)
        SELECT s.key, MIN(s.name), MAX(s.updated_at)
        FROM conversation_state s
        WHERE s.updated_at = (
            SELECT MAX(t.updated_at) FROM conversation_state t WHERE t.key = s.key
        )
        GROUP BY s.key
        """
    )


def downgrade() -> None:
    op.drop_table("conversation_focus")
