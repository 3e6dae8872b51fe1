"""Metric goals: which direction is better, by name, and validation of logged values."""

from __future__ import annotations

import math
import re

from modeltrail.core.errors import InvalidMetricError
from modeltrail.core.records import MetricSpec

_MINIMIZE = ("loss", "error", "mae", "mse", "rmse", "latency", "time")
_MAXIMIZE = ("accuracy", "acc", "auc", "f1", "precision", "recall", "r2")
_WORD = re.compile(r"[a-z0-9]+")


def default_metric_spec(name: str) -> MetricSpec:
    """Guess the goal from the metric's name: `val_loss`, `p95_latency_ms` minimise,
    `roc_auc`, `f1_macro` maximise. Names we cannot place default to maximise, the common case
    for scores; teams set the goal per model when the guess is wrong."""
    words = _WORD.findall(name.lower())
    for word in reversed(words):
        if word in _MINIMIZE:
            return MetricSpec(name=name, goal="minimize")
        if word in _MAXIMIZE:
            return MetricSpec(name=name, goal="maximize")
    return MetricSpec(name=name, goal="maximize")


def check_metric_value(name: str, value: object) -> float:
    """Return `value` as a finite float or raise an error naming the metric."""
    if isinstance(value, bool):
        raise InvalidMetricError(f"metric {name!r} has value {value!r}, which is not a number")
    if not isinstance(value, (int, float)):
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InvalidMetricError(
                f"metric {name!r} has value {value!r}, which is not a number"
            ) from None
    else:
        number = float(value)
    if not math.isfinite(number):
        raise InvalidMetricError(
            f"metric {name!r} has value {number}, which is not finite",
            hint="NaN and infinity are rejected; check the training run for a diverged loss",
        )
    return number


def check_metric_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidMetricError(f"metric name {name!r} must be a non-empty string")
    if len(name) > 250:
        raise InvalidMetricError(f"metric name {name[:40]!r}... is longer than 250 characters")
    return name
