"""Read-only questions to the registry, as tools: plain arguments in, JSON-safe dicts out.

The deterministic question parser (`questions.py`, through `bot/assistant/answers.py`) and an
LLM's tool calls use the same functions, so both see the same facts. `TOOL_SPECS` describes
them as OpenAI function tools; `call_tool` runs one from a tool call's JSON arguments and
never raises for bad input (an unknown tool, malformed JSON, a wrong type, an unknown model
or version): it returns `{"error": ..., "hint": ...}` for the model to read.

Nothing here writes. Queries the registry class does not offer (versions by dataset digest or
commit, metric regressions, audit events of one version) are plain SELECTs through
`registry.engine`, each a fixed number of indexed queries however many versions there are.

Version arguments accept "2.1.5", "v2.1.5" and the names production, staging, golden, latest,
previous (see `Registry.resolve_version`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from modeltrail.core.diff.engine import VersionDiff
from modeltrail.core.diff.sections import diff_metrics
from modeltrail.core.errors import (
    InvalidMetricError,
    ModelNotFoundError,
    ModeltrailError,
    UsageError,
)
from modeltrail.core.lifecycle.rules import previous_production, timeline
from modeltrail.core.records import Metric
from modeltrail.core.registry.compare import compare, resolve_pair
from modeltrail.core.registry.writer import Registry
from modeltrail.core.serialize import iso
from modeltrail.core.store import schema
from modeltrail.core.versioning import SemVer

LIST_CAP = 20  # entries per list in a diff handed to a tool caller
MATCH_CAP = 50  # versions listed for a digest or commit
_HEX = re.compile(r"^[0-9a-f]{4,64}$")


class RegistryTools:
    """The read-only tools over one registry. Method names are the tool names."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # -- helpers (not tools) ----------------------------------------------------------------

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

    def diff(self, model: str, old: str | None = None, new: str | None = None) -> VersionDiff:
        """The diff behind `compare_versions`: refs resolved, then as `modeltrail diff`."""
        first = self.resolve(model, old) if old else None
        second = self.resolve(model, new) if new else None
        if first is None and second is not None:
            first, second = second, None
        old_version, new_version = resolve_pair(self.registry, model, first, second)
        return compare(self.registry, model, old_version, new_version, git=False)

    # -- tools --------------------------------------------------------------------------------

    def list_models(self) -> dict[str, Any]:
        m, v = schema.models, schema.versions
        with self.registry.engine.connect() as conn:
            golden = dict(
                conn.execute(
                    select(m.c.name, v.c.version).join(v, v.c.id == m.c.golden_version_id)
                ).all()
            )
        return {
            "models": [
                {
                    "name": s.name,
                    "latest_version": s.latest_version,
                    "version_count": s.version_count,
                    "production_version": s.production_version,
                    "golden_version": golden.get(s.name),
                    "updated_at": iso(s.updated_at),
                }
                for s in self.registry.list_models()
            ]
        }

    def list_versions(self, model: str, limit: int = 10) -> dict[str, Any]:
        versions = self.registry.list_versions(model, limit=limit)
        return {
            "model": model,
            "total": self.registry.count_versions(model),
            "versions": [
                {
                    "version": s.version,
                    "stage": s.stage,
                    "created_at": iso(s.created_at),
                    "actor": s.actor,
                    "description": s.description,
                }
                for s in versions
            ],
        }

    def get_version(self, model: str, version: str) -> dict[str, Any]:
        record = self.registry.load(model, self.resolve(model, version))
        with self.registry.engine.connect() as conn:
            golden = _golden(conn, _model_id(conn, model))
        params = list(record.params.items())
        env = record.environment
        return {
            "model": model,
            "version": record.version,
            "stage": record.stage,
            "golden": golden == record.version,
            "created_at": iso(record.created_at),
            "actor": record.actor,
            "description": record.description,
            "parent": record.parent,
            "metrics": {name: m.value for name, m in record.metrics.items()},
            "params": dict(params[:40]),
            "params_total": len(params),
            "data": [
                {"role": s.role, "path": s.path, "digest": s.digest, "size": s.size}
                for s in record.data
            ],
            "code": None
            if record.code is None
            else {
                "commit": record.code.commit,
                "branch": record.code.branch,
                "dirty": record.code.dirty,
                "remote_url": record.code.remote_url,
            },
            "environment": None
            if env is None
            else {
                "python": env.python_version,
                "platform": env.platform,
                "packages": len(env.packages),
            },
            "artifacts": [
                {"name": a.name, "uri": a.uri, "digest": a.digest} for a in record.artifacts
            ],
            "tags": dict(record.tags),
            "notes": [
                {"text": n.text, "actor": n.actor, "created_at": iso(n.created_at)}
                for n in record.notes
            ],
        }

    def get_stages(self, model: str) -> dict[str, Any]:
        state = self.registry.model_state(model)
        production = None
        for period in timeline(state, "production"):
            if period.until is None:
                production = {
                    "version": period.version,
                    "since": iso(period.since),
                    "by": period.moved_by,
                    "reason": period.reason,
                }
                break
        if production is None and state.production is not None:
            production = {"version": state.production, "since": None, "by": None, "reason": None}
        golden = None
        if state.golden is not None:
            event = self._last_event(model, state.golden, ("golden",))
            golden = {
                "version": state.golden,
                "since": event["at"] if event else None,
                "by": event["by"] if event else None,
                "reason": event["reason"] if event else None,
            }
        staging = sorted(state.in_stage("staging"), key=SemVer.parse, reverse=True)
        latest = max((s.version for s in state.versions), key=SemVer.parse, default=None)
        rollback_to = None
        if state.production is not None:
            rollback_to = previous_production(state, exclude=state.production)
        return {
            "model": model,
            "production": production,
            "staging": staging,
            "golden": golden,
            "latest": latest,
            "version_count": len(state.versions),
            "rollback_target": rollback_to,
        }

    def compare_versions(
        self, model: str, old: str | None = None, new: str | None = None
    ) -> dict[str, Any]:
        return diff_to_dict(self.diff(model, old, new))

    def stage_history(
        self, model: str, stage: str = "production", limit: int = 10
    ) -> dict[str, Any]:
        state = self.registry.model_state(model)
        periods = timeline(state, stage)
        return {
            "model": model,
            "stage": stage,
            "golden": state.golden,
            "total": len(periods),
            "periods": [
                {
                    "version": p.version,
                    "since": iso(p.since),
                    "until": iso(p.until),
                    "moved_in_by": p.moved_by,
                    "reason_in": p.reason,
                    "moved_out_by": p.left_by,
                    "reason_out": p.left_reason,
                }
                for p in periods[:limit]
            ],
        }

    def version_history(self, model: str, version: str) -> dict[str, Any]:
        wanted = self.resolve(model, version)
        v = schema.versions
        with self.registry.engine.connect() as conn:
            model_id = _model_id(conn, model)
            row = conn.execute(
                select(v.c.created_at, v.c.actor, v.c.description, v.c.stage).where(
                    v.c.model_id == model_id, v.c.version == wanted
                )
            ).first()
            if row is None:
                from modeltrail.core.errors import VersionNotFoundError

                raise VersionNotFoundError(model, wanted)
            golden = _golden(conn, model_id)
            events = _events(conn, model, wanted, limit=200)
        return {
            "model": model,
            "version": wanted,
            "stage": row.stage,
            "golden": golden == wanted,
            "registered": {
                "at": iso(row.created_at),
                "by": row.actor,
                "description": row.description,
            },
            "events": list(reversed(events)),  # oldest first
        }

    def best_version(
        self, model: str, metric: str, order: str = "best", limit: int = 5
    ) -> dict[str, Any]:
        specs = self.registry.metric_specs(model)
        spec = specs.get(metric)
        if spec is None:
            raise InvalidMetricError(
                f"{model} has no metric {metric!r}",
                hint="its metrics: " + (", ".join(sorted(specs)) or "none recorded"),
            )
        highest = order == "highest" or (order == "best" and spec.goal == "maximize")
        v, m = schema.versions, schema.metrics
        value = m.c.value.desc() if highest else m.c.value.asc()
        with self.registry.engine.connect() as conn:
            model_id = _model_id(conn, model)
            where = (v.c.model_id == model_id, m.c.name == metric)
            rows = conn.execute(
                select(v.c.version, v.c.stage, v.c.created_at, v.c.actor, m.c.value)
                .join(v, v.c.id == m.c.version_id)
                .where(*where)
                .order_by(value, v.c.major.desc(), v.c.minor.desc(), v.c.patch.desc())
                .limit(limit)
            ).all()
            total = conn.execute(
                select(func.count()).select_from(m).join(v, v.c.id == m.c.version_id).where(*where)
            ).scalar_one()
        ranking = [
            {
                "version": r.version,
                "value": r.value,
                "stage": r.stage,
                "created_at": iso(r.created_at),
                "actor": r.actor,
            }
            for r in rows
        ]
        return {
            "model": model,
            "metric": metric,
            "goal": spec.goal,
            "order": order,
            "versions_with_metric": int(total),
            "best": ranking[0] if ranking else None,
            "ranking": ranking,
        }

    def versions_using_data(self, digest: str, model: str | None = None) -> dict[str, Any]:
        prefix = _hex_prefix(digest, "digest")
        ds, v, mo = schema.data_snapshots, schema.versions, schema.models
        query = (
            select(
                mo.c.name,
                v.c.version,
                v.c.stage,
                v.c.created_at,
                v.c.actor,
                ds.c.role,
                ds.c.path,
                ds.c.digest,
            )
            .join(v, v.c.id == ds.c.version_id)
            .join(mo, mo.c.id == v.c.model_id)
            .where(ds.c.digest >= prefix, ds.c.digest < prefix + "g")  # an index range scan
        )
        rows = self._matches(query, model, mo)
        return {
            "digest": prefix,
            "model": model,
            "total": len(rows),
            "matches": [
                {**_match(r), "role": r.role, "path": r.path, "digest": r.digest}
                for r in rows[:MATCH_CAP]
            ],
        }

    def versions_at_commit(self, commit: str, model: str | None = None) -> dict[str, Any]:
        prefix = _hex_prefix(commit, "commit")
        v, mo = schema.versions, schema.models
        query = (
            select(
                mo.c.name,
                v.c.version,
                v.c.stage,
                v.c.created_at,
                v.c.actor,
                v.c.code_commit,
                v.c.code_branch,
                v.c.code_dirty,
            )
            .join(mo, mo.c.id == v.c.model_id)
            .where(v.c.code_commit >= prefix, v.c.code_commit < prefix + "g")
        )
        rows = self._matches(query, model, mo)
        return {
            "commit": prefix,
            "model": model,
            "total": len(rows),
            "matches": [
                {
                    **_match(r),
                    "commit": r.code_commit,
                    "branch": r.code_branch,
                    "dirty": r.code_dirty,
                }
                for r in rows[:MATCH_CAP]
            ],
        }

    def metric_regressions(self, model: str, metric: str | None = None) -> dict[str, Any]:
        """Each version against its parent, oldest first: where did `metric` (or any metric)
        regress beyond its tolerance? The verdicts are `diff_versions`' own."""
        specs = self.registry.metric_specs(model)
        if metric is not None and metric not in specs:
            raise InvalidMetricError(
                f"{model} has no metric {metric!r}",
                hint="its metrics: " + (", ".join(sorted(specs)) or "none recorded"),
            )
        v, m = schema.versions, schema.metrics
        with self.registry.engine.connect() as conn:
            model_id = _model_id(conn, model)
            versions = conn.execute(
                select(
                    v.c.id,
                    v.c.version,
                    v.c.major,
                    v.c.minor,
                    v.c.patch,
                    v.c.parent_id,
                    v.c.created_at,
                    v.c.actor,
                ).where(v.c.model_id == model_id)
            ).all()
            query = (
                select(m.c.version_id, m.c.name, m.c.value)
                .join(v, v.c.id == m.c.version_id)
                .where(v.c.model_id == model_id)
            )
            if metric is not None:
                query = query.where(m.c.name == metric)
            values: dict[int, dict[str, Metric]] = {}
            for version_id, name, value in conn.execute(query):
                values.setdefault(version_id, {})[name] = Metric(name, value, 0, _EPOCH)
        by_id = {row.id: row for row in versions}
        ordered = sorted(versions, key=lambda r: (r.major, r.minor, r.patch))
        regressions = []
        checked = 0
        for row in ordered:
            parent = by_id.get(row.parent_id)
            if parent is None:
                continue
            checked += 1
            old, new = values.get(parent.id, {}), values.get(row.id, {})
            shared = {n: old[n] for n in old.keys() & new.keys()}
            for change in diff_metrics(shared, {n: new[n] for n in shared}, specs, specs):
                if change.verdict == "regressed":
                    regressions.append(
                        {
                            "version": row.version,
                            "parent": parent.version,
                            "metric": change.name,
                            "old": change.old,
                            "new": change.new,
                            "delta": change.delta,
                            "relative_delta": change.relative_delta,
                            "goal": change.goal,
                            "tolerance": change.tolerance,
                            "created_at": iso(row.created_at),
                            "actor": row.actor,
                        }
                    )
        return {
            "model": model,
            "metric": metric,
            "goal": specs[metric].goal if metric is not None else None,
            "pairs_checked": checked,
            "total": len(regressions),
            "regressions": regressions[-MATCH_CAP:],  # the most recent ones when there are many
        }

    def monitoring_status(self, model: str, version: str = "production") -> dict[str, Any]:
        """How a version is doing live: live vs offline metrics, the latest drift table
        (worst first, at most LIST_CAP columns) and the alerts active now."""
        from modeltrail.core.monitoring.status import monitoring_status

        resolved = self.resolve(model, version)
        status = monitoring_status(self.registry, model, versions=[resolved])
        data = status.versions[0].to_dict()
        if data["drift"]:
            data["drift"]["columns"] = data["drift"]["columns"][:LIST_CAP]
        data["golden"] = status.golden
        data["production"] = status.production
        return data

    def audit_trail(
        self, model: str | None = None, version: str | None = None, limit: int = 20
    ) -> dict[str, Any]:
        if version is not None and model is None:
            raise UsageError("a version needs its model")
        wanted = self.resolve(model, version) if model is not None and version else None
        with self.registry.engine.connect() as conn:
            if model is not None:
                _model_id(conn, model)
            events = _events(conn, model, wanted, limit=limit)
        return {"model": model, "version": wanted, "events": events}

    # -- internals -----------------------------------------------------------------------------

    def _last_event(
        self, model: str, version: str, actions: Sequence[str]
    ) -> dict[str, Any] | None:
        with self.registry.engine.connect() as conn:
            for event in _events(conn, model, version, limit=50):
                if event["action"] in actions:
                    return event
        return None

    def _matches(self, query: Any, model: str | None, mo: Any) -> list[Any]:
        with self.registry.engine.connect() as conn:
            if model is not None:
                _model_id(conn, model)
                query = query.where(mo.c.name == model)
            rows = conn.execute(query.limit(1000)).all()
        rows.sort(key=lambda r: (r.name, *(-p for p in _semver(r.version))))
        return rows


def _match(row: Any) -> dict[str, Any]:
    """The version fields every lookup match carries."""
    return {
        "model": row.name,
        "version": row.version,
        "stage": row.stage,
        "created_at": iso(row.created_at),
        "actor": row.actor,
    }


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _semver(text: str) -> tuple[int, int, int]:
    parsed = SemVer.parse(text)
    return parsed.major, parsed.minor, parsed.patch


def _model_id(conn: Connection, model: str) -> int:
    found = conn.execute(select(schema.models.c.id).where(schema.models.c.name == model)).scalar()
    if found is None:
        raise ModelNotFoundError(model)
    return int(found)


def _golden(conn: Connection, model_id: int) -> str | None:
    m, v = schema.models, schema.versions
    return conn.execute(
        select(v.c.version).join(m, m.c.golden_version_id == v.c.id).where(m.c.id == model_id)
    ).scalar()


def _events(
    conn: Connection, model: str | None, version: str | None, *, limit: int
) -> list[dict[str, Any]]:
    """Audit events, newest first, with stage moves spelled out."""
    a = schema.audit_events
    query = select(a).order_by(a.c.seq.desc()).limit(limit)
    if model is not None:
        query = query.where(a.c.model == model)
    if version is not None:
        query = query.where(a.c.version == version)
    out = []
    for row in conn.execute(query).mappings():
        before = json.loads(row["before"]) if row["before"] else {}
        after = json.loads(row["after"]) if row["after"] else {}
        event: dict[str, Any] = {
            "action": row["action"],
            "model": row["model"],
            "version": row["version"],
            "at": iso(dt.datetime.fromisoformat(row["created_at"])),
            "by": row["actor"],
            "reason": row["reason"],
        }
        if isinstance(after, dict) and "stage" in after:
            event["from_stage"] = before.get("stage") if isinstance(before, dict) else None
            event["to_stage"] = after["stage"]
            if after.get("forced"):
                event["forced"] = True
        if row["action"] == "note" and isinstance(after, dict):
            event["note"] = after.get("note")
        if row["action"] == "golden" and isinstance(before, dict):
            event["previous_golden"] = before.get("golden")
        out.append(event)
    return out


def _hex_prefix(value: str, what: str) -> str:
    text = value.strip().lower()
    for prefix in ("sha256:", "sha:"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if not _HEX.match(text):
        raise UsageError(
            f"{value!r} is not a {what} (or the start of one)",
            hint="give at least 4 hexadecimal characters",
        )
    return text


def diff_to_dict(diff: VersionDiff, cap: int = LIST_CAP) -> dict[str, Any]:
    """A diff for a tool caller: every section, long lists cut to `cap` with their totals."""
    full = diff.to_dict()
    params = full["params"]
    for key in ("added", "removed", "changed"):
        params[f"{key}_total"] = len(params[key])
        params[key] = [
            {k: c[k] for k in ("key", "old", "new") if k in c} for c in params[key][:cap]
        ]
    full["metrics_total"] = len(full["metrics"])
    full["metrics"] = full["metrics"][: cap * 2]
    for change in full["data"]:
        for key in ("files_added", "files_removed", "files_modified"):
            change[key] = change[key][:10]
    env = full["environment"]
    for key in ("packages_added", "packages_removed", "packages_upgraded", "packages_downgraded"):
        env[f"{key}_total"] = len(env[key])
        env[key] = env[key][:cap]
    code = full["code"]
    code["commits"] = code["commits"][:10]
    code["files_changed"] = code["files_changed"][:cap]
    full["artifacts"] = [a for a in full["artifacts"] if a["status"] != "unchanged"][:cap]
    return full


# -- the tool specifications ---------------------------------------------------------------------

_VERSION = (
    'A version number ("2.1.5" or "v2.1.5") or one of: production, staging, golden, latest, '
    "previous (the one before the latest)."
)


def _text(description: str, max_length: int, *, min_length: int = 1, enum: Any = None) -> dict:
    if enum is not None:
        return {"type": "string", "enum": list(enum), "description": description}
    return {"type": "string", "minLength": min_length, "maxLength": max_length,
            "description": description}  # fmt: skip


def _int(description: str, maximum: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": maximum, "description": description}


def _tool(
    name: str, description: str, properties: dict[str, Any], required: Sequence[str] = ()
) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": list(required),
                "additionalProperties": False,
            },
        },
    }


_MODEL = _text("The model name.", 200)
_REF = _text(_VERSION, 60)
_METRIC = _text("The metric name, e.g. auc or val_loss.", 250)

TOOL_SPECS: list[dict[str, Any]] = [
    _tool("list_models",
          "All models in the registry with their latest, production and golden versions.", {}),
    _tool("list_versions",
          "A model's versions, newest first: number, stage, when and by whom registered, "
          "description.",
          {"model": _MODEL, "limit": _int("How many versions (default 10).", 100)}, ["model"]),
    _tool("get_version",
          "Everything recorded for one version: stage, metrics, params, data digests, git "
          "commit, environment, artifacts, tags and notes.",
          {"model": _MODEL, "version": _REF}, ["model", "version"]),
    _tool("get_stages",
          "Which version is in production (since when, moved by whom, why), in staging, golden "
          "(the baseline), the latest, and which version a rollback would bring back.",
          {"model": _MODEL}, ["model"]),
    _tool("compare_versions",
          "What changed between two versions: metrics (with verdicts by each metric's goal), "
          "params, data, code, environment, artifacts, findings and the suggested version "
          "bump. With only `new`: it against its parent. With neither: the latest against the "
          "one before.",
          {"model": _MODEL, "old": _text("The version compared from. " + _VERSION, 60),
           "new": _text("The version compared to. " + _VERSION, 60)},
          ["model"]),
    _tool("stage_history",
          "Who was in a stage from when to when, newest first, with who moved each version "
          "in and out and why (production history, rollbacks).",
          {"model": _MODEL,
           "stage": _text("The stage (default production).", 20,
                          enum=("production", "staging", "archived")),
           "limit": _int("How many periods (default 10).", 100)},
          ["model"]),
    _tool("version_history",
          "One version's life: who registered it and when, and every later event from the "
          "audit trail (promotions, rollbacks, retirement, golden, tags, notes) with actor, "
          "time and reason.",
          {"model": _MODEL, "version": _REF}, ["model", "version"]),
    _tool("best_version",
          "The best versions by a metric, judged by the metric's goal (maximize or minimize); "
          "`order` highest or lowest overrides the goal.",
          {"model": _MODEL, "metric": _METRIC,
           "order": _text("best (by the goal, default), highest or lowest.", 10,
                          enum=("best", "highest", "lowest")),
           "limit": _int("How many versions to rank (default 5).", 50)},
          ["model", "metric"]),
    _tool("versions_using_data",
          "Which versions (of any model, or of `model`) were trained or evaluated on a "
          "dataset, by its sha256 digest or the first characters of it.",
          {"digest": _text("A sha256 hex digest or a prefix of one.", 71, min_length=4),
           "model": _MODEL},
          ["digest"]),
    _tool("versions_at_commit",
          "Which versions (of any model, or of `model`) were trained from a git commit, by "
          "its SHA or the first characters of it.",
          {"commit": _text("A git commit SHA or a prefix of one.", 64, min_length=4),
           "model": _MODEL},
          ["commit"]),
    _tool("metric_regressions",
          "When a metric regressed: every version compared with its parent, oldest first, "
          "listing the metric moves beyond tolerance in the wrong direction.",
          {"model": _MODEL, "metric": _text("One metric (default: every metric).", 250)},
          ["model"]),
    _tool("audit_trail",
          "The newest audit events (registrations, stage moves, golden, tags, notes, "
          "settings) of the registry, a model, or one version, with actor, time and reason.",
          {"model": _MODEL, "version": _REF, "limit": _int("How many events (default 20).", 200)}),
    _tool("monitoring_status",
          "How a version is doing live (default: production): live metrics against its "
          "offline ones (decay by each metric's goal and tolerance), the latest production "
          "batch's data drift per column (PSI, KS p-value, worst first) and the drift or "
          "decay alerts active now, with since when.",
          {"model": _MODEL, "version": _REF}, ["model"]),
]  # fmt: skip
TOOL_NAMES: tuple[str, ...] = tuple(spec["function"]["name"] for spec in TOOL_SPECS)
_SPECS = {spec["function"]["name"]: spec["function"]["parameters"] for spec in TOOL_SPECS}


def call_tool(
    tools: RegistryTools, name: str, arguments_json: str | Mapping[str, Any] | None
) -> dict[str, Any]:
    """Run the tool `name` with the JSON arguments of a tool call. Bad input — an unknown
    tool, malformed JSON, a missing or mistyped argument, an unknown model or version —
    comes back as `{"error": message, "hint": …}`, never as an exception."""
    schema_ = _SPECS.get(name)
    if schema_ is None:
        return {"error": f"there is no tool {name!r}", "hint": "tools: " + ", ".join(TOOL_NAMES)}
    if arguments_json is None or (isinstance(arguments_json, str) and not arguments_json.strip()):
        arguments: Any = {}
    elif isinstance(arguments_json, str):
        try:
            arguments = json.loads(arguments_json)
        except ValueError:
            return {"error": "the arguments are not valid JSON"}
    else:
        arguments = dict(arguments_json)
    if not isinstance(arguments, dict):
        return {"error": "the arguments must be a JSON object"}
    arguments = {k: v for k, v in arguments.items() if v is not None}  # null means "not given"
    problem = _check(arguments, schema_)
    if problem:
        return {"error": problem, "hint": f"parameters of {name}: {_describe(schema_)}"}
    method: Callable[..., dict[str, Any]] = getattr(tools, name)
    try:
        return method(**arguments)
    except ModeltrailError as exc:
        out = {"error": exc.message}
        if exc.hint:
            out["hint"] = exc.hint
        return out


def _check(arguments: Mapping[str, Any], schema_: Mapping[str, Any]) -> str | None:
    properties = schema_["properties"]
    for key in arguments:
        if key not in properties:
            return f"unknown argument {key!r}"
    for key in schema_["required"]:
        if key not in arguments:
            return f"missing argument {key!r}"
    for key, value in arguments.items():
        rule = properties[key]
        if rule["type"] == "string":
            if not isinstance(value, str):
                return f"{key} must be a string"
            if len(value.strip()) < rule.get("minLength", 0):
                return f"{key} must have at least {rule['minLength']} characters"
            if len(value) > rule.get("maxLength", 10_000):
                return f"{key} is longer than {rule['maxLength']} characters"
            if "enum" in rule and value not in rule["enum"]:
                return f"{key} must be one of {', '.join(rule['enum'])}"
        elif rule["type"] == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                return f"{key} must be an integer"
            if not rule.get("minimum", value) <= value <= rule.get("maximum", value):
                return f"{key} must be between {rule['minimum']} and {rule['maximum']}"
    return None


def _describe(schema_: Mapping[str, Any]) -> str:
    required = set(schema_["required"])
    names = [k if k in required else f"{k}?" for k in schema_["properties"]]
    return ", ".join(names) or "none"
