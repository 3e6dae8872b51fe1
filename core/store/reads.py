"""The registry's read queries, as plain SQL over any connection with `exec_driver_sql`.

Two kinds of connection run them: SQLAlchemy's (the `Registry`, any backend) and a thin
adapter over the standard library's sqlite3 (`sqlite_reader`, for `show` and `list` on a
local registry, which then start without importing SQLAlchemy). One set of queries, so the
two cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from modeltrail.core.errors import ModelNotFoundError
from modeltrail.core.records import ModelSummary, VersionSummary
from modeltrail.core.versioning import SemVer


class DriverConnection(Protocol):
    @property
    def dialect(self) -> Any: ...

    def exec_driver_sql(self, statement: str, parameters: Any = ...) -> Any: ...


def mark(conn: DriverConnection) -> str:
    return "?" if conn.dialect.name == "sqlite" else "%s"


def utc(value: Any) -> dt.datetime:
    """Timestamps come back as text from SQLite and as naive datetimes from PostgreSQL;
    both are UTC (see schema.UTCDateTime)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC)


def model_id(conn: DriverConnection, model: str) -> int:
    row = next(
        iter(conn.exec_driver_sql(f"SELECT id FROM models WHERE name = {mark(conn)}", (model,))),
        None,
    )
    if row is None:
        raise ModelNotFoundError(model)
    return int(row[0])


def newest(conn: DriverConnection, model: int) -> SemVer | None:
    row = next(
        iter(
            conn.exec_driver_sql(
                f"SELECT major, minor, patch FROM versions WHERE model_id = {mark(conn)} "
                "ORDER BY major DESC, minor DESC, patch DESC LIMIT 1",
                (model,),
            )
        ),
        None,
    )
    return SemVer(*row) if row else None


def count_versions(conn: DriverConnection, model: int) -> int:
    rows = conn.exec_driver_sql(
        f"SELECT count(*) FROM versions WHERE model_id = {mark(conn)}", (model,)
    )
    return int(next(iter(rows))[0])


def list_versions(
    conn: DriverConnection, model: int, name: str, limit: int | None = None
) -> list[VersionSummary]:
    sql = (
        "SELECT version, created_at, actor, stage, description FROM versions "
        f"WHERE model_id = {mark(conn)} ORDER BY major DESC, minor DESC, patch DESC"
    )
    params: tuple[Any, ...] = (model,)
    if limit is not None:
        sql += f" LIMIT {mark(conn)}"
        params = (model, limit)
    return [
        VersionSummary(name, r[0], utc(r[1]), r[2], r[3], r[4])
        for r in conn.exec_driver_sql(sql, params)
    ]


def list_models(conn: DriverConnection) -> list[ModelSummary]:
    # Comprehensions, not dict(result): SQLAlchemy's result has keys() and would be read as
    # a mapping of column names.
    counts = {
        r[0]: r[1]
        for r in conn.exec_driver_sql("SELECT model_id, count(*) FROM versions GROUP BY model_id")
    }
    production = {
        r[0]: r[1]
        for r in conn.exec_driver_sql(
            "SELECT model_id, version FROM versions WHERE stage = 'production'"
        )
    }
    summaries = []
    for ident, name, created, updated in list(
        conn.exec_driver_sql("SELECT id, name, created_at, updated_at FROM models ORDER BY name")
    ):
        latest = newest(conn, ident)
        summaries.append(
            ModelSummary(
                name=name,
                latest_version=str(latest) if latest else None,
                version_count=int(counts.get(ident, 0)),
                production_version=production.get(ident),
                created_at=utc(created),
                updated_at=utc(updated),
            )
        )
    return summaries


# -- stages and references -------------------------------------------------------------------


def in_stage(conn: DriverConnection, model: int, stage: str) -> list[str]:
    return [
        r[0]
        for r in conn.exec_driver_sql(
            f"SELECT version FROM versions WHERE model_id = {mark(conn)} AND stage = {mark(conn)}",
            (model, stage),
        )
    ]


def golden(conn: DriverConnection, model: int) -> str | None:
    row = next(
        iter(
            conn.exec_driver_sql(
                "SELECT v.version FROM models m JOIN versions v ON v.id = m.golden_version_id "
                f"WHERE m.id = {mark(conn)}",
                (model,),
            )
        ),
        None,
    )
    return row[0] if row else None


def model_state(conn: DriverConnection, model: int, name: str) -> Any:
    """The model's `lifecycle.rules.ModelState`: every version's stage, the golden version and
    the stage history, oldest first."""
    from modeltrail.core.lifecycle.rules import ModelState, StageChange, VersionState

    p = mark(conn)
    versions = tuple(
        VersionState(r[0], r[1])
        for r in conn.exec_driver_sql(
            f"SELECT version, stage FROM versions WHERE model_id = {p}", (model,)
        )
    )
    changes = tuple(
        StageChange(r[0], r[1], r[2], utc(r[3]), r[4], r[5], r[6])
        for r in conn.exec_driver_sql(
            "SELECT v.version, sc.from_stage, sc.to_stage, sc.created_at, sc.actor, sc.reason, "
            "sc.action FROM stage_changes sc JOIN versions v ON v.id = sc.version_id "
            f"WHERE sc.model_id = {p} ORDER BY sc.id",
            (model,),
        )
    )
    return ModelState(name, versions, golden(conn, model), changes)


def resolve(conn: DriverConnection, name: str, selector: str, ident: int | None = None) -> str:
    """The version number `selector` (see core/refs.py) stands for in model `name` (whose id
    is `ident`, when the caller has read it already)."""
    from modeltrail.core.refs import resolve_selector

    if ident is None:
        ident = model_id(conn, name)

    def previous() -> str | None:
        from modeltrail.core.lifecycle.rules import previous_production

        state = model_state(conn, ident, name)
        current = state.production
        return previous_production(state, exclude=current) if current else None

    def latest() -> str | None:
        found = newest(conn, ident)
        return str(found) if found else None

    return resolve_selector(
        name,
        selector,
        newest=latest,
        in_stage=lambda stage: in_stage(conn, ident, stage),
        golden=lambda: golden(conn, ident),
        previous=previous,
    )
