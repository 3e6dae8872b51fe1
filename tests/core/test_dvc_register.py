"""`modeltrail register --dvc` and `track(..., dvc=True)` on a DVC-shaped project made here
(no DVC installed): dvc.lock deps/outs, params.yaml, declared metrics files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modeltrail.bot.cli.main import main
from modeltrail.core import track
from modeltrail.core.capture.dvc import parse_dvc_lock, parse_dvc_yaml
from modeltrail.core.capture.dvc_project import plan_dvc
from modeltrail.core.registry.writer import Registry

RAW_MD5 = "1a2b3c4d5e6f708192a3b4c5d6e7f809"
FEATURES_MD5 = "9f8e7d6c5b4a39281706f5e4d3c2b1a0.dir"
MODEL_MD5 = "00112233445566778899aabbccddeeff"

DVC_YAML = """\
stages:
  prepare:
    cmd: python src/prepare.py
    deps: [data/raw.csv, src/prepare.py]
    params: [prepare.split]
    outs: [data/features]
  train:
    cmd: python src/train.py
    deps: [data/features, src/train.py]
    params: [train.lr, train.epochs, config.yaml: [batch]]
    outs: [model.pkl]
    metrics:
    - metrics.json:
        cache: false
"""

DVC_LOCK = f"""\
schema: '2.0'
stages:
  prepare:
    cmd: python src/prepare.py
    deps:
    - path: data/raw.csv
      hash: md5
      md5: {RAW_MD5}
      size: 18
    - path: src/prepare.py
      hash: md5
      md5: aaaabbbbccccddddeeeeffff00001111
      size: 20
    params:
      params.yaml:
        prepare.split: 0.2
    outs:
    - path: data/features
      hash: md5
      md5: {FEATURES_MD5}
      size: 24
      nfiles: 2
  train:
    cmd: python src/train.py
    deps:
    - path: data/features
      hash: md5
      md5: {FEATURES_MD5}
      size: 24
      nfiles: 2
    - path: src/train.py
      hash: md5
      md5: 22223333444455556666777788889999
      size: 18
    params:
      params.yaml:
        train.epochs: 10
        train.lr: 0.01
      config.yaml:
        batch: 64
    outs:
    - path: metrics.json
      hash: md5
      md5: 0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f
      size: 40
    - path: model.pkl
      hash: md5
      md5: {MODEL_MD5}
      size: 11
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "dvc-project"
    (root / ".dvc").mkdir(parents=True)
    (root / "data" / "features").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "data" / "raw.csv").write_text("x,y\n1,0\n2,1\n3,0\n")
    (root / "data" / "features" / "a.npy").write_text("features-a\n")
    (root / "data" / "features" / "b.npy").write_text("features-b\n")
    (root / "src" / "prepare.py").write_text("print('prepare')\n")
    (root / "src" / "train.py").write_text("print('train')\n")
    (root / "params.yaml").write_text(
        "prepare:\n  split: 0.2\ntrain:\n  lr: 0.01\n  epochs: 10\n  unused: keep\n"
    )
    (root / "config.yaml").write_text("batch: 64\n")
    (root / "model.pkl").write_bytes(b"model-bytes")
    (root / "metrics.json").write_text(json.dumps({"auc": 0.91, "loss": [0.5, 0.3, 0.2]}))
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "dvc.lock").write_text(DVC_LOCK)
    return root


def test_plan_sorts_entries_into_data_artifacts_params_and_metrics() -> None:
    plan = plan_dvc(parse_dvc_lock(DVC_LOCK), parse_dvc_yaml(DVC_YAML))
    # code deps are left to git
    assert [d.entry.path for d in plan.data] == ["data/raw.csv", "data/features"]
    assert [a.path for a in plan.artifacts] == ["model.pkl"]  # metrics.json is a metric
    assert dict(plan.locked_params) == {
        "prepare.split": 0.2,
        "train.epochs": 10,
        "train.lr": 0.01,
        "config.yaml:batch": 64,
    }
    assert plan.metric_files == ("metrics.json",)


def test_register_dvc_records_the_pipeline(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(project / "src")  # anywhere inside the project
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    args = ["--db", db, "register", "fraud", "--dvc", "--no-env", "--no-git", "--json"]

    assert main([*args, "--param", "train.lr=0.02"]) == 0
    record = json.loads(capsys.readouterr().out)

    assert record["params"] == {
        "prepare.split": 0.2,
        "train.lr": 0.02,  # the flag wins over DVC
        "train.epochs": 10,
        "train.unused": "keep",
        "config.yaml:batch": 64,
    }
    data = {d["role"]: d for d in record["data"]}
    assert set(data) == {"data/raw.csv", "data/features"}
    assert data["data/raw.csv"]["dvc"] == {"md5": RAW_MD5, "source": "dvc.lock"}
    assert data["data/raw.csv"]["kind"] == "file" and data["data/raw.csv"]["digest"]
    assert data["data/features"]["dvc"]["md5"] == FEATURES_MD5
    assert data["data/features"]["kind"] == "directory"
    assert data["data/features"]["file_count"] == 2
    (model,) = record["artifacts"]
    assert (model["name"], model["uri"], model["size"]) == ("model.pkl", "model.pkl", 11)
    assert len(model["digest"]) == 64
    with Registry.open(db) as registry:
        loaded = registry.load("fraud", record["version"], history=True)
    assert loaded.metrics["auc"].value == 0.91
    assert [p.value for p in loaded.metrics["loss"].history or ()] == [0.5, 0.3, 0.2]


def test_data_not_pulled_is_recorded_from_dvc_lock(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (project / "data" / "raw.csv").unlink()
    (project / "model.pkl").unlink()
    monkeypatch.chdir(project)
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    assert main(["--db", db, "register", "fraud", "--dvc", "--no-env", "--no-git", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    raw = next(d for d in record["data"] if d["role"] == "data/raw.csv")
    assert (raw["digest"], raw["dvc"]["md5"], raw["size"]) == (None, RAW_MD5, 18)
    assert record["artifacts"][0]["digest"] == f"dvc-md5:{MODEL_MD5}"


def test_track_with_dvc_and_explicit_values_winning(project: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    with track(
        "fraud", dvc=True, base_dir=project, database_url=db, capture_environment=False
    ) as run:
        run.log_params({"train": {"epochs": 12}})
        run.log_metric("auc", 0.95)
    assert run.record is not None
    assert run.record.params["train.epochs"] == 12
    assert run.record.params["prepare.split"] == 0.2
    assert run.record.metrics["auc"].value == 0.95
    assert run.record.metrics["loss"].value == 0.2
    assert {d.role for d in run.record.data} == {"data/raw.csv", "data/features"}


def test_register_dvc_outside_a_project_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    monkeypatch.chdir(empty)
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    assert main(["--db", db, "register", "fraud", "--dvc", "--no-env", "--no-git"]) == 1
    err = capsys.readouterr().err
    assert "no DVC project (dvc.lock or .dvc/)" in err and "Traceback" not in err
