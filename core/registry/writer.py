"""The registry: the only writer of the database, and the reader that hands out records.

Every mutation runs in one write transaction together with its audit event, so a failure
leaves nothing behind. Rows never leave the registry: callers get the frozen values of
`records.py`. `Registry` is assembled from mixins kept apart so each module stays readable:
the rows of a registration (`registration`), the reads (`reading`), the stage and
governance writes (`governance`) and, on top of them, owners and promotion requests
(`approvals`); this module opens the database, owns the transactions and the audit chain,
and validates a registration (with `rows`) before writing any of it.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from modeltrail.core.config import Settings
from modeltrail.core.errors import (
    DatabaseError,
    DuplicateVersionError,
    InvalidVersionError,
    UsageError,
)
from modeltrail.core.metrics import check_metric_name
from modeltrail.core.params import flatten_params
from modeltrail.core.records import MetricSpec, VersionDraft, VersionRecord
from modeltrail.core.registry.approvals import ApprovalsMixin
from modeltrail.core.registry.artifacts import ArtifactsMixin
from modeltrail.core.registry.base import first_line, utcnow
from modeltrail.core.registry.registration import RegistrationMixin
from modeltrail.core.registry.rows import (
    check_metric_points,
    check_model_name,
    check_text_fields,
    check_unique,
)
from modeltrail.core.registry.tokens import TokensMixin
from modeltrail.core.store import schema
from modeltrail.core.store.engine import ensure_schema, make_engine
from modeltrail.core.versioning import SemVer


class Registry(RegistrationMixin, ApprovalsMixin, TokensMixin, ArtifactsMixin):
    """A model registry on one database (SQLite file or PostgreSQL)."""

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        clock: Any = utcnow,
    ) -> Registry:
        """Open (and create or migrate, on first use) the registry at `url` or from settings."""
        settings = settings or Settings.load()
        explicit = url or settings.database_url
        resolved = explicit or settings.resolved_database_url()
        # The default location is ours to create; an explicit path's directory must exist.
        engine = make_engine(resolved, create_dirs=explicit is None)
        try:
            ensure_schema(engine)
        except BaseException:
            engine.dispose()
            raise
        registry = cls(engine, clock=clock, audit_key=settings.audit_key)
        registry.settings = settings
        return registry

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes ---------------------------------------------------------------------------

    def register(
        self, draft: VersionDraft, *, actor: str | None = None, action: str = "register"
    ) -> VersionRecord:
        """Record a new version. Validates everything first; writes all of it or nothing.

        `actor` (who records it: the audit event's actor) defaults to `draft.actor`; one of
        them must say who. `draft.actor` and `draft.created_at`, when set, are the version's
        own author and time (an import keeps the other registry's). `action` names the audit
        event: "register", or "import" for versions brought in from another registry."""
        actor = actor or draft.actor
        if not actor or not actor.strip():
            raise UsageError("a registration needs an actor (who registers the version)")
        if draft.created_at is not None and draft.created_at.tzinfo is None:
            raise UsageError("a version's created_at must carry a timezone")
        model = check_model_name(draft.model)
        flat_params = flatten_params(draft.params)
        points = check_metric_points(draft.metric_points)
        check_unique(draft.data, "role", "data snapshot")
        check_unique(draft.artifacts, "name", "artifact")
        check_text_fields(draft)
        explicit = SemVer.parse(draft.version) if draft.version is not None else None
        if explicit is not None and max(explicit.major, explicit.minor, explicit.patch) >= 2**31:
            raise InvalidVersionError(draft.version or "")  # beyond the integer columns
        parent_wanted = SemVer.parse(draft.parent) if draft.parent else None
        now = self._clock()

        for attempt in range(5):
            try:
                with self._write() as conn:
                    version = self._insert_version(
                        conn,
                        draft,
                        model,
                        flat_params,
                        points,
                        explicit,
                        parent_wanted,
                        actor,
                        now,
                        action,
                    )
                return self.load(model, str(version))
            except IntegrityError as exc:
                if explicit is not None and _is_version_conflict(exc):
                    raise DuplicateVersionError(model, str(explicit)) from None
                # Auto-numbering raced with another writer (only possible if the model row
                # was created concurrently): try again with a fresh view.
                if attempt == 4:
                    message = f"could not register a version: {first_line(exc)}"
                    raise DatabaseError(message) from None
        raise AssertionError("unreachable")

    def set_metric_goal(
        self,
        model: str,
        name: str,
        goal: str,
        tolerance: float = 0.0,
        *,
        actor: str,
        reason: str | None = None,
    ) -> MetricSpec:
        """Say per model whether a metric is to be maximised or minimised, and its noise band."""
        check_metric_name(name)
        if goal not in ("maximize", "minimize"):
            raise UsageError(f"goal must be 'maximize' or 'minimize', not {goal!r}")
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float):
            raise UsageError(f"tolerance must be a number, not {tolerance!r}")
        if not math.isfinite(tolerance) or tolerance < 0:
            raise UsageError(f"tolerance must be a finite number ≥ 0, not {tolerance}")
        now = self._clock()
        with self._write() as conn:
            model_id = self._model_id(conn, model, lock=True)
            previous = conn.execute(
                select(schema.metric_goals.c.goal, schema.metric_goals.c.tolerance).where(
                    schema.metric_goals.c.model_id == model_id, schema.metric_goals.c.name == name
                )
            ).first()
            if previous is None:
                conn.execute(
                    insert(schema.metric_goals),
                    {"model_id": model_id, "name": name, "goal": goal, "tolerance": tolerance},
                )
            else:
                conn.execute(
                    update(schema.metric_goals)
                    .where(
                        schema.metric_goals.c.model_id == model_id,
                        schema.metric_goals.c.name == name,
                    )
                    .values(goal=goal, tolerance=tolerance)
                )
            self._append_audit(
                conn,
                now=now,
                actor=actor,
                action="metric_goal",
                model=model,
                version=None,
                before=(
                    {"metric": name, "goal": previous[0], "tolerance": previous[1]}
                    if previous
                    else None
                ),
                after={"metric": name, "goal": goal, "tolerance": tolerance},
                reason=reason,
            )
        return MetricSpec(name=name, goal=goal, tolerance=tolerance)  # type: ignore[arg-type]

    # -- delivery IDs ---------------------------------------------------------------------

    def record_event_once(self, key: str) -> bool:
        """Remember a delivery ID; False when it was already recorded (a retry)."""
        dialect = self._dialect()
        with self._write() as conn:
            result = conn.execute(
                dialect.insert(schema.processed_events)
                .values(key=_stored_key(key), seen_at=self._clock())
                .on_conflict_do_nothing(index_elements=["key"])
                # Without this SQLAlchemy 2.1 reports -1 for INSERTs on psycopg.
                .execution_options(preserve_rowcount=True)
            )
            return result.rowcount == 1

    def forget_event(self, key: str) -> None:
        """Forget a delivery ID recorded by `record_event_once` whose processing failed, so
        that the sender's retry is processed rather than ignored."""
        with self._write() as conn:
            pe = schema.processed_events
            conn.execute(delete(pe).where(pe.c.key == _stored_key(key)))

    def forget_events_before(self, prefix: str, before: dt.datetime) -> int:
        """Drop IDs starting with `prefix` recorded before `before` (those only matter for a
        bounded window, like request signatures); returns how many."""
        pe = schema.processed_events
        with self._write() as conn:
            old = pe.c.key.startswith(prefix, autoescape=True) & (pe.c.seen_at < before)
            result = conn.execute(delete(pe).where(old))
            return int(result.rowcount)


def _stored_key(key: str) -> str:
    """`key` as the 200-character column holds it: a longer one keeps a prefix plus the
    sha256 of the whole, so two IDs that share their first 200 characters stay apart."""
    if len(key) <= 200:
        return key
    import hashlib

    return key[:135] + "#" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _is_version_conflict(exc: IntegrityError) -> bool:
    message = str(exc.orig).lower()
    return "versions" in message or "uq_versions" in message


def open_registry(url: str | None = None, *, settings: Settings | None = None) -> Registry:
    """The registry (and its artifact store) the environment configures; for serving code:
    `open_registry().resolve("fraud-detector@production")`, then `.pull(record, DIR)`."""
    return Registry.open(url, settings=settings)
