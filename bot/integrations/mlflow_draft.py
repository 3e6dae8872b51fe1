"""What an MLflow version's run becomes in a modeltrail version (the draft registered), and
what a re-import changes on one imported before. Pure: values in, values out.

Params are read as the CLI reads `--param` values; metric histories keep their finite
points, ordered by step and time; dataset inputs become `uri` snapshots; the logged model's
requirements.txt and python_env.yaml become its environment. Which version number and stage
it gets is `mlflow_mapping`'s.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modeltrail.bot.integrations.mlflow_mapping import (
    TAG_ALIASES,
    TAG_MODEL,
    TAG_RUN,
    TAG_STAGE,
    TAG_VERSION,
    MlflowDataset,
    MlflowRun,
    MlflowVersion,
    VersionRule,
)
from modeltrail.core.params import parse_cli_value
from modeltrail.core.records import Artifact, CodeState, DataSnapshot, Environment, VersionDraft

DESCRIPTION_NOTE = "MLflow description: "
# MLflow's own run tags worth keeping; the rest (mlflow.log-model.history, …) is bookkeeping.
_KEPT_SYSTEM_TAGS = ("mlflow.user", "mlflow.runName", "mlflow.parentRunId")


@dataclass(frozen=True)
class MappedVersion:
    draft: VersionDraft
    warnings: tuple[str, ...] = ()


def identity_tags(version: MlflowVersion) -> dict[str, str]:
    tags = {TAG_MODEL: version.model, TAG_VERSION: str(version.version)}
    run_id = version.run_id or (version.run.run_id if version.run else None)
    if run_id:
        tags[TAG_RUN] = run_id
    return tags


def mutable_tags(version: MlflowVersion) -> dict[str, str]:
    """Tags that MLflow lets change after the version exists: its own tags and its aliases."""
    tags = {str(k): str(v) for k, v in version.tags.items()}
    tags[TAG_ALIASES] = ",".join(sorted(a.lower() for a in version.aliases))
    if version.current_stage and version.current_stage.lower() != "none":
        tags[TAG_STAGE] = version.current_stage
    return tags


def run_tags(run: MlflowRun | None) -> dict[str, str]:
    if run is None:
        return {}
    kept: dict[str, str] = {}
    for key, value in run.tags.items():
        if key.startswith("mlflow.source.") or key in _KEPT_SYSTEM_TAGS:
            kept[key] = _clean_url(value) if key.endswith("repoURL") else value
        elif not key.startswith("mlflow."):
            kept[key] = value
    if run.user and "mlflow.user" not in kept:
        kept["mlflow.user"] = run.user
    if run.experiment_id:
        kept["mlflow.experiment_id"] = run.experiment_id
    return kept


def build_draft(
    version: MlflowVersion,
    *,
    model: str,
    rule: VersionRule,
    tracking_uri: str | None = None,
) -> MappedVersion:
    """The modeltrail version an MLflow version becomes (not yet registered)."""
    warnings: list[str] = []
    run = version.run
    tags = run_tags(run)
    tags.update(mutable_tags(version))
    tags.update(identity_tags(version))
    if version.source:
        tags["mlflow.model_source"] = version.source
    if tracking_uri:
        tags["mlflow.tracking_uri"] = _clean_url(tracking_uri)
    if version.user_id and "mlflow.user" not in tags:
        tags["mlflow.user"] = version.user_id

    params: dict[str, Any] = {}
    points: dict[str, list[tuple[int, float, float]]] = {}
    data: tuple[DataSnapshot, ...] = ()
    code = None
    if run is not None:
        params = {key: parse_cli_value(value) for key, value in run.params.items()}
        points, dropped = metric_points(run.metrics)
        if dropped:
            warnings.append(
                f"{version.model} {version.version}: left out {dropped} NaN or infinite "
                "metric point(s), which modeltrail does not record"
            )
        data = data_snapshots(run.datasets)
        code = code_state(run.tags)
    description = version.description or (run.tags.get("mlflow.note.content") if run else None)
    artifacts = ()
    if version.source:
        artifacts = (
            Artifact(name="model", uri=_clean_url(version.source), digest=None, size=None),
        )
    draft = VersionDraft(
        model=model,
        params=params,
        metric_points=points,
        data=data,
        code=code,
        environment=environment(version.requirements, version.python_env),
        artifacts=artifacts,
        description=description or None,
        tags=tags,
        version=rule.semver(version.version),
    )
    return MappedVersion(draft, tuple(warnings))


def metric_points(
    metrics: Mapping[str, Sequence[tuple[int, float, int]]],
) -> tuple[dict[str, list[tuple[int, float, float]]], int]:
    """Histories ordered by (step, time) so the last point is MLflow's latest value; NaN and
    infinite points are dropped (and counted)."""
    out: dict[str, list[tuple[int, float, float]]] = {}
    dropped = 0
    for name, history in metrics.items():
        kept = []
        for step, value, stamp_ms in sorted(history, key=lambda p: (p[0], p[2])):
            number = float(value)
            if not math.isfinite(number):
                dropped += 1
                continue
            kept.append((int(step), number, stamp_ms / 1000.0))
        if kept:
            out[name] = kept
    return out, dropped


def data_snapshots(datasets: Iterable[MlflowDataset]) -> tuple[DataSnapshot, ...]:
    """Each dataset input as a `uri` snapshot named `{context}.{name}` (e.g. training.iris),
    its MLflow digest kept as `mlflow:<digest>` so a changed dataset shows in diffs."""
    snaps: dict[str, DataSnapshot] = {}
    for ds in datasets:
        role = f"{ds.context}.{ds.name}" if ds.context else ds.name
        if role in snaps:
            continue
        snaps[role] = DataSnapshot(
            role=role,
            path=_dataset_location(ds),
            kind="uri",
            digest=f"mlflow:{ds.digest}" if ds.digest else None,
            size=None,
            file_count=None,
        )
    return tuple(snaps.values())


def _dataset_location(ds: MlflowDataset) -> str:
    if ds.source:
        try:
            source = json.loads(ds.source)
        except ValueError:
            source = None
        if isinstance(source, Mapping):
            for key in ("uri", "url", "path", "table_name", "path_or_uri"):
                value = source.get(key)
                if isinstance(value, str) and value:
                    return _clean_url(value)
        elif isinstance(source, str) and source:
            return _clean_url(source)
    kind = ds.source_type or "dataset"
    return f"mlflow-dataset:{kind}/{ds.name}"


def code_state(tags: Mapping[str, str]) -> CodeState | None:
    """The git facts MLflow recorded (`mlflow.source.git.*`); None without a commit. MLflow
    does not record whether the tree was dirty, so it is recorded as clean."""
    commit = tags.get("mlflow.source.git.commit")
    if not commit:
        return None
    remote = tags.get("mlflow.source.git.repoURL")
    return CodeState(
        repo_root="",
        commit=commit,
        branch=tags.get("mlflow.source.git.branch") or None,
        remote_url=_clean_url(remote) if remote else None,
        dirty=False,
    )


def parse_requirements(text: str) -> dict[str, str]:
    """Pinned `name==version` lines of a requirements.txt (others, options and comments are
    skipped: an environment records what was installed, not ranges)."""
    from packaging.requirements import InvalidRequirement, Requirement

    packages: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        pins = [s.version for s in req.specifier if s.operator in ("==", "===")]
        if len(pins) == 1 and "*" not in pins[0]:
            packages[req.name] = pins[0]
    return packages


def parse_python_env(text: str) -> tuple[str | None, dict[str, str]]:
    """(python version, pinned dependencies) from MLflow's python_env.yaml."""
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None, {}
    if not isinstance(doc, Mapping):
        return None, {}
    python = doc.get("python")
    deps = [d for d in doc.get("dependencies") or [] if isinstance(d, str)]
    return (str(python) if python is not None else None), parse_requirements("\n".join(deps))


def environment(requirements: str | None, python_env: str | None) -> Environment | None:
    """The environment the logged model declares; None when it declares nothing."""
    if requirements is None and python_env is None:
        return None
    from modeltrail.core.capture.environment import environment_from_parts

    python, packages = parse_python_env(python_env) if python_env is not None else (None, {})
    if requirements is not None:
        packages.update(parse_requirements(requirements))
    return environment_from_parts(python_version=python or "unknown", packages=packages)


# -- updates of versions imported before ----------------------------------------------------


@dataclass(frozen=True)
class UpdatePlan:
    """What a re-import changes on a version that exists here already."""

    set_tags: Mapping[str, str] = field(default_factory=dict)
    note: str | None = None

    @property
    def is_empty(self) -> bool:
        return not self.set_tags and self.note is None


def plan_update(
    version: MlflowVersion,
    *,
    tags: Mapping[str, str],
    description: str | None,
    notes: Sequence[str],
) -> UpdatePlan:
    """Tags MLflow changed since the last import and, when MLflow's description changed, a
    note with the new one. Tags removed in MLflow stay here (the history keeps them)."""
    changed = {k: v for k, v in mutable_tags(version).items() if tags.get(k) != v}
    note = None
    wanted = (version.description or "").strip()
    if wanted:
        known = [n[len(DESCRIPTION_NOTE) :] for n in notes if n.startswith(DESCRIPTION_NOTE)]
        last = known[-1] if known else (description or "")
        if wanted != last.strip():
            note = DESCRIPTION_NOTE + wanted
    return UpdatePlan(changed, note)


def _clean_url(url: str) -> str:
    from modeltrail.core.capture.git import strip_credentials

    return strip_credentials(url)
