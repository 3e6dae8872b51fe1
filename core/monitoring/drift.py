"""Judging production against a version's baseline: data drift, prediction skew, decay.

Pure: values in (a stored `Profile`, a batch's columns as numpy arrays, metric values and
specs), values out. No I/O, no clock.

**Drift per column** is the population stability index over the profile's bins,

    PSI = Σ (live% − base%) · ln(live% / base%)

with missing values as one more bin (a column that starts arriving empty drifts too) and every
proportion floored at `epsilon` (1e-4), so a bin empty on one side (a new category, values
beyond the training maximum) counts as a large but finite shift. The batch's histogram is
built with one `searchsorted` + `bincount` per numeric column (one `unique` per categorical
column), so a million rows cost milliseconds per column. PSI ≥ `drift` (0.2) is drift,
≥ `moderate` (0.1) moderate; both thresholds are settable (`DriftThresholds`).

**The two-sample test** for numeric columns is Kolmogorov–Smirnov on raw values: the
profile keeps a seeded reservoir of `SAMPLE_SIZE` (1,000) training values per numeric
column, the batch is subsampled (seeded) to at most `ks_sample` (5,000) values, and the
statistic is exact on those samples; the p-value uses the asymptotic Kolmogorov
distribution (Stephens' small-sample correction), computed here with numpy rather than
importing scipy (~2 s to import scipy.stats; it would also be a new dependency). We chose raw
samples over an approximate KS from the binned CDFs because within-bin shifts are invisible
to bins. The test reports alongside PSI; PSI decides "drift", and a significant KS
(p < `ks_alpha` and D ≥ `ks_min_statistic`) lifts an otherwise quiet numeric column to
"moderate" only, so large batches (where KS flags trivial differences) do not raise alerts.

**Decay** compares live metrics with the version's offline metrics by each metric's goal:
worse by more than its tolerance (`MetricSpec.tolerance`, absolute) is decay.

**Alert de-duplication**: `Condition`s have a magnitude (PSI, or how far beyond tolerance a
metric is); `worsened(alerted, now)` says when a condition alerted before deserves a new
alert (magnitude up by `worsen_factor`, moderate → drift). A condition that clears (below
threshold) may alert again when it comes back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from modeltrail.core.monitoring.profiles import (
    ColumnProfile,
    Profile,
    baseline_histogram,
    histogram,
)
from modeltrail.core.records import MetricSpec

EPSILON = 1e-4
KS_SAMPLE = 5_000
Status = Literal["none", "moderate", "drift"]
_RANK = {"none": 0, "ok": 0, "moderate": 1, "drift": 2, "decay": 2}


@dataclass(frozen=True)
class DriftThresholds:
    moderate: float = 0.1
    drift: float = 0.2
    ks_alpha: float = 0.01
    ks_min_statistic: float = 0.1
    epsilon: float = EPSILON
    ks_sample: int = KS_SAMPLE
    worsen_factor: float = 1.5  # a drift alerted at PSI p alerts again at ≥ p · factor
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.moderate <= self.drift:
            raise ValueError("thresholds must satisfy 0 ≤ moderate ≤ drift")

    def status(self, psi: float) -> Status:
        if psi >= self.drift:
            return "drift"
        if psi >= self.moderate:
            return "moderate"
        return "none"

    def to_dict(self) -> dict[str, Any]:
        return {"moderate": self.moderate, "drift": self.drift, "ks_alpha": self.ks_alpha}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> DriftThresholds:
        if not data:
            return cls()
        known = {"moderate", "drift", "ks_alpha", "ks_min_statistic", "worsen_factor"}
        return cls(**{k: float(v) for k, v in data.items() if k in known})


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    kind: str  # numeric | categorical
    role: str  # input | prediction
    psi: float
    status: Status
    rows: int
    missing_rate: float
    baseline_missing_rate: float
    ks_statistic: float | None = None
    ks_pvalue: float | None = None
    detail: str | None = None  # "mean 0.01 → 1.02", "new: 'd' 31%"

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "kind": self.kind,
            "role": self.role,
            "psi": round(self.psi, 6),
            "status": self.status,
            "rows": self.rows,
            "missing_rate": round(self.missing_rate, 6),
            "baseline_missing_rate": round(self.baseline_missing_rate, 6),
            "ks_statistic": None if self.ks_statistic is None else round(self.ks_statistic, 6),
            "ks_pvalue": None if self.ks_pvalue is None else float(f"{self.ks_pvalue:.6g}"),
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnDrift:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


@dataclass(frozen=True)
class DriftReport:
    """A batch judged against a profile; `columns` worst first."""

    rows: int
    columns: tuple[ColumnDrift, ...]
    unknown_columns: tuple[str, ...] = ()  # in the batch, not in the profile
    missing_columns: tuple[str, ...] = ()  # in the profile, not in the batch
    unreadable_columns: tuple[str, ...] = ()  # text in a numeric column

    @property
    def flagged(self) -> tuple[ColumnDrift, ...]:
        return tuple(c for c in self.columns if c.status == "drift")

    @property
    def status(self) -> Status:
        worst = max((_RANK[c.status] for c in self.columns), default=0)
        return ("none", "moderate", "drift")[worst]  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "status": self.status,
            "columns": [c.to_dict() for c in self.columns],
            "unknown_columns": list(self.unknown_columns),
            "missing_columns": list(self.missing_columns),
            "unreadable_columns": list(self.unreadable_columns),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftReport:
        return cls(
            rows=int(data["rows"]),
            columns=tuple(ColumnDrift.from_dict(c) for c in data["columns"]),
            unknown_columns=tuple(data.get("unknown_columns", ())),
            missing_columns=tuple(data.get("missing_columns", ())),
            unreadable_columns=tuple(data.get("unreadable_columns", ())),
        )


# -- PSI and KS --------------------------------------------------------------------------------


def psi(expected: np.ndarray, actual: np.ndarray, epsilon: float = EPSILON) -> float:
    """Population stability index of two histograms over the same bins (counts or shares)."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.sum() <= 0 or a.sum() <= 0:
        return 0.0
    e = np.maximum(e / e.sum(), epsilon)
    a = np.maximum(a / a.sum(), epsilon)
    return float(np.sum((a - e) * np.log(a / e)))


def ks_2samp(first: np.ndarray, second: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov–Smirnov: (statistic D, asymptotic two-sided p-value)."""
    a = np.sort(np.asarray(first, dtype=np.float64))
    b = np.sort(np.asarray(second, dtype=np.float64))
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return 0.0, 1.0
    both = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, both, side="right") / n
    cdf_b = np.searchsorted(b, both, side="right") / m
    d = float(np.max(np.abs(cdf_a - cdf_b)))
    en = math.sqrt(n * m / (n + m))
    lam = (en + 0.12 + 0.11 / en) * d
    return d, _kolmogorov_q(lam)


def _kolmogorov_q(lam: float) -> float:
    """P(K > lam) for the Kolmogorov distribution."""
    if lam < 1e-3:
        return 1.0
    j = np.arange(1, 101)
    terms = 2 * (-1.0) ** (j - 1) * np.exp(-2.0 * j * j * lam * lam)
    return float(min(max(terms.sum(), 0.0), 1.0))


# -- one batch -----------------------------------------------------------------------------------


def column_drift(
    baseline: ColumnProfile,
    values: np.ndarray,
    thresholds: DriftThresholds = DriftThresholds(),
    *,
    role: str = "input",
    rng: np.random.Generator | None = None,
) -> ColumnDrift | None:
    """One column of a batch against its baseline; None when it cannot be read as the
    baseline's kind (text arriving in a numeric column)."""
    live = histogram(baseline, values)
    if live is None:
        return None
    base = baseline_histogram(baseline)
    value = psi(base, live, thresholds.epsilon)
    status = thresholds.status(value)
    rows = int(live.sum())
    missing_rate = float(live[-1] / rows) if rows else 0.0
    ks_d = ks_p = None
    detail = None
    if baseline.kind == "numeric":
        numbers = np.asarray(values, dtype=np.float64) if values.dtype.kind in "fiub" else None
        if numbers is None:
            from modeltrail.core.monitoring.profiles import as_numeric

            numbers = as_numeric(values)
        assert numbers is not None
        present = numbers[np.isfinite(numbers)]
        if len(present) and baseline.sample:
            rng = rng if rng is not None else np.random.default_rng(thresholds.seed)
            if len(present) > thresholds.ks_sample:
                drawn = present[rng.choice(len(present), thresholds.ks_sample, replace=False)]
            else:
                drawn = present
            ks_d, ks_p = ks_2samp(np.asarray(baseline.sample), drawn)
            if (
                status == "none"
                and ks_p < thresholds.ks_alpha
                and ks_d >= thresholds.ks_min_statistic
            ):
                status = "moderate"
        if len(present) and baseline.mean is not None:
            detail = f"mean {_short(baseline.mean)} → {_short(float(present.mean()))}"
            beyond = int(live[0] + live[-2])
            if beyond:
                detail += f"; {beyond / max(rows, 1):.0%} outside the training range"
    else:
        other = int(live[-2])
        base_other = int(base[-2])
        if rows and other / rows > base_other / max(int(base.sum()), 1) + 0.01:
            top = len(baseline.categories)
            detail = f"{other / rows:.0%} in categories outside the training top {top}"
    if abs(missing_rate - baseline.missing_rate) >= 0.05:
        note = f"missing {baseline.missing_rate:.0%} → {missing_rate:.0%}"
        detail = f"{detail}; {note}" if detail else note
    return ColumnDrift(
        column=baseline.name,
        kind=baseline.kind,
        role=role,
        psi=value,
        status=status,
        rows=rows,
        missing_rate=missing_rate,
        baseline_missing_rate=baseline.missing_rate,
        ks_statistic=ks_d,
        ks_pvalue=ks_p,
        detail=detail,
    )


def batch_drift(
    profile: Profile,
    columns: Mapping[str, np.ndarray],
    thresholds: DriftThresholds = DriftThresholds(),
    *,
    prediction_profile: Profile | None = None,
    prediction_column: str | None = "prediction",
) -> DriftReport:
    """Every column of the batch the profile knows, worst first. The prediction column is
    judged against `prediction_profile` (validation predictions) when that has it."""
    rng = np.random.default_rng(thresholds.seed)
    rows = max((len(v) for v in columns.values()), default=0)
    results: list[ColumnDrift] = []
    unreadable: list[str] = []
    unknown: list[str] = []
    for name, values in columns.items():
        values = np.asarray(values)
        if (
            prediction_column is not None
            and name == prediction_column
            and prediction_profile is not None
            and prediction_profile.column(name) is not None
        ):
            baseline, role = prediction_profile.column(name), "prediction"
        else:
            baseline, role = profile.column(name), "input"
        if baseline is None:
            if name != prediction_column:
                unknown.append(name)
            continue
        judged = column_drift(baseline, values, thresholds, role=role, rng=rng)
        if judged is None:
            unreadable.append(name)
        else:
            results.append(judged)
    missing = tuple(c for c in profile.names if c not in columns)
    results.sort(key=lambda c: (-_RANK[c.status], -c.psi, c.column))
    return DriftReport(rows, tuple(results), tuple(unknown), missing, tuple(unreadable))


# -- decay ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricDecay:
    metric: str
    goal: str
    tolerance: float
    offline: float | None
    live: float
    status: Literal["ok", "decay", "unknown"]  # unknown: no offline value to compare with
    shortfall: float = 0.0  # how far worse than offline, in the bad direction (≥ 0)

    @property
    def delta(self) -> float | None:
        return None if self.offline is None else self.live - self.offline

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "goal": self.goal,
            "tolerance": self.tolerance,
            "offline": self.offline,
            "live": self.live,
            "delta": self.delta,
            "status": self.status,
            "shortfall": self.shortfall,
        }


def judge_decay(
    offline: Mapping[str, float],
    live: Mapping[str, float],
    specs: Mapping[str, MetricSpec],
) -> tuple[MetricDecay, ...]:
    """Each live metric against the offline one: worse by more than the tolerance is decay.
    Decayed first, then by name."""
    from modeltrail.core.metrics import default_metric_spec

    out = []
    for name, value in live.items():
        spec = specs.get(name) or default_metric_spec(name)
        base = offline.get(name)
        if base is None:
            out.append(MetricDecay(name, spec.goal, spec.tolerance, None, value, "unknown"))
            continue
        if spec.informational:  # a count is not better or worse: it cannot decay
            worse_by = 0.0
        else:
            worse_by = (base - value) if spec.goal == "maximize" else (value - base)
        status: Literal["ok", "decay"] = "decay" if worse_by > spec.tolerance + 1e-12 else "ok"
        out.append(
            MetricDecay(name, spec.goal, spec.tolerance, base, value, status, max(worse_by, 0.0))
        )
    out.sort(key=lambda d: (d.status != "decay", -d.shortfall, d.metric))
    return tuple(out)


# -- conditions and de-duplication -----------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """Something about a version that may alert: `key` is "drift:COLUMN", "skew:COLUMN" or
    "decay:METRIC"; `active` when beyond its threshold; `level` "moderate"/"drift"/"decay"."""

    key: str
    active: bool
    level: str
    magnitude: float
    detail: Mapping[str, Any] = field(default_factory=dict)


def drift_conditions(report: DriftReport) -> list[Condition]:
    """Every judged column as a condition; only drift (not moderate) is active."""
    return [
        Condition(
            key=("skew:" if c.role == "prediction" else "drift:") + c.column,
            active=c.status == "drift",
            level=c.status,
            magnitude=c.psi,
            detail=c.to_dict(),
        )
        for c in report.columns
    ]


def decay_conditions(decays: Iterable[MetricDecay]) -> list[Condition]:
    return [
        Condition(
            key=f"decay:{d.metric}",
            active=d.status == "decay",
            level="decay" if d.status == "decay" else "ok",
            magnitude=d.shortfall,
            detail=d.to_dict(),
        )
        for d in decays
        if d.status != "unknown"
    ]


def worsened(
    alerted_level: str,
    alerted_magnitude: float,
    now: Condition,
    *,
    factor: float = 1.5,
    tolerance: float = 0.0,
) -> bool:
    """Whether an active condition already alerted at (`alerted_level`, `alerted_magnitude`)
    is worse enough now to alert again: a higher level, or a magnitude at least `factor`
    times the alerted one (and, for decay, beyond it by more than the metric's tolerance)."""
    if _RANK.get(now.level, 0) > _RANK.get(alerted_level, 0):
        return True
    grown = now.magnitude >= alerted_magnitude * factor
    return grown and now.magnitude - alerted_magnitude > tolerance


def _short(value: float) -> str:
    return f"{value:.4g}"
