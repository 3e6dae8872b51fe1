"""The registry tools that judge metrics: the best versions by a metric's goal, where a
metric regressed against the parent version, and how a version is doing live.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from modeltrail.core.errors import InvalidMetricError
from modeltrail.core.records import Metric
from modeltrail.core.registry.tool_base import LIST_CAP, MATCH_CAP, ToolBase, find_model_id
from modeltrail.core.serialize import iso

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class MetricTools(ToolBase):
    """A mixin of `RegistryTools`: rankings, regressions and live monitoring by metric."""

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
        from sqlalchemy import func, select

        from modeltrail.core.store import schema

        v, m = schema.versions, schema.metrics
        value = m.c.value.desc() if highest else m.c.value.asc()
        with self.registry.engine.connect() as conn:
            model_id = find_model_id(conn, model)
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

    def metric_regressions(self, model: str, metric: str | None = None) -> dict[str, Any]:
        """Each version against its parent, oldest first: where did `metric` (or any metric)
        regress beyond its tolerance? The verdicts are `diff_versions`' own."""
        specs = self.registry.metric_specs(model)
        if metric is not None and metric not in specs:
            raise InvalidMetricError(
                f"{model} has no metric {metric!r}",
                hint="its metrics: " + (", ".join(sorted(specs)) or "none recorded"),
            )
        from sqlalchemy import select

        from modeltrail.core.diff.sections import diff_metrics
        from modeltrail.core.store import schema

        v, m = schema.versions, schema.metrics
        with self.registry.engine.connect() as conn:
            model_id = find_model_id(conn, model)
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
