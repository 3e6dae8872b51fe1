"""The params, metrics, data and code sections of a diff. Pure; `diff.diff_versions`
assembles them (environment and artifacts: `diff_environment`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from modeltrail.core.diff.types import (
    FILE_LIST_CAP,
    CodeChange,
    DataChange,
    MetricChange,
    ParamChange,
    ParamsDiff,
    Status,
)
from modeltrail.core.errors import UsageError
from modeltrail.core.metrics import default_metric_spec
from modeltrail.core.records import (
    CodeHistory,
    CodeState,
    DataSnapshot,
    ManifestEntry,
    Metric,
    MetricSpec,
    ParamValue,
)

# ---------------------------------------------------------------------------------- params


_KIND_BY_TYPE: dict[type, str] = {
    bool: "bool",
    int: "number",
    float: "number",
    str: "string",
    type(None): "null",
    list: "list",
    tuple: "list",
    dict: "object",
}


def json_kind(value: Any) -> str:
    """The JSON kind of a parameter value; bool is its own kind, not a number."""
    kind = _KIND_BY_TYPE.get(type(value))
    if kind is not None:
        return kind
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def same_value(a: Any, b: Any) -> bool:
    """Equality for parameter values: `1 == 1.0`, `True != 1`, NaN equals NaN, recursive."""
    kind = json_kind(a)
    return kind == json_kind(b) and _same_kind_equal(kind, a, b)


def _same_kind_equal(kind: str, a: Any, b: Any) -> bool:
    if kind == "number":
        return a == b or (
            isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
        )
    if kind == "list":
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if kind == "object":
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return bool(a == b)


_FAST_TYPES = frozenset((str, int, float))


def relative(delta: float, old: float) -> float | None:
    if old == 0 or not math.isfinite(old):
        return None
    return delta / abs(old)


def diff_params(old: Mapping[str, ParamValue], new: Mapping[str, ParamValue]) -> ParamsDiff:
    added: list[ParamChange] = []
    removed: list[ParamChange] = []
    changed: list[ParamChange] = []
    unchanged = 0
    missing = object()
    for key, old_value in old.items():
        new_value = new.get(key, missing)
        if new_value is missing:
            removed.append(ParamChange(key, old_value, None, json_kind(old_value), None))
            continue
        # fast path: the common case is an identical scalar of the same type
        old_type = type(old_value)
        if old_type is type(new_value) and old_type in _FAST_TYPES and old_value == new_value:
            unchanged += 1
            continue
        old_kind, new_kind = json_kind(old_value), json_kind(new_value)
        if old_kind == new_kind and _same_kind_equal(old_kind, old_value, new_value):
            unchanged += 1
            continue
        delta = rel = None
        if old_kind == new_kind == "number":
            delta = float(new_value) - float(old_value)
            rel = relative(delta, float(old_value))
        changed.append(ParamChange(key, old_value, new_value, old_kind, new_kind, delta, rel))
    for key, new_value in new.items():
        if key not in old:
            added.append(ParamChange(key, None, new_value, None, json_kind(new_value)))
    return ParamsDiff(
        added=tuple(sorted(added, key=_by_key)),
        removed=tuple(sorted(removed, key=_by_key)),
        changed=tuple(sorted(changed, key=_by_key)),
        unchanged_count=unchanged,
    )


def _by_key(change: ParamChange) -> str:
    return change.key


# --------------------------------------------------------------------------------- metrics


def metric_spec(
    name: str, new_specs: Mapping[str, MetricSpec], old_specs: Mapping[str, MetricSpec]
) -> MetricSpec:
    return new_specs.get(name) or old_specs.get(name) or default_metric_spec(name)


def within_tolerance(old: float, new: float, tolerance: float) -> bool:
    """|new - old| <= tolerance, with a hair of slack so `0.912 → 0.907` at tolerance 0.005 is
    not pushed over the edge by binary floating point."""
    slack = 1e-9 * max(abs(old), abs(new), abs(tolerance))
    return abs(new - old) <= abs(tolerance) + slack


def diff_metrics(
    old: Mapping[str, Metric],
    new: Mapping[str, Metric],
    old_specs: Mapping[str, MetricSpec],
    new_specs: Mapping[str, MetricSpec],
) -> tuple[MetricChange, ...]:
    changes = []
    for name in sorted(old.keys() | new.keys()):
        spec = metric_spec(name, new_specs, old_specs)
        old_value = old[name].value if name in old else None
        new_value = new[name].value if name in new else None
        delta = rel = None
        tolerance = spec.tolerance
        if old_value is None:
            verdict = "added"
        elif new_value is None:
            verdict = "removed"
        else:
            delta = new_value - old_value
            rel = relative(delta, old_value)
            tolerance = spec.tolerance_at(old_value, new_value)
            if within_tolerance(old_value, new_value, tolerance):
                verdict = "unchanged"
            elif spec.informational:
                verdict = "changed"
            elif (delta > 0) == (spec.goal == "maximize"):
                verdict = "improved"
            else:
                verdict = "regressed"
        changes.append(
            MetricChange(
                name=name,
                verdict=verdict,
                old=old_value,
                new=new_value,
                delta=delta,
                relative_delta=rel,
                goal=spec.goal,
                tolerance=tolerance,
            )
        )
    return tuple(changes)


# ------------------------------------------------------------------------------------ data


def _int_delta(old: int | None, new: int | None) -> int | None:
    return None if old is None or new is None else new - old


def _manifest_diff(
    old: tuple[ManifestEntry, ...], new: tuple[ManifestEntry, ...]
) -> tuple[list[str], list[str], list[str]]:
    old_map = {e.path: e.digest for e in old}
    new_map = {e.path: e.digest for e in new}
    added = sorted(new_map.keys() - old_map.keys())
    removed = sorted(old_map.keys() - new_map.keys())
    modified = sorted(p for p in old_map.keys() & new_map.keys() if old_map[p] != new_map[p])
    return added, removed, modified


def _data_change(role: str, old: DataSnapshot | None, new: DataSnapshot | None) -> DataChange:
    status: Status
    if old is None:
        status = "added"
    elif new is None:
        status = "removed"
    else:
        content = same_content(old, new)
        if content is None:
            same = (old.kind, old.digest, old.size, old.file_count, old.dvc_md5) == (
                new.kind,
                new.digest,
                new.size,
                new.file_count,
                new.dvc_md5,
            )
        else:
            same = content
        status = "unchanged" if same and old.path == new.path else "changed"
    files: dict[str, Any] = {}
    if (
        old is not None
        and new is not None
        and old.manifest is not None
        and (new.manifest is not None)
    ):
        added, removed, modified = _manifest_diff(old.manifest, new.manifest)
        files = {
            "manifest_compared": True,
            "files_added": tuple(added[:FILE_LIST_CAP]),
            "files_removed": tuple(removed[:FILE_LIST_CAP]),
            "files_modified": tuple(modified[:FILE_LIST_CAP]),
            "files_added_count": len(added),
            "files_removed_count": len(removed),
            "files_modified_count": len(modified),
        }
    return DataChange(
        role=role,
        status=status,
        old_path=old.path if old else None,
        new_path=new.path if new else None,
        old_kind=old.kind if old else None,
        new_kind=new.kind if new else None,
        old_digest=snapshot_digest(old),
        new_digest=snapshot_digest(new),
        old_size=old.size if old else None,
        new_size=new.size if new else None,
        size_delta=_int_delta(old.size if old else None, new.size if new else None),
        old_file_count=old.file_count if old else None,
        new_file_count=new.file_count if new else None,
        file_count_delta=_int_delta(
            old.file_count if old else None, new.file_count if new else None
        ),
        old_dvc_md5=old.dvc_md5 if old else None,
        new_dvc_md5=new.dvc_md5 if new else None,
        dvc_source=(new.dvc_source if new else None) or (old.dvc_source if old else None),
        **files,
    )


def same_content(old: DataSnapshot, new: DataSnapshot) -> bool | None:
    """Whether two snapshots hold the same data, judged only by digests of one kind: our
    sha256 when both sides have it (it is what was read), else DVC's md5 when both have it
    (pulled on one side, not on the other, is the same data). None when no kind is on both."""
    if old.digest and new.digest:
        return old.digest == new.digest
    if old.dvc_md5 and new.dvc_md5:
        return old.dvc_md5 == new.dvc_md5
    return None


def snapshot_digest(snapshot: DataSnapshot | None) -> str | None:
    """The content digest we know for a snapshot: our sha256, else the md5 DVC recorded."""
    if snapshot is None:
        return None
    if snapshot.digest:
        return snapshot.digest
    return f"md5:{snapshot.dvc_md5}" if snapshot.dvc_md5 else None


def _pair(
    old: Sequence[DataSnapshot], new: Sequence[DataSnapshot]
) -> list[tuple[DataSnapshot | None, DataSnapshot | None]]:
    """Pair the snapshots of one role: one on each side pair up; otherwise match by path."""
    if len(old) == 1 and len(new) == 1:
        return [(old[0], new[0])]
    new_by_path = {s.path: s for s in new}
    pairs: list[tuple[DataSnapshot | None, DataSnapshot | None]] = []
    for snapshot in old:
        pairs.append((snapshot, new_by_path.pop(snapshot.path, None)))
    pairs.extend((None, s) for s in new if s.path in new_by_path)
    return pairs


def diff_data(old: Sequence[DataSnapshot], new: Sequence[DataSnapshot]) -> tuple[DataChange, ...]:
    old_roles: dict[str, list[DataSnapshot]] = {}
    new_roles: dict[str, list[DataSnapshot]] = {}
    for snapshot in old:
        old_roles.setdefault(snapshot.role, []).append(snapshot)
    for snapshot in new:
        new_roles.setdefault(snapshot.role, []).append(snapshot)
    changes = []
    for role in sorted(old_roles.keys() | new_roles.keys()):
        for a, b in _pair(old_roles.get(role, []), new_roles.get(role, [])):
            changes.append(_data_change(role, a, b))
    changes.sort(key=lambda c: (c.role, c.old_path or c.new_path or ""))
    return tuple(changes)


# ------------------------------------------------------------------------------------ code


def _commit_matches(recorded: str | None, given: str) -> bool:
    return (
        recorded is not None
        and bool(given)
        and (recorded.startswith(given) or given.startswith(recorded))
    )


def diff_code(
    old: CodeState | None, new: CodeState | None, history: CodeHistory | None = None
) -> CodeChange:
    status: Status
    if old is None and new is None:
        status = "unchanged"
    elif old is None:
        status = "added"
    elif new is None:
        status = "removed"
    elif (old.commit, old.dirty, old.diff_digest) == (new.commit, new.dirty, new.diff_digest):
        status = "unchanged"
    else:
        status = "changed"
    extra: dict[str, Any] = {}
    if history is not None:
        old_commit = old.commit if old else None
        new_commit = new.commit if new else None
        if not (
            _commit_matches(old_commit, history.old_commit)
            and _commit_matches(new_commit, history.new_commit)
        ):
            raise UsageError(
                f"the code history given runs {history.old_commit[:12]}..."
                f"{history.new_commit[:12]}, not between the two versions' commits",
            )
        extra = {
            "history": True,
            "reachable": history.reachable,
            "commits": history.commits,
            "total_commits": history.total_commits,
            "files_changed": history.files_changed,
            "total_files_changed": history.total_files_changed,
            "renamed": history.renamed,
            "missing_commits": history.missing,
        }
    return CodeChange(
        status=status,
        old_commit=old.commit if old else None,
        new_commit=new.commit if new else None,
        old_branch=old.branch if old else None,
        new_branch=new.branch if new else None,
        old_dirty=old.dirty if old else None,
        new_dirty=new.dirty if new else None,
        old_dirty_files=old.dirty_files if old else (),
        new_dirty_files=new.dirty_files if new else (),
        **extra,
    )
