"""stored artifacts: whether an artifact's bytes are kept in the artifact store, and its kind

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artifacts") as batch:
        batch.add_column(
            sa.Column("stored", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("kind", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("artifacts") as batch:
        batch.drop_column("kind")
        batch.drop_column("stored")
