"""What changed between two model versions: `diff_versions(old, new) -> VersionDiff`.

Pure: records in, values out; no database, no git, no clock. When the caller has the
repository at hand it reads the commits between the two versions (`CodeHistory`) and passes it
in. The values live in `diff_types`, the section logic in `diff_sections` and
`diff_environment`, findings and the suggested bump in `diff_findings`; everything public is
re-exported here.

Inverse: `diff_versions(b, a)` mirrors `diff_versions(a, b)` section by section (added ↔
removed, old ↔ new, improved ↔ regressed, deltas negated, relative deltas recomputed against
the other side) as long as both versions judge shared metrics by the same spec. Findings and
the bump are not mirrored: some describe one side (a dirty tree, missing lineage, a
`breaking` tag on the new version).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from modeltrail.core.diff.environment import diff_artifacts, diff_environment
from modeltrail.core.diff.findings import (
    BREAKING_TAG,
    FINDING_KINDS,
    SCHEMA_TAGS,
    find,
    suggest_bump,
)
from modeltrail.core.diff.sections import diff_code, diff_data, diff_metrics, diff_params
from modeltrail.core.diff.types import (
    FILE_LIST_CAP,
    ArtifactChange,
    BumpSuggestion,
    CodeChange,
    DataChange,
    EnvironmentChange,
    FieldChange,
    Finding,
    MetricChange,
    PackageChange,
    ParamChange,
    ParamsDiff,
    VersionDiff,
)
from modeltrail.core.records import CodeHistory, VersionRecord

__all__ = [
    "BREAKING_TAG",
    "FILE_LIST_CAP",
    "FINDING_KINDS",
    "SCHEMA_TAGS",
    "ArtifactChange",
    "BumpSuggestion",
    "CodeChange",
    "DataChange",
    "EnvironmentChange",
    "FieldChange",
    "Finding",
    "MetricChange",
    "PackageChange",
    "ParamChange",
    "ParamsDiff",
    "VersionDiff",
    "diff_versions",
]


def diff_versions(
    old: VersionRecord,
    new: VersionRecord,
    code_history: CodeHistory | None = None,
    dvc_commits: Mapping[str, str] | None = None,
) -> VersionDiff:
    """Compare two versions. `code_history`, when given, must run from `old`'s commit to
    `new`'s (a `UsageError` otherwise). `dvc_commits` maps a `.dvc` file or dvc.lock path to
    the commit between the two that last changed it (read from git by the caller)."""
    params = diff_params(old.params, new.params)
    metrics = diff_metrics(old.metrics, new.metrics, old.metric_specs, new.metric_specs)
    data = _with_dvc_commits(diff_data(old.data, new.data), new, dvc_commits or {})
    code = diff_code(old.code, new.code, code_history)
    environment = diff_environment(old.environment, new.environment)
    artifacts = diff_artifacts(old.artifacts, new.artifacts)
    return VersionDiff(
        model=new.model,
        old_version=old.version,
        new_version=new.version,
        params=params,
        metrics=metrics,
        data=data,
        code=code,
        environment=environment,
        artifacts=artifacts,
        findings=find(old, new, params, metrics, data, code, environment, artifacts),
        suggested_bump=suggest_bump(old, new, params, data, code, environment),
    )


def _with_dvc_commits(
    data: tuple[DataChange, ...], new: VersionRecord, known: Mapping[str, str]
) -> tuple[DataChange, ...]:
    """Name the commit of each change made through DVC: the one git says last touched its
    `.dvc`/dvc.lock, else the new version's commit when that file was committed there."""
    out = []
    for d in data:
        if d.via_dvc and d.dvc_source:
            commit = known.get(d.dvc_source)
            code = new.code
            if commit is None and code is not None and d.dvc_source not in code.dirty_files:
                commit = code.commit
            d = dataclasses.replace(d, dvc_commit=commit)
        out.append(d)
    return tuple(out)
