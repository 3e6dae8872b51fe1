"""How an MLflow model version becomes a modeltrail version. Pure: values in, values out.

The reading side (`modeltrail.bot.integrations.mlflow_import`) fills the plain `Mlflow*`
values below from MLflow's client; everything that decides what they mean lives here.

Version numbers. MLflow numbers a registered model's versions 1, 2, 3, …; modeltrail uses
MAJOR.MINOR.PATCH. The rule is a template with `{N}` standing for MLflow's number:

    default "1.{N}.0":  MLflow version 1 → 1.1.0, 2 → 1.2.0, 10 → 1.10.0

It orders as MLflow does (1.10.0 > 1.9.0) and leaves the patch numbers free for versions
registered here natively between two imports (a `track()` run after 1.2.0 becomes 1.2.1; the
next MLflow version is still 1.3.0). `"{N}.0.0"` or `"2.{N}.0"` are other valid templates:
`{N}` must fill exactly one of the three parts and the others must be plain numbers.

Stages. MLflow aliases map to modeltrail stages by a configurable rule; the default is
`champion`, `production`, `prod` → production and `challenger`, `staging`, `candidate` →
staging (legacy MLflow stages "Production"/"Staging" count as the aliases of those names).
When several versions carry a production alias, the highest MLflow version wins, so a model
never has two. Other aliases are kept only in the `mlflow.aliases` tag. Imports mirror
decisions already taken in MLflow: the importer moves stages forward (never demotes), with
the promotion gate overridden and the reason "imported from MLflow alias NAME".

Identity. Every imported version carries the tags `mlflow.model_name`, `mlflow.version`,
`mlflow.run_id` (and the run's `mlflow.source.*`, `mlflow.user`, `mlflow.runName`); the pair
(`mlflow.model_name`, `mlflow.version`) is how a later import finds it again.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modeltrail.core.errors import ConfigError
from modeltrail.core.params import parse_cli_value
from modeltrail.core.records import Artifact, CodeState, DataSnapshot, Environment, VersionDraft

DEFAULT_VERSION_TEMPLATE = "1.{N}.0"
DEFAULT_ALIASES: Mapping[str, str] = {
    "champion": "production",
    "production": "production",
    "prod": "production",
    "challenger": "staging",
    "staging": "staging",
    "candidate": "staging",
}
TAG_MODEL = "mlflow.model_name"
TAG_VERSION = "mlflow.version"
TAG_RUN = "mlflow.run_id"
TAG_ALIASES = "mlflow.aliases"
TAG_STAGE = "mlflow.stage"
DESCRIPTION_NOTE = "MLflow description: "
# MLflow's own run tags worth keeping; the rest (mlflow.log-model.history, …) is bookkeeping.
_KEPT_SYSTEM_TAGS = ("mlflow.user", "mlflow.runName", "mlflow.parentRunId")
_STAGE_RANK = {"none": 0, "archived": 0, "staging": 1, "production": 2}
_MODEL_NAME_BAD = re.compile(r"[^A-Za-z0-9._/-]+")
_PART = re.compile(r"0|[1-9][0-9]*|\{N\}")


# -- the MLflow side, as plain values -----------------------------------------------------


@dataclass(frozen=True)
class MlflowDataset:
    """One dataset input of a run (MLflow's `DatasetInput`)."""

    name: str
    digest: str | None = None
    source_type: str | None = None
    source: str | None = None  # MLflow's JSON text, e.g. {"uri": "s3://…"}
    context: str | None = None  # the `mlflow.data.context` input tag: training, eval, …


@dataclass(frozen=True)
class MlflowRun:
    run_id: str
    experiment_id: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    # name -> [(step, value, timestamp in ms)], in any order
    metrics: Mapping[str, Sequence[tuple[int, float, int]]] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    datasets: tuple[MlflowDataset, ...] = ()
    user: str | None = None
    artifact_uri: str | None = None


@dataclass(frozen=True)
class MlflowVersion:
    model: str  # the registered model's name in MLflow
    version: int
    description: str | None = None
    aliases: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None
    run_id: str | None = None
    created_ms: int | None = None
    updated_ms: int | None = None
    current_stage: str | None = None  # MLflow's legacy stages: None, Staging, Production, …
    user_id: str | None = None
    run: MlflowRun | None = None
    requirements: str | None = None  # the logged model's requirements.txt
    python_env: str | None = None  # the logged model's python_env.yaml


# -- rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionRule:
    """MLflow version N → a semantic version, by a template such as `1.{N}.0`."""

    template: str = DEFAULT_VERSION_TEMPLATE

    @classmethod
    def parse(cls, template: str | None) -> VersionRule:
        text = (template or DEFAULT_VERSION_TEMPLATE).strip()
        parts = text.split(".")
        if len(parts) != 3 or not all(_PART.fullmatch(p) for p in parts) or parts.count("{N}") != 1:
            raise ConfigError(
                f"version template {text!r} is not valid",
                hint='use three dot-separated parts, one of them {N}: "1.{N}.0", "{N}.0.0"',
            )
        return cls(text)

    def semver(self, mlflow_version: int) -> str:
        if mlflow_version < 1:
            raise ConfigError(f"MLflow version {mlflow_version} is not a positive number")
        return self.template.replace("{N}", str(mlflow_version))


@dataclass(frozen=True)
class AliasRule:
    """Which MLflow alias means which modeltrail stage (names compared case-insensitively)."""

    stages: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ALIASES))

    @classmethod
    def parse(cls, text: str | Iterable[str] | None) -> AliasRule:
        """`"champion=production,challenger=staging"` (or a list of such pairs) replaces the
        default rule; None or empty keeps it. `none` as a stage ignores that alias."""
        if text is None:
            return cls()
        items = text.replace(";", ",").split(",") if isinstance(text, str) else list(text)
        pairs = [item.strip() for item in items if item.strip()]
        if not pairs:
            return cls()
        stages: dict[str, str] = {}
        for pair in pairs:
            alias, sep, stage = pair.partition("=")
            stage = stage.strip().lower()
            if not sep or not alias.strip() or stage not in ("production", "staging", "none"):
                raise ConfigError(
                    f"alias rule {pair!r} is not ALIAS=production|staging|none",
                    hint="e.g. champion=production,challenger=staging",
                )
            stages[alias.strip().lower()] = stage
        return cls(stages)

    def stage_for(self, alias: str) -> str | None:
        stage = self.stages.get(alias.strip().lower())
        return None if stage in (None, "none") else stage

    def describe(self) -> str:
        return ", ".join(f"{a}→{s}" for a, s in sorted(self.stages.items()))


def modeltrail_model_name(mlflow_name: str) -> str:
    """MLflow allows names modeltrail does not (spaces, `:`…): those runs become one `-`."""
    name = _MODEL_NAME_BAD.sub("-", mlflow_name.strip()).strip("-")
    if not name or not name[0].isalnum():
        name = f"m-{name}".rstrip("-")
    return name[:200]


def stage_aliases(version: MlflowVersion) -> tuple[str, ...]:
    """The version's aliases plus its legacy stage, lower-cased (a legacy stage counts as an
    alias of that name, so "Production" maps through the rule like `production`)."""
    names = [a.lower() for a in version.aliases]
    legacy = (version.current_stage or "").strip().lower()
    if legacy and legacy not in ("none", "archived") and legacy not in names:
        names.append(legacy)
    return tuple(names)


def wanted_stage(version: MlflowVersion, rule: AliasRule) -> tuple[str, str] | None:
    """(stage, alias) the version's aliases ask for — production over staging — or None."""
    best: tuple[str, str] | None = None
    for alias in stage_aliases(version):
        stage = rule.stage_for(alias)
        if stage is not None and (best is None or _STAGE_RANK[stage] > _STAGE_RANK[best[0]]):
            best = (stage, alias)
    return best


def plan_stages(versions: Iterable[MlflowVersion], rule: AliasRule) -> dict[int, tuple[str, str]]:
    """MLflow version number → (stage, alias) for every version an alias puts in a stage.

    At most one production: when several versions carry production aliases, the highest
    MLflow version keeps it and the others are left out (their aliases stay in the tags).
    """
    wanted = {v.version: w for v in versions if (w := wanted_stage(v, rule)) is not None}
    production = [n for n, (stage, _) in wanted.items() if stage == "production"]
    for loser in sorted(production)[:-1]:
        del wanted[loser]
    return wanted


def stage_move(current: str, wanted: str | None) -> str | None:
    """The stage to move to, or None: imports move forward only (none/staging/archived →
    staging/production), never demote what was decided here."""
    if wanted is None or current == wanted:
        return None
    if wanted == "staging" and current not in ("none", "archived"):
        return None
    return wanted


def known_aliases(tags: Mapping[str, str]) -> set[str]:
    """The aliases (and legacy stage) a version had when it was last imported, from its tags."""
    names = {a for a in tags.get(TAG_ALIASES, "").split(",") if a}
    legacy = tags.get(TAG_STAGE, "").strip().lower()
    if legacy and legacy not in ("none", "archived"):
        names.add(legacy)
    return names


def plan_stage_moves(
    wanted: Mapping[int, tuple[str, str]],
    *,
    previous_aliases: Mapping[int, set[str] | None],
    current: Mapping[int, str],
) -> list[tuple[int, str, str]]:
    """(MLflow version, stage, alias) moves to make, staging first and production last.

    Only versions that are here (`current`: MLflow version → stage here) move, and only for
    an alias that is new since the last import (`previous_aliases` None: imported just now),
    so a rollback or retirement done here is not undone by the next import.
    """
    moves = []
    for number, (stage, alias) in sorted(wanted.items()):
        if number not in current:
            continue
        previous = previous_aliases.get(number)
        if previous is not None and alias in previous:
            continue
        target = stage_move(current[number], stage)
        if target is not None:
            moves.append((number, target, alias))
    return sorted(moves, key=lambda m: (_STAGE_RANK[m[1]], m[0]))


# -- building the version -------------------------------------------------------------------


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
