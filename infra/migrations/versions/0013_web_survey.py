"""Citizens answer on a web page too: the channel of a response, a web 差评's receipt, a
number for the return call

Revision ID: 0013web
Revises: 0012push
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013web"
down_revision: str | None = "0012push"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("survey_response") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(8), nullable=False, server_default="telegram")
        )
        batch.add_column(sa.Column("receipt_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("callback_phone", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("survey_response") as batch:
        batch.drop_column("callback_phone")
        batch.drop_column("receipt_hash")
        batch.drop_column("channel")
