"""Records as JSON-plain dicts (the `--json` forms), and back where a reader needs it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from modeltrail.core.records import (
    AuditEvent,
    DataSnapshot,
    Metric,
    ModelSummary,
    VersionRecord,
    VersionSummary,
)


def iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def metric_to_dict(metric: Metric) -> dict[str, Any]:
    out: dict[str, Any] = {
        "value": metric.value,
        "step": metric.step,
        "timestamp": iso(metric.timestamp),
        "history_count": metric.history_count,
    }
    if metric.history is not None:
        out["history"] = [
            {"step": p.step, "value": p.value, "timestamp": iso(p.timestamp)}
            for p in metric.history
        ]
    return out


def snapshot_to_dict(snapshot: DataSnapshot, *, manifest: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "role": snapshot.role,
        "path": snapshot.path,
        "kind": snapshot.kind,
        "digest": snapshot.digest,
        "size": snapshot.size,
        "file_count": snapshot.file_count,
    }
    if snapshot.dvc_md5 is not None:
        out["dvc"] = {"md5": snapshot.dvc_md5, "source": snapshot.dvc_source}
    if manifest and snapshot.manifest is not None:
        out["manifest"] = [
            {"path": e.path, "size": e.size, "digest": e.digest} for e in snapshot.manifest
        ]
    return out


def record_to_dict(record: VersionRecord) -> dict[str, Any]:
    code = record.code
    env = record.environment
    return {
        "model": record.model,
        "version": record.version,
        "created_at": iso(record.created_at),
        "actor": record.actor,
        "description": record.description,
        "stage": record.stage,
        "golden": record.golden,
        "parent": record.parent,
        "params": dict(record.params),
        "metrics": {name: metric_to_dict(m) for name, m in record.metrics.items()},
        "metric_goals": {
            name: {
                "goal": spec.goal,
                "tolerance": spec.tolerance,
                "relative_tolerance": spec.relative_tolerance,
                "origin": spec.origin,
            }
            for name, spec in record.metric_specs.items()
        },
        "data": [snapshot_to_dict(s) for s in record.data],
        "code": None
        if code is None
        else {
            "repo_root": code.repo_root,
            "commit": code.commit,
            "branch": code.branch,
            "remote_url": code.remote_url,
            "dirty": code.dirty,
            "dirty_files": list(code.dirty_files),
            "diff_digest": code.diff_digest,
        },
        "environment": None
        if env is None
        else {
            "python_version": env.python_version,
            "python_implementation": env.python_implementation,
            "platform": env.platform,
            "machine": env.machine,
            "cpu_model": env.cpu_model,
            "cpu_count": env.cpu_count,
            "gpus": list(env.gpus),
            "packages": dict(env.packages),
            "fingerprint": env.fingerprint,
        },
        "artifacts": [
            {
                "name": a.name,
                "uri": a.uri,
                "digest": a.digest,
                "size": a.size,
                "stored": a.stored,
                "kind": a.kind,
            }
            for a in record.artifacts
        ],
        "tags": dict(record.tags),
        "notes": [
            {"text": n.text, "actor": n.actor, "created_at": iso(n.created_at)}
            for n in record.notes
        ],
    }


def version_summary_to_dict(summary: VersionSummary) -> dict[str, Any]:
    return {
        "model": summary.model,
        "version": summary.version,
        "created_at": iso(summary.created_at),
        "actor": summary.actor,
        "stage": summary.stage,
        "description": summary.description,
    }


def model_summary_to_dict(summary: ModelSummary) -> dict[str, Any]:
    return {
        "name": summary.name,
        "latest_version": summary.latest_version,
        "version_count": summary.version_count,
        "production_version": summary.production_version,
        "created_at": iso(summary.created_at),
        "updated_at": iso(summary.updated_at),
    }


def audit_event_to_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": iso(event.created_at),
        "actor": event.actor,
        "action": event.action,
        "model": event.model,
        "version": event.version,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "hash": event.hash,
    }
