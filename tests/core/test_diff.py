"""diff_versions on hand-built records: every section, every finding kind, the bump rules."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

import pytest

from modeltrail.core.diff.engine import (
    FILE_LIST_CAP,
    FINDING_KINDS,
    BumpSuggestion,
    PackageChange,
    VersionDiff,
    diff_versions,
)
from modeltrail.core.errors import UsageError
from modeltrail.core.records import (
    Artifact,
    CodeHistory,
    CodeState,
    CommitInfo,
    DataSnapshot,
    Environment,
    ManifestEntry,
    Metric,
    MetricSpec,
    VersionRecord,
)

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
SHA_A = "a" * 40
SHA_B = "b" * 40
DIGEST_1 = "1" * 64
DIGEST_2 = "2" * 64
_DEFAULT: Any = object()


def snapshot(
    role: str = "train",
    path: str = "data/train.csv",
    digest: str | None = DIGEST_1,
    *,
    kind: str = "file",
    size: int | None = 1000,
    file_count: int | None = 1,
    manifest: tuple[ManifestEntry, ...] | None = None,
    dvc_md5: str | None = None,
) -> DataSnapshot:
    return DataSnapshot(
        role=role,
        path=path,
        kind=kind,  # type: ignore[arg-type]
        digest=digest,
        size=size,
        file_count=file_count,
        manifest=manifest,
        dvc_md5=dvc_md5,
    )


def code_state(commit: str = SHA_A, *, dirty: bool = False, files: tuple[str, ...] = ()):
    return CodeState(
        repo_root="/repo",
        commit=commit,
        branch="main",
        remote_url="https://example.com/team/fraud.git",
        dirty=dirty,
        dirty_files=files,
        diff_digest=("d" * 64) if dirty else None,
    )


def environment(packages: dict[str, str] | None = None, **overrides: Any) -> Environment:
    values: dict[str, Any] = {
        "python_version": "3.11.9",
        "python_implementation": "CPython",
        "platform": "Linux-6.1-x86_64",
        "machine": "x86_64",
        "cpu_model": "AMD EPYC 7B13",
        "cpu_count": 2,
        "gpus": (),
        "packages": packages if packages is not None else {"numpy": "1.26.4", "pandas": "2.2.2"},
        "fingerprint": "f" * 64,
    }
    values.update(overrides)
    return Environment(**values)


def version(
    number: str = "1.0.0",
    *,
    params: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    data: tuple[DataSnapshot, ...] | None = None,
    code: CodeState | None = _DEFAULT,
    env: Environment | None = _DEFAULT,
    artifacts: tuple[Artifact, ...] = (),
    tags: dict[str, str] | None = None,
    specs: dict[str, MetricSpec] | None = None,
) -> VersionRecord:
    """A complete, clean version: data with digests, a clean commit, an environment."""
    return VersionRecord(
        model="fraud-detector",
        version=number,
        created_at=T0,
        actor="ana",
        description=None,
        stage="none",
        parent=None,
        params=params if params is not None else {"lr": 0.1, "depth": 6},
        metrics={
            name: Metric(name=name, value=value, step=10, timestamp=T0)
            for name, value in (metrics if metrics is not None else {"auc": 0.9}).items()
        },
        data=data if data is not None else (snapshot(),),
        code=code_state() if code is _DEFAULT else code,
        environment=environment() if env is _DEFAULT else env,
        artifacts=artifacts,
        tags=tags or {},
        metric_specs=specs or {},
    )


def kinds(diff: VersionDiff) -> list[str]:
    return [f.kind for f in diff.findings]


# ------------------------------------------------------------------------------- identity


def test_same_version_twice_is_empty() -> None:
    a = version()
    diff = diff_versions(a, a)
    assert diff.is_empty
    assert not diff.has_changes
    assert diff.suggested_bump.level == "patch"
    assert diff.suggested_bump.reason == "no recipe change"
    assert [m.verdict for m in diff.metrics] == ["unchanged"]
    assert [d.status for d in diff.data] == ["unchanged"]
    assert diff.params.unchanged_count == 2


# --------------------------------------------------------------------------------- params


def test_params_added_removed_changed_with_numeric_delta() -> None:
    old = version(params={"lr": 0.1, "depth": 6, "loss": "log", "dropout": 0.2})
    new = version("1.1.0", params={"lr": 0.05, "depth": 8, "loss": "log", "seed": 7})
    params = diff_versions(old, new).params
    assert [(c.key, c.new) for c in params.added] == [("seed", 7)]
    assert [(c.key, c.old) for c in params.removed] == [("dropout", 0.2)]
    assert [c.key for c in params.changed] == ["depth", "lr"]  # sorted by key
    depth, lr = params.changed
    assert (depth.old, depth.new, depth.delta, depth.relative_delta) == (6, 8, 2.0, 2 / 6)
    assert lr.delta == pytest.approx(-0.05)
    assert lr.relative_delta == pytest.approx(-0.5)
    assert not lr.type_changed
    assert params.unchanged_count == 1


def test_int_and_float_of_same_value_are_not_a_change() -> None:
    old = version(params={"epochs": 1, "ratios": [1, 2], "nested": {"a": 3}})
    new = version("1.0.1", params={"epochs": 1.0, "ratios": [1.0, 2.0], "nested": {"a": 3.0}})
    diff = diff_versions(old, new)
    assert not diff.params.has_changes
    assert diff.params.unchanged_count == 3


def test_bool_is_not_a_number() -> None:
    old = version(params={"shuffle": True, "flag": 0})
    new = version("1.1.0", params={"shuffle": 1, "flag": False})
    changed = diff_versions(old, new).params.changed
    assert [(c.key, c.old_type, c.new_type, c.type_changed) for c in changed] == [
        ("flag", "number", "bool", True),
        ("shuffle", "bool", "number", True),
    ]
    assert all(c.delta is None and c.relative_delta is None for c in changed)


def test_int_to_string_is_a_type_change() -> None:
    old = version(params={"depth": 6, "opt": None, "layers": [64, 32]})
    new = version("1.1.0", params={"depth": "6", "opt": "adam", "layers": [64, 16]})
    changed = {c.key: c for c in diff_versions(old, new).params.changed}
    assert changed["depth"].type_changed
    assert (changed["depth"].old_type, changed["depth"].new_type) == ("number", "string")
    assert changed["opt"].type_changed
    assert not changed["layers"].type_changed
    assert changed["layers"].delta is None


def test_param_relative_delta_is_none_when_old_is_zero() -> None:
    old = version(params={"l2": 0})
    new = version("1.1.0", params={"l2": 0.01})
    (change,) = diff_versions(old, new).params.changed
    assert change.delta == pytest.approx(0.01)
    assert change.relative_delta is None


# -------------------------------------------------------------------------------- metrics


def test_metric_verdicts_follow_goal() -> None:
    old = version(metrics={"auc": 0.90, "val_loss": 0.30, "recall": 0.7, "f1": 0.5})
    new = version("1.0.1", metrics={"auc": 0.93, "val_loss": 0.35, "recall": 0.7, "mae": 3.0})
    metrics = {m.name: m for m in diff_versions(old, new).metrics}
    assert metrics["auc"].verdict == "improved"
    assert metrics["auc"].goal == "maximize"
    assert metrics["val_loss"].verdict == "regressed"
    assert metrics["val_loss"].goal == "minimize"
    assert metrics["recall"].verdict == "unchanged"
    assert metrics["f1"].verdict == "removed"
    assert (metrics["f1"].old, metrics["f1"].new, metrics["f1"].delta) == (0.5, None, None)
    assert metrics["mae"].verdict == "added"
    assert metrics["auc"].delta == pytest.approx(0.03)
    assert metrics["auc"].relative_delta == pytest.approx(0.03 / 0.9)


def test_metric_tolerance_edge_is_unchanged_and_beyond_is_judged() -> None:
    spec = {"auc": MetricSpec("auc", "maximize", tolerance=0.005)}
    old = version(metrics={"auc": 0.912}, specs=spec)
    at_edge = version("1.0.1", metrics={"auc": 0.907}, specs=spec)  # |Δ| == tolerance
    beyond = version("1.0.2", metrics={"auc": 0.906}, specs=spec)
    assert diff_versions(old, at_edge).metrics[0].verdict == "unchanged"
    assert diff_versions(old, beyond).metrics[0].verdict == "regressed"
    assert diff_versions(beyond, old).metrics[0].verdict == "improved"


def test_metric_relative_delta_is_none_when_old_is_zero() -> None:
    old = version(metrics={"error_rate": 0.0})
    new = version("1.0.1", metrics={"error_rate": 2.0})
    (change,) = diff_versions(old, new).metrics
    assert change.delta == 2.0
    assert change.relative_delta is None
    assert change.verdict == "regressed"  # "error" → minimize by default


def test_metric_spec_new_side_wins_then_old_then_default() -> None:
    old_specs = {
        "score": MetricSpec("score", "minimize", 0.0),
        "speed": MetricSpec("speed", "minimize", 0.0),
    }
    new_specs = {"score": MetricSpec("score", "maximize", 0.5)}
    old = version(metrics={"score": 1.0, "speed": 10.0, "other": 1.0}, specs=old_specs)
    new = version("1.0.1", metrics={"score": 1.4, "speed": 12.0, "other": 2.0}, specs=new_specs)
    metrics = {m.name: m for m in diff_versions(old, new).metrics}
    assert (metrics["score"].goal, metrics["score"].tolerance) == ("maximize", 0.5)
    assert metrics["score"].verdict == "unchanged"
    assert metrics["speed"].goal == "minimize"
    assert metrics["speed"].verdict == "regressed"
    assert metrics["other"].goal == "none"  # an unknown name is informational (item 20)
    assert metrics["other"].verdict == "changed"


# ----------------------------------------------------------------------------------- data


def test_same_path_new_digest_is_a_silent_data_change() -> None:
    old = version(data=(snapshot(digest=DIGEST_1, size=1000),))
    new = version("1.0.1", data=(snapshot(digest=DIGEST_2, size=1200),))
    diff = diff_versions(old, new)
    (change,) = diff.data
    assert change.status == "changed"
    assert change.digest_changed and not change.path_changed
    assert (change.size_delta, change.file_count_delta) == (200, 0)
    (finding,) = diff.findings_of("silent_data_change")
    assert finding.severity == "warning"
    assert finding.message == (
        "data 'train' at data/train.csv has new contents under the same path "
        "(digest 111111111111 → 222222222222; size +200 bytes)"
    )
    assert diff.suggested_bump.level == "patch"
    assert diff.suggested_bump.reason.startswith("data changed: ")


def test_new_path_for_a_role_is_a_normal_data_change() -> None:
    old = version(data=(snapshot(path="data/2024-04.csv", digest=DIGEST_1),))
    new = version("1.0.1", data=(snapshot(path="data/2024-05.csv", digest=DIGEST_2),))
    diff = diff_versions(old, new)
    (change,) = diff.data
    assert change.status == "changed"
    assert change.path_changed
    assert not diff.findings_of("silent_data_change")
    assert all(f.severity == "info" for f in diff.findings)


def test_data_roles_added_and_removed() -> None:
    old = version(data=(snapshot(), snapshot("eval", "data/eval.csv", DIGEST_2)))
    new = version("1.0.1", data=(snapshot(), snapshot("holdout", "data/hold.csv", DIGEST_2)))
    statuses = {d.role: d.status for d in diff_versions(old, new).data}
    assert statuses == {"train": "unchanged", "eval": "removed", "holdout": "added"}


def test_directory_manifest_lists_files_added_removed_modified() -> None:
    def entry(path: str, digest: str) -> ManifestEntry:
        return ManifestEntry(path=path, size=10, digest=digest * 64)

    old_manifest = (entry("a.csv", "1"), entry("b.csv", "2"), entry("c.csv", "3"))
    new_manifest = (entry("a.csv", "1"), entry("b.csv", "9"), entry("d.csv", "4"))
    old = version(
        data=(snapshot(path="data/", kind="directory", file_count=3, manifest=old_manifest),)
    )
    new = version(
        "1.0.1",
        data=(
            snapshot(
                path="data/", digest=DIGEST_2, kind="directory", file_count=3, manifest=new_manifest
            ),
        ),
    )
    diff = diff_versions(old, new)
    (change,) = diff.data
    assert change.manifest_compared
    assert (change.files_added, change.files_removed, change.files_modified) == (
        ("d.csv",),
        ("c.csv",),
        ("b.csv",),
    )
    assert (change.files_added_count, change.files_removed_count) == (1, 1)
    assert "1 file added, 1 file removed, 1 file modified" in diff.findings[0].message


def test_manifest_file_lists_are_capped_but_counted() -> None:
    many = tuple(ManifestEntry(f"part-{i:04d}.parquet", 1, "e" * 64) for i in range(120))
    old = version(data=(snapshot(path="d/", kind="directory", manifest=()),))
    new = version("1.0.1", data=(snapshot(path="d/", kind="directory", manifest=many),))
    (change,) = diff_versions(old, new).data
    assert len(change.files_added) == FILE_LIST_CAP
    assert change.files_added[0] == "part-0000.parquet"
    assert change.files_added_count == 120


def test_manifest_not_compared_when_one_side_lacks_it() -> None:
    old = version(data=(snapshot(path="d/", kind="directory", manifest=None),))
    new = version("1.0.1", data=(snapshot(path="d/", kind="directory", manifest=()),))
    (change,) = diff_versions(old, new).data
    assert not change.manifest_compared
    assert change.files_added_count == 0


def test_dvc_md5_counts_as_a_digest() -> None:
    old = version(data=(snapshot(digest=None, kind="uri", dvc_md5="abc"),))
    new = version("1.0.1", data=(snapshot(digest=None, kind="uri", dvc_md5="def"),))
    diff = diff_versions(old, new)
    assert diff.data[0].old_digest == "md5:abc"
    assert diff.data[0].status == "changed"
    # a new md5 is a change DVC recorded, not a silent one (issue 13, item 8)
    assert diff.findings_of("data_change") and not diff.findings_of("silent_data_change")
    assert not diff.findings_of("missing_lineage")


# ----------------------------------------------------------------------------------- code


def test_code_change_without_history() -> None:
    old = version()
    new = version("1.1.0", code=code_state(SHA_B))
    diff = diff_versions(old, new)
    code = diff.code
    assert (code.status, code.old_commit, code.new_commit) == ("changed", SHA_A, SHA_B)
    assert code.commit_changed
    assert not code.history
    assert code.commits == ()
    assert code.total_commits is None
    assert diff.suggested_bump.level == "minor"
    assert diff.suggested_bump.reason == "code changed (aaaaaaa → bbbbbbb)"


def test_code_change_with_history() -> None:
    commits = (
        CommitInfo(sha=SHA_B, author="ana", date=T0, subject="Use focal loss"),
        CommitInfo(sha="c" * 40, author="bo", date=T0 - dt.timedelta(days=1), subject="Fix"),
    )
    history = CodeHistory(
        old_commit=SHA_A,
        new_commit=SHA_B,
        commits=commits,
        total_commits=5,
        files_changed=("train.py",),
        total_files_changed=1,
    )
    diff = diff_versions(version(), version("1.1.0", code=code_state(SHA_B)), history)
    assert diff.code.history and diff.code.reachable
    assert diff.code.commits == commits
    assert (diff.code.total_commits, diff.code.files_changed) == (5, ("train.py",))
    as_json = diff.to_dict()["code"]
    assert as_json["commits"][0] == {
        "sha": SHA_B,
        "short_sha": "bbbbbbb",
        "author": "ana",
        "date": "2024-05-01T12:00:00+00:00",
        "subject": "Use focal loss",
    }


def test_code_history_for_other_commits_is_refused() -> None:
    history = CodeHistory("c" * 40, SHA_B, (), 0, (), 0)
    with pytest.raises(UsageError):
        diff_versions(version(), version("1.1.0", code=code_state(SHA_B)), history)


def test_code_history_accepts_short_shas() -> None:
    history = CodeHistory(SHA_A[:7], SHA_B[:12], (), 0, (), 0)
    diff = diff_versions(version(), version("1.1.0", code=code_state(SHA_B)), history)
    assert diff.code.history


def test_dirty_code_on_either_side() -> None:
    old = version(code=code_state(dirty=True, files=("train.py",)))
    new = version("1.0.1", code=code_state(dirty=True, files=("a.py", "b.py", "c.py", "d.py")))
    diff = diff_versions(old, new)
    dirty = diff.findings_of("dirty_code")
    assert [f.severity for f in dirty] == ["warning", "warning"]
    assert dirty[0].message == "1.0.0 was trained from uncommitted changes (1 file: train.py)"
    assert dirty[1].message == (
        "1.0.1 was trained from uncommitted changes (4 files: a.py, b.py, c.py, …)"
    )
    assert (diff.code.old_dirty, diff.code.new_dirty) == (True, True)


def test_same_commit_clean_vs_dirty_is_a_working_tree_change() -> None:
    diff = diff_versions(version(), version("1.0.1", code=code_state(dirty=True)))
    assert diff.code.status == "changed"
    assert not diff.code.commit_changed
    assert diff.suggested_bump == BumpSuggestion("patch", "working tree changed")


# ---------------------------------------------------------------------------- environment


def test_packages_added_removed_upgraded_downgraded_with_major_flag() -> None:
    old_env = environment({"numpy": "1.26.4", "pandas": "2.2.2", "torch": "2.3.0", "six": "1"})
    new_env = environment({"numpy": "2.0.1", "pandas": "2.1.0", "torch": "2.3.1", "rich": "13"})
    diff = diff_versions(version(env=old_env), version("1.0.1", env=new_env))
    env = diff.environment
    assert env.status == "changed"
    assert env.packages_compared
    assert env.packages_added == (PackageChange("rich", None, "13"),)
    assert env.packages_removed == (PackageChange("six", "1", None),)
    assert env.packages_upgraded == (
        PackageChange("numpy", "1.26.4", "2.0.1", major=True),
        PackageChange("torch", "2.3.0", "2.3.1", major=False),
    )
    assert env.packages_downgraded == (PackageChange("pandas", "2.2.2", "2.1.0"),)
    (finding,) = diff.findings_of("major_dependency_change")
    assert finding.severity == "warning"
    assert finding.message == "numpy 1.26.4 → 2.0.1 (major version upgrade)"
    assert diff.suggested_bump.reason == "environment changed"


def test_unparsable_package_versions_fall_back_to_text_order() -> None:
    old_env = environment({"internal": "build-9", "same": "1.0"})
    new_env = environment({"internal": "build-10", "same": "1.0.0"})
    env = diff_versions(version(env=old_env), version("1.0.1", env=new_env)).environment
    assert env.packages_upgraded == (PackageChange("internal", "build-9", "build-10"),)
    assert env.packages_downgraded == ()  # 1.0 and 1.0.0 are the same release


def test_python_platform_and_hardware_changes() -> None:
    new_env = environment(python_version="3.12.3", machine="arm64", gpus=("NVIDIA A100",))
    diff = diff_versions(version(), version("1.0.1", env=new_env))
    env = diff.environment
    assert (env.python_old, env.python_new, env.python_changed) == ("3.11.9", "3.12.3", True)
    assert [(c.field, c.old, c.new) for c in env.system_changes] == [
        ("machine", "x86_64", "arm64"),
        ("gpus", (), ("NVIDIA A100",)),
    ]
    (python,) = diff.findings_of("python_change")
    assert (python.severity, python.message) == ("info", "Python 3.11.9 → 3.12.3")


def test_environment_on_one_side_only_is_not_listed_package_by_package() -> None:
    diff = diff_versions(version(env=None), version("1.0.1"))
    assert diff.environment.status == "added"
    assert not diff.environment.packages_compared
    assert diff.environment.packages_added == ()


# ------------------------------------------------------------------------------ artifacts


def test_artifacts_added_removed_changed() -> None:
    def art(name: str, digest: str | None, uri: str | None = None) -> Artifact:
        return Artifact(name=name, uri=uri or f"s3://m/{name}", digest=digest, size=10)

    old = version(artifacts=(art("model.pkl", DIGEST_1), art("old.txt", None), art("card", "c")))
    new = version(
        "1.0.1",
        artifacts=(
            art("model.pkl", DIGEST_2),
            art("new.txt", None),
            art("card", "c", uri="s3://other/card"),  # moved, same contents
        ),
    )
    statuses = {a.name: a.status for a in diff_versions(old, new).artifacts}
    assert statuses == {
        "card": "unchanged",
        "model.pkl": "changed",
        "new.txt": "added",
        "old.txt": "removed",
    }


# ------------------------------------------------------------------------------- findings


def test_metric_regression_message() -> None:
    spec = {"auc": MetricSpec("auc", "maximize", 0.005)}
    old = version(metrics={"auc": 0.912}, specs=spec)
    new = version("1.1.0", params={"lr": 0.2, "depth": 6}, metrics={"auc": 0.897}, specs=spec)
    (finding,) = diff_versions(old, new).findings
    assert finding.kind == "metric_regression"
    assert finding.severity == "critical"
    assert finding.message == "auc fell 0.912 → 0.897 (-1.6%), beyond tolerance 0.005"


def test_regression_of_a_minimized_metric_from_zero() -> None:
    old = version(metrics={"val_loss": 0.0})
    new = version("1.1.0", params={"lr": 0.2}, metrics={"val_loss": 0.5})
    (finding,) = diff_versions(old, new).findings_of("metric_regression")
    assert finding.message == "val_loss rose 0 → 0.5 (+0.5), beyond tolerance 0.0005"


def test_missing_lineage_is_critical_on_the_new_side() -> None:
    old = version()
    new = version("1.0.1", data=(snapshot(digest=None, kind="uri"),), code=None, env=None)
    diff = diff_versions(old, new)
    (finding,) = diff.findings_of("missing_lineage")
    assert finding.severity == "critical"
    assert finding.message == (
        "1.0.1 cannot be reproduced: no data digest for 'train'; no git commit; no environment"
    )
    assert diff.findings[0] == finding  # critical first


def test_missing_lineage_only_on_the_old_side_is_a_warning() -> None:
    old = version(data=(), code=None)
    diff = diff_versions(old, version("1.0.1"))
    (finding,) = diff.findings_of("missing_lineage")
    assert finding.severity == "warning"
    assert finding.message == (
        "1.0.0 (the version compared against) has no data recorded; no git commit"
    )


def test_missing_lineage_on_both_sides_is_reported_once_for_the_new_side() -> None:
    a = version(code=None)
    diff = diff_versions(a, replace(a, version="1.0.1"))
    assert [(f.kind, f.severity) for f in diff.findings] == [("missing_lineage", "critical")]


def test_unexplained_metric_change() -> None:
    old = version(metrics={"auc": 0.90, "val_loss": 0.3})
    new = version("1.0.1", metrics={"auc": 0.93, "val_loss": 0.3})
    diff = diff_versions(old, new)
    assert kinds(diff) == ["unexplained_metric_change"]
    assert diff.findings[0].severity == "warning"
    assert diff.findings[0].message == (
        "auc 0.9 → 0.93 (+3.3%) beyond tolerance while params, data, code and environment "
        "are unchanged: training is nondeterministic — set a seed and record it as a param"
    )


def test_explained_metric_change_is_not_flagged() -> None:
    old = version(metrics={"auc": 0.90})
    new = version("1.1.0", params={"lr": 0.2, "depth": 6}, metrics={"auc": 0.93})
    assert diff_versions(old, new).findings == ()


def test_findings_sorted_by_severity_and_every_kind_covered() -> None:
    old = version(
        metrics={"auc": 0.9},
        env=environment({"numpy": "1.26.4"}),
        code=code_state(dirty=True),
    )
    new = version(
        "1.0.1",
        metrics={"auc": 0.8},
        data=(snapshot(digest=DIGEST_2),),
        env=environment({"numpy": "2.0.0"}, python_version="3.12.1"),
        code=None,
    )
    diff = diff_versions(old, new)
    severities = [f.severity for f in diff.findings]
    assert severities == sorted(severities, key=["critical", "warning", "info"].index)
    assert set(kinds(diff)) == {
        "metric_regression",
        "silent_data_change",
        "dirty_code",
        "missing_lineage",
        "major_dependency_change",
        "python_change",
    }
    assert set(FINDING_KINDS) >= set(kinds(diff)) | {"unexplained_metric_change"}


# ----------------------------------------------------------------------------------- bump


@pytest.mark.parametrize(
    ("changes", "level", "reason"),
    [
        ({}, "patch", "no recipe change"),
        ({"data": (snapshot(digest=DIGEST_2),)}, "patch", "data changed: train"),
        (
            {"data": (snapshot(digest=DIGEST_2),), "env": environment(python_version="3.12.0")},
            "patch",
            "data and environment changed",
        ),
        (
            {"params": {"lr": 0.1, "depth": 7, "seed": 1}},
            "minor",
            "params changed (1 changed, 1 added)",
        ),
        (
            {"params": {"lr": 0.1}, "code": code_state(SHA_B)},
            "minor",
            "params changed (1 removed); code changed (aaaaaaa → bbbbbbb)",
        ),
        ({"tags": {"schema.input": "v2"}}, "major", "schema.input changed (v1 → v2)"),
        (
            {"tags": {"schema.input": "v1", "breaking": "true"}},
            "major",
            "flagged as a breaking change",
        ),
        (
            {"tags": {"schema.input": "v1", "breaking": "drops column age"}},
            "major",
            "flagged as a breaking change: drops column age",
        ),
        ({"tags": {"schema.input": "v1", "breaking": "false"}}, "patch", "no recipe change"),
    ],
)
def test_suggested_bump(changes: dict[str, Any], level: str, reason: str) -> None:
    old = version(tags={"schema.input": "v1"})
    new_args: dict[str, Any] = {"tags": {"schema.input": "v1"}, **changes}
    bump = diff_versions(old, version("1.0.1", **new_args)).suggested_bump
    assert (bump.level, bump.reason) == (level, reason)


def test_schema_tag_set_for_the_first_time_is_not_a_schema_change() -> None:
    bump = diff_versions(version(), version("1.0.1", tags={"output_schema": "v1"})).suggested_bump
    assert bump.level == "patch"


# ------------------------------------------------------------------------------ JSON form


def test_to_dict_has_the_documented_keys_and_is_json_safe() -> None:
    old = version(metrics={"auc": 0.9}, params={"lr": 0.1, "x": float("nan")})
    new = version("1.1.0", metrics={"auc": 0.8}, params={"lr": 0.2, "x": float("nan")})
    diff = diff_versions(old, new)
    as_dict = diff.to_dict()
    assert list(as_dict) == [
        "model",
        "from",
        "to",
        "params",
        "metrics",
        "data",
        "code",
        "environment",
        "artifacts",
        "findings",
        "suggested_bump",
    ]
    assert (as_dict["model"], as_dict["from"], as_dict["to"]) == (
        "fraud-detector",
        "1.0.0",
        "1.1.0",
    )
    assert as_dict["params"]["changed"][0]["key"] == "lr"
    assert as_dict["params"]["changed"][0]["type_changed"] is False
    assert as_dict["metrics"][0]["verdict"] == "regressed"
    assert as_dict["findings"][0] == {
        "kind": "metric_regression",
        "severity": "critical",
        "message": "auc fell 0.9 → 0.8 (-11.1%), beyond tolerance 0.0009",
    }
    assert as_dict["suggested_bump"] == {"level": "minor", "reason": "params changed (1 changed)"}
    assert json.loads(diff.to_json()) == as_dict


def test_digest_is_stable_and_tracks_content() -> None:
    old, new = version(), version("1.1.0", params={"lr": 0.2, "depth": 6})
    first = diff_versions(old, new).digest()
    assert first == diff_versions(old, new).digest()
    assert len(first) == 64
    assert first != diff_versions(old, version("1.1.0", params={"lr": 0.3, "depth": 6})).digest()
