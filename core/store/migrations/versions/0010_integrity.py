"""integrity: one production per model enforced by the database; keyed audit events

Revision ID: 0010
Revises: 0009

A partial unique index allows at most one `production` row per model (the golden version is a
single pointer on `models`, so one golden per model holds by construction). A registry that
already holds two productions (written by a release that had the race) cannot take the index:
the migration stops and names them, rather than choosing for the team which one stays.

`audit_events.keyed` marks events whose hash is an HMAC under MODELTRAIL_AUDIT_KEY. Events
written before this migration are plain sha256 and stay valid. `audit_head.rules_from` is the
first event held to this release's rules: register events before it carry no content digest
(`audit verify` says how many versions that leaves uncovered instead of failing; a backfill
would have to append events under a key the migration does not have), and their timestamps
may go backwards where concurrent writers raced.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from modeltrail.core.errors import DatabaseError

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    doubled = conn.execute(
        sa.text(
            "SELECT m.name, v.version FROM versions v JOIN models m ON m.id = v.model_id "
            "WHERE v.stage = 'production' AND v.model_id IN (SELECT model_id FROM versions "
            "WHERE stage = 'production' GROUP BY model_id HAVING COUNT(*) > 1) "
            "ORDER BY m.name, v.id"
        )
    ).all()
    if doubled:
        found: dict[str, list[str]] = {}
        for name, version in doubled:
            found.setdefault(name, []).append(version)
        listing = "; ".join(f"{name}: {', '.join(vs)}" for name, vs in found.items())
        raise DatabaseError(
            f"more than one production version per model ({listing}): this release "
            "enforces one",
            hint="with the previous release, retire all but one (modeltrail retire MODEL "
            "VERSION --reason ...), then run this one again",
        )
    op.create_index(
        "ux_versions_one_production",
        "versions",
        ["model_id"],
        unique=True,
        sqlite_where=sa.text("stage = 'production'"),
        postgresql_where=sa.text("stage = 'production'"),
    )
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(
            sa.Column("keyed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Events from here on are held to this release's rules (time never goes backwards,
    # register events carry content digests); the ones before were written without them.
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(
            sa.Column("rules_from", sa.Integer(), nullable=False, server_default="1")
        )
    conn.execute(sa.text("UPDATE audit_head SET rules_from = seq + 1"))


def downgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("rules_from")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("keyed")
    op.drop_index("ux_versions_one_production", table_name="versions")
