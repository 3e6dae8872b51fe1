"""`modeltrail diff` and `modeltrail changelog` end to end, on SQLite and PostgreSQL.

Every scenario trains versions inside a real git repository in a tmp dir (commits between
them, data files that change or not), registers them through `track()`, `Run` +
`Registry.register` or `modeltrail register`, and reads the reports through the CLI.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from support import commit_file, git

from modeltrail.bot.cli.main import main
from modeltrail.core.capture.environment import environment_from_parts
from modeltrail.core.records import Environment, VersionRecord
from modeltrail.core.registry.writer import Registry
from modeltrail.core.tracking import Run, track

MODEL = "fraud-detector"
ACTOR = "ana@example.com"
JSON_KEYS = [
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
SECTION = re.compile(r"^(Findings|Metrics|Params|Data|Code|Environment|Artifacts)\b")
BASE_PACKAGES = {"numpy": "1.26.4", "pandas": "2.2.1", "scikit-learn": "1.4.2"}

CLI = Callable[..., tuple[int, str, str]]


def env_of(python: str = "3.11.9", machine: str = "x86_64", **packages: str | None) -> Environment:
    """An environment built by hand: BASE_PACKAGES with `packages` overriding (None removes)."""
    merged: dict[str, str] = dict(BASE_PACKAGES)
    for name, version in packages.items():
        name = name.replace("_", "-")
        if version is None:
            merged.pop(name, None)
        else:
            merged[name] = version
    return environment_from_parts(
        python_version=python, platform="Linux-6.8", machine=machine, cpu_count=8, packages=merged
    )


@pytest.fixture
def cli(db_url: str, capsys: pytest.CaptureFixture[str]) -> CLI:
    """Run the CLI against the test database; return (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--db", db_url, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def project(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A training project: code committed, data and the model file ignored (as with DVC)."""
    commit_file(git_repo, ".gitignore", "data/\nmodel.pkl\n", "ignore data and outputs")
    commit_file(git_repo, "train.py", "LR = 0.01\n", "scaffold the training script")
    write(git_repo / "data" / "train.csv", "x,y\n1,0\n2,1\n")
    (git_repo / "model.pkl").write_bytes(b"\x80\x04weights-1")
    monkeypatch.chdir(git_repo)
    return git_repo


def write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def commit_as(repo: Path, author: str, relative: str, content: str, message: str) -> str:
    write(repo / relative, content)
    git(repo, "add", relative)
    email = author.split()[0].lower() + "@example.com"
    git(repo, "-c", f"user.name={author}", "-c", f"user.email={email}", "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


def train(
    registry: Registry,
    repo: Path,
    metrics: Mapping[str, float],
    *,
    params: Mapping[str, Any] | None = None,
    data: Iterable[tuple[str, str]] = (("train", "data/train.csv"),),
    artifact: str | None = None,
    **options: Any,
) -> VersionRecord:
    """One training run through `track()`: git and the environment captured for real."""
    with track(MODEL, registry=registry, base_dir=repo, actor=ACTOR, **options) as run:
        run.log_params(params if params is not None else {"lr": 0.01, "epochs": 20})
        for role, path in data:
            run.log_data(role, path)
        run.log_metrics(metrics)
        if artifact:
            run.log_artifact(artifact)
    assert run.record is not None
    return run.record


def register(
    registry: Registry,
    repo: Path,
    metrics: Mapping[str, float],
    *,
    env: Environment | None,
    params: Mapping[str, Any] | None = None,
    data: Iterable[tuple[str, str]] = (("train", "data/train.csv"),),
    **options: Any,
) -> VersionRecord:
    """One version with a hand-built environment: `Run` captures git and data, then the
    draft is registered through `Registry.register`."""
    run = Run(MODEL, base_dir=repo, **options)
    run.log_params(params if params is not None else {"lr": 0.01, "epochs": 20})
    for role, path in data:
        run.log_data(role, path)
    run.log_metrics(metrics)
    draft = dataclasses.replace(run.draft(capture_environment=False), environment=env)
    return registry.register(draft, actor=ACTOR)


def diff_json(cli: CLI, *args: str) -> dict[str, Any]:
    code, out, err = cli("diff", MODEL, *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def diff_text(cli: CLI, *args: str, fmt: str = "text") -> str:
    code, out, err = cli("diff", MODEL, *args, "--format", fmt)
    assert code == 0, err
    assert err == ""
    return out


def sections(text: str) -> list[str]:
    return [m.group(1) for line in text.splitlines() if (m := SECTION.match(line))]


def findings(report: Mapping[str, Any]) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for f in report["findings"]:
        found.setdefault(f["kind"], []).append((f["severity"], f["message"]))
    return found


def table_cells(row: str) -> list[str]:
    """The cells of a GFM table row; `\\|` does not split a cell."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


# -- the issue's example headline ------------------------------------------------------------


def test_headline_reads_like_the_issue_example(registry: Registry, project: Path, cli: CLI) -> None:
    register(registry, project, {"auc": 0.912}, env=env_of(), version="2.1.4")
    commit_as(project, "Ana Trainer", "train.py", "LR = 0.01\nEPOCHS = 20\n", "Pin epochs")
    commit_as(project, "Bea Reviewer", "features.py", "COLS = ['amount']\n", "Add features")
    commit_as(project, "Ana Trainer", "train.py", "LR = 0.01\nEPOCHS = 20\n# v2\n", "Use them")
    write(project / "data" / "train.csv", "x,y\n1,0\n2,1\n3,1\n")
    upgraded = env_of(pandas="2.2.2", scikit_learn="1.5.0")
    register(registry, project, {"auc": 0.897}, env=upgraded)

    headline = (
        "2.1.5 vs 2.1.4: auc 0.912 → 0.897 (-1.6%, regressed); data changed: train; "
        "3 commits; 2 packages upgraded"
    )
    text = diff_text(cli)
    assert text.splitlines()[0] == f"{MODEL} {headline}"
    assert text.splitlines()[1] == "suggested bump: minor (code changed ({} → {}))".format(
        *(registry.load(MODEL, v).code.commit[:7] for v in ("2.1.4", "2.1.5"))  # type: ignore[union-attr]
    )
    assert sections(text) == ["Findings", "Metrics", "Data", "Code", "Environment"]
    assert headline in diff_text(cli, fmt="md").splitlines()
    assert f"<strong>{headline}</strong>" in diff_text(cli, fmt="html")


# -- code: commits between the versions, in every format --------------------------------------


def test_commits_between_versions_in_text_md_json_and_html(
    registry: Registry, project: Path, cli: CLI
) -> None:
    old = train(registry, project, {"auc": 0.91, "loss": 0.30}, artifact="model.pkl")
    c1 = commit_as(project, "Ana Trainer", "train.py", "LR = 0.02\n", "Tune lr | warmup")
    c2 = commit_as(
        project, "Bea Reviewer", "features.py", "X = 1\n", "Add <script>alert(1)</script> cols"
    )
    c3 = commit_as(project, "Ana Trainer", "train.py", "LR = 0.02\nX = 1\n", "Use new features")
    (project / "model.pkl").write_bytes(b"\x80\x04weights-2, longer")
    new = train(
        registry,
        project,
        {"auc": 0.93, "loss": 0.25},
        params={"lr": 0.02, "epochs": 20},
        artifact="model.pkl",
    )
    assert old.code is not None and new.code is not None and new.code.commit == c3
    short = [c[:7] for c in (c3, c2, c1)]  # newest first

    text = diff_text(cli)
    lines = text.splitlines()
    assert lines[0] == (
        f"{MODEL} 1.0.1 vs 1.0.0: auc 0.91 → 0.93 (+2.2%, improved); "
        "loss 0.3 → 0.25 (-16.7%, improved); lr 0.01 → 0.02; 3 commits"
    )
    assert sections(text) == ["Metrics", "Params", "Code", "Artifacts"]
    assert f"  {old.code.commit[:7]} → {c3[:7]} (main): 3 commits, 2 files changed" in lines
    commit_lines = [line.strip() for line in lines if line.startswith("    ") and ": " in line]
    assert [line.split()[0] for line in commit_lines[:3]] == short
    assert commit_lines[0].endswith("Ana Trainer: Use new features")
    assert commit_lines[1].endswith("Bea Reviewer: Add <script>alert(1)</script> cols")
    assert commit_lines[2].endswith("Ana Trainer: Tune lr | warmup")
    assert "    files: features.py, train.py" in lines
    assert "  ~ lr: 0.01 → 0.02 (+0.01, +100%)" in lines
    assert any(line.startswith("  ~ model.pkl: sha ") for line in lines)

    md = diff_text(cli, fmt="md")
    assert f"- `{old.code.commit[:7]}` → `{c3[:7]}` on `main`: 3 commits, 2 files changed" in md
    assert f"`{short[0]}`" in md and "Ana Trainer: Use new features" in md
    assert f"`{short[1]}`" in md and "Bea Reviewer: Add" in md
    assert f"`{short[2]}`" in md and "Ana Trainer: Tune lr \\| warmup" in md
    assert "files: `features.py`, `train.py`" in md
    assert md.index(short[0]) < md.index(short[1]) < md.index(short[2])

    report = diff_json(cli)
    code = report["code"]
    assert code["status"] == "changed" and code["commit_changed"] is True
    assert (code["old_commit"], code["new_commit"]) == (old.code.commit, c3)
    assert code["history"] is True and code["reachable"] is True
    assert code["total_commits"] == 3
    assert [(c["sha"], c["short_sha"], c["author"], c["subject"]) for c in code["commits"]] == [
        (c3, short[0], "Ana Trainer", "Use new features"),
        (c2, short[1], "Bea Reviewer", "Add <script>alert(1)</script> cols"),
        (c1, short[2], "Ana Trainer", "Tune lr | warmup"),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT.*", c["date"]) for c in code["commits"])
    assert code["files_changed"] == ["features.py", "train.py"]
    assert code["total_files_changed"] == 2
    assert [a["name"] for a in report["artifacts"]] == ["model.pkl"]
    assert report["artifacts"][0]["status"] == "changed"
    assert report["suggested_bump"]["level"] == "minor"

    html = diff_text(cli, fmt="html")
    assert html.startswith("<!DOCTYPE html>")
    assert "Add &lt;script&gt;alert(1)&lt;/script&gt; cols" in html
    assert "<script>" not in html
    assert f"<code>{short[2]}</code>" in html and "Ana Trainer: Tune lr | warmup" in html

    # --no-git: the commit range only, no history read
    plain = diff_json(cli, "--no-git")["code"]
    assert plain["history"] is False and plain["commits"] == []
    assert plain["total_commits"] is None
    assert f"code {old.code.commit[:7]} → {c3[:7]}" in diff_text(cli, "--no-git").splitlines()[0]


# -- data ------------------------------------------------------------------------------------


def test_silent_data_change_versus_unchanged_data(
    registry: Registry, project: Path, cli: CLI
) -> None:
    train(registry, project, {"auc": 0.91})
    train(registry, project, {"auc": 0.91})  # same data, same everything

    same = diff_json(cli)
    assert [(d["role"], d["status"]) for d in same["data"]] == [("train", "unchanged")]
    assert same["findings"] == []
    text = diff_text(cli)
    assert text.splitlines()[0] == f"{MODEL} 1.0.1 vs 1.0.0: metrics within tolerance"
    assert "suggested bump: patch (no recipe change)" in text
    assert sections(text) == []  # nothing changed: the headline says so, no sections

    write(project / "data" / "train.csv", "x,y\n1,0\n2,1\n3,0\n")  # same path, new bytes
    write(project / "data" / "test.csv", "x,y\n9,1\n")
    train(
        registry,
        project,
        {"auc": 0.91},
        data=[("train", "data/train.csv"), ("test", "data/test.csv")],
    )
    report = diff_json(cli)
    changed = {d["role"]: d for d in report["data"]}
    assert changed["train"]["status"] == "changed"
    assert changed["train"]["old_path"] == changed["train"]["new_path"] == "data/train.csv"
    assert changed["train"]["size_delta"] == 4
    assert changed["test"]["status"] == "added"
    [(severity, message)] = findings(report)["silent_data_change"]
    old_digest = changed["train"]["old_digest"][:12]
    new_digest = changed["train"]["new_digest"][:12]
    assert severity == "warning"
    assert message == (
        "data 'train' at data/train.csv has new contents under the same path "
        f"(digest {old_digest} → {new_digest}; size +4 bytes)"
    )
    assert report["suggested_bump"] == {"level": "patch", "reason": "data changed: test, train"}

    text = diff_text(cli)
    assert text.splitlines()[0] == (
        f"{MODEL} 1.0.2 vs 1.0.1: metrics within tolerance; data changed: train; data added: test"
    )
    assert sections(text) == ["Findings", "Metrics", "Data"]
    assert "  WARNING  silent_data_change: data 'train' at data/train.csv" in text
    assert f"  ~ train: data/train.csv, sha {old_digest} → {new_digest}, size +4 B" in text
    assert "  + test: data/test.csv (sha " in text
    md = diff_text(cli, fmt="md")
    assert f"- **train** changed: `data/train.csv`, sha `{old_digest}` → `{new_digest}`" in md
    assert "- **warning** `silent_data_change`: data 'train'" in md


def test_data_directory_lists_files_added_removed_and_modified(
    registry: Registry, project: Path, cli: CLI
) -> None:
    images = project / "data" / "images"
    for name in ("a.txt", "b.txt", "c.txt"):
        write(images / name, f"pixels of {name}\n")
    train(registry, project, {"auc": 0.91}, data=[("images", "data/images")])
    (images / "a.txt").unlink()
    write(images / "b.txt", "pixels of b, retouched\n")
    for i in range(55):  # more than FILE_LIST_CAP (50) added
        write(images / "new" / f"f{i:03}.txt", f"{i}\n")
    train(registry, project, {"auc": 0.91}, data=[("images", "data/images")])

    [images_change] = diff_json(cli)["data"]
    assert images_change["status"] == "changed" and images_change["manifest_compared"] is True
    assert images_change["files_removed"] == ["a.txt"]
    assert images_change["files_modified"] == ["b.txt"]
    assert images_change["files_added"] == [f"new/f{i:03}.txt" for i in range(50)]
    assert images_change["files_added_count"] == 55
    assert (images_change["old_file_count"], images_change["new_file_count"]) == (3, 57)
    [(_, message)] = findings(diff_json(cli))["silent_data_change"]
    assert "55 files added, 1 file removed, 1 file modified" in message

    text = diff_text(cli)
    assert "      - a.txt" in text and "      ~ b.txt" in text
    assert "      + new/f000.txt" in text and "      + new/f049.txt" in text
    assert "new/f050.txt" not in text
    assert "      + … 5 more added" in text
    assert ", files +54" in text
    md = diff_text(cli, fmt="md")
    assert "  - removed (1): `a.txt`" in md
    assert "  - modified (1): `b.txt`" in md
    assert "  - added (55): `new/f000.txt`, " in md and "`new/f049.txt` …" in md
    html = diff_text(cli, fmt="html")
    assert "removed 1: a.txt." in html and "modified 1: b.txt." in html


# -- code state: dirty tree, missing lineage ----------------------------------------------------


def test_training_from_a_dirty_tree(registry: Registry, project: Path, cli: CLI) -> None:
    train(registry, project, {"auc": 0.91})
    write(project / "train.py", "LR = 0.05  # quick experiment\n")
    write(project / "notes.txt", "try a higher lr\n")
    record = train(registry, project, {"auc": 0.91})
    assert record.code is not None and record.code.dirty

    report = diff_json(cli)
    assert report["code"]["status"] == "changed" and report["code"]["commit_changed"] is False
    assert report["code"]["new_dirty"] is True
    assert report["code"]["new_dirty_files"] == ["notes.txt", "train.py"]
    assert findings(report)["dirty_code"] == [
        ("warning", "1.0.1 was trained from uncommitted changes (2 files: notes.txt, train.py)")
    ]
    assert report["suggested_bump"] == {
        "level": "minor",
        "reason": "working tree changed (uncommitted: notes.txt, train.py)",
    }
    text = diff_text(cli)
    assert text.splitlines()[0].endswith("metrics within tolerance; uncommitted code changes")
    assert "  1.0.1 was trained from uncommitted changes: notes.txt, train.py" in text
    assert "- 1.0.1 was trained from **uncommitted changes**: `notes.txt`, `train.py`" in (
        diff_text(cli, fmt="md")
    )


def test_missing_lineage_from_register_without_git_env_or_data(project: Path, cli: CLI) -> None:
    code, _, err = cli("register", MODEL, "--metric", "auc=0.9", "--data", "train=data/train.csv")
    assert code == 0, err
    code, _, err = cli("register", MODEL, "--metric", "auc=0.9", "--no-git", "--no-env")
    assert code == 0, err

    report = diff_json(cli)
    assert findings(report)["missing_lineage"] == [
        (
            "critical",
            "1.0.1 cannot be reproduced: no data recorded; no git commit; no environment",
        )
    ]
    assert report["code"]["status"] == "removed" and report["code"]["new_commit"] is None
    assert report["environment"]["status"] == "removed"
    assert [(d["role"], d["status"]) for d in report["data"]] == [("train", "removed")]
    text = diff_text(cli)
    assert (
        "  CRITICAL missing_lineage: 1.0.1 cannot be reproduced: "
        "no data recorded; no git commit; no environment"
    ) in text
    assert "1.0.1 has no git state" in text
    assert "  recorded only on 1.0.0" in text

    reverse = diff_json(cli, "1.0.1", "1.0.0")  # the old side lacks it: a warning
    assert findings(reverse)["missing_lineage"] == [
        (
            "warning",
            "1.0.1 (the version compared against) has no data recorded; no git commit; "
            "no environment",
        )
    ]


# -- environment -----------------------------------------------------------------------------


def test_environment_differences(registry: Registry, project: Path, cli: CLI) -> None:
    register(registry, project, {"auc": 0.91}, env=env_of())
    changed = env_of(
        python="3.12.3",
        machine="aarch64",
        numpy="2.0.1",
        pandas="2.1.4",
        polars="1.0.0",
        scikit_learn=None,
    )
    register(registry, project, {"auc": 0.91}, env=changed)

    report = diff_json(cli)
    env = report["environment"]
    assert env["status"] == "changed" and env["python_changed"] is True
    assert (env["python_old"], env["python_new"]) == ("3.11.9", "3.12.3")
    assert env["packages_upgraded"] == [
        {"name": "numpy", "old": "1.26.4", "new": "2.0.1", "major": True}
    ]
    assert env["packages_downgraded"] == [
        {"name": "pandas", "old": "2.2.1", "new": "2.1.4", "major": False}
    ]
    assert [p["name"] for p in env["packages_added"]] == ["polars"]
    assert [p["name"] for p in env["packages_removed"]] == ["scikit-learn"]
    assert env["system_changes"] == [{"field": "machine", "old": "x86_64", "new": "aarch64"}]
    assert findings(report) == {
        "major_dependency_change": [("warning", "numpy 1.26.4 → 2.0.1 (major version upgrade)")],
        "python_change": [("info", "Python 3.11.9 → 3.12.3")],
    }
    assert report["suggested_bump"] == {"level": "patch", "reason": "environment changed"}

    text = diff_text(cli)
    assert text.splitlines()[0] == (
        f"{MODEL} 1.0.1 vs 1.0.0: metrics within tolerance; python 3.11.9 → 3.12.3; "
        "numpy 1.26.4 → 2.0.1; pandas 2.2.1 → 2.1.4; polars 1.0.0 (added); "
        "scikit-learn 1.4.2 (removed); platform/hardware changed"
    )
    assert sections(text) == ["Findings", "Metrics", "Environment"]
    for line in (
        "  WARNING  major_dependency_change: numpy 1.26.4 → 2.0.1 (major version upgrade)",
        "  INFO     python_change: Python 3.11.9 → 3.12.3",
        "  python 3.11.9 → 3.12.3",
        "  ↑ numpy 1.26.4 → 2.0.1 (major)",
        "  ↓ pandas 2.2.1 → 2.1.4",
        "  + polars 1.0.0",
        "  - scikit-learn 1.4.2",
        "  machine: x86_64 → aarch64",
    ):
        assert line in text.splitlines()
    md = diff_text(cli, fmt="md")
    assert "- upgraded `numpy` 1.26.4 → 2.0.1 **(major)**" in md
    assert "- Python 3.11.9 → 3.12.3" in md
    assert "<strong>(major)</strong>" in diff_text(cli, fmt="html")


# -- metrics: goals, tolerance, unexplained changes ----------------------------------------------


def test_metric_goals_tolerance_and_unexplained_changes(
    registry: Registry, project: Path, cli: CLI
) -> None:
    env = env_of()
    register(registry, project, {"auc": 0.900, "latency_ms": 12.0}, env=env)
    register(registry, project, {"auc": 0.895, "latency_ms": 15.0}, env=env)  # same recipe

    report = diff_json(cli)
    assert [(m["name"], m["verdict"], m["goal"]) for m in report["metrics"]] == [
        ("auc", "regressed", "maximize"),
        ("latency_ms", "regressed", "minimize"),
    ]
    assert findings(report) == {
        "metric_regression": [
            ("critical", "auc fell 0.9 → 0.895 (-0.6%), beyond tolerance 0.0009"),
            ("critical", "latency_ms rose 12 → 15 (+25.0%), beyond tolerance 0.015"),
        ],
        "unexplained_metric_change": [
            (
                "warning",
                "auc 0.9 → 0.895 (-0.6%), latency_ms 12 → 15 (+25.0%) beyond tolerance while "
                "params, data, code and environment are unchanged: training is "
                "nondeterministic — set a seed and record it as a param",
            )
        ],
    }
    assert report["suggested_bump"] == {"level": "patch", "reason": "no recipe change"}
    assert sections(diff_text(cli)) == ["Findings", "Metrics"]

    registry.set_metric_goal(MODEL, "auc", "maximize", 0.01, actor=ACTOR)
    registry.set_metric_goal(MODEL, "latency_ms", "minimize", 5.0, actor=ACTOR)
    quiet = diff_json(cli)
    assert [m["verdict"] for m in quiet["metrics"]] == ["unchanged", "unchanged"]
    assert [m["tolerance"] for m in quiet["metrics"]] == [0.01, 5.0]
    assert quiet["findings"] == []
    text = diff_text(cli)
    assert text.splitlines()[0] == f"{MODEL} 1.0.1 vs 1.0.0: metrics within tolerance"
    assert sections(text) == []

    registry.set_metric_goal(MODEL, "auc", "minimize", 0.001, actor=ACTOR)
    flipped = diff_json(cli)
    assert flipped["metrics"][0]["verdict"] == "improved"
    assert "metric_regression" not in findings(flipped)
    assert [k for k in findings(flipped)] == ["unexplained_metric_change"]
    assert "auc 0.9 → 0.895 (-0.6%, improved)" in diff_text(cli).splitlines()[0]


# -- suggested bump levels and the changelog ----------------------------------------------------


def test_suggested_bumps_and_changelog(registry: Registry, project: Path, cli: CLI) -> None:
    schema = {"schema.input": "v1"}
    train(registry, project, {"auc": 0.90}, tags=schema, description="baseline | first")
    write(project / "data" / "train.csv", "x,y\n1,0\n2,1\n4,4\n")
    train(registry, project, {"auc": 0.91}, tags=schema, description="fresh data")
    train(
        registry,
        project,
        {"auc": 0.92},
        params={"lr": 0.02, "epochs": 20},
        tags=schema,
        version="1.1.0",
        description="higher lr",
    )
    commit_as(project, "Ana Trainer", "train.py", "LR = 0.02\n", "Read lr from params")
    train(
        registry,
        project,
        {"auc": 0.92},
        params={"lr": 0.02, "epochs": 20},
        tags=schema,
        version="1.2.0",
        description="<script>alert('x')</script>",
    )
    train(
        registry,
        project,
        {"auc": 0.93},
        params={"lr": 0.02, "epochs": 20},
        tags={"schema.input": "v2"},
        version="2.0.0",
        description="new input schema",
    )
    train(
        registry,
        project,
        {"auc": 0.93},
        params={"lr": 0.02, "epochs": 20},
        tags={"schema.input": "v2", "breaking": "drops the amount column"},
        description="breaking change",
    )
    bumps = {v: diff_json(cli, v)["suggested_bump"] for v in ("1.0.1", "1.1.0", "1.2.0")}
    assert bumps["1.0.1"] == {"level": "patch", "reason": "data changed: train"}
    assert bumps["1.1.0"] == {"level": "minor", "reason": "params changed (1 changed)"}
    assert bumps["1.2.0"]["level"] == "minor"
    assert bumps["1.2.0"]["reason"].startswith("code changed (")
    assert diff_json(cli, "2.0.0")["suggested_bump"] == {
        "level": "major",
        "reason": "schema.input changed (v1 → v2)",
    }
    assert diff_json(cli, "2.0.1")["suggested_bump"] == {
        "level": "major",
        "reason": "flagged as a breaking change: drops the amount column",
    }

    code, md, err = cli("changelog", MODEL)  # markdown by default
    assert code == 0, err
    assert md.startswith(f"# Changelog: {MODEL}\n")
    headings = re.findall(r"^## (\S+)", md, re.MULTILINE)
    assert headings == ["2.0.1", "2.0.0", "1.2.0", "1.1.0", "1.0.1", "1.0.0"]
    assert "**vs 2.0.0:** " in md and "Suggested bump: major (schema.input changed (v1 → v2))" in md
    assert "Registered by ana@example.com: baseline \\| first" in md
    assert "First version: auc 0.9." in md
    assert md.count("First version") == 1

    code, out, _ = cli("changelog", MODEL, "--since", "1.1.0", "--format", "md")
    assert code == 0
    assert re.findall(r"^## (\S+)", out, re.MULTILINE) == ["2.0.1", "2.0.0", "1.2.0"]
    assert "First version" not in out

    code, text, _ = cli("changelog", MODEL, "--format", "text", "--since", "1.0.1")
    assert code == 0
    entries = re.findall(r"^(\d+\.\d+\.\d+) \(", text, re.MULTILINE)
    assert entries == ["2.0.1", "2.0.0", "1.2.0", "1.1.0"]
    assert "  vs 1.0.1: auc 0.91 → 0.92 (+1.1%, improved); lr 0.01 → 0.02" in text
    assert "  suggested bump: minor (params changed (1 changed))" in text
    assert "  suggested bump: major (flagged as a breaking change: drops the amount column)" in text

    code, html, _ = cli("changelog", MODEL, "--format", "html")
    assert code == 0
    assert html.startswith("<!DOCTYPE html>")
    assert re.findall(r"<h2>(\S+) <small>", html) == headings
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<script>" not in html

    target = project / "CHANGELOG.md"
    code, out, err = cli("changelog", MODEL, "--out", str(target))
    assert (code, out, err) == (0, "", "")
    assert target.read_text(encoding="utf-8") == md


# -- CLI behaviour: defaults, formats, errors --------------------------------------------------


def test_default_pairs_and_errors(registry: Registry, project: Path, cli: CLI) -> None:
    env = env_of()
    register(registry, project, {"auc": 0.90}, env=env)
    register(registry, project, {"auc": 0.91}, env=env)
    register(registry, project, {"auc": 0.92}, env=env)
    register(registry, project, {"auc": 0.95}, env=env, version="1.1.0", parent="1.0.0")
    register(registry, project, {"auc": 0.5}, env=env, version="0.1.0", parent="")

    def pair(*args: str) -> tuple[str, str]:
        report = diff_json(cli, *args)
        return report["from"], report["to"]

    assert pair() == ("1.0.2", "1.1.0")  # the newest against the one before it
    assert pair("1.1.0") == ("1.0.0", "1.1.0")  # a version against its parent
    assert pair("1.0.2") == ("1.0.1", "1.0.2")
    assert pair("1.0.0", "1.0.2") == ("1.0.0", "1.0.2")
    assert pair("v1.0.2", "1.0.0") == ("1.0.2", "1.0.0")
    assert diff_text(cli, "1.0.1").splitlines()[0].startswith(f"{MODEL} 1.0.1 vs 1.0.0: ")

    solo = Run("solo", base_dir=project).draft(capture_code=False, capture_environment=False)
    registry.register(solo, actor=ACTOR)

    cases = [
        (("diff", MODEL, "0.1.0"), 2, "fraud-detector 0.1.0 has no parent to compare with"),
        (("diff", "solo"), 2, "solo has 1 version; a diff needs two"),
        (("diff", "nope"), 1, "no model named 'nope' in the registry"),
        (("diff", "nope", "1.0.0", "1.0.1"), 1, "no model named 'nope' in the registry"),
        (("diff", MODEL, "9.9.9"), 1, "model 'fraud-detector' has no version 9.9.9"),
        (("diff", MODEL, "1.0.0", "9.9.9"), 1, "model 'fraud-detector' has no version 9.9.9"),
        (("diff", MODEL, "1.0.0", "banana"), 1, "'banana' is not a version number"),
        (("diff", MODEL, "--format", "pdf"), 2, "Invalid value for '--format'"),
        (("changelog", "nope"), 1, "no model named 'nope' in the registry"),
        (("changelog", MODEL, "--since", "9.9.9"), 1, "model 'fraud-detector' has no version"),
        (("changelog", MODEL, "--format", "json"), 2, "Invalid value for '--format'"),
    ]
    for args, exit_code, message in cases:
        code, out, err = cli(*args)
        assert (code, out) == (exit_code, ""), (args, err)
        assert message in err and "Traceback" not in err, (args, err)
        if not message.startswith("Invalid value"):  # click's own usage errors aside
            first, *hint = err.splitlines()
            assert first.startswith("error: ") and message in first, (args, err)
            assert len(hint) <= 1 and all(h.startswith("hint: ") for h in hint), (args, err)


def test_json_format_and_out_file(registry: Registry, project: Path, cli: CLI) -> None:
    register(registry, project, {"auc": 0.90}, env=env_of())
    register(registry, project, {"auc": 0.92, "f1": 0.7}, env=env_of(numpy="2.0.0"))

    code, out, err = cli("diff", MODEL, "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert list(report) == JSON_KEYS
    assert (report["model"], report["from"], report["to"]) == (MODEL, "1.0.0", "1.0.1")
    assert list(report["params"]) == ["added", "removed", "changed", "unchanged_count"]
    assert report["params"]["unchanged_count"] == 2
    assert [(m["name"], m["verdict"]) for m in report["metrics"]] == [
        ("auc", "improved"),
        ("f1", "added"),
    ]
    assert set(report["suggested_bump"]) == {"level", "reason"}
    assert all(set(f) == {"kind", "severity", "message"} for f in report["findings"])

    for fmt, suffix in (("json", "json"), ("md", "md"), ("html", "html"), ("text", "txt")):
        target = project / "reports" / f"diff.{suffix}"
        target.parent.mkdir(exist_ok=True)
        code, printed, err = cli("diff", MODEL, "--format", fmt, "--out", str(target))
        assert (code, printed, err) == (0, "", "")
        assert target.read_text(encoding="utf-8") == diff_text(cli, fmt=fmt)
    assert json.loads((project / "reports" / "diff.json").read_text()) == report

    code, _, err = cli("diff", MODEL, "--out", str(project / "missing" / "dir" / "x.md"))
    assert code == 2 and err.startswith("error: cannot write ") and "Traceback" not in err


def test_markdown_escapes_pipes_and_html_escapes_markup(
    registry: Registry, project: Path, cli: CLI
) -> None:
    env = env_of()
    register(registry, project, {"auc": 0.9}, env=env, params={"sep": "a|b", "note": "<b>x"})
    commit_as(project, "Ana | Ops", "train.py", "SEP = '|'\n", "Split on | not , <script>")
    register(
        registry,
        project,
        {"auc": 0.9},
        env=env,
        params={"sep": "c|d", "note": "<script>alert(1)</script>", "extra|key": 1},
        description="pipes | everywhere <script>",
    )
    md = diff_text(cli, fmt="md")
    rows = [line for line in md.splitlines() if line.startswith("| `")]
    assert {tuple(table_cells(row)) for row in rows} == {
        ("`extra\\|key`", "—", "1", "added"),
        ("`note`", "<b>x", "<script>alert(1)</script>", ""),
        ("`sep`", "a\\|b", "c\\|d", ""),
    }
    metric_rows = [line for line in md.splitlines() if line.startswith("| auc ")]
    assert [len(table_cells(row)) for row in metric_rows] == [6]
    assert "Ana \\| Ops: Split on \\| not , <script>" in md

    code, changelog_md, _ = cli("changelog", MODEL)
    assert code == 0
    assert "Registered by ana@example.com: pipes \\| everywhere <script>" in changelog_md

    html = diff_text(cli, fmt="html")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # param value
    assert "Split on | not , &lt;script&gt;" in html  # commit subject
    assert "&lt;b&gt;x" in html
    code, changelog_html, _ = cli("changelog", MODEL, "--format", "html")
    assert "pipes | everywhere &lt;script&gt;" in changelog_html
    assert "<script>" not in changelog_html


def test_text_is_coloured_on_a_terminal_and_plain_in_a_pipe(tmp_path: Path, project: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tty.db'}"
    with Registry.open(url) as registry:
        register(registry, project, {"auc": 0.912}, env=env_of(), version="2.1.4")
        write(project / "data" / "train.csv", "x,y\n1,0\n2,1\n3,1\n")
        register(registry, project, {"auc": 0.897}, env=env_of(pandas="2.2.2"))
    command = [sys.executable, "-c", "from modeltrail.bot.cli.main import entry; entry()"]
    command += ["--db", url, "diff", MODEL]
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(TERM="xterm-256color", COLUMNS="80")

    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, env=env)
    finally:
        os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=30) == 0
    coloured = b"".join(chunks).decode()
    assert "\x1b[" in coloured
    plain = re.sub(r"\x1b\[[0-9;]*m", "", coloured).replace("\r\n", "\n")
    # long lines are left for the terminal to wrap, never broken into two
    assert plain.splitlines()[0] == (
        f"{MODEL} 2.1.5 vs 2.1.4: auc 0.912 → 0.897 (-1.6%, regressed); data changed: train; "
        "pandas 2.2.1 → 2.2.2"
    )

    piped = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    assert "\x1b[" not in piped.stdout
    assert piped.stdout == plain
