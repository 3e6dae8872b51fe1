"""summaries cache; the action behind each stage change

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "summaries",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_summaries")),
    )
    with op.batch_alter_table("stage_changes") as batch:
        batch.add_column(sa.Column("action", sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stage_changes") as batch:
        batch.drop_column("action")
    op.drop_table("summaries")
