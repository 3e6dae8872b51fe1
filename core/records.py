"""Plain, frozen values that describe model versions.

Everything downstream of the registry (diffs, templates, the bot, the LLM prompt) consumes
these, never ORM rows. They carry no behaviour beyond small conveniences and a JSON form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

# A parameter value after flattening: JSON scalars or lists of them.
ParamValue = Any
# "none": informational — shown and diffed, never better or worse, never a regression.
Goal = Literal["maximize", "minimize", "none"]
# A change within this fraction of the old value is noise, whatever tolerance is set: 0.1%.
DEFAULT_RELATIVE_TOLERANCE = 0.001
RawPoint = tuple[int, float, float]  # step, value, UTC epoch seconds
Stage = Literal["none", "staging", "production", "archived"]
STAGES: tuple[str, ...] = ("none", "staging", "production", "archived")
# Files with these suffixes are source code (git records them; an uncommitted one is a change
# of the recipe's code), not data.
CODE_SUFFIXES = frozenset(
    {".py", ".ipynb", ".r", ".sh", ".bash", ".sql", ".scala", ".java", ".jl", ".js", ".ts"}
)
# An artifact's digest when only DVC's md5 is known (a DVC output that is not pulled).
DVC_MD5_PREFIX = "dvc-md5:"


@dataclass(frozen=True)
class MetricSpec:
    """How to judge a metric: which direction is better and how much change is noise.

    A change is "unchanged" when its magnitude is at most `tolerance` (absolute) or at most
    `relative_tolerance` × the larger magnitude of the two values, whichever is larger
    (`tolerance_at`; symmetric, so a diff read backwards judges alike). `origin` says
    where the goal came from: "set" for the model (`modeltrail goal`), "name" when guessed
    from the metric's name (`metrics.default_metric_spec`).
    """

    name: str
    goal: Goal
    tolerance: float = 0.0
    relative_tolerance: float = DEFAULT_RELATIVE_TOLERANCE
    origin: Literal["set", "name"] = "set"

    @property
    def informational(self) -> bool:
        return self.goal == "none"

    def tolerance_at(self, old: float, new: float) -> float:
        """The absolute tolerance a change between `old` and `new` is judged by."""
        return max(abs(self.tolerance), self.relative_tolerance * max(abs(old), abs(new)))


@dataclass(frozen=True)
class MetricPoint:
    step: int
    value: float
    timestamp: dt.datetime  # UTC, timezone-aware


@dataclass(frozen=True)
class Metric:
    """A metric's final value (the last point logged) and, when loaded, its whole history."""

    name: str
    value: float
    step: int
    timestamp: dt.datetime
    history_count: int = 1
    history: tuple[MetricPoint, ...] | None = None  # None: not loaded


@dataclass(frozen=True)
class ManifestEntry:
    path: str  # relative, POSIX separators
    size: int
    digest: str  # sha256 hex


@dataclass(frozen=True)
class DataSnapshot:
    """One dataset the version was trained or evaluated on.

    `kind` is "file", "directory" or "uri" (recorded but not readable here, so no digest).
    For a directory `digest` is the sha256 of its manifest (see capture.data). DVC-tracked
    paths also carry the md5 that dvc.lock / the .dvc file recorded (`dvc_md5`) and where that
    was read from (`dvc_source`).
    """

    role: str
    path: str
    kind: Literal["file", "directory", "uri"]
    digest: str | None
    size: int | None
    file_count: int | None
    manifest: tuple[ManifestEntry, ...] | None = None
    dvc_md5: str | None = None
    dvc_source: str | None = None


@dataclass(frozen=True)
class CodeState:
    """The git state the version was trained from. Absent (None on the record) outside git."""

    repo_root: str
    commit: str
    branch: str | None
    remote_url: str | None  # credentials stripped
    dirty: bool
    dirty_files: tuple[str, ...] = ()
    diff_digest: str | None = None  # sha256 of the uncommitted diff, when dirty


@dataclass(frozen=True)
class Environment:
    python_version: str
    python_implementation: str
    platform: str
    machine: str
    cpu_model: str | None
    cpu_count: int | None
    gpus: tuple[str, ...]
    packages: Mapping[str, str]  # normalised distribution name -> version
    fingerprint: str  # sha256 over everything above


@dataclass(frozen=True)
class Artifact:
    """A model output. `stored`: its bytes are kept in the artifact store under `digest` (a
    directory as its files plus the manifest, `kind` "directory"); otherwise it is referenced,
    not stored: only where it was and its digest are recorded."""

    name: str
    uri: str
    digest: str | None
    size: int | None
    stored: bool = False
    kind: str | None = None  # "file" | "directory"; None for a URI


@dataclass(frozen=True)
class Note:
    text: str
    actor: str
    created_at: dt.datetime


@dataclass(frozen=True)
class VersionRecord:
    model: str
    version: str
    created_at: dt.datetime
    actor: str
    description: str | None
    stage: str
    parent: str | None
    params: Mapping[str, ParamValue]
    metrics: Mapping[str, Metric]
    data: tuple[DataSnapshot, ...]
    code: CodeState | None
    environment: Environment | None
    artifacts: tuple[Artifact, ...]
    tags: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[Note, ...] = ()
    metric_specs: Mapping[str, MetricSpec] = field(default_factory=dict)
    golden: bool = False  # the model's golden (stable baseline) version

    def metric_values(self) -> dict[str, float]:
        return {name: m.value for name, m in self.metrics.items()}


@dataclass(frozen=True)
class VersionSummary:
    """One line of `modeltrail list MODEL`."""

    model: str
    version: str
    created_at: dt.datetime
    actor: str
    stage: str
    description: str | None


@dataclass(frozen=True)
class ModelSummary:
    """One line of `modeltrail list`."""

    name: str
    latest_version: str | None
    version_count: int
    production_version: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    created_at: dt.datetime
    actor: str
    action: str
    model: str | None
    version: str | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    reason: str | None
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class VersionDraft:
    """Everything a client hands to `Registry.register`; the registry assigns the rest.

    `metric_points` holds each metric's history in the order it was logged as raw
    `(step, value, epoch_seconds)` tuples (cheap to build 10,000 of); the last point is the
    final value. `version` None means "next patch after the newest"; `parent` None means
    "the newest version before this one" and `parent=""` means "no parent".
    """

    model: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    metric_points: Mapping[str, Sequence[RawPoint]] = field(default_factory=dict)
    data: tuple[DataSnapshot, ...] = ()
    code: CodeState | None = None
    environment: Environment | None = None
    artifacts: tuple[Artifact, ...] = ()
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    version: str | None = None
    parent: str | None = None
    # Who made the version and when, when another registry knows it (an MLflow import): the
    # version keeps these while its audit event keeps who recorded it here, and when.
    actor: str | None = None
    created_at: dt.datetime | None = None
    # Added with monitoring: role -> profiles.Profile.to_dict() of tabular data snapshots,
    # stored with the version (the baseline production data is judged against).
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author: str
    date: dt.datetime
    subject: str


@dataclass(frozen=True)
class CodeHistory:
    """What git says happened between two commits (read from a local repository).

    `commits` is newest first and capped; `total_commits` counts them all. `reachable` is False
    when one of the commits is not in the repository (shallow clone, other fork).
    """

    old_commit: str
    new_commit: str
    commits: tuple[CommitInfo, ...]
    total_commits: int
    files_changed: tuple[str, ...]
    total_files_changed: int
    reachable: bool = True
    renamed: int = 0  # of total_files_changed, files git saw renamed (counted once)
    missing: tuple[str, ...] = ()  # commits this clone does not have (a shallow clone?)
