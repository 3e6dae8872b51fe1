"""What every family of registry tools shares: the host holding the registry, the helpers
that are not tools (the parser's vocabulary, resolving version names), the caps on list
lengths, and the lookups most tools start from.

The host is a `Registry` or, for a fast start on a local SQLite file, the stdlib
`SqliteReader`: the helpers here and the tools written in plain SQL (`_rows`, through
`exec_driver_sql` on either connection) work on both. Tools that still build SQLAlchemy
queries need the `Registry` (`needs_registry` lists them).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from modeltrail.core.store import reads

if TYPE_CHECKING:
    from modeltrail.core.registry.writer import Registry

LIST_CAP = 20  # entries per list in a diff handed to a tool caller
MATCH_CAP = 50  # versions listed for a digest or commit
# The tools that need a full `Registry` (SQLAlchemy queries, the monitoring and gate code).
NEEDS_REGISTRY = frozenset(
    {"best_version", "versions_using_data", "versions_at_commit", "metric_regressions",
     "monitoring_status"}
)  # fmt: skip


class ToolBase:
    """The registry the tools read, and the helpers (not tools) they and the parser share."""

    def __init__(self, registry: Registry | Any) -> None:
        self.registry = registry

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        """A connection with `exec_driver_sql`: SQLAlchemy's, or the stdlib reader's own."""
        engine = getattr(self.registry, "engine", None)
        if engine is None:
            yield self.registry.connection
            return
        with engine.connect() as conn:
            yield conn

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Plain SQL written with `?` marks, on either backend."""
        with self._connect() as conn:
            statement = sql.replace("?", reads.mark(conn))
            return [tuple(r) for r in conn.exec_driver_sql(statement, params)]

    def _model(self, model: str) -> int:
        with self._connect() as conn:
            return reads.model_id(conn, model)

    def _golden(self, model_id: int) -> str | None:
        with self._connect() as conn:
            return reads.golden(conn, model_id)

    def model_names(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT name FROM models ORDER BY name")]

    def metric_names(self) -> list[str]:
        """Every metric name logged in the registry (the parser's vocabulary)."""
        return sorted(r[0] for r in self._rows("SELECT DISTINCT name FROM metrics"))

    def resolve(self, model: str, ref: str) -> str:
        return str(self.registry.resolve_version(model, ref))


def find_model_id(conn: Any, model: str) -> int:
    return reads.model_id(conn, model)


def golden_version(conn: Any, model_id: int) -> str | None:
    return reads.golden(conn, model_id)
