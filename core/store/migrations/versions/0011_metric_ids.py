"""metric ids: metric points are keyed by a small integer metric id, not (version_id, name)

Revision ID: 0011
Revises: 0010

`metrics` gains an integer `id` (its old key, version and name, stays unique) and
`metric_points` is keyed by (metric_id, seq): a long history no longer repeats the version id
and the metric's name in every row and its key (issue 18: metric ingest). On SQLite the
points table is WITHOUT ROWID, clustered on its key; it has no foreign key (only the registry
writes it, with the metric row, and nothing deletes either). Both tables are rebuilt: the old ones
are renamed aside, the new ones created under the old names, the rows copied (each point to
its metric's new id), the old ones dropped. Content digests do not change: they never
covered the key columns. A point without a metric row (which no release wrote) is not kept.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _set_aside(suffix: str, indexes: tuple[str, ...]) -> None:
    op.rename_table("metrics", f"metrics{suffix}")
    op.rename_table("metric_points", f"metric_points{suffix}")
    if op.get_bind().dialect.name == "postgresql":
        # Index names share one namespace per schema there; the new tables want these.
        for name in indexes:
            op.execute(f"ALTER INDEX {name} RENAME TO {name}{suffix}")


def upgrade() -> None:
    _set_aside("_old", ("pk_metrics", "pk_metric_points"))
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.Column("history_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name="fk_metrics_version_id_versions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_metrics"),
        sa.UniqueConstraint("version_id", "name", name="uq_metrics_version_id_name"),
    )
    op.create_table(
        "metric_points",
        sa.Column("metric_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        # No foreign key: a per-row check trigger on PostgreSQL would triple the cost of
        # writing points (see schema.py).
        sa.PrimaryKeyConstraint("metric_id", "seq", name="pk_metric_points"),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO metrics (version_id, name, value, step, timestamp, history_count) "
        "SELECT version_id, name, value, step, timestamp, history_count FROM metrics_old "
        "ORDER BY version_id, name"
    )
    op.execute(
        "INSERT INTO metric_points (metric_id, seq, step, value, timestamp) "
        "SELECT m.id, p.seq, p.step, p.value, p.timestamp FROM metric_points_old p "
        "JOIN metrics m ON m.version_id = p.version_id AND m.name = p.name "
        "ORDER BY m.id, p.seq"
    )
    op.drop_table("metric_points_old")
    op.drop_table("metrics_old")


def downgrade() -> None:
    _set_aside("_new", ("pk_metrics", "pk_metric_points", "uq_metrics_version_id_name"))
    op.create_table(
        "metrics",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.Column("history_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name="fk_metrics_version_id_versions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "name", name="pk_metrics"),
    )
    op.create_table(
        "metric_points",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name="fk_metric_points_version_id_versions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "name", "seq", name="pk_metric_points"),
    )
    op.execute(
        "INSERT INTO metrics (version_id, name, value, step, timestamp, history_count) "
        "SELECT version_id, name, value, step, timestamp, history_count FROM metrics_new"
    )
    op.execute(
        "INSERT INTO metric_points (version_id, name, seq, step, value, timestamp) "
        "SELECT m.version_id, m.name, p.seq, p.step, p.value, p.timestamp "
        "FROM metric_points_new p JOIN metrics_new m ON m.id = p.metric_id"
    )
    op.drop_table("metric_points_new")
    op.drop_table("metrics_new")
