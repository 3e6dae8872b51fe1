"""What every family of registry tools shares: the host holding the registry, the helpers
that are not tools (the parser's vocabulary, resolving version names), the caps on list
lengths, and the two lookups most tools start from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from modeltrail.core.errors import ModelNotFoundError
from modeltrail.core.store import schema

if TYPE_CHECKING:
    from modeltrail.core.registry.writer import Registry

LIST_CAP = 20  # entries per list in a diff handed to a tool caller
MATCH_CAP = 50  # versions listed for a digest or commit


class ToolBase:
    """The registry the tools read, and the helpers (not tools) they and the parser share."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def model_names(self) -> list[str]:
        with self.registry.engine.connect() as conn:
            return list(
                conn.execute(select(schema.models.c.name).order_by(schema.models.c.name)).scalars()
            )

    def metric_names(self) -> list[str]:
        """Every metric name logged in the registry (the parser's vocabulary)."""
        with self.registry.engine.connect() as conn:
            return sorted(conn.execute(select(schema.metrics.c.name).distinct()).scalars())

    def resolve(self, model: str, ref: str) -> str:
        return self.registry.resolve_version(model, ref)


def find_model_id(conn: Connection, model: str) -> int:
    found = conn.execute(select(schema.models.c.id).where(schema.models.c.name == model)).scalar()
    if found is None:
        raise ModelNotFoundError(model)
    return int(found)


def golden_version(conn: Connection, model_id: int) -> str | None:
    m, v = schema.models, schema.versions
    return conn.execute(
        select(v.c.version).join(m, m.c.golden_version_id == v.c.id).where(m.c.id == model_id)
    ).scalar()
