"""What an MLflow version's run becomes in a modeltrail version (the draft registered), and
what a re-import changes on one imported before. Pure: values in, values out.

Params (MLflow keeps every one as text) become numbers, booleans, null or lists of them when
the text is exactly such a JSON value; anything else — a JSON object, `NaN`, `Infinity`,
words — stays the text. Metric histories keep their finite points, ordered by step and time;
an MLflow 3 LoggedModel adds its own params, metrics and tags (the model's win over its
run's). Dataset inputs become `uri` snapshots; the logged model's requirements.txt and
python_env.yaml become its environment. The version keeps MLflow's creation time and user.
Which version number and stage it gets is `mlflow_mapping`'s.
"""

from __future__ import annotations

import datetime as dt
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
    MlflowLoggedModel,
    MlflowRun,
    MlflowVersion,
    VersionRule,
)
from modeltrail.core.records import Artifact, CodeState, DataSnapshot, Environment, VersionDraft

DESCRIPTION_NOTE = "MLflow description: "
# MLflow's own run tags worth keeping; the rest (mlflow.log-model.history, …) is bookkeeping.
_KEPT_SYSTEM_TAGS = ("mlflow.user", "mlflow.runName", "mlflow.parentRunId")
TAG_MODEL_DESCRIPTION = "mlflow.registered_model.description"
TAG_MODEL_TAG = "mlflow.registered_model.tag."  # + the registered model's tag key
MAX_TAG_KEY = 250


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
    kept = _kept_tags(run.tags)
    if run.user and "mlflow.user" not in kept:
        kept["mlflow.user"] = run.user
    if run.experiment_id:
        kept["mlflow.experiment_id"] = run.experiment_id
    if run.artifact_uri:
        kept["mlflow.run.artifact_uri"] = _clean_url(run.artifact_uri)
    for key, stamp in (
        ("mlflow.run.start_time", run.start_ms),
        ("mlflow.run.end_time", run.end_ms),
    ):
        if stamp:
            kept[key] = _from_ms(stamp).isoformat(timespec="milliseconds")
    return kept


def _kept_tags(tags: Mapping[str, str]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for key, value in tags.items():
        if key.startswith("mlflow.source.") or key in _KEPT_SYSTEM_TAGS:
            kept[key] = _clean_url(value) if key.endswith("repoURL") else value
        elif not key.startswith("mlflow."):
            kept[key] = value
    return kept


def logged_model_tags(model: MlflowLoggedModel | None) -> dict[str, str]:
    """The LoggedModel's own tags (as a run's are kept) and where its files are."""
    if model is None:
        return {}
    kept = _kept_tags(model.tags)
    kept["mlflow.logged_model.id"] = model.model_id
    if model.name:
        kept["mlflow.logged_model.name"] = model.name
    if model.artifact_location:
        kept["mlflow.logged_model.artifact_location"] = _clean_url(model.artifact_location)
    return kept


def registered_model_tags(version: MlflowVersion) -> dict[str, str]:
    """The registered model's description and tags, as MLflow had them at the import."""
    kept = {TAG_MODEL_TAG + str(k): str(v) for k, v in version.model_tags.items()}
    if version.model_description:
        kept[TAG_MODEL_DESCRIPTION] = version.model_description
    return kept


def param_value(text: str) -> Any:
    """An MLflow param (always text) as modeltrail records it: the JSON number, boolean,
    null or list the text is; otherwise the text itself — a JSON object stays one param,
    and `NaN`/`Infinity` (which JSON cannot hold) stay words."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text
    return value if _plain_scalar_or_list(value) else text


def _plain_scalar_or_list(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_plain_scalar_or_list(item) for item in value)
    return False  # strings ('"x"' is not the text x), objects


def version_time(version: MlflowVersion) -> dt.datetime | None:
    """When MLflow made the version: its creation time, else its run's end or start."""
    run = version.run
    for stamp in (version.created_ms, run.end_ms if run else None, run.start_ms if run else None):
        if stamp:
            return _from_ms(stamp)
    return None


def version_user(version: MlflowVersion, tags: Mapping[str, str]) -> str | None:
    """Who made the version in MLflow: the version's user, else the run's `mlflow.user`."""
    for name in (
        version.user_id,
        tags.get("mlflow.user"),
        version.run.user if version.run else None,
    ):
        if name and name.strip():
            return name.strip()
    return None


def build_draft(
    version: MlflowVersion,
    *,
    model: str,
    rule: VersionRule,
    tracking_uri: str | None = None,
) -> MappedVersion:
    """The modeltrail version an MLflow version becomes (not yet registered)."""
    warnings: list[str] = []
    label = f"{version.model} {version.version}"
    run, logged = version.run, version.logged_model
    tags = registered_model_tags(version)
    tags.update(run_tags(run))
    for key, value in logged_model_tags(logged).items():
        # The model's own tags win, but the run says who trained it and from which source.
        if not (key.startswith("mlflow.") and key in tags):
            tags[key] = value
    tags.update(mutable_tags(version))
    tags.update(identity_tags(version))
    if version.source:
        tags["mlflow.model_source"] = _clean_url(version.source)
    if tracking_uri:
        tags["mlflow.tracking_uri"] = _clean_url(tracking_uri)
    user = version_user(version, tags)
    if user and "mlflow.user" not in tags:
        tags["mlflow.user"] = user
    too_long = sorted(k for k in tags if len(k) > MAX_TAG_KEY)
    for key in too_long:
        del tags[key]
    if too_long:
        warnings.append(f"{label}: left out {len(too_long)} tag(s) with names over 250 characters")

    params = {key: param_value(value) for key, value in (run.params if run else {}).items()}
    # A LoggedModel's params and metrics describe the model itself: they win over its run's.
    params.update(
        {key: param_value(value) for key, value in (logged.params if logged else {}).items()}
    )
    histories = dict(run.metrics) if run else {}
    for name, history in (logged.metrics if logged else {}).items():
        if name not in histories:
            histories[name] = history
    points, dropped = metric_points(histories)
    if dropped:
        warnings.append(
            f"{label}: left out {dropped} NaN or infinite metric point(s), which modeltrail "
            "does not record"
        )
    data = data_snapshots(run.datasets) if run else ()
    code = code_state(run.tags) if run else None
    if version.environment_error:
        warnings.append(f"{label}: the environment could not be read ({version.environment_error})")
    description = version.description or (run.tags.get("mlflow.note.content") if run else None)
    artifacts = ()
    location = (logged.artifact_location if logged else None) or version.source
    if location:
        artifacts = (Artifact(name="model", uri=_clean_url(location), digest=None, size=None),)
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
        actor=user,
        created_at=version_time(version),
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
        except (ValueError, RecursionError):  # not JSON, or nested beyond reason
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
    """(python version, pinned dependencies) from MLflow's python_env.yaml. A file that does
    not parse declares nothing; one over the limits (an anchor bomb, deep nesting) is refused
    with FileLimitError, so the version is not imported from it."""
    from modeltrail.core.errors import FileLimitError, UsageError
    from modeltrail.core.safe_files import load_yaml

    try:
        doc = load_yaml(text, "MLflow's python_env.yaml")
    except FileLimitError:
        raise
    except UsageError:
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


def _from_ms(stamp: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(stamp / 1000.0, dt.UTC)


def _clean_url(url: str) -> str:
    from modeltrail.core.capture.git import strip_credentials

    return strip_credentials(url)
