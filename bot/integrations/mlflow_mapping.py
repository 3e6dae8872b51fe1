"""How an MLflow model version becomes a modeltrail version: the names, numbers and stages.
Pure: values in, values out.

The reading side (`modeltrail.bot.integrations.mlflow_source`) fills the plain `Mlflow*`
values below from MLflow's client; what they mean lives here and, for the version's contents
(params, metrics, tags, data, environment), in `mlflow_draft`.

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

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from modeltrail.core.errors import ConfigError

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
    start_ms: int | None = None
    end_ms: int | None = None


@dataclass(frozen=True)
class MlflowLoggedModel:
    """An MLflow 3 LoggedModel (`models:/m-…`): the model's own params, metrics and tags."""

    model_id: str
    name: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    # name -> [(step, value, timestamp in ms)]; metrics logged against a dataset are named
    # `{name}.{dataset}` when the same name was logged against several
    metrics: Mapping[str, Sequence[tuple[int, float, int]]] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    source_run_id: str | None = None
    artifact_location: str | None = None
    created_ms: int | None = None


@dataclass(frozen=True)
class MlflowVersion:
    model: str  # the registered model's name in MLflow
    version: int
    description: str | None = None
    aliases: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None
    model_id: str | None = None  # MLflow 3: the LoggedModel behind the version
    run_id: str | None = None
    created_ms: int | None = None
    updated_ms: int | None = None
    current_stage: str | None = None  # MLflow's legacy stages: None, Staging, Production, …
    user_id: str | None = None
    run: MlflowRun | None = None
    requirements: str | None = None  # the logged model's requirements.txt
    python_env: str | None = None  # the logged model's python_env.yaml
    environment_error: str | None = None  # why the model's files could not be read
    logged_model: MlflowLoggedModel | None = None
    model_description: str | None = None  # the registered model's own description and tags
    model_tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def logged_model_id(self) -> str | None:
        """`m-…` of the MLflow 3 LoggedModel behind the version (or its source `models:/m-…`)."""
        if self.model_id:
            return self.model_id
        if self.source and self.source.startswith("models:/m-"):
            return self.source[len("models:/") :].split("/", 1)[0]
        return None


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
