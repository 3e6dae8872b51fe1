"""Issue 13, DVC items 1–9: `register --dvc` on projects a real DVC made (tests/fixtures/dvc),
copied into temporary git repositories. Each test names the item it covers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from dvc_projects import FIXTURES, apply_v2, dvc_project, unpull

from modeltrail.bot.cli.main import main
from modeltrail.core.capture.dvc import parse_dvc_lock, parse_dvc_yaml
from modeltrail.core.capture.dvc_project import plan_dvc

V1_RAW_MD5 = "ff2a8d67c8437908724fea097cdcdba7"  # tests/fixtures/dvc/pipeline/data/raw.csv.dvc
V2_RAW_MD5 = "0e6cd67ba8669c410772d9c64b9362b0"  # …/pipeline-v2/data/raw.csv.dvc


def register(
    project: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    *extra: str,
    git: bool = False,
) -> dict[str, Any]:
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    args = ["--db", db, "register", "model", "--dvc", "--no-env", "--json", *extra]
    if not git:
        args.append("--no-git")
    cwd = os.getcwd()
    os.chdir(project)
    try:
        code = main(args)
    finally:
        os.chdir(cwd)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_item1_whole_params_sections_are_recorded_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # prepare has `params: [prepare]`, train `- params.yaml: [train]`; DVC locks them as
    # nested sections, which used to fail with "param 'train.lr' is given twice".
    project = dvc_project("pipeline", tmp_path / "pipeline")
    params = register(project, tmp_path, capsys)["params"]
    assert {k: v for k, v in params.items() if ":" not in k} == {
        "prepare.split": 0.5,
        "prepare.seed": 7,
        "train.lr": 0.1,
        "train.epochs": 3,
        "evaluate.threshold": 0.5,
    }


def test_item2_each_params_file_keeps_its_own_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # configs/train.yaml has `lr` too; it is `configs/train.yaml:lr`, never `train.lr`, and only
    # the keys dvc.lock tracks (not `optimizer`) are recorded, as `dvc params diff` shows them.
    project = dvc_project("pipeline", tmp_path / "pipeline")
    params = register(project, tmp_path, capsys)["params"]
    assert params["train.lr"] == 0.1
    assert {k: v for k, v in params.items() if ":" in k} == {
        "configs/train.yaml:lr": 0.05,
        "configs/train.yaml:batch": 2,
    }
    assert not any("optimizer" in key for key in params)


def test_item3_foreach_and_matrix_metrics_are_read_and_diffed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = dvc_project("matrix", tmp_path / "matrix")
    first = register(project, tmp_path, capsys)
    metrics = first["metrics"]
    variants = ("rf-4", "rf-8", "lr-1", "lr-2", "svm-1", "svm-2")
    # every generated stage's metrics file is read; names shared by files are per file
    assert {f"metrics/{v}.auc" for v in variants} <= set(metrics)
    assert metrics["metrics/rf-8.auc"]["value"] == 0.58
    assert metrics["metrics/svm-2.n_samples"]["value"] == 4
    artifacts = sorted(a["uri"] for a in first["artifacts"])
    assert artifacts == sorted(f"models/{v}.pkl" for v in variants)  # no plots, no metrics

    (project / "metrics" / "rf-8.json").write_text('{"auc": 0.61, "n_samples": 4}')
    second = register(project, tmp_path, capsys)
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    assert (
        main(["--db", db, "diff", "model", first["version"], second["version"], "--format", "json"])
        == 0
    )
    diff = json.loads(capsys.readouterr().out)
    moved = {m["name"]: m for m in diff["metrics"] if m["verdict"] != "unchanged"}
    assert set(moved) == {"metrics/rf-8.auc"}
    assert moved["metrics/rf-8.auc"]["old"] == 0.58 and moved["metrics/rf-8.auc"]["new"] == 0.61


def test_item4_wdir_stage_paths_resolve_against_its_working_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = dvc_project("wdir", tmp_path / "wdir")
    record = register(project, tmp_path, capsys)
    data = {d["role"]: d for d in record["data"]}
    assert set(data) == {"data/raw.csv"}  # `../../data/raw.csv` from stages/features
    assert data["data/raw.csv"]["dvc"]["md5"] == "d12446ed739e291efd43d6449fc81cb8"
    assert data["data/raw.csv"]["digest"]  # found and hashed at the resolved path
    assert record["params"] == {"stages/features/params.yaml:features.window": 2}
    assert record["metrics"]["mean_sum"]["value"] == 8.0  # (3 + 8 + 13) / 3
    (features,) = record["artifacts"]
    assert (features["uri"], features["size"]) == ("data/features.csv", 13)


def test_item5_stages_dvc_yaml_no_longer_declares_are_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = dvc_project("stale", tmp_path / "stale")
    assert "old_report" in (project / "dvc.lock").read_text()
    record = register(project, tmp_path, capsys)
    assert [a["uri"] for a in record["artifacts"]] == ["data/features.csv"]  # not data/old.csv
    assert set(record["metrics"]) == {"mean_sum"}  # old_metrics.json is not read
    assert [d["role"] for d in record["data"]] == ["data/raw.csv"]


def test_item6_a_dvc_add_only_project_registers_its_tracked_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = dvc_project("add-only", tmp_path / "add-only")
    assert not (project / "dvc.lock").exists()
    data = {d["role"]: d for d in register(project / "data", tmp_path, capsys)["data"]}
    assert set(data) == {"data/images", "data/labels.csv"}
    images = data["data/images"]
    assert images["dvc"] == {
        "md5": "6547d7dc3de5c808b3448f0482c6ae26.dir",
        "source": "data/images.dvc",
    }
    assert (images["kind"], images["file_count"]) == ("directory", 2)
    assert data["data/labels.csv"]["dvc"]["source"] == "data/labels.csv.dvc"
    assert data["data/labels.csv"]["digest"]


def test_item6_no_lock_and_no_dvc_files_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "empty-dvc"
    (project / ".dvc").mkdir(parents=True)
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    monkeypatch.chdir(project)
    assert main(["--db", db, "register", "m", "--dvc", "--no-env", "--no-git"]) == 1
    err = capsys.readouterr().err
    assert "no dvc.lock and no .dvc files" in err and "Traceback" not in err


def test_item9_plots_are_never_artifacts_and_a_consumed_model_is_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # models/model.pkl is an out of `train` and a dep of `evaluate`: still the model
    project = dvc_project("pipeline", tmp_path / "pipeline")
    record = register(project, tmp_path, capsys)
    assert [a["uri"] for a in record["artifacts"]] == ["models/model.pkl"]
    assert [d["role"] for d in record["data"]] == ["data/raw.csv", "data/prepared"]
    # given as --artifact too, it is recorded once, as an artifact
    again = register(project, tmp_path, capsys, "--artifact", "models/model.pkl")
    assert [a["uri"] for a in again["artifacts"]] == ["models/model.pkl"]
    assert "models/model.pkl" not in {d["role"] for d in again["data"]}


def test_item9_a_consumed_output_named_as_artifact_is_not_data() -> None:
    lock = parse_dvc_lock((FIXTURES / "pipeline" / "dvc.lock").read_text())
    declared = parse_dvc_yaml((FIXTURES / "pipeline" / "dvc.yaml").read_text())
    plan = plan_dvc(lock, declared, artifact_paths=frozenset({"data/prepared"}))
    assert [a.path for a in plan.artifacts] == ["data/prepared", "models/model.pkl"]
    assert [d.entry.path for d in plan.data] == ["data/raw.csv"]
    assert not {"plots/loss.csv", "eval/roc.json"} & {a.path for a in plan.artifacts}


@pytest.mark.skipif(shutil.which("dvc") is None, reason="needs dvc on PATH to rebuild fixtures")
def test_fixtures_are_what_this_dvc_writes(tmp_path: Path) -> None:
    subprocess.run(
        ["bash", str(FIXTURES / "make_fixtures.sh"), str(tmp_path / "out"), str(tmp_path / "exp")],
        check=True,
        capture_output=True,
    )
    made = tmp_path / "exp"
    for name in ("dvc.lock", ".dvc"):
        for ours in FIXTURES.rglob(f"*{name}"):
            if ours.is_file():
                rebuilt = made / ours.relative_to(FIXTURES)
                assert rebuilt.read_text() == ours.read_text(), ours


def diff_json(tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str) -> dict:
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    assert main(["--db", db, "diff", "model", old, new, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_item7_pulled_and_not_pulled_diff_as_no_data_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = dvc_project("pipeline", tmp_path / "pipeline")
    pulled = register(project, tmp_path, capsys, git=True)
    unpull(project, "data/raw.csv", "data/prepared", "models/model.pkl")  # a fresh clone
    bare = register(project, tmp_path, capsys, git=True)
    assert all(d["digest"] is None and d["dvc"]["md5"] for d in bare["data"])
    assert bare["artifacts"][0]["digest"].startswith("dvc-md5:")

    for old, new in ((pulled, bare), (bare, pulled)):
        diff = diff_json(tmp_path, capsys, old["version"], new["version"])
        assert [d["status"] for d in diff["data"]] == ["unchanged", "unchanged"]
        assert [a["status"] for a in diff["artifacts"]] == ["unchanged"]
        kinds = {f["kind"] for f in diff["findings"]}
        assert not kinds & {"silent_data_change", "data_change", "unexplained_metric_change"}
        assert diff["suggested_bump"]["reason"] == "no recipe change"


def test_item8_a_data_change_committed_through_dvc_is_a_data_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = dvc_project("pipeline", tmp_path / "pipeline")
    v1 = register(project, tmp_path, capsys, git=True)
    commit = apply_v2(project)  # two rows appended, `dvc add`, `dvc repro`, committed
    v2 = register(project, tmp_path, capsys, git=True)
    diff = diff_json(tmp_path, capsys, v1["version"], v2["version"])
    raw = next(d for d in diff["data"] if d["role"] == "data/raw.csv")
    assert raw["status"] == "changed"
    assert (raw["old_dvc_md5"], raw["new_dvc_md5"]) == (V1_RAW_MD5, V2_RAW_MD5)
    assert (raw["dvc_source"], raw["dvc_commit"]) == ("data/raw.csv.dvc", commit)
    kinds = [f["kind"] for f in diff["findings"]]
    assert "silent_data_change" not in kinds
    messages = [f["message"] for f in diff["findings"] if f["kind"] == "data_change"]
    assert any(
        f"data 'data/raw.csv' changed through DVC: md5 {V1_RAW_MD5[:12]} → {V2_RAW_MD5[:12]}" in m
        and f"committed in {commit[:7]}" in m
        for m in messages
    ), messages
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    assert main(["--db", db, "diff", "model", v1["version"], v2["version"]]) == 0
    text = capsys.readouterr().out
    assert (
        f"DVC md5 {V1_RAW_MD5[:12]} → {V2_RAW_MD5[:12]} (data/raw.csv.dvc, commit {commit[:7]})"
        in text
    )


def test_item8_a_file_edited_without_dvc_add_is_silent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = dvc_project("pipeline", tmp_path / "pipeline")
    v1 = register(project, tmp_path, capsys, git=True)
    with (project / "data" / "raw.csv").open("a") as f:
        f.write("9,0.5,1\n")  # no `dvc add`: the .dvc file and dvc.lock keep the old md5
    v2 = register(project, tmp_path, capsys, git=True)
    diff = diff_json(tmp_path, capsys, v1["version"], v2["version"])
    (silent,) = [f for f in diff["findings"] if f["kind"] == "silent_data_change"]
    assert silent["severity"] == "warning"
    assert "data 'data/raw.csv'" in silent["message"]
    assert f"data/raw.csv.dvc still records md5 {V1_RAW_MD5[:12]}" in silent["message"]
    assert not [f for f in diff["findings"] if f["kind"] == "data_change"]
