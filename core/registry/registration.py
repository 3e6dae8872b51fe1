"""The rows a registration writes: the version, its params, metrics and histories, data
snapshots, profiles, artifacts and tags, its audit event and its outbox row.

A mixin of `Registry` (kept apart so each module stays readable). `Registry.register`
validates the draft and owns the transaction and its retries; everything here runs inside
that one write transaction, so a failure leaves nothing behind.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, insert, select, update

from modeltrail.core.errors import DatabaseError, DuplicateVersionError, VersionNotFoundError
from modeltrail.core.lifecycle.outbox import enqueue
from modeltrail.core.params import encode_value
from modeltrail.core.registry import integrity
from modeltrail.core.registry.base import RegistryBase
from modeltrail.core.registry.rows import register_summary, snapshot_row
from modeltrail.core.store import schema
from modeltrail.core.versioning import SemVer

if TYPE_CHECKING:
    import datetime as dt

    from modeltrail.core.records import Environment, VersionDraft

FIRST_VERSION = SemVer(1, 0, 0)


class RegistrationMixin(RegistryBase):
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
            clean = draft.code is not None and not draft.code.dirty
            parent_id = self._newest_before_id(conn, model_id, version, clean=clean)

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
                "created_at": draft.created_at or now,
                "actor": (draft.actor or "").strip() or actor,
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
                [snapshot_row(version_id, i, snap) for i, snap in enumerate(draft.data)],
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
                        "stored": a.stored,
                        "kind": a.kind,
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
        summary = register_summary(draft, flat_params, points, self._version_of(conn, parent_id))
        # The digests of what was just written, read back (but the metric points, which the
        # writer already holds): `audit verify` recomputes them from the tables.
        summary["content"] = integrity.content_digests(
            conn, [version_id], points={version_id: points}
        )[version_id]
        summary["tags"] = {k: str(v) for k, v in draft.tags.items()}
        seq = self._append_audit(
            conn,
            now=now,
            actor=actor,
            action=action,
            model=model,
            version=str(version),
            before=None,
            after=summary,
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
        """The final values, then every point keyed by its metric's id."""
        if not points:
            return
        m = schema.metrics
        finals = []
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
        conn.execute(insert(m), finals)
        ids = dict(conn.execute(select(m.c.name, m.c.id).where(m.c.version_id == version_id)).all())
        # A generator: a million-point history is not copied into a second list of rows.
        rows = (
            (ids[name], seq, step, value, stamp)
            for name, history in points.items()
            for seq, (step, value, stamp) in enumerate(history)
        )
        # The driver's own cursor, in this transaction: SQLAlchemy's per-row parameter
        # processing would cost more than the insert itself for long histories. Its errors
        # are the driver's, so they are turned into ours here (the transaction rolls back).
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            if self._sqlite:
                cursor.executemany(
                    "INSERT INTO metric_points (metric_id, seq, step, value, timestamp) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
            else:  # PostgreSQL: binary COPY (text COPY formats every float: ~2× slower)
                with cursor.copy(
                    "COPY metric_points (metric_id, seq, step, value, timestamp) FROM STDIN "
                    "(FORMAT BINARY)"
                ) as copy:
                    copy.set_types(["int4", "int4", "int8", "float8", "float8"])
                    write = copy.write_row
                    for row in rows:
                        write(row)
        except conn.dialect.loaded_dbapi.Error as exc:
            first = str(exc).strip().splitlines()
            raise DatabaseError(
                f"could not write the metric points: {first[0] if first else exc!r}"
            ) from None
        finally:
            cursor.close()

    def _lock_or_create_model(self, conn: Connection, model: str, now: dt.datetime) -> int:
        dialect = self._dialect()
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

    def _newest_before_id(
        self, conn: Connection, model_id: int, version: SemVer, *, clean: bool = False
    ) -> int | None:
        """The newest version before `version`; for a `clean` one (committed code) the newest
        clean one when there is one, so an experiment from a dirty tree is not its parent."""
        if clean:
            found = self._newest_before_id_where(
                conn, model_id, version, schema.versions.c.code_dirty.is_(False)
            )
            if found is not None:
                return found
        return self._newest_before_id_where(conn, model_id, version, None)

    def _newest_before_id_where(
        self, conn: Connection, model_id: int, version: SemVer, extra: Any
    ) -> int | None:
        v = schema.versions
        older = (
            (v.c.major < version.major)
            | and_(v.c.major == version.major, v.c.minor < version.minor)
            | and_(
                v.c.major == version.major, v.c.minor == version.minor, v.c.patch < version.patch
            )
        )
        where = [v.c.model_id == model_id, older] + ([extra] if extra is not None else [])
        return conn.execute(
            select(v.c.id)
            .where(*where)
            .order_by(v.c.major.desc(), v.c.minor.desc(), v.c.patch.desc())
            .limit(1)
        ).scalar()

    def _version_of(self, conn: Connection, version_id: int | None) -> str | None:
        if version_id is None:
            return None
        return conn.execute(
            select(schema.versions.c.version).where(schema.versions.c.id == version_id)
        ).scalar()

    def _upsert_environment(self, conn: Connection, env: Environment) -> None:
        dialect = self._dialect()
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
