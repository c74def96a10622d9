"""好差评 as practised: tags for good ratings, a service reference on links (一事一评), and
a rectification's outcome and reply to the citizen kept apart from its internal record

Revision ID: 0010survey
Revises: 0009home
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010survey"
down_revision: str | None = "0009home"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOME = sa.Enum(
    "immediate", "deadline", "explained", name="rectificationoutcome", native_enum=False, length=24
)


def upgrade() -> None:
    # plain ADD COLUMNs: a batch copy of survey_response on SQLite would have to drop a
    # table that rectification rows point to
    op.add_column(
        "survey_response",
        sa.Column("praise", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column("survey_link", sa.Column("reference", sa.String(length=64), nullable=True))
    op.add_column("rectification", sa.Column("outcome", OUTCOME, nullable=True))
    op.add_column("rectification", sa.Column("reply", sa.Text(), nullable=True))
    # Until now one text served both: what was written was what the citizen was sent.
    op.execute(
        """
        UPDATE rectification SET reply = answer
        WHERE answer IS NOT NULL AND response_id IN (
            SELECT id FROM survey_response WHERE wants_reply IS TRUE
        )
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("rectification", schema=None) as batch_op:
        batch_op.drop_column("reply")
        batch_op.drop_column("outcome")
    with op.batch_alter_table("survey_link", schema=None) as batch_op:
        batch_op.drop_column("reference")
    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.drop_column("praise")
