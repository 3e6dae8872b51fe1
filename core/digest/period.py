"""What happened in a period, per model, as plain data.

`model_digest` is pure: it takes the model's records, lifecycle state and audit events (values)
and a `Window`, and says what was registered (with the diff against its parent), promoted,
rolled back, retired or archived by retention, which versions were in production and golden
at the period's end, how the key metrics moved over the last versions, and which findings
the new versions raised. `load_digest` is the thin shell that reads those values from the
registry. Nothing here formats prose: the templates do (templates/digest.*.j2).

Everything is reconstructed from history (stage changes, the audit trail), so a digest for a
past period reads the same whenever it is built: a retried email says what the first attempt
would have said.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from modeltrail.core.diff.engine import Finding, VersionDiff, diff_versions
from modeltrail.core.digest.schedule import Window
from modeltrail.core.lifecycle.rules import ModelState, production_at
from modeltrail.core.metrics import default_metric_spec
from modeltrail.core.records import AuditEvent, MetricSpec, VersionRecord
from modeltrail.core.versioning import SemVer

if TYPE_CHECKING:
    from modeltrail.core.registry.writer import Registry

TREND_VERSIONS = 8  # versions per metric chart
KEY_METRICS = 3  # charts per model
FINDING_SEVERITIES = ("critical", "warning")  # info findings stay out of the digest


@dataclass(frozen=True)
class NewVersion:
    version: str
    created_at: dt.datetime
    actor: str
    description: str | None
    parent: str | None
    diff: VersionDiff | None  # against the parent; None for a first version
    metrics: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Promotion:
    """A version moved to production (or staging)."""

    version: str
    to_stage: str
    at: dt.datetime
    actor: str
    reason: str | None
    previous: str | None = None  # the production version it superseded
    forced: bool = False
    overridden: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class Rollback:
    from_version: str
    to_version: str | None
    at: dt.datetime
    actor: str
    reason: str | None


@dataclass(frozen=True)
class Retirement:
    """A version archived by hand (`retired`) or by retention (`retention`)."""

    version: str
    kind: str
    at: dt.datetime
    actor: str
    reason: str | None


@dataclass(frozen=True)
class GoldenChange:
    version: str
    previous: str | None
    at: dt.datetime
    actor: str
    reason: str | None


@dataclass(frozen=True)
class TrendPoint:
    version: str
    value: float
    production: bool = False  # in production at the period's end
    golden: bool = False  # the golden version at the period's end
    new: bool = False  # registered in the period


@dataclass(frozen=True)
class MetricTrend:
    """A key metric over the last versions (oldest first) registered before the period ended."""

    metric: str
    goal: str
    points: tuple[TrendPoint, ...]

    @property
    def first(self) -> TrendPoint:
        return self.points[0]

    @property
    def last(self) -> TrendPoint:
        return self.points[-1]

    @property
    def best(self) -> TrendPoint:
        pick = max if self.goal == "maximize" else min
        return pick(self.points, key=lambda p: p.value)


@dataclass(frozen=True)
class VersionFinding:
    version: str
    against: str
    finding: Finding


@dataclass(frozen=True)
class MonitorAlert:
    """A production-monitoring alert raised in the period (drift, skew or decay)."""

    version: str | None
    at: dt.datetime
    condition: str  # drift:COLUMN | skew:COLUMN | decay:METRIC
    level: str
    magnitude: float | None


@dataclass(frozen=True)
class ModelDigest:
    model: str
    new_versions: tuple[NewVersion, ...] = ()  # oldest first
    promotions: tuple[Promotion, ...] = ()
    rollbacks: tuple[Rollback, ...] = ()
    retirements: tuple[Retirement, ...] = ()
    golden_changes: tuple[GoldenChange, ...] = ()
    production: str | None = None  # at the period's end
    golden: str | None = None  # at the period's end
    trends: tuple[MetricTrend, ...] = ()
    findings: tuple[VersionFinding, ...] = ()  # most severe first
    alerts: tuple[MonitorAlert, ...] = ()  # production monitoring, oldest first

    @property
    def quiet(self) -> bool:
        return not (
            self.new_versions
            or self.promotions
            or self.rollbacks
            or self.retirements
            or self.golden_changes
            or self.alerts
        )

    @property
    def regressions(self) -> tuple[VersionFinding, ...]:
        return tuple(f for f in self.findings if f.finding.kind == "metric_regression")


@dataclass(frozen=True)
class Digest:
    window: Window
    models: tuple[ModelDigest, ...]  # by name
    generated_at: dt.datetime

    @property
    def active(self) -> tuple[ModelDigest, ...]:
        return tuple(m for m in self.models if not m.quiet)

    @property
    def quiet_models(self) -> tuple[ModelDigest, ...]:
        return tuple(m for m in self.models if m.quiet)

    @property
    def quiet(self) -> bool:
        return not self.active

    def count(self, what: str) -> int:
        """Totals over every model: new_versions, promotions, rollbacks, retirements,
        golden_changes, findings, regressions."""
        return sum(len(getattr(m, what)) for m in self.models)

    @property
    def counts(self) -> dict[str, int]:
        return {
            name: self.count(name)
            for name in (
                "new_versions",
                "promotions",
                "rollbacks",
                "retirements",
                "golden_changes",
                "findings",
                "regressions",
            )
        }

    def only(self, models: Iterable[str] | None) -> Digest:
        """The same digest restricted to `models` (None: all of them)."""
        if models is None:
            return self
        wanted = set(models)
        return replace(self, models=tuple(m for m in self.models if m.model in wanted))


# -- the pure part -----------------------------------------------------------------------------


def model_digest(
    model: str,
    window: Window,
    records: Sequence[VersionRecord],
    state: ModelState,
    events: Sequence[AuditEvent],
    *,
    specs: Mapping[str, MetricSpec] | None = None,
    trend_versions: int = TREND_VERSIONS,
    key_metrics: int = KEY_METRICS,
) -> ModelDigest:
    """What happened to `model` in `window`.

    `records` must hold the versions registered in the window, their parents, and the last
    `trend_versions` versions registered before the window's end (more is fine); `events` the
    model's audit events (any order, any period: the window is applied here).
    """
    by_version = {r.version: r for r in records}
    in_window = sorted(
        (r for r in records if window.contains(r.created_at)),
        key=lambda r: SemVer.parse(r.version),
    )
    ordered = sorted(events, key=lambda e: e.seq)
    production = production_at(state, window.end - dt.timedelta(microseconds=1))
    golden = golden_at(ordered, window.end)

    new_versions = []
    findings: list[VersionFinding] = []
    for record in in_window:
        parent = by_version.get(record.parent) if record.parent else None
        diff = diff_versions(parent, record) if parent is not None else None
        new_versions.append(
            NewVersion(
                record.version,
                record.created_at,
                record.actor,
                record.description,
                record.parent,
                diff,
                record.metric_values(),
            )
        )
        if diff is not None:
            findings.extend(
                VersionFinding(record.version, parent.version, f)  # type: ignore[union-attr]
                for f in dict.fromkeys(diff.findings)
                if f.severity in FINDING_SEVERITIES
            )
    findings.sort(key=lambda f: FINDING_SEVERITIES.index(f.finding.severity))

    promotions, rollbacks, retirements, goldens = _moves(
        [e for e in ordered if window.contains(e.created_at)]
    )
    trends = metric_trends(
        [r for r in records if r.created_at < window.end],
        production=production,
        golden=golden,
        window=window,
        specs=specs or {},
        versions=trend_versions,
        limit=key_metrics,
    )
    return ModelDigest(
        model=model,
        new_versions=tuple(new_versions),
        promotions=promotions,
        rollbacks=rollbacks,
        retirements=retirements,
        golden_changes=goldens,
        production=production,
        golden=golden,
        trends=trends,
        findings=tuple(findings),
        alerts=monitor_alerts(e for e in ordered if window.contains(e.created_at)),
    )


def monitor_alerts(events: Iterable[AuditEvent]) -> tuple[MonitorAlert, ...]:
    """The alerts that production monitoring raised, from its audit events."""
    found = []
    for event in events:
        if event.action != "monitor" or not event.after:
            continue
        details = event.after.get("alert_details")
        if details is None:  # events written before details were recorded
            details = [{"condition": c} for c in event.after.get("alerts", ())]
        for alert in details:
            magnitude = alert.get("magnitude")
            found.append(
                MonitorAlert(
                    event.version,
                    event.created_at,
                    str(alert.get("condition", "")),
                    str(alert.get("level", "alert")),
                    float(magnitude) if isinstance(magnitude, int | float) else None,
                )
            )
    return tuple(found)


def golden_at(events: Sequence[AuditEvent], moment: dt.datetime) -> str | None:
    """The golden version at `moment`, replayed from the audit trail (oldest first)."""
    current = None
    for event in events:
        if event.created_at >= moment:
            break
        if event.action == "golden" and event.after:
            current = event.after.get("golden")
    return current


def _moves(
    events: Sequence[AuditEvent],
) -> tuple[
    tuple[Promotion, ...], tuple[Rollback, ...], tuple[Retirement, ...], tuple[GoldenChange, ...]
]:
    """Classify the period's stage events (oldest first) by the action that caused them."""
    promotions: list[Promotion] = []
    rollbacks: list[Rollback] = []
    retirements: list[Retirement] = []
    goldens: list[GoldenChange] = []
    superseded: dict[tuple[dt.datetime, str], str] = {}  # (time, actor) -> archived production
    pending_rollback: dict[tuple[dt.datetime, str], AuditEvent] = {}
    for event in events:
        after: Mapping[str, Any] = event.after or {}
        before: Mapping[str, Any] = event.before or {}
        stamp = (event.created_at, event.actor)
        if event.action in ("promote", "stage") and event.version:
            if after.get("stage") == "archived":
                superseded[stamp] = event.version
                continue
            promotions.append(
                Promotion(
                    event.version,
                    str(after.get("stage", "production")),
                    event.created_at,
                    event.actor,
                    event.reason,
                    previous=superseded.pop(stamp, None),
                    forced=bool(after.get("forced")),
                    overridden=tuple(
                        Finding(o["kind"], o["severity"], o["message"])
                        for o in after.get("overridden", ())
                    ),
                )
            )
        elif event.action == "rollback" and event.version:
            if after.get("stage") == "archived" and before.get("stage") == "production":
                pending_rollback[stamp] = event
                continue
            first = pending_rollback.pop(stamp, None)
            rollbacks.append(
                Rollback(
                    first.version if first and first.version else "?",
                    event.version,
                    event.created_at,
                    event.actor,
                    first.reason if first else event.reason,
                )
            )
        elif event.action in ("retire", "retention") and event.version:
            kind = "retired" if event.action == "retire" else "retention"
            retirements.append(
                Retirement(event.version, kind, event.created_at, event.actor, event.reason)
            )
        elif event.action == "golden" and event.version:
            goldens.append(
                GoldenChange(
                    event.version, before.get("golden"), event.created_at, event.actor, event.reason
                )
            )
    # A rollback whose restoring half is missing still happened.
    rollbacks.extend(
        Rollback(e.version or "?", None, e.created_at, e.actor, e.reason)
        for e in pending_rollback.values()
    )
    return tuple(promotions), tuple(rollbacks), tuple(retirements), tuple(goldens)


def choose_key_metrics(
    records: Sequence[VersionRecord], specs: Mapping[str, MetricSpec], limit: int = KEY_METRICS
) -> list[str]:
    """The metrics worth a chart: those of the newest version, goals set per model first,
    then names whose goal is known (auc, loss, …), then the most often logged."""
    if not records or limit <= 0:
        return []
    newest = max(records, key=lambda r: SemVer.parse(r.version))
    seen: dict[str, int] = {}
    for record in records:
        for name in record.metrics:
            seen[name] = seen.get(name, 0) + 1

    def rank(name: str) -> tuple[int, int, str]:
        spec, default = specs.get(name), default_metric_spec(name)
        chosen = spec is not None and (spec.goal != default.goal or spec.tolerance > 0)
        return (0 if chosen else 1 if _known_goal(name) else 2, -seen.get(name, 0), name)

    return sorted(newest.metrics, key=rank)[:limit]


def _known_goal(name: str) -> bool:
    from modeltrail.core.metrics import _MAXIMIZE, _MINIMIZE, _WORD

    return any(word in _MINIMIZE or word in _MAXIMIZE for word in _WORD.findall(name.lower()))


def metric_trends(
    records: Sequence[VersionRecord],
    *,
    production: str | None,
    golden: str | None,
    window: Window,
    specs: Mapping[str, MetricSpec],
    versions: int = TREND_VERSIONS,
    limit: int = KEY_METRICS,
) -> tuple[MetricTrend, ...]:
    """Key metrics over the last `versions` records (semantic order, oldest first)."""
    recent = sorted(records, key=lambda r: SemVer.parse(r.version))[-versions:]
    trends = []
    for name in choose_key_metrics(recent, specs, limit):
        points = tuple(
            TrendPoint(
                r.version,
                r.metrics[name].value,
                production=r.version == production,
                golden=r.version == golden,
                new=window.contains(r.created_at),
            )
            for r in recent
            if name in r.metrics
        )
        spec = specs.get(name) or default_metric_spec(name)
        trends.append(MetricTrend(name, spec.goal, points))
    return tuple(trends)


# -- the loader ----------------------------------------------------------------------------------


def load_digest(
    registry: Registry,
    window: Window,
    *,
    models: Sequence[str] | None = None,
    now: dt.datetime | None = None,
    trend_versions: int = TREND_VERSIONS,
) -> Digest:
    """Read what `model_digest` needs for each model (default: every model) and build it."""
    names = list(models) if models is not None else [m.name for m in registry.list_models()]
    digests = []
    for name in sorted(names):
        summaries = registry.list_versions(name)
        before_end = [s for s in summaries if s.created_at < window.end]
        wanted = {s.version for s in before_end[:trend_versions]}  # newest first
        new = [s.version for s in summaries if window.contains(s.created_at)]
        wanted.update(new)
        records = registry.load_many(name, sorted(wanted)) if wanted else []
        parents = {r.parent for r in records if r.version in new and r.parent} - wanted
        if parents:
            records += registry.load_many(name, sorted(parents))
        digests.append(
            model_digest(
                name,
                window,
                records,
                registry.model_state(name),
                registry.audit_log(name),
                specs=registry.metric_specs(name),
                trend_versions=trend_versions,
            )
        )
    return Digest(window, tuple(digests), now or window.end)
