"""Properties of diff_versions over generated versions (hypothesis).

1. A version diffed with itself has no changes in any section. It may still carry findings,
   but only those that describe one version on its own: `dirty_code` (trained from
   uncommitted changes) and `missing_lineage` (no data digest, commit or environment). So
   "empty" here means `not has_changes`, and `is_empty` holds exactly when there are no such
   findings either.
2. `diff(b, a)` is the mirror image of `diff(a, b)`, section by section:
   - added ↔ removed (params, metric verdicts, data/code/environment/artifact statuses,
     packages, manifest files), improved ↔ regressed, "changed"/"unchanged" stay;
   - every old/new pair swaps (values, paths, digests, sizes, commits, dirty flags, Python,
     package versions, platform fields); upgraded ↔ downgraded packages;
   - deltas are negated; relative deltas are recomputed against the other side
     (`-delta / abs(new)`, None when that side is 0) — they are not simply negated.
   Findings and the suggested bump are not compared: several describe one side only (a dirty
   tree, missing lineage, a `breaking` tag on the new version). The property needs both sides
   to judge a shared metric by the same spec, so generated specs come from one shared pool.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import fields, replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from modeltrail.core.diff.engine import (
    ArtifactChange,
    CodeChange,
    DataChange,
    EnvironmentChange,
    FieldChange,
    MetricChange,
    PackageChange,
    ParamChange,
    ParamsDiff,
    VersionDiff,
    diff_versions,
)
from modeltrail.core.records import (
    Artifact,
    CodeState,
    DataSnapshot,
    Environment,
    ManifestEntry,
    Metric,
    MetricSpec,
    VersionRecord,
)

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)

SPECS = {
    "auc": MetricSpec("auc", "maximize", 0.01),
    "val_loss": MetricSpec("val_loss", "minimize", 0.0),
    "score": MetricSpec("score", "minimize", 0.5),
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, -1.0, 0.5, 2.5]),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from(["adam", "sgd", "1", ""]),
)
param_values = st.one_of(scalars, st.lists(scalars, max_size=3))
metric_values = st.one_of(
    st.sampled_from([0.0, 0.5, 0.9, 0.905, 1.0]), st.floats(-1e6, 1e6, allow_nan=False)
)
digests = st.sampled_from([None, "1" * 64, "2" * 64])
manifests = st.none() | st.lists(
    st.builds(
        ManifestEntry,
        path=st.sampled_from(["a.csv", "b.csv", "c/d.csv"]),
        size=st.integers(0, 5),
        digest=st.sampled_from(["e" * 64, "f" * 64]),
    ),
    max_size=3,
    unique_by=lambda e: e.path,
).map(tuple)
snapshots = st.builds(
    DataSnapshot,
    role=st.sampled_from(["train", "eval"]),
    path=st.sampled_from(["data/a", "data/b"]),
    kind=st.sampled_from(["file", "directory", "uri"]),
    digest=digests,
    size=st.none() | st.integers(0, 100),
    file_count=st.none() | st.integers(0, 3),
    manifest=manifests,
    dvc_md5=st.none() | st.just("abc"),
)
codes = st.none() | st.builds(
    CodeState,
    repo_root=st.just("/repo"),
    commit=st.sampled_from(["a" * 40, "b" * 40]),
    branch=st.sampled_from([None, "main"]),
    remote_url=st.none(),
    dirty=st.booleans(),
    dirty_files=st.sampled_from([(), ("train.py",)]),
    diff_digest=st.sampled_from([None, "d" * 64]),
)
package_versions = st.sampled_from(
    ["1.0", "1.0.0", "1.2", "2.0.1", "0.9b1", "2024.1", "build-9", "build-10", "weird", ""]
)
environments = st.none() | st.builds(
    Environment,
    python_version=st.sampled_from(["3.11.9", "3.12.1"]),
    python_implementation=st.just("CPython"),
    platform=st.sampled_from(["Linux", "Darwin"]),
    machine=st.sampled_from(["x86_64", "arm64"]),
    cpu_model=st.sampled_from([None, "EPYC"]),
    cpu_count=st.sampled_from([None, 2, 8]),
    gpus=st.sampled_from([(), ("A100",)]),
    packages=st.dictionaries(st.sampled_from(["numpy", "torch", "six"]), package_versions),
    fingerprint=st.just("f" * 64),
)
artifacts = st.lists(
    st.builds(
        Artifact,
        name=st.sampled_from(["model.pkl", "card.md"]),
        uri=st.sampled_from(["s3://x/1", "s3://x/2"]),
        digest=digests,
        size=st.none() | st.integers(0, 3),
    ),
    max_size=2,
    unique_by=lambda a: a.name,
).map(tuple)


@st.composite
def versions(draw: st.DrawFn, number: str = "1.0.0") -> VersionRecord:
    metrics = draw(
        st.dictionaries(st.sampled_from(["auc", "val_loss", "score", "f1"]), metric_values)
    )
    spec_names = draw(st.sets(st.sampled_from(sorted(SPECS))))
    # one snapshot per (role, path): a role may hold two paths
    data = draw(st.lists(snapshots, max_size=3, unique_by=lambda s: (s.role, s.path)))
    return VersionRecord(
        model="m",
        version=number,
        created_at=T0,
        actor="ana",
        description=None,
        stage="none",
        parent=None,
        params=draw(st.dictionaries(st.sampled_from(["lr", "depth", "opt", "x.y"]), param_values)),
        metrics={
            name: Metric(name=name, value=value, step=1, timestamp=T0)
            for name, value in metrics.items()
        },
        data=tuple(data),
        code=draw(codes),
        environment=draw(environments),
        artifacts=draw(artifacts),
        tags=draw(st.dictionaries(st.sampled_from(["breaking", "schema.input"]), st.just("yes"))),
        metric_specs={name: SPECS[name] for name in spec_names},
    )


# ------------------------------------------------------------------------------ mirroring

_STATUS_MIRROR = {"added": "removed", "removed": "added", "improved": "regressed"}
_STATUS_MIRROR["regressed"] = "improved"


def _swap_old_new(obj: Any, **extra: Any) -> Any:
    """Swap every old/new field pair (`old`/`new`, `old_x`/`new_x`, `x_old`/`x_new`)."""
    names = {f.name for f in fields(obj)}
    changes: dict[str, Any] = {}
    for name in names:
        if name == "old":
            partner = "new"
        elif name == "new":
            partner = "old"
        elif name.startswith(("old_", "new_")):
            partner = ("new_" if name.startswith("old_") else "old_") + name[4:]
        elif name.endswith(("_old", "_new")):
            partner = name[:-4] + ("_new" if name.endswith("_old") else "_old")
        else:
            continue
        if partner in names:
            changes[name] = getattr(obj, partner)
    for status_field in ("status", "verdict"):
        if status_field in names:
            value = getattr(obj, status_field)
            changes[status_field] = _STATUS_MIRROR.get(value, value)
    changes.update(extra)
    return replace(obj, **changes)


def _neg(value: float | None) -> float | None:
    return None if value is None else -value


def _relative(delta: float | None, base: Any) -> float | None:
    if delta is None or base is None or float(base) == 0:
        return None
    return delta / abs(float(base))


def _mirror_param(c: ParamChange) -> ParamChange:
    delta = _neg(c.delta)
    return _swap_old_new(c, delta=delta, relative_delta=_relative(delta, c.new))


def _mirror_metric(m: MetricChange) -> MetricChange:
    delta = _neg(m.delta)
    return _swap_old_new(m, delta=delta, relative_delta=_relative(delta, m.new))


def _mirror_data(d: DataChange) -> DataChange:
    return _swap_old_new(
        d,
        size_delta=_neg(d.size_delta),
        file_count_delta=_neg(d.file_count_delta),
        files_added=d.files_removed,
        files_removed=d.files_added,
        files_added_count=d.files_removed_count,
        files_removed_count=d.files_added_count,
    )


def _mirror_packages(packages: tuple[PackageChange, ...]) -> tuple[PackageChange, ...]:
    return tuple(_swap_old_new(p) for p in packages)


def _mirror_environment(e: EnvironmentChange) -> EnvironmentChange:
    return _swap_old_new(
        e,
        packages_added=_mirror_packages(e.packages_removed),
        packages_removed=_mirror_packages(e.packages_added),
        packages_upgraded=_mirror_packages(e.packages_downgraded),
        packages_downgraded=_mirror_packages(e.packages_upgraded),
        system_changes=tuple(_swap_old_new(c) for c in e.system_changes),
    )


def mirror_sections(d: VersionDiff) -> dict[str, Any]:
    """What `diff(b, a)`'s sections must be, computed from `diff(a, b)` alone."""
    params = ParamsDiff(
        added=tuple(_mirror_param(c) for c in d.params.removed),
        removed=tuple(_mirror_param(c) for c in d.params.added),
        changed=tuple(_mirror_param(c) for c in d.params.changed),
        unchanged_count=d.params.unchanged_count,
    )
    return {
        "params": params,
        "metrics": tuple(_mirror_metric(m) for m in d.metrics),
        "data": tuple(_mirror_data(c) for c in d.data),
        "code": _swap_old_new(d.code),
        "environment": _mirror_environment(d.environment),
        "artifacts": tuple(_swap_old_new(a) for a in d.artifacts),
    }


def sections(d: VersionDiff) -> dict[str, Any]:
    return {name: getattr(d, name) for name in mirror_sections(d)}


# ------------------------------------------------------------------------------ properties

SINGLE_SIDE_KINDS = {"dirty_code", "missing_lineage"}


@settings(max_examples=150, deadline=None)
@given(versions())
def test_a_version_diffed_with_itself_has_no_changes(a: VersionRecord) -> None:
    diff = diff_versions(a, a)
    assert not diff.has_changes
    assert all(m.verdict == "unchanged" for m in diff.metrics)
    assert {f.kind for f in diff.findings} <= SINGLE_SIDE_KINDS
    assert diff.is_empty == (not diff.findings)
    if "breaking" not in a.tags:
        assert (diff.suggested_bump.level, diff.suggested_bump.reason) == (
            "patch",
            "no recipe change",
        )


@settings(max_examples=250, deadline=None)
@given(versions("1.0.0"), versions("1.1.0"))
def test_reversed_diff_mirrors_the_forward_diff(a: VersionRecord, b: VersionRecord) -> None:
    forward = diff_versions(a, b)
    backward = diff_versions(b, a)
    assert sections(backward) == mirror_sections(forward)
    assert forward.has_changes == backward.has_changes
    assert (forward.old_version, forward.new_version) == (
        backward.new_version,
        backward.old_version,
    )


@settings(max_examples=100, deadline=None)
@given(versions("1.0.0"), versions("1.1.0"))
def test_json_form_is_serialisable_and_digest_deterministic(
    a: VersionRecord, b: VersionRecord
) -> None:
    diff = diff_versions(a, b)
    assert json.loads(json.dumps(diff.to_dict(), allow_nan=False)) == diff.to_dict()
    assert diff.digest() == diff_versions(a, b).digest()


def test_mirror_helper_swaps_what_it_should() -> None:
    change = FieldChange("machine", "x86_64", "arm64")
    assert _swap_old_new(change) == FieldChange("machine", "arm64", "x86_64")
    code = CodeChange("added", None, "b", None, "main", None, False)
    assert _swap_old_new(code) == CodeChange("removed", "b", None, "main", None, False, None)
    art = ArtifactChange("m", "changed", "u1", "u2", "d1", "d2", 1, 2)
    assert _swap_old_new(art) == ArtifactChange("m", "changed", "u2", "u1", "d2", "d1", 2, 1)
