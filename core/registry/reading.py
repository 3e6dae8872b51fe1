"""The registry's reads: version records, listings, metric goals, tags and the audit trail.

A mixin of `Registry` (kept apart so each module stays readable). Rows never leave this
module either: callers get the frozen values of `records.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select

from modeltrail.core.errors import InvalidMetricError, VersionNotFoundError
from modeltrail.core.lifecycle import audit
from modeltrail.core.metrics import metric_specs
from modeltrail.core.records import (
    AuditEvent,
    MetricPoint,
    MetricSpec,
    ModelSummary,
    VersionRecord,
    VersionSummary,
)
from modeltrail.core.registry import integrity
from modeltrail.core.registry.base import RegistryBase
from modeltrail.core.store import reads, schema
from modeltrail.core.versioning import SemVer


class ReadingMixin(RegistryBase):
    # -- records and listings ---------------------------------------------------------------

    def load(self, model: str, version: str, *, history: bool = False) -> VersionRecord:
        wanted = str(SemVer.parse(version))
        records = self.load_many(model, [wanted], history=history)
        if not records:
            raise VersionNotFoundError(model, wanted)
        return records[0]

    def load_many(
        self, model: str, versions: Sequence[str] | None = None, *, history: bool = False
    ) -> list[VersionRecord]:
        """Several versions (default: all) in a fixed number of queries, newest first.

        Versions that do not exist are left out; `load` turns that into an error.
        """
        from modeltrail.core.store.loading import load_records

        wanted = None if versions is None else [str(SemVer.parse(v)) for v in versions]
        with self._read(autocommit=True) as conn:
            model_id = self._model_id(conn, model)
            return load_records(
                _Driver(conn),
                model,
                model_id,
                wanted,
                history=history,
                environments=self._environments,
            )

    def load_ref(self, model: str, ref: str) -> VersionRecord:
        """`load(model, resolve_version(model, ref))` on one connection, its queries sent to
        the driver's cursor without SQLAlchemy's result rows: the read API builds an answer
        it has not cached this way, where the two calls cost twice the checkout and most of
        the time went to result handling."""
        from modeltrail.core.refs import parse_selector
        from modeltrail.core.store.loading import load_records

        selector = parse_selector(ref)
        with self._read(autocommit=True) as conn:
            driver = _Driver(conn)
            ident = reads.model_id(driver, model)
            version = reads.resolve(driver, model, selector, ident)
            records = load_records(
                driver,
                model,
                ident,
                [version],
                history=False,
                environments=self._environments,
            )
        if not records:
            raise VersionNotFoundError(model, version)
        return records[0]

    def metric_specs(self, model: str) -> dict[str, MetricSpec]:
        """The goals set for this model, plus name-based defaults for every metric it logged."""
        with self._read() as conn:
            model_id = self._model_id(conn, model)
            names = conn.execute(
                select(schema.metrics.c.name)
                .distinct()
                .join(schema.versions, schema.versions.c.id == schema.metrics.c.version_id)
                .where(schema.versions.c.model_id == model_id)
            ).scalars()
            return self._metric_specs(conn, model_id, list(names))

    def _metric_specs(
        self, conn: Connection, model_id: int, names: Sequence[str] | Any
    ) -> dict[str, MetricSpec]:
        goals = conn.execute(
            select(
                schema.metric_goals.c.name,
                schema.metric_goals.c.goal,
                schema.metric_goals.c.tolerance,
            ).where(schema.metric_goals.c.model_id == model_id)
        )
        return metric_specs(names, goals)  # type: ignore[arg-type]

    def metric_history(self, model: str, version: str, name: str) -> tuple[MetricPoint, ...]:
        record = self.load(model, version, history=True)
        metric = record.metrics.get(name)
        if metric is None:
            raise InvalidMetricError(f"version {version} of {model!r} has no metric {name!r}")
        return metric.history or ()

    def list_models(self) -> list[ModelSummary]:
        with self._read() as conn:
            return reads.list_models(conn)

    def list_versions(self, model: str, *, limit: int | None = None) -> list[VersionSummary]:
        """Versions newest first (semantic order, not creation order)."""
        with self._read() as conn:
            return reads.list_versions(conn, reads.model_id(conn, model), model, limit)

    def count_versions(self, model: str) -> int:
        with self._read() as conn:
            return reads.count_versions(conn, reads.model_id(conn, model))

    def latest_version(self, model: str) -> str:
        with self._read() as conn:
            newest = reads.newest(conn, reads.model_id(conn, model))
        if newest is None:
            raise VersionNotFoundError(model, "(any)")
        return str(newest)

    def tag_values(self, model: str, key: str) -> dict[str, str]:
        """Version → value of tag `key`, for every version of `model` that has it (e.g. the
        `mlflow.version` of imported versions); empty when the model does not exist."""
        v, t = schema.versions, schema.tags
        query = (
            select(v.c.version, t.c.value)
            .join(t, t.c.version_id == v.c.id)
            .join(schema.models, schema.models.c.id == v.c.model_id)
            .where(schema.models.c.name == model, t.c.key == key)
        )
        with self._read() as conn:
            return {version: value for version, value in conn.execute(query)}

    def find_version_by_tags(self, model: str, tags: Mapping[str, str]) -> str | None:
        """The newest version of `model` carrying every tag in `tags`, or None."""
        v, t = schema.versions, schema.tags
        query = select(v.c.version).join(schema.models, schema.models.c.id == v.c.model_id)
        query = query.where(schema.models.c.name == model)
        for key, value in tags.items():
            query = query.where(
                select(t.c.version_id)
                .where(t.c.version_id == v.c.id, t.c.key == key, t.c.value == value)
                .exists()
            )
        with self._read() as conn:
            found = list(conn.execute(query).scalars())
        return max(found, key=SemVer.parse) if found else None

    # -- audit ----------------------------------------------------------------------------

    def audit_log(self, model: str | None = None, *, limit: int | None = None) -> list[AuditEvent]:
        a = schema.audit_events
        query = select(a).order_by(a.c.seq.desc())
        if model is not None:
            query = query.where(a.c.model == model)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [audit.StoredEvent(**r).to_event() for r in conn.execute(query).mappings()]

    def verify_audit(self, *, expect: tuple[int, str] | None = None) -> audit.VerifyResult:
        """The chain (keyed when a key is set), the anchored head `expect` (seq, hash) when
        given, and every version and stage against what the events record."""
        with self._read() as conn:
            return integrity.verify(conn, key=self._audit_key, expect=expect)

    def audit_head(self) -> tuple[int, str] | None:
        """(seq, hash) of the newest event, or None for an empty trail."""
        with self._read() as conn:
            return integrity.head(conn)


class _Driver:
    """The slice of a Connection the plain-SQL reads use, on the connection's own DBAPI
    connection (same transaction): rows come back as the driver's tuples."""

    def __init__(self, conn: Connection) -> None:
        self.dialect = conn.dialect
        self._raw: Any = conn.connection.driver_connection
        if hasattr(self._raw, "pipeline"):  # psycopg: loading.fetch_all sends queries at once
            self.pipeline = self._raw.pipeline

    def exec_driver_sql(self, statement: str, parameters: Any = ()) -> Any:
        cursor = self._raw.cursor()
        cursor.execute(statement, parameters)
        return cursor
