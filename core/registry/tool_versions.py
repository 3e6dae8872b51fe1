"""The registry tools that look versions up: the models, a model's versions, everything
recorded for one version, and what changed between two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modeltrail.core.registry.tool_base import LIST_CAP, ToolBase
from modeltrail.core.serialize import iso

if TYPE_CHECKING:
    from modeltrail.core.diff.engine import VersionDiff


class VersionTools(ToolBase):
    """A mixin of `RegistryTools`: the version lookups and comparisons."""

    # -- helpers (not tools) ----------------------------------------------------------------

    def diff(self, model: str, old: str | None = None, new: str | None = None) -> VersionDiff:
        """The diff behind `compare_versions`: refs resolved, then as `modeltrail diff`."""
        # Imported here: only the questions that compare versions need the diff engine.
        from modeltrail.core.registry.compare import compare, resolve_pair

        first = self.resolve(model, old) if old else None
        second = self.resolve(model, new) if new else None
        if first is None and second is not None:
            first, second = second, None
        old_version, new_version = resolve_pair(self.registry, model, first, second)
        return compare(self.registry, model, old_version, new_version, git=False)

    # -- tools --------------------------------------------------------------------------------

    def list_models(self) -> dict[str, Any]:
        golden = dict(
            self._rows(
                "SELECT m.name, v.version FROM models m JOIN versions v "
                "ON v.id = m.golden_version_id"
            )
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
        golden = self._golden(self._model(model))
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

    def compare_versions(
        self, model: str, old: str | None = None, new: str | None = None
    ) -> dict[str, Any]:
        return diff_to_dict(self.diff(model, old, new))


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
