"""The registry: the only writer of the database, and the reader that hands out records.

Every mutation runs in one write transaction together with its audit event, so a failure
leaves nothing behind. Rows never leave this module: callers get the frozen values of
`records.py`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, insert, select, update
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError

from modeltrail.core.config import Settings
from modeltrail.core.errors import (
    DatabaseError,
    DuplicateVersionError,
    InvalidMetricError,
    InvalidNameError,
    InvalidVersionError,
    ModelNotFoundError,
    UsageError,
    VersionNotFoundError,
)
from modeltrail.core.lifecycle import audit
from modeltrail.core.lifecycle.outbox import enqueue
from modeltrail.core.metrics import check_metric_name, check_metric_value, default_metric_spec
from modeltrail.core.params import encode_value, flatten_params
from modeltrail.core.records import (
    AuditEvent,
    DataSnapshot,
    Environment,
    ManifestEntry,
    MetricPoint,
    MetricSpec,
    ModelSummary,
    VersionDraft,
    VersionRecord,
    VersionSummary,
)
from modeltrail.core.registry.governance import GovernanceMixin
from modeltrail.core.store import reads, schema
from modeltrail.core.store.engine import WRITE, ensure_schema, make_engine
from modeltrail.core.versioning import SemVer

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
FIRST_VERSION = SemVer(1, 0, 0)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not _MODEL_NAME.match(name):
        raise InvalidNameError(
            f"{name!r} is not a valid model name",
            hint="use letters, digits, '.', '_', '-' or '/', starting with a letter or digit",
        )
    return name


class Registry(GovernanceMixin):
    """A model registry on one database (SQLite file or PostgreSQL)."""

    def __init__(self, engine: Engine, *, clock: Any = utcnow) -> None:
        self.engine = engine
        self._clock = clock
        self._sqlite = engine.dialect.name == "sqlite"
        self._environments: dict[str, Environment] = {}  # content-addressed, never stale

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
        return cls(engine, clock=clock)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
                yield conn
        except OperationalError as exc:
            raise DatabaseError(f"the registry database refused the write: {_short(exc)}") from None
        except DataError as exc:
            # PostgreSQL enforces column sizes that SQLite ignores (e.g. an overlong tag name).
            raise UsageError(f"the registry cannot store a value given: {_short(exc)}") from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise DatabaseError(f"cannot read the registry database: {_short(exc)}") from None

    # -- writes ---------------------------------------------------------------------------

    def register(
        self, draft: VersionDraft, *, actor: str | None = None, action: str = "register"
    ) -> VersionRecord:
        """Record a new version. Validates everything first; writes all of it or nothing.

        `actor` defaults to `draft.actor`; one of them must say who. `action` names the audit
        event: "register", or "import" for versions brought in from another registry."""
        actor = actor or draft.actor
        if not actor or not actor.strip():
            raise UsageError("a registration needs an actor (who registers the version)")
        model = check_model_name(draft.model)
        flat_params = flatten_params(draft.params)
        points = _check_metric_points(draft.metric_points)
        _check_unique(draft.data, "role", "data snapshot")
        _check_unique(draft.artifacts, "name", "artifact")
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
                    raise DatabaseError(f"could not register a version: {_short(exc)}") from None
        raise AssertionError("unreachable")

    def _insert_version(
        self,
        conn: Connection,
        draft: VersionDraft,
        model: str,
        flat_params: dict[str, Any],
        points: dict[str, list[tuple[int, float, float]]],
        explicit: SemVer | None,
        parent_wanted: SemVer | None,
        actor: str,
        now: dt.datetime,
        action: str = "register",
    ) -> SemVer:
        model_id = self._lock_or_create_model(conn, model, now)
        newest = self._newest(conn, model_id)
        if explicit is not None:
            version = explicit
            if self._version_id(conn, model_id, version) is not None:
                raise DuplicateVersionError(model, str(version))
        else:
            version = newest.bump("patch") if newest else FIRST_VERSION

        if draft.parent == "":
            parent_id = None
        elif parent_wanted is not None:
            parent_id = self._version_id(conn, model_id, parent_wanted)
            if parent_id is None:
                raise VersionNotFoundError(model, str(parent_wanted))
        else:
            parent_id = self._newest_before_id(conn, model_id, version)

        if draft.environment is not None:
            self._upsert_environment(conn, draft.environment)

        code = draft.code
        version_id = conn.execute(
            insert(schema.versions).returning(schema.versions.c.id),
            {
                "model_id": model_id,
                "version": str(version),
                "major": version.major,
                "minor": version.minor,
                "patch": version.patch,
                "created_at": now,
                "actor": actor,
                "description": draft.description,
                "stage": "none",
                "parent_id": parent_id,
                "code_repo_root": code.repo_root if code else None,
                "code_commit": code.commit if code else None,
                "code_branch": code.branch if code else None,
                "code_remote_url": code.remote_url if code else None,
                "code_dirty": code.dirty if code else None,
                "code_dirty_files": json.dumps(list(code.dirty_files)) if code else None,
                "code_diff_digest": code.diff_digest if code else None,
                "environment_fingerprint": (
                    draft.environment.fingerprint if draft.environment else None
                ),
            },
        ).scalar_one()

        if flat_params:
            conn.execute(
                insert(schema.params),
                [
                    {"version_id": version_id, "key": k, "value": encode_value(v)}
                    for k, v in flat_params.items()
                ],
            )
        self._insert_metrics(conn, version_id, points)
        if draft.data:
            conn.execute(
                insert(schema.data_snapshots),
                [_snapshot_row(version_id, i, snap) for i, snap in enumerate(draft.data)],
            )
        if draft.profiles:
            conn.execute(
                insert(schema.data_profiles),
                [
                    {
                        "version_id": version_id,
                        "role": role,
                        "profile": json.dumps(profile, separators=(",", ":"), allow_nan=False),
                    }
                    for role, profile in draft.profiles.items()
                ],
            )
        if draft.artifacts:
            conn.execute(
                insert(schema.artifacts),
                [
                    {
                        "version_id": version_id,
                        "position": i,
                        "name": a.name,
                        "uri": a.uri,
                        "digest": a.digest,
                        "size": a.size,
                    }
                    for i, a in enumerate(draft.artifacts)
                ],
            )
        if draft.tags:
            conn.execute(
                insert(schema.tags),
                [
                    {"version_id": version_id, "key": k, "value": str(v)}
                    for k, v in draft.tags.items()
                ],
            )
        conn.execute(
            update(schema.models).where(schema.models.c.id == model_id).values(updated_at=now)
        )
        seq = self._append_audit(
            conn,
            now=now,
            actor=actor,
            action=action,
            model=model,
            version=str(version),
            before=None,
            after=_register_summary(draft, flat_params, points, self._version_of(conn, parent_id)),
            reason=draft.description,
        )
        enqueue(
            conn,
            topic="version.registered",
            model=model,
            version=str(version),
            payload={"model": model, "version": str(version), "actor": actor},
            key=f"audit:{seq}",
            now=now,
        )
        return version

    def _insert_metrics(
        self, conn: Connection, version_id: int, points: dict[str, list[tuple[int, float, float]]]
    ) -> None:
        if not points:
            return
        finals = []
        rows: list[tuple[int, str, int, int, float, float]] = []
        for name, history in points.items():
            step, value, stamp = history[-1]
            finals.append(
                {
                    "version_id": version_id,
                    "name": name,
                    "value": value,
                    "step": step,
                    "timestamp": stamp,
                    "history_count": len(history),
                }
            )
            rows.extend((version_id, name, seq, s, v, t) for seq, (s, v, t) in enumerate(history))
        conn.execute(insert(schema.metrics), finals)
        if self._sqlite:
            # Straight to the driver's executemany: SQLAlchemy's per-row parameter processing
            # would cost more than the insert itself for 10,000-point histories.
            conn.exec_driver_sql(
                "INSERT INTO metric_points (version_id, name, seq, step, value, timestamp) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            return
        # PostgreSQL: COPY in the same transaction, ~7× faster than executemany here.
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(
            "COPY metric_points (version_id, name, seq, step, value, timestamp) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)

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

    # -- reads ----------------------------------------------------------------------------

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
        with self._read() as conn:
            model_id = self._model_id(conn, model)
            return load_records(
                conn, model, model_id, wanted, history=history, environments=self._environments
            )

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
        specs = {name: default_metric_spec(name) for name in names}
        for name, goal, tolerance in conn.execute(
            select(
                schema.metric_goals.c.name,
                schema.metric_goals.c.goal,
                schema.metric_goals.c.tolerance,
            ).where(schema.metric_goals.c.model_id == model_id)
        ):
            specs[name] = MetricSpec(name=name, goal=goal, tolerance=tolerance)
        return specs

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

    def record_event_once(self, key: str) -> bool:
        """Remember a delivery ID; False when it was already recorded (a retry)."""
        dialect = sqlite_dialect if self._sqlite else pg_dialect
        with self._write() as conn:
            result = conn.execute(
                dialect.insert(schema.processed_events)
                .values(key=key[:200], seen_at=self._clock())
                .on_conflict_do_nothing(index_elements=["key"])
                # Without this SQLAlchemy 2.1 reports -1 for INSERTs on psycopg.
                .execution_options(preserve_rowcount=True)
            )
            return result.rowcount == 1

    def forget_event(self, key: str) -> None:
        """Forget a delivery ID recorded by `record_event_once` whose processing failed, so
        that the sender's retry is processed rather than ignored."""
        with self._write() as conn:
            conn.execute(
                delete(schema.processed_events).where(schema.processed_events.c.key == key[:200])
            )

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

    def verify_audit(self) -> audit.VerifyResult:
        a = schema.audit_events
        with self._read() as conn:
            head = conn.execute(select(schema.audit_head.c.seq, schema.audit_head.c.hash)).first()
            rows = conn.execute(select(a).order_by(a.c.seq)).mappings()
            return audit.verify_chain(
                (audit.StoredEvent(**r) for r in rows), tuple(head) if head else None
            )

    def _append_audit(
        self,
        conn: Connection,
        *,
        now: dt.datetime,
        actor: str,
        action: str,
        model: str | None,
        version: str | None,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        reason: str | None,
    ) -> int:
        head_query = select(schema.audit_head.c.seq, schema.audit_head.c.hash).where(
            schema.audit_head.c.id == 1
        )
        if not self._sqlite:
            head_query = head_query.with_for_update()
        head = conn.execute(head_query).first()
        seq, prev_hash = (head[0] + 1, head[1]) if head else (1, audit.GENESIS)
        fields = {
            "seq": seq,
            "created_at": now.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "model": model,
            "version": version,
            "before": audit.canonical_json(before),
            "after": audit.canonical_json(after),
            "reason": reason,
            "prev_hash": prev_hash,
        }
        digest = audit.event_hash(**fields)
        conn.execute(insert(schema.audit_events), {**fields, "hash": digest})
        if head is None:
            conn.execute(insert(schema.audit_head), {"id": 1, "seq": seq, "hash": digest})
        else:
            conn.execute(
                update(schema.audit_head)
                .where(schema.audit_head.c.id == 1)
                .values(seq=seq, hash=digest)
            )
        return seq

    # -- helpers --------------------------------------------------------------------------

    def _model_id(self, conn: Connection, model: str, *, lock: bool = False) -> int:
        query = select(schema.models.c.id).where(schema.models.c.name == model)
        if lock and not self._sqlite:
            query = query.with_for_update()
        model_id = conn.execute(query).scalar()
        if model_id is None:
            raise ModelNotFoundError(model)
        return int(model_id)

    def _lock_or_create_model(self, conn: Connection, model: str, now: dt.datetime) -> int:
        dialect = sqlite_dialect if self._sqlite else pg_dialect
        conn.execute(
            dialect.insert(schema.models)
            .values(name=model, created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        # On PostgreSQL the row lock serialises version numbering per model; SQLite's
        # BEGIN IMMEDIATE already serialises every writer.
        return self._model_id(conn, model, lock=True)

    def _newest(self, conn: Connection, model_id: int) -> SemVer | None:
        v = schema.versions
        row = conn.execute(
            select(v.c.major, v.c.minor, v.c.patch)
            .where(v.c.model_id == model_id)
            .order_by(v.c.major.desc(), v.c.minor.desc(), v.c.patch.desc())
            .limit(1)
        ).first()
        return SemVer(*row) if row else None

    def _newest_before_id(self, conn: Connection, model_id: int, version: SemVer) -> int | None:
        v = schema.versions
        older = (
            (v.c.major < version.major)
            | and_(v.c.major == version.major, v.c.minor < version.minor)
            | and_(
                v.c.major == version.major, v.c.minor == version.minor, v.c.patch < version.patch
            )
        )
        return conn.execute(
            select(v.c.id)
            .where(v.c.model_id == model_id, older)
            .order_by(v.c.major.desc(), v.c.minor.desc(), v.c.patch.desc())
            .limit(1)
        ).scalar()

    def _version_of(self, conn: Connection, version_id: int | None) -> str | None:
        if version_id is None:
            return None
        return conn.execute(
            select(schema.versions.c.version).where(schema.versions.c.id == version_id)
        ).scalar()

    def _version_id(self, conn: Connection, model_id: int, version: SemVer) -> int | None:
        return conn.execute(
            select(schema.versions.c.id).where(
                schema.versions.c.model_id == model_id,
                schema.versions.c.version == str(version),
            )
        ).scalar()

    def _upsert_environment(self, conn: Connection, env: Environment) -> None:
        dialect = sqlite_dialect if self._sqlite else pg_dialect
        conn.execute(
            dialect.insert(schema.environments)
            .values(
                fingerprint=env.fingerprint,
                python_version=env.python_version,
                python_implementation=env.python_implementation,
                platform=env.platform,
                machine=env.machine,
                cpu_model=env.cpu_model,
                cpu_count=env.cpu_count,
                gpus=json.dumps(list(env.gpus)),
                packages=json.dumps(dict(sorted(env.packages.items())), separators=(",", ":")),
            )
            .on_conflict_do_nothing(index_elements=["fingerprint"])
        )

    def _environment(self, conn: Connection, fingerprint: str) -> Environment | None:
        row = (
            conn.execute(
                select(schema.environments).where(schema.environments.c.fingerprint == fingerprint)
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return Environment(
            python_version=row["python_version"],
            python_implementation=row["python_implementation"],
            platform=row["platform"],
            machine=row["machine"],
            cpu_model=row["cpu_model"],
            cpu_count=row["cpu_count"],
            gpus=tuple(json.loads(row["gpus"])),
            packages=json.loads(row["packages"]),
            fingerprint=row["fingerprint"],
        )


def _check_metric_points(
    metric_points: Mapping[str, Sequence[tuple[int, float, float]]],
) -> dict[str, list[tuple[int, float, float]]]:
    checked: dict[str, list[tuple[int, float, float]]] = {}
    for name, history in metric_points.items():
        check_metric_name(name)
        if not history:
            continue
        exact = True  # the tracking client hands over exact int/float tuples already
        for step, value, stamp in history:
            if value.__class__ is not float or not math.isfinite(value):
                check_metric_value(name, value)
                exact = False
            if step.__class__ is not int:
                if not isinstance(step, int) or isinstance(step, bool):
                    raise InvalidMetricError(
                        f"metric {name!r} has step {step!r}; steps are integers"
                    )
                exact = False
            if stamp.__class__ is not float:
                exact = False
        checked[name] = (
            list(history) if exact else [(int(s), float(v), float(t)) for s, v, t in history]
        )
    return checked


def _check_unique(items: Sequence[Any], attribute: str, what: str) -> None:
    seen: set[str] = set()
    for item in items:
        key = getattr(item, attribute)
        if key in seen:
            raise UsageError(f"two {what}s are named {key!r}; each {attribute} may appear once")
        seen.add(key)


def _snapshot_row(version_id: int, position: int, snap: DataSnapshot) -> dict[str, Any]:
    manifest = None
    if snap.manifest is not None:
        manifest = json.dumps(
            [[e.path, e.size, e.digest] for e in snap.manifest], separators=(",", ":")
        )
    return {
        "version_id": version_id,
        "role": snap.role,
        "position": position,
        "path": snap.path,
        "kind": snap.kind,
        "digest": snap.digest,
        "size": snap.size,
        "file_count": snap.file_count,
        "manifest": manifest,
        "dvc_md5": snap.dvc_md5,
        "dvc_source": snap.dvc_source,
    }


def _snapshot_from_row(row: Mapping[str, Any]) -> DataSnapshot:
    manifest = None
    if row["manifest"] is not None:
        manifest = tuple(ManifestEntry(p, s, d) for p, s, d in json.loads(row["manifest"]))
    return DataSnapshot(
        role=row["role"],
        path=row["path"],
        kind=row["kind"],
        digest=row["digest"],
        size=row["size"],
        file_count=row["file_count"],
        manifest=manifest,
        dvc_md5=row["dvc_md5"],
        dvc_source=row["dvc_source"],
    )


def _register_summary(
    draft: VersionDraft,
    flat_params: Mapping[str, Any],
    points: Mapping[str, list[tuple[int, float, float]]],
    parent: str | None,
) -> dict[str, Any]:
    """What the audit trail keeps of a registration: enough to notice later tampering
    with the version's recipe without copying every metric point into the trail."""
    return {
        "params_digest": _digest_json(flat_params),
        "params": len(flat_params),
        "metrics": {name: history[-1][1] for name, history in points.items()},
        "data": {s.role: s.digest or s.dvc_md5 for s in draft.data},
        "artifacts": {a.name: a.digest for a in draft.artifacts},
        "commit": draft.code.commit if draft.code else None,
        "dirty": draft.code.dirty if draft.code else None,
        "environment": draft.environment.fingerprint if draft.environment else None,
        "parent": parent,  # as resolved, not as requested
    }


def _digest_json(value: Any) -> str:
    import hashlib

    return hashlib.sha256(encode_value(value).encode("utf-8")).hexdigest()


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _from_epoch(stamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(stamp, dt.UTC)


def _is_version_conflict(exc: IntegrityError) -> bool:
    message = str(exc.orig).lower()
    return "versions" in message or "uq_versions" in message


def _short(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
