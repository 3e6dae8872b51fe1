"""The audit trail against the database: appending events, content digests, verification.

`append` writes one chained event under the chain lock (the head row: FOR UPDATE on
PostgreSQL; SQLite's BEGIN IMMEDIATE holds every writer already). `content_digests` hashes
what a version is made of, section by section, from the rows as stored; a register event
carries them and `verify` recomputes them. `verify` streams the events once (a server-side
cursor on PostgreSQL, SQLite's lazy cursor) through the chain check and the replay, then walks
the versions in chunks, so its memory follows the number of versions, never of events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update

from modeltrail.core.lifecycle import audit
from modeltrail.core.lifecycle.replay import MUTATIONS, Replay, TableVersion
from modeltrail.core.store import schema

CHUNK = 500
_STREAM = 5000

# name -> [(step, value, timestamp), ...]: a version's metric points as the writer has them.
Points = Mapping[str, Sequence[tuple[int, float, float]]]


def audit_key(secret: str | None) -> bytes | None:
    return None if secret is None else secret.encode("utf-8")


def append(
    conn: Connection,
    *,
    sqlite: bool,
    key: bytes | None,
    now: dt.datetime,
    actor: str,
    action: str,
    model: str | None,
    version: str | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    reason: str | None,
) -> int:
    """Append one event; returns its seq."""
    h = schema.audit_head
    head_query = select(h.c.seq, h.c.hash).where(h.c.id == 1)
    if not sqlite:
        head_query = head_query.with_for_update()
    head = conn.execute(head_query).first()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, audit.GENESIS)
    stamp = now.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if head is not None:
        # `now` was read before this writer got the chain lock; another writer may have
        # appended a later time meanwhile. The chain's time never goes backwards.
        last = conn.execute(
            select(schema.audit_events.c.created_at).where(schema.audit_events.c.seq == head[0])
        ).scalar()
        if last is not None and last > stamp:
            stamp = last
    fields = {
        "seq": seq,
        "created_at": stamp,
        "actor": actor,
        "action": action,
        "model": model,
        "version": version,
        "before": audit.canonical_json(before),
        "after": audit.canonical_json(after),
        "reason": reason,
        "prev_hash": prev_hash,
    }
    digest = audit.event_hash(**fields, key=key)
    conn.execute(insert(schema.audit_events), {**fields, "hash": digest, "keyed": key is not None})
    if head is None:
        conn.execute(insert(h), {"id": 1, "seq": seq, "hash": digest})
    else:
        conn.execute(update(h).where(h.c.id == 1).values(seq=seq, hash=digest))
    return seq


def head(conn: Connection) -> tuple[int, str] | None:
    row = conn.execute(select(schema.audit_head.c.seq, schema.audit_head.c.hash)).first()
    return (int(row[0]), str(row[1])) if row else None


# -- content digests -------------------------------------------------------------------------


def _digest(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_digests(
    conn: Connection,
    version_ids: Sequence[int],
    *,
    points: Mapping[int, Points] | None = None,
) -> dict[int, dict[str, str]]:
    """Per version, a sha256 per section of its content, from the rows as stored.

    `points` (per version, the histories the writer just inserted) saves reading them back;
    the digest is the same either way (`history_bytes` is the one definition of it).
    """
    out: dict[int, dict[str, str]] = {}
    for chunk in _chunks(list(version_ids)):
        out.update(_chunk_digests(conn, chunk, points or {}))
    return out


def _chunk_digests(
    conn: Connection, ids: Sequence[int], known_points: Mapping[int, Points]
) -> dict[int, dict[str, str]]:
    v = schema.versions
    parent = v.alias("parent")
    rows = conn.execute(
        select(
            v.c.id,
            v.c.version,
            v.c.actor,
            v.c.description,
            v.c.created_at,
            parent.c.version.label("parent"),
            v.c.code_repo_root,
            v.c.code_commit,
            v.c.code_branch,
            v.c.code_remote_url,
            v.c.code_dirty,
            v.c.code_dirty_files,
            v.c.code_diff_digest,
            v.c.environment_fingerprint,
        )
        .outerjoin(parent, parent.c.id == v.c.parent_id)
        .where(v.c.id.in_(ids))
    ).all()
    fingerprints = {r.environment_fingerprint for r in rows if r.environment_fingerprint}
    envs: dict[str, list[Any]] = {}
    if fingerprints:
        e = schema.environments
        for env in conn.execute(select(e).where(e.c.fingerprint.in_(sorted(fingerprints)))).all():
            envs[env[0]] = list(env)
    grouped = {
        name: _grouped(conn, table, order, ids)
        for name, table, order in (
            ("params", schema.params, ("key",)),
            ("metrics", schema.metrics, ("name",)),
            ("data", schema.data_snapshots, ("role",)),
            ("artifacts", schema.artifacts, ("name",)),
            ("profiles", schema.data_profiles, ("role",)),
        )
    }
    missing = [i for i in ids if i not in known_points]
    stored_points = _stored_points(conn, missing) if missing else {}
    out: dict[int, dict[str, str]] = {}
    for r in rows:
        created = r.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
        sections = {
            "version": _digest([r.version, r.actor, r.description, created, r.parent]),
            "code": _digest(
                [
                    r.code_repo_root,
                    r.code_commit,
                    r.code_branch,
                    r.code_remote_url,
                    r.code_dirty,
                    r.code_dirty_files,
                    r.code_diff_digest,
                ]
            ),
            "environment": _digest(envs.get(r.environment_fingerprint or "")),
        }
        for name, by_version in grouped.items():
            sections[name] = _digest(by_version.get(r.id, []))
        if r.id in known_points:
            history = {
                name: history_bytes([p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts])
                for name, pts in known_points[r.id].items()
                if pts
            }
        else:
            history = stored_points.get(r.id, {})
        sections["metrics"] = _metrics_digest(sections["metrics"], history)
        out[r.id] = sections
    return out


def _grouped(
    conn: Connection, table: Any, order: tuple[str, ...], ids: Sequence[int]
) -> dict[int, list[list[Any]]]:
    """The rows of `table` for `ids`, without the version id, grouped and in a fixed order."""
    # Neither the version id nor a row's own id (metrics.id, 0011) is content.
    columns = [c for c in table.c if c.name not in ("version_id", "id")]
    query = (
        select(table.c.version_id, *columns)
        .where(table.c.version_id.in_(ids))
        .order_by(table.c.version_id, *(table.c[o] for o in order))
    )
    grouped: dict[int, list[list[Any]]] = {}
    for row in conn.execute(query):
        grouped.setdefault(row[0], []).append(list(row[1:]))
    return grouped


def _stored_points(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, bytes]]:
    mp, m = schema.metric_points, schema.metrics
    query = (
        select(m.c.version_id, m.c.name, mp.c.step, mp.c.value, mp.c.timestamp)
        .join(m, m.c.id == mp.c.metric_id)
        .where(m.c.version_id.in_(ids))
        .order_by(m.c.version_id, m.c.name, mp.c.seq)
    )
    out: dict[int, dict[str, bytes]] = {}
    current: tuple[int, str] | None = None
    steps: list[int] = []
    values: list[float] = []
    stamps: list[float] = []
    for version_id, name, step, value, stamp in conn.execute(query):
        if (version_id, name) != current:
            if current is not None:
                out.setdefault(current[0], {})[current[1]] = history_bytes(steps, values, stamps)
            current, steps, values, stamps = (version_id, name), [], [], []
        steps.append(step)
        values.append(value)
        stamps.append(stamp)
    if current is not None:
        out.setdefault(current[0], {})[current[1]] = history_bytes(steps, values, stamps)
    return out


def history_bytes(steps: Iterable[int], values: Iterable[float], stamps: Iterable[float]) -> bytes:
    """What a metric's history is digested as: packed int64 steps, float64 values, float64
    times. The writer (from the points it holds) and `verify` (from the rows) both use this."""
    return array("q", steps).tobytes() + array("d", values).tobytes() + array("d", stamps).tobytes()


def _metrics_digest(finals: str, history: Mapping[str, bytes]) -> str:
    h = hashlib.sha256(finals.encode())
    for name in sorted(history):
        h.update(name.encode("utf-8") + b"\0")
        h.update(hashlib.sha256(history[name]).digest())
    return h.hexdigest()


# -- verification ----------------------------------------------------------------------------


def verify(
    conn: Connection, *, key: bytes | None, expect: tuple[int, str] | None = None
) -> audit.VerifyResult:
    """The chain, the anchored head, and the tables against what the events say."""
    h = schema.audit_head
    row = conn.execute(select(h.c.seq, h.c.hash, h.c.rules_from)).first()
    stored_head = (int(row[0]), str(row[1])) if row else None
    rules_from = int(row[2]) if row else 1
    check = audit.ChainCheck(key, rules_from=rules_from, expect=expect)
    replay = Replay(rules_from=rules_from)
    replay_feed = replay.feed

    def mutation(event: tuple[Any, ...]) -> None:
        replay_feed(event[0], event[3], event[4], event[5], event[7], event[6])

    # Most of a long trail is monitoring: only the mutations reach the replay.
    check.feed_many(_events(conn), MUTATIONS, mutation)
    result = check.finish(stored_head)
    if not result.ok:
        return result
    differences = [*replay.problems]
    golden: dict[str, str | None] = {}
    for table in _table_versions(conn, golden):
        differences.extend(replay.check_version(table))
    differences.extend(replay.finish(golden))
    notes = list(result.notes)
    if replay.uncovered:
        notes.append(
            f"{replay.uncovered} version(s) were registered before content digests were "
            "recorded: their stage, tags and notes are checked, their content is not"
        )
    if differences:
        first = differences[0]
        return audit.VerifyResult(
            False,
            result.events_checked,
            f"the tables differ from what the audit trail records: {first}",
            None,
            tuple(differences),
            notes=tuple(notes),
            head=result.head,
            keyed_events=result.keyed_events,
        )
    return audit.VerifyResult(
        True,
        result.events_checked,
        notes=tuple(notes),
        head=result.head,
        keyed_events=result.keyed_events,
    )


def _events(conn: Connection) -> Iterator[tuple[Any, ...]]:
    """Every event as a plain tuple in `audit.COLUMNS` order, streamed: the driver's own
    cursor (a server-side one on PostgreSQL), since per-row result processing would cost
    more than checking the row."""
    columns = ", ".join(f'"{c}"' for c in audit.COLUMNS)
    query = f"SELECT {columns} FROM audit_events ORDER BY seq"
    driver = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with driver.cursor(name="modeltrail_audit_verify") as cursor:  # type: ignore[union-attr]
            cursor.itersize = _STREAM
            cursor.execute(query)
            yield from cursor
        return
    cursor = driver.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(query)
        while batch := cursor.fetchmany(_STREAM):
            yield from batch
    finally:
        cursor.close()


def _table_versions(conn: Connection, golden: dict[str, str | None]) -> Iterator[TableVersion]:
    """Every version as the tables hold it; fills `golden` (model -> golden version)."""
    m, v = schema.models, schema.versions
    gv = v.alias("golden")
    for name, version in conn.execute(
        select(m.c.name, gv.c.version).outerjoin(gv, gv.c.id == m.c.golden_version_id)
    ):
        golden[name] = version
    ids = conn.execute(
        select(v.c.id, m.c.name, v.c.version, v.c.stage)
        .join(m, m.c.id == v.c.model_id)
        .order_by(v.c.id)
    ).all()
    for chunk in _chunks(ids):
        wanted = [r[0] for r in chunk]
        digests = content_digests(conn, wanted)
        finals = _pairs(conn, schema.metrics, "name", "value", wanted)
        data = {
            vid: {role: digest or md5 for role, digest, md5 in rows}
            for vid, rows in _rows(
                conn, schema.data_snapshots, ("role", "digest", "dvc_md5"), wanted
            ).items()
        }
        tags = _pairs(conn, schema.tags, "key", "value", wanted)
        notes = _rows(conn, schema.notes, ("text",), wanted)
        for version_id, model, version, stage in chunk:
            yield TableVersion(
                model,
                version,
                stage,
                digests.get(version_id, {}),
                finals.get(version_id, {}),
                data.get(version_id, {}),
                tags.get(version_id, {}),
                tuple(t for (t,) in notes.get(version_id, [])),
            )


def _rows(
    conn: Connection, table: Any, names: tuple[str, ...], ids: Sequence[int]
) -> dict[int, list[tuple[Any, ...]]]:
    out: dict[int, list[tuple[Any, ...]]] = {}
    query = select(table.c.version_id, *(table.c[n] for n in names)).where(
        table.c.version_id.in_(ids)
    )
    for row in conn.execute(query):
        out.setdefault(row[0], []).append(tuple(row[1:]))
    return out


def _pairs(
    conn: Connection, table: Any, key: str, value: str, ids: Sequence[int]
) -> dict[int, dict[Any, Any]]:
    return {vid: dict(rows) for vid, rows in _rows(conn, table, (key, value), ids).items()}


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
