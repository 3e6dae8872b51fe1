"""How each version is doing in production, read back from its observations and alerts.

    from modeltrail.core.monitoring import monitoring_status

    monitoring_status(registry, "fraud-detector")                              # per version

Observations are recorded by `observe` (`report_metrics`, `report_batch`) and their alert
state moved by `alerts`; this module only reads what they wrote.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

# Observations and alerts lived here before the split; callers that still import them from
# this module keep working.
from modeltrail.core.monitoring.alerts import ALERT_TOPIC, Alert
from modeltrail.core.monitoring.drift import DriftReport, DriftThresholds, MetricDecay, judge_decay
from modeltrail.core.monitoring.observe import (
    Observation,
    load_profiles,
    report_batch,
    report_metrics,
)
from modeltrail.core.serialize import iso
from modeltrail.core.store import schema
from modeltrail.core.versioning import SemVer

if TYPE_CHECKING:
    from modeltrail.core.registry.writer import Registry


@dataclass(frozen=True)
class LiveMetric:
    name: str
    value: float
    observed_at: dt.datetime


@dataclass(frozen=True)
class ActiveCondition:
    condition: str
    level: str
    magnitude: float
    since: dt.datetime | None
    alerted_at: dt.datetime | None


@dataclass(frozen=True)
class VersionStatus:
    """How one version is doing live: its latest live metric values against the offline
    ones, the latest batch's drift table (worst first), and the conditions active now."""

    model: str
    version: str
    stage: str
    live: tuple[LiveMetric, ...]
    decay: tuple[MetricDecay, ...]
    drift: DriftReport | None
    drift_observed_at: dt.datetime | None
    active: tuple[ActiveCondition, ...]
    observations: int

    @property
    def status(self) -> str:
        if any(c.level in ("drift", "decay") for c in self.active):
            return "alert"
        if self.drift is not None and self.drift.status == "moderate":
            return "moderate"
        return "ok" if self.observations else "no data"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "stage": self.stage,
            "status": self.status,
            "observations": self.observations,
            "live": [
                {"metric": m.name, "value": m.value, "observed_at": iso(m.observed_at)}
                for m in self.live
            ],
            "decay": [d.to_dict() for d in self.decay],
            "drift": self.drift.to_dict() if self.drift else None,
            "drift_observed_at": iso(self.drift_observed_at),
            "active": [
                {
                    "condition": c.condition,
                    "level": c.level,
                    "magnitude": c.magnitude,
                    "since": iso(c.since),
                    "alerted_at": iso(c.alerted_at),
                }
                for c in self.active
            ],
        }


@dataclass(frozen=True)
class ModelStatus:
    model: str
    production: str | None
    golden: str | None
    versions: tuple[VersionStatus, ...]  # production first, then newest first

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "production": self.production,
            "golden": self.golden,
            "versions": [v.to_dict() for v in self.versions],
        }


def monitoring_status(
    registry: Registry, model: str, *, versions: Sequence[str] | None = None
) -> ModelStatus:
    """Per version with observations (and the production one): live vs offline metrics, the
    latest drift table, the conditions active now. Production first, then newest first."""
    state = registry.model_state(model)
    o, a, v = schema.monitor_observations, schema.monitor_alerts, schema.versions
    with registry._read() as conn:
        model_id = registry._model_id(conn, model)
        observed = conn.execute(
            select(v.c.version, o.c.kind, o.c.observed_at, o.c.payload, o.c.id)
            .join(v, v.c.id == o.c.version_id)
            .where(v.c.model_id == model_id)
            .order_by(o.c.observed_at, o.c.id)
        ).all()
        active_rows = conn.execute(
            select(v.c.version, a)
            .join(v, v.c.id == a.c.version_id)
            .where(v.c.model_id == model_id, a.c.active.is_(True))
        ).all()
    wanted: list[str] = []
    if versions is not None:
        wanted = [registry.resolve_version(model, x) for x in versions]
    else:
        seen = {row.version for row in observed}
        if state.production:
            seen.add(state.production)
        wanted = sorted(seen, key=SemVer.parse, reverse=True)
        if state.production:
            wanted.remove(state.production)
            wanted.insert(0, state.production)
    records = {r.version: r for r in registry.load_many(model, wanted)} if wanted else {}
    specs = registry.metric_specs(model)
    by_version: dict[str, list[Any]] = {}
    for row in observed:
        by_version.setdefault(row.version, []).append(row)
    out = []
    for version in wanted:
        live: dict[str, LiveMetric] = {}
        drift = None
        drift_at = None
        count = 0
        for row in by_version.get(version, ()):
            count += 1
            payload = json.loads(row.payload)
            if row.kind == "metrics":
                for name, value in payload["metrics"].items():
                    live[name] = LiveMetric(name, float(value), row.observed_at)
            elif row.kind == "batch":
                drift = DriftReport.from_dict(payload["drift"])
                drift_at = row.observed_at
        record = records.get(version)
        offline = record.metric_values() if record else {}
        decay = judge_decay(offline, {k: m.value for k, m in live.items()}, specs)
        active = tuple(
            ActiveCondition(r.condition, r.level, r.magnitude, r.since, r.alerted_at)
            for r in sorted(active_rows, key=lambda r: (-r.magnitude, r.condition))
            if r.version == version
        )
        out.append(
            VersionStatus(
                model,
                version,
                state.stage_of(version),
                tuple(live.values()),
                decay,
                drift,
                drift_at,
                active,
                count,
            )
        )
    return ModelStatus(model, state.production, state.golden, tuple(out))


__all__ = [
    "ALERT_TOPIC",
    "Alert",
    "DriftThresholds",
    "ModelStatus",
    "Observation",
    "VersionStatus",
    "load_profiles",
    "monitoring_status",
    "report_batch",
    "report_metrics",
]
