"""Metric goals: which direction is better, by name, and validation of logged values."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable

from modeltrail.core.errors import InvalidMetricError
from modeltrail.core.records import MetricSpec

# The goals a metric's name implies, by its words (`val_loss`, `p95_latency_ms`, `roc_auc`).
_MINIMIZE = ("loss", "error", "mae", "mse", "rmse", "latency", "time", "perplexity", "wer")
_MAXIMIZE = (
    "accuracy",
    "acc",
    "auc",
    "f1",
    "precision",
    "recall",
    "r2",
    "map",
    "ndcg",
    "bleu",
    "iou",
    "throughput",
)
# Counts are facts about the run (`n_rows`, `num_samples`, `row_count`), not scores.
_COUNT_FIRST = ("n", "num")
_COUNT_WORDS = ("count", "rows", "samples", "support", "nrows")
_WORD = re.compile(r"[a-z0-9]+")


# Cached: a record's every metric asks, on every load (a read API answer, each diff), and the
# answer depends on the name alone (MetricSpec is frozen).
@functools.lru_cache(maxsize=4096)
def default_metric_spec(name: str) -> MetricSpec:
    """The goal a metric has when none is set, from its name: words of `_MINIMIZE` minimise,
    of `_MAXIMIZE` maximise (the last such word decides). A count-like name (`n_*`, `num_*`,
    `*_count`, `rows`, `samples`, …) or a name that matches neither list is informational
    (goal "none"): shown and diffed, never a regression. Teams set the goal per model when
    the guess is wrong (`modeltrail goal`)."""
    words = _WORD.findall(name.lower())
    if (words and words[0] in _COUNT_FIRST) or any(w in _COUNT_WORDS for w in words):
        return MetricSpec(name=name, goal="none", origin="name")
    for word in reversed(words):
        if word in _MINIMIZE:
            return MetricSpec(name=name, goal="minimize", origin="name")
        if word in _MAXIMIZE:
            return MetricSpec(name=name, goal="maximize", origin="name")
    return MetricSpec(name=name, goal="none", origin="name")


def metric_specs(
    names: Iterable[str], goals: Iterable[tuple[str, str, float | None]]
) -> dict[str, MetricSpec]:
    """A model's metric goals: each name's default from its words, overridden by the goals
    set for the model (`(name, goal, tolerance)` rows of metric_goals)."""
    specs = {name: default_metric_spec(name) for name in names}
    for name, goal, tolerance in goals:
        specs[name] = MetricSpec(name=name, goal=goal, tolerance=tolerance)  # type: ignore[arg-type]
    return specs


class CheckedPoints(list):  # type: ignore[type-arg]
    """A metric's history as the tracking client hands it over: every point was checked as
    it was logged (`Run.log_metric`: int step, finite float value, float time), so the
    registry takes it as it is instead of checking a million points twice."""

    __slots__ = ()


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
