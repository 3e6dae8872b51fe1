"""Production monitoring: observations in, judgements and alerts out.

    from modeltrail.core.monitoring.status import report_metrics, report_batch, monitoring_status

    report_metrics(registry, "fraud-detector", {"accuracy": 0.87})            # live metrics
    report_batch(registry, "fraud-detector", "inputs-2026-11-20.csv")           # a data batch
    monitoring_status(registry, "fraud-detector")                              # per version

The version an observation belongs to defaults to the one in production at the observation's
time (`at`, default now), read from the recorded stage changes. A batch is judged against the
version's stored training profile (`drift.batch_drift`: PSI per column, KS for numeric
columns); its prediction column, when present, against the validation profile when one was
stored with that column (prediction skew). Live metrics are judged against the version's
offline metrics by each metric's goal and tolerance (`drift.judge_decay`).

Each observation is written in one transaction with its audit event ("monitor") and, when a
condition is new (it was clear before) or worse than when it last alerted, one outbox event
`monitoring.alert` naming every such condition. A condition that stays as it is alerts once;
one that clears (an observation below threshold) and comes back alerts again.

Thresholds: `DriftThresholds` per call, else the model setting `monitor.thresholds`
(`{"moderate": 0.1, "drift": 0.2}`), else the defaults.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select, update

from modeltrail.core.errors import UsageError
from modeltrail.core.lifecycle.outbox import enqueue
from modeltrail.core.lifecycle.rules import production_at
from modeltrail.core.metrics import check_metric_name, check_metric_value
from modeltrail.core.monitoring.drift import (
    Condition,
    DriftReport,
    DriftThresholds,
    MetricDecay,
    batch_drift,
    decay_conditions,
    drift_conditions,
    judge_decay,
    worsened,
)
from modeltrail.core.serialize import iso
from modeltrail.core.store import schema
from modeltrail.core.versioning import SemVer

if TYPE_CHECKING:
    import numpy as np

    from modeltrail.core.monitoring.profiles import Profile
    from modeltrail.core.registry.writer import Registry

ALERT_TOPIC = "monitoring.alert"
THRESHOLDS_SETTING = "monitor.thresholds"
BATCH_ROW_LIMIT = 1_000_000  # rows of a batch file judged (a seeded sample beyond that)
TRAIN_ROLES = ("train", "training")
PREDICTION_ROLES = ("validation", "valid", "val", "eval", "test")
PREDICTION_COLUMN = "prediction"
MONITOR_ACTOR = "monitor"


@dataclass(frozen=True)
class Alert:
    """A condition this observation alerted on: new, or worse than when it last alerted."""

    condition: str  # drift:COLUMN | skew:COLUMN | decay:METRIC
    level: str
    magnitude: float
    since: dt.datetime
    reason: str  # new | worse
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        kind, _, subject = self.condition.partition(":")
        return {
            "condition": self.condition,
            "kind": kind,
            "subject": subject,
            "level": self.level,
            "magnitude": self.magnitude,
            "since": iso(self.since),
            "reason": self.reason,
            "detail": dict(self.detail),
        }


@dataclass(frozen=True)
class Observation:
    model: str
    version: str
    kind: str  # metrics | batch
    observed_at: dt.datetime
    status: str  # ok | moderate | drift | decay
    drift: DriftReport | None = None
    decay: tuple[MetricDecay, ...] = ()
    alerts: tuple[Alert, ...] = ()
    rows: int | None = None
    sampled_rows: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "kind": self.kind,
            "observed_at": iso(self.observed_at),
            "status": self.status,
            "rows": self.rows,
            "sampled_rows": self.sampled_rows,
            "drift": self.drift.to_dict() if self.drift else None,
            "decay": [d.to_dict() for d in self.decay],
            "alerts": [a.to_dict() for a in self.alerts],
        }


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


# -- writing observations ------------------------------------------------------------------------


def report_metrics(
    registry: Registry,
    model: str,
    metrics: Mapping[str, float],
    *,
    version: str | None = None,
    at: dt.datetime | None = None,
    actor: str | None = None,
) -> Observation:
    """Record live metric values for a version (default: the one in production at `at`)
    and judge them against its offline metrics."""
    if not metrics:
        raise UsageError("no metrics given", hint="e.g. --metric accuracy=0.87")
    live = {check_metric_name(k): check_metric_value(k, v) for k, v in metrics.items()}
    moment = _moment(registry, at)
    version = resolve_observed_version(registry, model, version, moment)
    record = registry.load(model, version)
    specs = registry.metric_specs(model)
    decay = judge_decay(record.metric_values(), live, specs)
    conditions = decay_conditions(decay)
    status = "decay" if any(d.status == "decay" for d in decay) else "ok"
    payload = {"metrics": live, "decay": [d.to_dict() for d in decay]}
    tolerances = {f"decay:{d.metric}": d.tolerance for d in decay}
    alerts = _record(
        registry,
        model,
        version,
        kind="metrics",
        moment=moment,
        status=status,
        rows=None,
        payload=payload,
        conditions=conditions,
        actor=actor or MONITOR_ACTOR,
        tolerances=tolerances,
        factor=DriftThresholds().worsen_factor,
    )
    return Observation(model, version, "metrics", moment, status, None, decay, alerts)


def report_batch(
    registry: Registry,
    model: str,
    data: str | os.PathLike[str] | Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    version: str | None = None,
    at: dt.datetime | None = None,
    actor: str | None = None,
    prediction_column: str | None = PREDICTION_COLUMN,
    thresholds: DriftThresholds | None = None,
) -> Observation:
    """Judge a batch of production inputs (a CSV/Parquet path, a mapping of column arrays,
    or a list of row dicts) against the version's training profile, and its prediction
    column, if any, against the validation predictions' profile."""
    moment = _moment(registry, at)
    version = resolve_observed_version(registry, model, version, moment)
    columns, total, sampled, source = _batch_columns(data)
    if not columns or sampled == 0:
        raise UsageError("the batch has no rows")
    profiles = load_profiles(registry, model, version)
    baseline_role, prediction_role = _baseline_roles(profiles, prediction_column)
    if baseline_role is None:
        raise UsageError(
            f"{model} {version} has no data profile to compare the batch with",
            hint="log a CSV or Parquet training file with run.log_data('train', PATH) "
            "(profiled by default) when registering",
        )
    limits = thresholds or model_thresholds(registry, model)
    report = batch_drift(
        profiles[baseline_role],
        columns,
        limits,
        prediction_profile=profiles.get(prediction_role) if prediction_role else None,
        prediction_column=prediction_column,
    )
    if not report.columns:
        raise UsageError(
            f"none of the batch's columns is in {model} {version}'s profile",
            hint="profiled columns: " + ", ".join(profiles[baseline_role].names[:20]),
        )
    payload = {
        "drift": report.to_dict(),
        "source": source,
        "total_rows": total,
        "sampled_rows": sampled,
        "baseline_role": baseline_role,
        "prediction_role": prediction_role,
        "thresholds": limits.to_dict(),
    }
    alerts = _record(
        registry,
        model,
        version,
        kind="batch",
        moment=moment,
        status=report.status if report.status != "none" else "ok",
        rows=total,
        payload=payload,
        conditions=drift_conditions(report),
        actor=actor or MONITOR_ACTOR,
        tolerances={},
        factor=limits.worsen_factor,
    )
    status = report.status if report.status != "none" else "ok"
    return Observation(model, version, "batch", moment, status, report, (), alerts, total, sampled)


def resolve_observed_version(
    registry: Registry, model: str, version: str | None, moment: dt.datetime
) -> str:
    """`version` as a number (names like production allowed), else the version that was in
    production at `moment`."""
    if version is not None:
        resolved = registry.resolve_version(model, version)
        registry.load(model, resolved)  # exists?
        return resolved
    found = production_at(registry.model_state(model), moment)
    if found is None:
        raise UsageError(
            f"{model} had no version in production at {iso(moment)}",
            hint="name the version with --version (version= in Python)",
        )
    return found


def model_thresholds(registry: Registry, model: str) -> DriftThresholds:
    return DriftThresholds.from_dict(registry.model_setting(model, THRESHOLDS_SETTING))


def load_profiles(registry: Registry, model: str, version: str) -> dict[str, Profile]:
    """The data profiles stored with a version, by role."""
    from modeltrail.core.monitoring.profiles import Profile

    dp, v = schema.data_profiles, schema.versions
    with registry._read() as conn:
        model_id = registry._model_id(conn, model)
        rows = conn.execute(
            select(dp.c.role, dp.c.profile)
            .join(v, v.c.id == dp.c.version_id)
            .where(v.c.model_id == model_id, v.c.version == str(SemVer.parse(version)))
        ).all()
    return {role: Profile.from_dict(json.loads(text)) for role, text in rows}


def _moment(registry: Registry, at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return registry._clock()
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def _baseline_roles(
    profiles: Mapping[str, Profile], prediction_column: str | None
) -> tuple[str | None, str | None]:
    inputs = next((r for r in TRAIN_ROLES if r in profiles), None)
    if inputs is None:
        others = sorted(r for r in profiles if r not in PREDICTION_ROLES)
        inputs = others[0] if others else (sorted(profiles)[0] if profiles else None)
    prediction = None
    if prediction_column:
        prediction = next(
            (
                r
                for r in PREDICTION_ROLES
                if r in profiles and profiles[r].column(prediction_column) is not None
            ),
            None,
        )
    return inputs, prediction


def _batch_columns(
    data: Any,
) -> tuple[dict[str, np.ndarray], int, int, str]:
    """(columns, total rows, rows judged, where from)."""
    import numpy as np

    if isinstance(data, (str, os.PathLike)):
        from modeltrail.core.capture.tables import read_table

        table = read_table(data, row_limit=BATCH_ROW_LIMIT)
        return table.columns, table.total_rows, table.sampled_rows, os.path.basename(data)
    if isinstance(data, Mapping):
        columns = {str(k): np.asarray(v) for k, v in data.items()}
        rows = max((len(v) for v in columns.values()), default=0)
        return columns, rows, rows, "arrays"
    rows_list = list(data)
    if not all(isinstance(r, Mapping) for r in rows_list):
        raise UsageError("rows must be objects mapping column names to values")
    names: dict[str, None] = {}
    for row in rows_list:
        names.update(dict.fromkeys(str(k) for k in row))
    columns = {name: np.array([row.get(name) for row in rows_list], dtype=object) for name in names}
    return columns, len(rows_list), len(rows_list), "rows"


def _record(
    registry: Registry,
    model: str,
    version: str,
    *,
    kind: str,
    moment: dt.datetime,
    status: str,
    rows: int | None,
    payload: Mapping[str, Any],
    conditions: Sequence[Condition],
    actor: str,
    tolerances: Mapping[str, float],
    factor: float,
) -> tuple[Alert, ...]:
    """Write the observation, move the alert state, audit it, and enqueue an alert event
    when a condition is new or worse; all in one transaction."""
    now = registry._clock()
    a = schema.monitor_alerts
    with registry._write() as conn:
        model_id = registry._model_id(conn, model, lock=True)
        version_id = registry._version_id(conn, model_id, SemVer.parse(version))
        assert version_id is not None  # resolved above; versions are never deleted
        conn.execute(
            insert(schema.monitor_observations),
            {
                "version_id": version_id,
                "kind": kind,
                "observed_at": moment,
                "recorded_at": now,
                "actor": actor,
                "status": status,
                "rows": rows,
                "payload": json.dumps(payload, sort_keys=True, default=str),
            },
        )
        states = {
            r.condition: r
            for r in conn.execute(select(a).where(a.c.version_id == version_id)).all()
        }
        alerts: list[Alert] = []
        for cond in conditions:
            state = states.get(cond.key)
            alert = _transition(conn, version_id, cond, state, moment, now, tolerances, factor)
            if alert is not None:
                alerts.append(alert)
        seq = registry._append_audit(
            conn,
            now=now,
            actor=actor,
            action="monitor",
            model=model,
            version=version,
            before=None,
            after={
                "kind": kind,
                "observed_at": iso(moment),
                "status": status,
                "rows": rows,
                "alerts": [a.condition for a in alerts],
                # what the weekly digest shows of each alert
                "alert_details": [
                    {"condition": a.condition, "level": a.level, "magnitude": a.magnitude}
                    for a in alerts
                ],
            },
            reason=None,
        )
        if alerts:
            enqueue(
                conn,
                topic=ALERT_TOPIC,
                model=model,
                version=version,
                payload=_alert_payload(
                    registry, conn, model, model_id, version, kind, moment, alerts
                ),
                key=f"audit:{seq}",
                now=now,
            )
    return tuple(alerts)


def _transition(
    conn: Connection,
    version_id: int,
    cond: Condition,
    state: Any,
    moment: dt.datetime,
    now: dt.datetime,
    tolerances: Mapping[str, float],
    factor: float,
) -> Alert | None:
    a = schema.monitor_alerts
    detail = json.dumps(dict(cond.detail), sort_keys=True, default=str)
    where = (a.c.version_id == version_id) & (a.c.condition == cond.key)
    if state is None or not state.active:
        if not cond.active:
            if state is not None:
                conn.execute(
                    update(a)
                    .where(where)
                    .values(level=cond.level, magnitude=cond.magnitude, updated_at=now)
                )
            return None
        values = {
            "active": True,
            "level": cond.level,
            "magnitude": cond.magnitude,
            "since": moment,
            "alerted_level": cond.level,
            "alerted_magnitude": cond.magnitude,
            "alerted_at": now,
            "updated_at": now,
            "detail": detail,
        }
        if state is None:
            conn.execute(insert(a), {"version_id": version_id, "condition": cond.key, **values})
        else:
            conn.execute(update(a).where(where).values(**values))
        return Alert(cond.key, cond.level, cond.magnitude, moment, "new", cond.detail)
    if not cond.active:  # cleared: the next time it comes back, it alerts again
        conn.execute(
            update(a)
            .where(where)
            .values(
                active=False,
                level=cond.level,
                magnitude=cond.magnitude,
                since=None,
                updated_at=now,
                detail=detail,
            )
        )
        return None
    worse = worsened(
        state.alerted_level or cond.level,
        state.alerted_magnitude or 0.0,
        cond,
        factor=factor,
        tolerance=tolerances.get(cond.key, 0.0),
    )
    values = {
        "level": cond.level,
        "magnitude": cond.magnitude,
        "updated_at": now,
        "detail": detail,
    }
    if worse:
        values.update(alerted_level=cond.level, alerted_magnitude=cond.magnitude, alerted_at=now)
    conn.execute(update(a).where(where).values(**values))
    if not worse:
        return None
    return Alert(cond.key, cond.level, cond.magnitude, state.since or moment, "worse", cond.detail)


def _alert_payload(
    registry: Registry,
    conn: Connection,
    model: str,
    model_id: int,
    version: str,
    kind: str,
    moment: dt.datetime,
    alerts: Sequence[Alert],
) -> dict[str, Any]:
    """What the Slack post and the digest need: the version, what alerted, and where to go
    back to (the previous production version, the golden one)."""
    from modeltrail.core.lifecycle.rules import previous_production

    state = registry._state(conn, model, model_id)
    production = state.production
    return {
        "model": model,
        "version": version,
        "kind": kind,
        "observed_at": iso(moment),
        "production": production,
        "rollback_target": previous_production(state, exclude=production) if production else None,
        "golden": state.golden,
        "alerts": [a.to_dict() for a in alerts],
    }


# -- reading --------------------------------------------------------------------------------


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
