"""The values a diff is made of. Import them from `modeltrail.core.diff.engine`.

Conventions shared by every section:
- `old` is the version diffed from, `new` the version diffed to; a value missing on a side is
  None (an added entry has `old` None, a removed one `new` None; its `status` says which).
- `delta` is `new - old`; `relative_delta` is `delta / abs(old)`, None when old is 0 or when
  either side is not a number.
- Entries are sorted by their key (param key, metric name, data role, artifact name, package).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from modeltrail.core.records import CommitInfo, Goal, ParamValue

Status = Literal["added", "removed", "changed", "unchanged"]
# "changed": an informational metric (goal "none") moved beyond tolerance.
Verdict = Literal["improved", "regressed", "unchanged", "changed", "added", "removed"]
Severity = Literal["info", "warning", "critical"]
BumpLevel = Literal["major", "minor", "patch"]

SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")  # most severe first
FILE_LIST_CAP = 50  # manifest-level file lists keep at most this many paths (sorted)


@dataclass(frozen=True)
class ParamChange:
    """One parameter that was added, removed or changed.

    `old_type` / `new_type` are JSON kinds: "number", "bool", "string", "null", "list",
    "object" (None on the missing side). Numbers compare by value, so `1` and `1.0` are equal;
    a bool is not a number, so `True` → `1` is a type change.
    """

    key: str
    old: ParamValue
    new: ParamValue
    old_type: str | None
    new_type: str | None
    delta: float | None = None
    relative_delta: float | None = None

    @property
    def type_changed(self) -> bool:
        return (
            self.old_type is not None
            and self.new_type is not None
            and (self.old_type != self.new_type)
        )


@dataclass(frozen=True)
class ParamsDiff:
    added: tuple[ParamChange, ...] = ()
    removed: tuple[ParamChange, ...] = ()
    changed: tuple[ParamChange, ...] = ()
    unchanged_count: int = 0

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass(frozen=True)
class MetricChange:
    """A metric present in either version, judged by its goal; `tolerance` is the absolute
    one it was judged by (the larger of the set tolerance and the relative default)."""

    name: str
    verdict: Verdict
    old: float | None
    new: float | None
    delta: float | None
    relative_delta: float | None
    goal: Goal
    tolerance: float

    @property
    def moved(self) -> bool:
        """Changed beyond tolerance, either way."""
        return self.verdict in ("improved", "regressed")


@dataclass(frozen=True)
class DataChange:
    """One data role. For directories whose manifests were recorded on both sides,
    `files_added/removed/modified` list (at most FILE_LIST_CAP, sorted) the relative paths that
    differ and the `*_count` fields count them all; `manifest_compared` says whether that
    comparison was possible."""

    role: str
    status: Status
    old_path: str | None
    new_path: str | None
    old_kind: str | None
    new_kind: str | None
    old_digest: str | None
    new_digest: str | None
    old_size: int | None
    new_size: int | None
    size_delta: int | None
    old_file_count: int | None
    new_file_count: int | None
    file_count_delta: int | None
    manifest_compared: bool = False
    files_added: tuple[str, ...] = ()
    files_removed: tuple[str, ...] = ()
    files_modified: tuple[str, ...] = ()
    files_added_count: int = 0
    files_removed_count: int = 0
    files_modified_count: int = 0
    # DVC: the md5s each side recorded, the file that records it (`.dvc` or dvc.lock) and the
    # commit that changed it (when known: read from git, or the new version's clean commit).
    old_dvc_md5: str | None = None
    new_dvc_md5: str | None = None
    dvc_source: str | None = None
    dvc_commit: str | None = None

    @property
    def via_dvc(self) -> bool:
        """Changed through DVC: both sides recorded an md5, and they differ."""
        return bool(self.old_dvc_md5 and self.new_dvc_md5 and self.old_dvc_md5 != self.new_dvc_md5)

    @property
    def path_changed(self) -> bool:
        return (
            self.old_path is not None
            and self.new_path is not None
            and (self.old_path != self.new_path)
        )

    @property
    def digest_changed(self) -> bool:
        return self.old_digest != self.new_digest


@dataclass(frozen=True)
class CodeChange:
    """Old → new git state. `status` is "added"/"removed" when only one side was trained in a
    git repository, "changed" when the commit or the uncommitted changes differ.

    `commits` / `files_changed` come from a `CodeHistory` when one was given (`history` True):
    commits newest first and capped, with the full counts in `total_commits` /
    `total_files_changed` (None without history). `reachable` is False when git could not
    relate the two commits."""

    status: Status
    old_commit: str | None
    new_commit: str | None
    old_branch: str | None
    new_branch: str | None
    old_dirty: bool | None
    new_dirty: bool | None
    old_dirty_files: tuple[str, ...] = ()
    new_dirty_files: tuple[str, ...] = ()
    history: bool = False
    reachable: bool | None = None
    commits: tuple[CommitInfo, ...] = ()
    total_commits: int | None = None
    files_changed: tuple[str, ...] = ()
    total_files_changed: int | None = None
    renamed: int = 0
    missing_commits: tuple[str, ...] = ()

    @property
    def commit_changed(self) -> bool:
        return self.old_commit != self.new_commit


@dataclass(frozen=True)
class PackageChange:
    """A distribution added (old None), removed (new None), upgraded or downgraded.
    `major` is True when the first release number differs (numpy 1.26 → 2.0)."""

    name: str
    old: str | None
    new: str | None
    major: bool = False


@dataclass(frozen=True)
class FieldChange:
    """A platform or hardware property that differs: `field` is one of "python_implementation",
    "platform", "machine", "cpu_model", "cpu_count", "gpus"."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class EnvironmentChange:
    """`status` "added"/"removed" when only one side recorded an environment; packages are then
    not compared (`packages_compared` False) rather than listed wholesale."""

    status: Status
    python_old: str | None
    python_new: str | None
    packages_compared: bool = False
    packages_added: tuple[PackageChange, ...] = ()
    packages_removed: tuple[PackageChange, ...] = ()
    packages_upgraded: tuple[PackageChange, ...] = ()
    packages_downgraded: tuple[PackageChange, ...] = ()
    system_changes: tuple[FieldChange, ...] = ()

    @property
    def python_changed(self) -> bool:
        return self.python_old != self.python_new

    @property
    def major_changes(self) -> tuple[PackageChange, ...]:
        return tuple(p for p in self.packages_upgraded + self.packages_downgraded if p.major)


@dataclass(frozen=True)
class ArtifactChange:
    """An artifact by name. With digests on both sides only the digest decides "changed";
    otherwise a different URI or size does."""

    name: str
    status: Status
    old_uri: str | None
    new_uri: str | None
    old_digest: str | None
    new_digest: str | None
    old_size: int | None
    new_size: int | None


@dataclass(frozen=True)
class Finding:
    """Something a reviewer should notice. `kind` is one of FINDING_KINDS (see diff_findings)."""

    kind: str
    severity: Severity
    message: str


@dataclass(frozen=True)
class BumpSuggestion:
    level: BumpLevel
    reason: str


@dataclass(frozen=True)
class VersionDiff:
    """Everything that differs between two versions, plus findings and a suggested bump."""

    model: str
    old_version: str
    new_version: str
    params: ParamsDiff
    metrics: tuple[MetricChange, ...]
    data: tuple[DataChange, ...]
    code: CodeChange
    environment: EnvironmentChange
    artifacts: tuple[ArtifactChange, ...]
    findings: tuple[Finding, ...]
    suggested_bump: BumpSuggestion

    @property
    def has_changes(self) -> bool:
        """True when any section holds a change (metrics within tolerance do not count)."""
        return (
            self.params.has_changes
            or any(m.verdict != "unchanged" for m in self.metrics)
            or any(d.status != "unchanged" for d in self.data)
            or self.code.status != "unchanged"
            or self.environment.status != "unchanged"
            or any(a.status != "unchanged" for a in self.artifacts)
        )

    @property
    def is_empty(self) -> bool:
        """No change in any section and no findings at all."""
        return not self.has_changes and not self.findings

    def findings_of(self, kind: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.kind == kind)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: top-level keys model, from, to, params, metrics, data, code,
        environment, artifacts, findings, suggested_bump. Datetimes are ISO 8601 strings,
        non-finite floats become None."""
        code = _jsonable(self.code)
        for commit in code["commits"]:
            commit["short_sha"] = commit["sha"][:7]
        code["commit_changed"] = self.code.commit_changed
        environment = _jsonable(self.environment)
        environment["python_changed"] = self.environment.python_changed
        params = _jsonable(self.params)
        for change in params["changed"]:
            change["type_changed"] = change["old_type"] != change["new_type"]
        return {
            "model": self.model,
            "from": self.old_version,
            "to": self.new_version,
            "params": params,
            "metrics": _jsonable(self.metrics),
            "data": _jsonable(self.data),
            "code": code,
            "environment": environment,
            "artifacts": _jsonable(self.artifacts),
            "findings": _jsonable(self.findings),
            "suggested_bump": _jsonable(self.suggested_bump),
        }

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    def digest(self) -> str:
        """sha256 of the canonical JSON form (sorted keys, no whitespace)."""
        canonical = json.dumps(
            self.to_dict(),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    names = _FIELD_NAMES.get(type(value))
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[type(value)] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {name: _jsonable(getattr(value, name)) for name in names}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)
