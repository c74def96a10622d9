"""citizen privacy: a stored survey key; outbox chat ids erased once a reply to a citizen is sent

Revision ID: 0007citizen
Revises: 0006staleresults
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import infra.models.types

revision: str = "0007citizen"
down_revision: str | None = "0006staleresults"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_secret",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("created_at", infra.models.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_secret")),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("erase_chat_id", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM outbox_message WHERE chat_id IS NULL")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column("erase_chat_id")
    op.drop_table("app_secret")
