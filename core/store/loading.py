"""Reading versions into records: a fixed number of plain SQL queries however many versions.

This is the hottest read path (`show`, every diff, changelogs, the bot), so it talks to the
driver directly (`exec_driver_sql`) instead of building SQLAlchemy statements and result
rows: for a 200-param version that is several times faster. Param values are stored as JSON
text; they are decoded in one `json.loads` per version by joining the stored texts into one
JSON object. Environments are content-addressed (the fingerprint is the key), so a decoded
one can be cached for the life of the registry object.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from modeltrail.core.metrics import metric_specs
from modeltrail.core.records import (
    Artifact,
    CodeState,
    DataSnapshot,
    Environment,
    ManifestEntry,
    Metric,
    MetricPoint,
    Note,
    VersionRecord,
)
from modeltrail.core.store.reads import DriverConnection
from modeltrail.core.store.reads import mark as _mark
from modeltrail.core.store.reads import utc as _utc

CHUNK = 500
_VERSION_COLUMNS = (
    "v.id, v.version, v.major, v.minor, v.patch, v.created_at, v.actor, v.description, v.stage, "
    "p.version, v.code_repo_root, v.code_commit, v.code_branch, v.code_remote_url, v.code_dirty, "
    "v.code_dirty_files, v.code_diff_digest, v.environment_fingerprint"
)


def load_records(
    conn: DriverConnection,
    model: str,
    model_id: int,
    versions: Sequence[str] | None,
    *,
    history: bool,
    environments: MutableMapping[str, Environment],
) -> list[VersionRecord]:
    """Records for `versions` of the model (all when None), newest first; unknown versions
    are left out."""
    mark = _mark(conn)
    base = (
        f"SELECT {_VERSION_COLUMNS} FROM versions v LEFT JOIN versions p ON p.id = v.parent_id "
        f"WHERE v.model_id = {mark}"
    )
    rows: list[tuple[Any, ...]] = []
    if versions is None:
        rows = list(conn.exec_driver_sql(base, (model_id,)))
    else:
        for chunk in _chunks(list(versions)):
            sql = f"{base} AND v.version IN ({_marks(mark, len(chunk))})"
            rows.extend(conn.exec_driver_sql(sql, (model_id, *chunk)))
    rows.sort(key=lambda r: (r[2], r[3], r[4]), reverse=True)
    ids = [r[0] for r in rows]
    if not ids:
        return []

    param_parts: dict[int, list[str]] = {i: [] for i in ids}
    metrics: dict[int, dict[str, Metric]] = {i: {} for i in ids}
    data: dict[int, list[DataSnapshot]] = {i: [] for i in ids}
    artifacts: dict[int, list[Artifact]] = {i: [] for i in ids}
    tags: dict[int, dict[str, str]] = {i: {} for i in ids}
    notes: dict[int, list[Note]] = {i: [] for i in ids}
    histories: dict[tuple[int, str], list[MetricPoint]] = {}
    quoted = encode_basestring_ascii  # json.dumps(key) for a str key, without its set-up
    # The model's goals and golden version travel with the first chunk's queries.
    per_model: list[tuple[str, tuple[Any, ...]]] = [
        (f"SELECT name, goal, tolerance FROM metric_goals WHERE model_id = {mark}", (model_id,)),
        (f"SELECT golden_version_id FROM models WHERE id = {mark}", (model_id,)),
    ]
    goal_rows: list[tuple[Any, ...]] = []
    golden_id = None
    for chunk in _chunks(ids):
        where = f"version_id IN ({_marks(mark, len(chunk))})"
        keys = tuple(chunk)
        queries = [
            f"SELECT version_id, key, value FROM params WHERE {where} ORDER BY version_id, key",
            "SELECT version_id, name, value, step, timestamp, history_count FROM metrics "
            f"WHERE {where} ORDER BY version_id, name",
            "SELECT version_id, role, path, kind, digest, size, file_count, manifest, dvc_md5, "
            f"dvc_source FROM data_snapshots WHERE {where} ORDER BY version_id, position",
            "SELECT version_id, name, uri, digest, size, stored, kind FROM artifacts "
            f"WHERE {where} ORDER BY version_id, position",
            f"SELECT version_id, key, value FROM tags WHERE {where} ORDER BY version_id, key",
            f"SELECT version_id, text, actor, created_at FROM notes WHERE {where} ORDER BY id",
        ]
        if history:
            queries.append(
                "SELECT m.version_id, m.name, p.step, p.value, p.timestamp FROM metric_points p "
                f"JOIN metrics m ON m.id = p.metric_id WHERE m.{where} "
                "ORDER BY m.version_id, m.name, p.seq"
            )
        batch = [(sql, keys) for sql in queries]
        results = fetch_all(conn, per_model + batch if per_model else batch)
        if per_model:
            goals, golden_rows, *results = results
            goal_rows = list(goals)
            golden_id = next(iter(golden_rows), (None,))[0]
            per_model = []
        param_rows, metric_rows, data_rows, artifact_rows, tag_rows, note_rows, *more = results
        for vid, key, value in param_rows:
            param_parts[vid].append(f"{quoted(key)}:{value}")
        for vid, name, step, value, stamp in more[0] if history else ():
            histories.setdefault((vid, name), []).append(
                MetricPoint(step, value, _from_epoch(stamp))
            )
        for vid, name, value, step, stamp, count in metric_rows:
            metrics[vid][name] = Metric(
                name=name,
                value=value,
                step=step,
                timestamp=_from_epoch(stamp),
                history_count=count,
                history=tuple(histories.get((vid, name), ())) if history else None,
            )
        for row in data_rows:
            data[row[0]].append(_snapshot(row))
        for vid, name, uri, digest, size, stored, kind in artifact_rows:
            artifacts[vid].append(Artifact(name, uri, digest, size, bool(stored), kind))
        for vid, key, value in tag_rows:
            tags[vid][key] = value
        for vid, text, actor, created in note_rows:
            notes[vid].append(Note(text=text, actor=actor, created_at=_utc(created)))

    wanted_envs = {r[17] for r in rows if r[17] and r[17] not in environments}
    if wanted_envs:
        environments.update(_environments(conn, mark, sorted(wanted_envs)))
    names = sorted({name for per_version in metrics.values() for name in per_version})
    specs = metric_specs(names, goal_rows)

    records = []
    for row in rows:
        vid = row[0]
        code = None
        if row[11]:
            code = CodeState(
                repo_root=row[10] or "",
                commit=row[11],
                branch=row[12],
                remote_url=row[13],
                dirty=bool(row[14]),
                dirty_files=tuple(json.loads(row[15] or "[]")),
                diff_digest=row[16],
            )
        parts = param_parts[vid]
        records.append(
            VersionRecord(
                model=model,
                version=row[1],
                created_at=_utc(row[5]),
                actor=row[6],
                description=row[7],
                stage=row[8],
                parent=row[9],
                params=json.loads("{" + ",".join(parts) + "}") if parts else {},
                metrics=metrics[vid],
                data=tuple(data[vid]),
                code=code,
                environment=environments.get(row[17]) if row[17] else None,
                artifacts=tuple(artifacts[vid]),
                tags=tags[vid],
                notes=tuple(notes[vid]),
                metric_specs={k: specs[k] for k in metrics[vid]},
                golden=vid == golden_id,
            )
        )
    return records


def fetch_all(
    conn: DriverConnection, queries: Sequence[tuple[str, tuple[Any, ...]]]
) -> list[Iterable[tuple[Any, ...]]]:
    """Each query's rows, in order. Where the driver can pipeline (psycopg, through the
    connection's `pipeline`), every query is sent before the first answer is read: one round
    trip to the server for all of them instead of one each (8 of a record's queries: 820 ->
    205 us on a local PostgreSQL). Elsewhere (SQLite) each query's cursor, read as it is
    consumed: a million-point history is not held twice."""
    pipeline = getattr(conn, "pipeline", None)
    if pipeline is None:
        return [conn.exec_driver_sql(sql, params) for sql, params in queries]
    with pipeline():
        cursors = [conn.exec_driver_sql(sql, params) for sql, params in queries]
    return [cursor.fetchall() for cursor in cursors]


def _environments(
    conn: DriverConnection, mark: str, fingerprints: Sequence[str]
) -> dict[str, Environment]:
    found = {}
    for chunk in _chunks(list(fingerprints)):
        for row in conn.exec_driver_sql(
            "SELECT fingerprint, python_version, python_implementation, platform, machine, "
            "cpu_model, cpu_count, gpus, packages FROM environments "
            f"WHERE fingerprint IN ({_marks(mark, len(chunk))})",
            tuple(chunk),
        ):
            found[row[0]] = Environment(
                python_version=row[1],
                python_implementation=row[2],
                platform=row[3],
                machine=row[4],
                cpu_model=row[5],
                cpu_count=row[6],
                gpus=tuple(json.loads(row[7])),
                packages=json.loads(row[8]),
                fingerprint=row[0],
            )
    return found


def _snapshot(row: Sequence[Any]) -> DataSnapshot:
    manifest = None
    if row[7] is not None:
        manifest = tuple(ManifestEntry(p, s, d) for p, s, d in json.loads(row[7]))
    return DataSnapshot(
        role=row[1],
        path=row[2],
        kind=row[3],
        digest=row[4],
        size=row[5],
        file_count=row[6],
        manifest=manifest,
        dvc_md5=row[8],
        dvc_source=row[9],
    )


def _from_epoch(stamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(stamp, dt.UTC)


def _marks(mark: str, count: int) -> str:
    return ", ".join([mark] * count)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
