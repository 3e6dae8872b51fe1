"""monitoring: data profiles, production observations, alert state

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_profiles",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_data_profiles_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "role", name=op.f("pk_data_profiles")),
    )
    op.create_table(
        "monitor_observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("observed_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_monitor_observations_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_observations")),
    )
    op.create_index(
        "ix_monitor_observations_version",
        "monitor_observations",
        ["version_id", "observed_at"],
    )
    op.create_table(
        "monitor_alerts",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(length=300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("magnitude", sa.Float(), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=True),
        sa.Column("alerted_level", sa.String(length=20), nullable=True),
        sa.Column("alerted_magnitude", sa.Float(), nullable=True),
        sa.Column("alerted_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_monitor_alerts_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "condition", name=op.f("pk_monitor_alerts")),
    )


def downgrade() -> None:
    op.drop_table("monitor_alerts")
    op.drop_index("ix_monitor_observations_version", table_name="monitor_observations")
    op.drop_table("monitor_observations")
    op.drop_table("data_profiles")
