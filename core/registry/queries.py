"""Read queries behind the HTTP read API: versions filtered by stage, tag and metric threshold
with keyset (cursor) pagination, a model's overview, audit events since a moment, and the
registry's generation (what a response cache compares against).

Plain values out. Each function runs a fixed number of indexed queries, however many versions
a model has: a page is found by an index range from the cursor, never by OFFSET.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, select, tuple_

from modeltrail.core.errors import UsageError
from modeltrail.core.lifecycle import audit
from modeltrail.core.metrics import check_metric_name
from modeltrail.core.records import AuditEvent
from modeltrail.core.registry.writer import Registry
from modeltrail.core.store import reads, schema

log = logging.getLogger("modeltrail.queries")

STAGES = ("none", "staging", "production", "archived")
MAX_LIMIT = 500
DEFAULT_LIMIT = 50
_THRESHOLD = re.compile(r"^(?P<name>[^<>=!]+?)\s*(?P<op><=|>=|<|>|=)\s*(?P<value>[^<>=]+)$")
_OPS = {
    "<": lambda c, x: c < x,
    "<=": lambda c, x: c <= x,
    ">": lambda c, x: c > x,
    ">=": lambda c, x: c >= x,
    "=": lambda c, x: c == x,
}


@dataclass(frozen=True)
class MetricFilter:
    name: str
    op: str  # one of _OPS
    value: float


@dataclass(frozen=True)
class VersionQuery:
    """`?stage=&tag=&metric=&sort=&limit=&cursor=` as values (see `parse_version_query`)."""

    stage: str | None = None
    tags: tuple[tuple[str, str | None], ...] = ()  # (key, value); None: the tag is present
    metrics: tuple[MetricFilter, ...] = ()
    sort: str = "version"  # version | created_at | metric:NAME
    descending: bool = True
    limit: int = DEFAULT_LIMIT
    after: tuple[Any, ...] | None = None  # the sort key of the last row of the previous page

    @property
    def sort_spec(self) -> str:
        return ("-" if self.descending else "") + self.sort


@dataclass(frozen=True)
class VersionItem:
    version: str
    stage: str
    created_at: dt.datetime
    actor: str
    description: str | None
    golden: bool
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VersionPage:
    items: tuple[VersionItem, ...]
    next_cursor: str | None
    sort: str


@dataclass(frozen=True)
class ModelOverview:
    name: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version_count: int
    latest_version: str | None
    production_version: str | None
    staging_versions: tuple[str, ...]
    golden_version: str | None
    metric_goals: dict[str, tuple[str, float]]  # name → (goal, tolerance)


# -- parsing the query string (pure) ----------------------------------------------------------


def parse_version_query(params: Mapping[str, Sequence[str]]) -> VersionQuery:
    """From a parsed query string (name → values). Raises UsageError naming the bad field."""
    unknown = set(params) - {"stage", "tag", "metric", "sort", "limit", "cursor"}
    if unknown:
        raise UsageError(f"unknown query parameter(s): {', '.join(sorted(unknown))}")
    stage = _one(params, "stage")
    if stage is not None and stage not in STAGES:
        raise UsageError(f"stage must be one of {', '.join(STAGES)}, not {stage!r}")
    tags = []
    for text in params.get("tag", ()):
        key, sep, value = text.partition("=")
        if not key:
            raise UsageError(f"tag={text!r}: use tag=KEY or tag=KEY=VALUE")
        tags.append((key, value if sep else None))
    metrics = tuple(_metric_filter(text) for text in params.get("metric", ()))
    sort_text = _one(params, "sort") or "-version"
    descending = sort_text.startswith("-")
    sort = sort_text.lstrip("-+")
    if sort not in ("version", "created_at") and not sort.startswith("metric:"):
        raise UsageError(
            f"sort={sort_text!r}: use version, created_at or metric:NAME (a leading - for "
            "descending)"
        )
    if sort.startswith("metric:"):
        check_metric_name(sort[len("metric:") :])
    limit_text = _one(params, "limit")
    try:
        limit = DEFAULT_LIMIT if limit_text is None else int(limit_text)
    except ValueError:
        raise UsageError(f"limit={limit_text!r} is not a whole number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"limit must be between 1 and {MAX_LIMIT}")
    query = VersionQuery(stage, tuple(tags), metrics, sort, descending, limit)
    cursor = _one(params, "cursor")
    if cursor is not None:
        query = VersionQuery(**{**query.__dict__, "after": decode_cursor(cursor, query)})
    return query


def _one(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name, ())
    if len(values) > 1:
        raise UsageError(f"{name} may be given once")
    return values[0] if values else None


def _metric_filter(text: str) -> MetricFilter:
    found = _THRESHOLD.match(text.strip())
    if found is None:
        raise UsageError(f"metric={text!r}: use NAME>=NUMBER (or <, <=, >, =)")
    name = check_metric_name(found.group("name").strip())
    try:
        value = float(found.group("value"))
    except ValueError:
        raise UsageError(f"metric={text!r}: {found.group('value')!r} is not a number") from None
    if not math.isfinite(value):
        raise UsageError(f"metric={text!r}: the threshold must be a finite number")
    return MetricFilter(name, found.group("op"), value)


def encode_cursor(query: VersionQuery, key: tuple[Any, ...]) -> str:
    raw = json.dumps([query.sort_spec, list(key)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, query: VersionQuery) -> tuple[Any, ...]:
    try:
        spec, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise UsageError("cursor is not one this server handed out") from None
    if spec != query.sort_spec:
        raise UsageError("cursor belongs to another sort order", hint="keep sort= as it was")
    width = 4 if query.sort == "version" else 2
    if not isinstance(key, list) or len(key) != width:
        raise UsageError("cursor is not one this server handed out")
    if query.sort == "created_at":
        try:
            key[0] = dt.datetime.fromisoformat(key[0])
        except (TypeError, ValueError):
            raise UsageError("cursor is not one this server handed out") from None
    return tuple(key)


# -- queries ----------------------------------------------------------------------------------


def find_versions(registry: Registry, model: str, query: VersionQuery) -> VersionPage:
    v, m, t, ms = schema.versions, schema.models, schema.tags, schema.metrics
    with registry.engine.connect() as conn:
        model_id = registry._model_id(conn, model)
        golden_id = conn.execute(select(m.c.golden_version_id).where(m.c.id == model_id)).scalar()
        columns = [v.c.id, v.c.version, v.c.stage, v.c.created_at, v.c.actor, v.c.description]
        if query.sort == "version":
            keys = [v.c.major, v.c.minor, v.c.patch, v.c.id]
            stmt = select(*columns, *keys)
        elif query.sort == "created_at":
            keys = [v.c.created_at, v.c.id]
            stmt = select(*columns, *keys)
        else:
            sort_metric = ms.alias("sort_metric")
            keys = [sort_metric.c.value, v.c.id]
            stmt = select(*columns, *keys).join(
                sort_metric,
                (sort_metric.c.version_id == v.c.id)
                & (sort_metric.c.name == query.sort[len("metric:") :]),
            )
        stmt = stmt.where(v.c.model_id == model_id)
        if query.stage is not None:
            stmt = stmt.where(v.c.stage == query.stage)
        for key, value in query.tags:
            match = (t.c.version_id == v.c.id) & (t.c.key == key)
            if value is not None:
                match = match & (t.c.value == value)
            stmt = stmt.where(exists().where(match))
        for wanted in query.metrics:
            stmt = stmt.where(
                exists().where(
                    (ms.c.version_id == v.c.id)
                    & (ms.c.name == wanted.name)
                    & _OPS[wanted.op](ms.c.value, wanted.value)
                )
            )
        if query.after is not None:
            bound = tuple_(*keys)
            after = tuple_(*query.after)
            stmt = stmt.where(bound < after if query.descending else bound > after)
        order = [k.desc() if query.descending else k.asc() for k in keys]
        rows = list(conn.execute(stmt.order_by(*order).limit(query.limit + 1)))
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        ids = [r.id for r in rows]
        metrics: dict[int, dict[str, float]] = {i: {} for i in ids}
        tags: dict[int, dict[str, str]] = {i: {} for i in ids}
        if ids:
            for vid, name, value in conn.execute(
                select(ms.c.version_id, ms.c.name, ms.c.value).where(ms.c.version_id.in_(ids))
            ):
                metrics[vid][name] = value
            for vid, key, value in conn.execute(
                select(t.c.version_id, t.c.key, t.c.value).where(t.c.version_id.in_(ids))
            ):
                tags[vid][key] = value
    items = tuple(
        VersionItem(
            r.version,
            r.stage,
            r.created_at,
            r.actor,
            r.description,
            r.id == golden_id,
            dict(sorted(metrics[r.id].items())),
            dict(sorted(tags[r.id].items())),
        )
        for r in rows
    )
    cursor = None
    if more and rows:
        last = rows[-1]
        key = tuple(last[len(columns) :])
        if query.sort == "created_at":
            key = (key[0].isoformat(), key[1])
        cursor = encode_cursor(query, key)
    return VersionPage(items, cursor, query.sort_spec)


def model_overview(registry: Registry, model: str) -> ModelOverview:
    v, m, g = schema.versions, schema.models, schema.metric_goals
    with registry.engine.connect() as conn:
        model_id = registry._model_id(conn, model)
        row = conn.execute(
            select(m.c.name, m.c.created_at, m.c.updated_at, m.c.golden_version_id).where(
                m.c.id == model_id
            )
        ).one()
        count = reads.count_versions(conn, model_id)
        newest = reads.newest(conn, model_id)
        production = conn.execute(
            select(v.c.version).where(v.c.model_id == model_id, v.c.stage == "production")
        ).scalar()
        staging = tuple(
            conn.execute(
                select(v.c.version)
                .where(v.c.model_id == model_id, v.c.stage == "staging")
                .order_by(v.c.major.desc(), v.c.minor.desc(), v.c.patch.desc())
            ).scalars()
        )
        golden = None
        if row.golden_version_id is not None:
            golden = conn.execute(
                select(v.c.version).where(v.c.id == row.golden_version_id)
            ).scalar()
        goals = {
            name: (goal, tolerance)
            for name, goal, tolerance in conn.execute(
                select(g.c.name, g.c.goal, g.c.tolerance).where(g.c.model_id == model_id)
            )
        }
    return ModelOverview(
        row.name,
        row.created_at,
        row.updated_at,
        count,
        None if newest is None else str(newest),
        production,
        staging,
        golden,
        goals,
    )


def audit_events(
    registry: Registry,
    *,
    model: str | None = None,
    since: dt.datetime | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[AuditEvent]:
    """Events newest first; `since`: only those at or after it."""
    a = schema.audit_events
    stmt = select(a).order_by(a.c.seq.desc()).limit(limit)
    if model is not None:
        stmt = stmt.where(a.c.model == model)
    if since is not None:
        # created_at is ISO text in one fixed UTC form, so text order is time order.
        stmt = stmt.where(
            a.c.created_at >= since.astimezone(dt.UTC).isoformat(timespec="microseconds")
        )
    with registry.engine.connect() as conn:
        return [audit.StoredEvent(**r).to_event() for r in conn.execute(stmt).mappings()]


def generation(registry: Registry) -> int:
    """A number that changes with every write to the registry (each is audited in the same
    transaction, and the audit head counts them). Cached responses compare against it."""
    with registry.engine.connect() as conn:
        return int(conn.execute(select(schema.audit_head.c.seq)).scalar() or 0)
