"""Recording production observations: live metrics and data batches, judged as they arrive.

    from modeltrail.core.monitoring import report_batch, report_metrics

    report_metrics(registry, "fraud-detector", {"accuracy": 0.87})            # live metrics
    report_batch(registry, "fraud-detector", "inputs-2026-11-20.csv")           # a data batch

The version an observation belongs to defaults to the one in production at the observation's
time (`at`, default now), read from the recorded stage changes. A batch is judged against the
version's stored training profile (`drift.batch_drift`: PSI per column, KS for numeric
columns); its prediction column, when present, against the validation profile when one was
stored with that column (prediction skew). Live metrics are judged against the version's
offline metrics by each metric's goal and tolerance (`drift.judge_decay`). Writing the
observation and alerting on what it found is `alerts.record_observation`.

Thresholds: `DriftThresholds` per call, else the model setting `monitor.thresholds`
(`{"moderate": 0.1, "drift": 0.2}`), else the defaults.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from modeltrail.core.errors import UsageError
from modeltrail.core.lifecycle.rules import production_at
from modeltrail.core.metrics import check_metric_name, check_metric_value
from modeltrail.core.monitoring.alerts import Alert, record_observation
from modeltrail.core.monitoring.drift import (
    DriftReport,
    DriftThresholds,
    MetricDecay,
    batch_drift,
    decay_conditions,
    drift_conditions,
    judge_decay,
)
from modeltrail.core.serialize import iso
from modeltrail.core.store import schema
from modeltrail.core.versioning import SemVer

if TYPE_CHECKING:
    import numpy as np

    from modeltrail.core.monitoring.profiles import Profile
    from modeltrail.core.registry.writer import Registry

THRESHOLDS_SETTING = "monitor.thresholds"
BATCH_ROW_LIMIT = 1_000_000  # rows of a batch file judged (a seeded sample beyond that)
TRAIN_ROLES = ("train", "training")
PREDICTION_ROLES = ("validation", "valid", "val", "eval", "test")
PREDICTION_COLUMN = "prediction"
MONITOR_ACTOR = "monitor"


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
    alerts = record_observation(
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
    alerts = record_observation(
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


__all__ = [
    "Observation",
    "load_profiles",
    "model_thresholds",
    "report_batch",
    "report_metrics",
    "resolve_observed_version",
]
