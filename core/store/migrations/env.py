"""Alembic environment: modeltrail always hands in an open connection (see core/store/engine.py)."""

from __future__ import annotations

from alembic import context

from modeltrail.core.store.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through modeltrail (modeltrail init), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
context.run_migrations()
