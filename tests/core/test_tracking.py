"""The tracking client end to end: a training script's `track()` block in a real git repo,
registering into SQLite and PostgreSQL through the real capture functions."""

from __future__ import annotations

import hashlib
import math
import platform
from pathlib import Path

import numpy as np
import pytest
from support import commit_file, git

from modeltrail.core.capture.data import manifest_digest
from modeltrail.core.errors import (
    DataPathError,
    InvalidMetricError,
    InvalidNameError,
    InvalidParamError,
    InvalidVersionError,
    ModelNotFoundError,
    UsageError,
)
from modeltrail.core.records import ManifestEntry
from modeltrail.core.registry.writer import Registry
from modeltrail.core.tracking import track

GIT_USER = "Test Trainer <trainer@example.com>"  # set by tests/conftest.py


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def project(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The git repo with a committed training script, ignored data and outputs; cwd is it."""
    commit_file(git_repo, ".gitignore", "data/\n*.pkl\n.modeltrail/\n", "ignore data")
    commit_file(git_repo, "train.py", "print('training')\n", "add training script")
    (git_repo / "data" / "images" / "cats").mkdir(parents=True)
    (git_repo / "data" / "train.csv").write_text("x,y\n1,0\n2,1\n")
    (git_repo / "data" / "images" / "a.png").write_bytes(b"\x89PNG a")
    (git_repo / "data" / "images" / "cats" / "b.png").write_bytes(b"\x89PNG bb")
    (git_repo / "model.pkl").write_bytes(b"pickled model")
    monkeypatch.chdir(git_repo)
    return git_repo


def train(db_url: str, **kwargs: object):  # type: ignore[no-untyped-def]
    """The issue's example training script."""
    with track("fraud-detector", database_url=db_url, **kwargs) as run:  # type: ignore[arg-type]
        run.log_params({"optimizer": {"name": "adam", "lr": 0.01}, "epochs": 3, "seed": None})
        run.log_data("train", "data/train.csv")
        run.log_data("images", "data/images")
        for step, loss in enumerate([0.9, 0.5, 0.3]):
            run.log_metric("loss", loss, step=step)
        run.log_metric("accuracy", 0.91)
        run.log_artifact("model.pkl")
    return run


def test_issue_example_registers_the_whole_recipe(project: Path, db_url: str) -> None:
    head = git(project, "rev-parse", "HEAD")
    run = train(db_url, description="weekly retrain")
    assert run.record is not None
    record = run.record
    assert (record.model, record.version, record.parent) == ("fraud-detector", "1.0.0", None)
    assert record.description == "weekly retrain"
    assert record.actor == GIT_USER

    assert dict(record.params) == {
        "optimizer.name": "adam",
        "optimizer.lr": 0.01,
        "epochs": 3,
        "seed": None,
    }
    assert record.metric_values() == {"loss": 0.3, "accuracy": 0.91}
    assert record.metric_specs["loss"].goal == "minimize"
    assert record.metric_specs["accuracy"].goal == "maximize"

    train_csv, images = record.data
    assert (train_csv.role, train_csv.path, train_csv.kind) == ("train", "data/train.csv", "file")
    assert train_csv.digest == sha256(b"x,y\n1,0\n2,1\n")
    assert (train_csv.size, train_csv.file_count) == (12, 1)
    assert (images.role, images.path, images.kind, images.file_count) == (
        "images",
        "data/images",
        "directory",
        2,
    )
    assert images.manifest == (
        ManifestEntry("a.png", 6, sha256(b"\x89PNG a")),
        ManifestEntry("cats/b.png", 7, sha256(b"\x89PNG bb")),
    )
    assert images.digest == manifest_digest(images.manifest)
    assert images.size == 13

    [artifact] = record.artifacts
    assert (artifact.name, artifact.uri) == ("model.pkl", "model.pkl")
    assert (artifact.digest, artifact.size) == (sha256(b"pickled model"), 13)

    assert record.code is not None
    assert record.code.commit == head
    assert record.code.branch == "main"
    assert record.code.dirty is False
    assert record.code.diff_digest is None
    assert Path(record.code.repo_root).resolve() == project.resolve()

    env = record.environment
    assert env is not None
    assert env.python_version == platform.python_version()
    assert "sqlalchemy" in env.packages and "alembic" in env.packages
    assert len(env.fingerprint) == 64

    with Registry.open(db_url) as registry:
        loaded = registry.load("fraud-detector", "1.0.0", history=True)
        assert loaded == registry.load("fraud-detector", "1.0.0", history=True)
        history = loaded.metrics["loss"].history
        assert history is not None
        assert [(p.step, p.value) for p in history] == [(0, 0.9), (1, 0.5), (2, 0.3)]
        assert all(p.timestamp.utcoffset() is not None for p in history)
        assert loaded.data == record.data and loaded.code == record.code
        assert loaded.environment == env
        assert registry.verify_audit().events_checked == 1


def test_second_run_is_next_patch_with_parent_and_dirty_code(project: Path, db_url: str) -> None:
    first = train(db_url).record
    assert first is not None and first.code is not None and not first.code.dirty

    (project / "train.py").write_text("print('training harder')\n")
    second = train(db_url).record
    assert second is not None
    assert (second.version, second.parent) == ("1.0.1", "1.0.0")
    assert second.code is not None
    assert second.code.commit == first.code.commit
    assert second.code.dirty is True
    assert second.code.dirty_files == ("train.py",)
    assert second.code.diff_digest is not None and len(second.code.diff_digest) == 64
    assert second.environment is not None and first.environment is not None
    assert second.environment.fingerprint == first.environment.fingerprint

    new_head = commit_file(project, "train.py", "print('v3')\n", "tune training")
    third = train(db_url).record
    assert third is not None and third.code is not None
    # a clean version descends from the newest clean one, not the dirty 1.0.1 (issue 13, item 22)
    assert (third.version, third.parent) == ("1.0.2", "1.0.0")
    assert (third.code.commit, third.code.dirty) == (new_head, False)


def test_changed_data_is_rehashed(project: Path, db_url: str) -> None:
    first = train(db_url).record
    (project / "data" / "train.csv").write_text("x,y\n1,0\n2,1\n3,1\n")
    (project / "data" / "images" / "c.png").write_bytes(b"new image")
    second = train(db_url).record
    assert first is not None and second is not None
    assert second.data[0].digest == sha256(b"x,y\n1,0\n2,1\n3,1\n") != first.data[0].digest
    assert second.data[1].file_count == 3
    assert second.data[1].digest != first.data[1].digest


def test_block_that_raises_registers_nothing(project: Path, db_url: str) -> None:
    boom = RuntimeError("diverged at epoch 3")
    with pytest.raises(RuntimeError) as info:
        with track("fraud-detector", database_url=db_url) as run:
            run.log_params({"lr": 0.1})
            run.log_data("train", "data/train.csv")
            run.log_metric("loss", 0.5)
            raise boom
    assert info.value is boom
    assert run.record is None
    with Registry.open(db_url) as registry:
        assert registry.list_models() == []
        assert registry.verify_audit().events_checked == 0
    # No version number was used up.
    assert train(db_url).record.version == "1.0.0"  # type: ignore[union-attr]


def test_keyboard_interrupt_propagates_and_registers_nothing(project: Path, db_url: str) -> None:
    with pytest.raises(KeyboardInterrupt):
        with track("fraud-detector", database_url=db_url) as run:
            run.log_metric("loss", 0.5)
            raise KeyboardInterrupt
    with Registry.open(db_url) as registry:
        assert registry.list_models() == []


def test_missing_data_path_fails_at_log_time(project: Path, db_url: str) -> None:
    reached = []
    with pytest.raises(DataPathError) as info:
        with track("fraud-detector", database_url=db_url) as run:
            run.log_data("train", "data/missing.csv")
            reached.append(True)
    assert reached == []
    assert "data/missing.csv" in str(info.value)
    assert "train" in str(info.value)
    with pytest.raises(DataPathError, match="nope.pkl"):
        with track("fraud-detector", database_url=db_url) as run:
            run.log_artifact("nope.pkl")
    with Registry.open(db_url) as registry:
        assert registry.list_models() == []


def test_bad_values_fail_at_log_time(project: Path, db_url: str) -> None:
    with track("fraud-detector", database_url=db_url) as run:
        with pytest.raises(InvalidMetricError, match="'val_loss'"):
            run.log_metric("val_loss", math.nan)
        with pytest.raises(InvalidMetricError, match="'val_loss'"):
            run.log_metric("val_loss", math.inf, step=3)
        with pytest.raises(InvalidMetricError, match="'acc'"):
            run.log_metric("acc", "high")  # type: ignore[arg-type]
        with pytest.raises(UsageError, match="step"):
            run.log_metric("loss", 0.1, step=1.5)  # type: ignore[arg-type]
        with pytest.raises(InvalidParamError, match=r"'model\.fn'"):
            run.log_params({"model": {"fn": print}})
        with pytest.raises(UsageError):
            run.log_data("", "data/train.csv")
        with pytest.raises(UsageError, match="step"):
            run.log_metric("loss", 0.1, step=True)  # type: ignore[arg-type]
        run.log_metric("loss", 1)  # an int is fine and stored as a float
        run.log_metric("loss", np.float32(0.75), step=np.int64(5))  # type: ignore[arg-type]
        run.log_metrics({"loss": 0.5, "accuracy": 0.8}, step=7)
        run.log_param("batch", 32)
        run.set_tag("team", "risk")
    record = run.record
    assert record is not None
    assert dict(record.params) == {"batch": 32}
    assert record.metric_values() == {"loss": 0.5, "accuracy": 0.8}
    assert (record.metrics["loss"].step, record.metrics["loss"].history_count) == (7, 3)
    assert dict(record.tags) == {"team": "risk"}


def test_default_steps_count_points_per_metric(project: Path, db_url: str) -> None:
    with track("fraud-detector", database_url=db_url, capture_environment=False) as run:
        for value in (0.3, 0.2, 0.1):
            run.log_metric("loss", value)
        run.log_metric("accuracy", 0.5)
    with Registry.open(db_url) as registry:
        record = registry.load("fraud-detector", "1.0.0", history=True)
    assert [p.step for p in record.metrics["loss"].history or ()] == [0, 1, 2]
    assert record.metrics["accuracy"].step == 0
    assert record.environment is None


def test_later_params_replace_earlier_ones(project: Path, db_url: str) -> None:
    with track("fraud-detector", database_url=db_url) as run:
        run.log_params({"optimizer": {"lr": 0.1, "name": "sgd"}})
        run.log_params({"optimizer.lr": 0.2})
        run.log_param("optimizer", {"momentum": 0.9})
    assert run.record is not None
    assert dict(run.record.params) == {
        "optimizer.lr": 0.2,
        "optimizer.name": "sgd",
        "optimizer.momentum": 0.9,
    }


def test_explicit_version_and_parent(project: Path, db_url: str) -> None:
    train(db_url)
    train(db_url)
    run = train(db_url, version="v2.0.0", parent="1.0.0")
    assert run.record is not None
    assert (run.record.version, run.record.parent) == ("2.0.0", "1.0.0")
    assert train(db_url).record.version == "2.0.1"  # type: ignore[union-attr]


def test_malformed_version_or_name_fails_before_the_block(project: Path, db_url: str) -> None:
    ran = []
    with pytest.raises(InvalidVersionError, match="'2.0'"):
        with track("fraud-detector", database_url=db_url, version="2.0"):
            ran.append(True)
    with pytest.raises(InvalidNameError):
        with track("fraud detector!", database_url=db_url):
            ran.append(True)
    assert ran == []


def test_actor_explicit_then_environment_then_git(
    project: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert train(db_url).record.actor == GIT_USER  # type: ignore[union-attr]
    monkeypatch.setenv("MODELTRAIL_ACTOR", "ci-runner")
    assert train(db_url).record.actor == "ci-runner"  # type: ignore[union-attr]
    assert train(db_url, actor="Grace").record.actor == "Grace"  # type: ignore[union-attr]
    with Registry.open(db_url) as registry:
        assert [e.actor for e in registry.audit_log()] == ["Grace", "ci-runner", GIT_USER]


def test_repository_git_user_wins_over_global(project: Path, db_url: str) -> None:
    git(project, "config", "user.name", "Repo Person")
    git(project, "config", "user.email", "repo@example.com")
    assert train(db_url).record.actor == "Repo Person <repo@example.com>"  # type: ignore[union-attr]


def test_outside_git_there_is_no_code_state(tmp_path: Path, db_url: str) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "train.csv").write_text("a\n")
    with track("fraud-detector", database_url=db_url, base_dir=plain) as run:
        run.log_data("train", "train.csv")
    assert run.record is not None
    assert run.record.code is None
    assert run.record.data[0].digest == sha256(b"a\n")


def test_base_dir_resolves_relative_paths(
    project: Path, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with track("fraud-detector", database_url=db_url, base_dir=project) as run:
        run.log_data("train", "data/train.csv")
        run.log_artifact("model.pkl", name="classifier")
    record = run.record
    assert record is not None and record.code is not None
    assert record.code.commit == git(project, "rev-parse", "HEAD")
    assert record.data[0].path == "data/train.csv"
    assert (record.artifacts[0].name, record.artifacts[0].uri) == ("classifier", "model.pkl")


def test_uri_data_and_artifacts_are_recorded_as_given(project: Path, db_url: str) -> None:
    with track("fraud-detector", database_url=db_url) as run:
        run.log_data("external", "s3://bucket/features.parquet")
        run.log_artifact("https://user:secret@models.example.com/fraud/model.onnx")
    record = run.record
    assert record is not None
    assert (record.data[0].kind, record.data[0].path, record.data[0].digest) == (
        "uri",
        "s3://bucket/features.parquet",
        None,
    )
    assert record.artifacts[0].name == "model.onnx"
    assert "secret" not in record.artifacts[0].uri


def test_given_registry_is_used_and_left_open(project: Path, registry: Registry) -> None:
    with track("fraud-detector", registry=registry) as run:
        run.log_metric("loss", 0.2)
    assert run.record is not None
    assert registry.latest_version("fraud-detector") == "1.0.0"


def test_default_registry_is_under_the_working_directory(project: Path) -> None:
    with track("fraud-detector", capture_environment=False) as run:
        run.log_metric("loss", 0.2)
    assert (project / ".modeltrail" / "registry.db").is_file()
    with Registry.open() as registry:
        assert registry.latest_version("fraud-detector") == "1.0.0"
    assert run.record is not None and run.record.code is not None
    assert run.record.code.dirty is False  # .modeltrail/ is ignored in this project


def test_configured_registry_is_used(
    project: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELTRAIL_DATABASE_URL", db_url)
    with track("fraud-detector", capture_environment=False) as run:
        run.log_metric("loss", 0.2)
    with Registry.open(db_url) as registry:
        assert registry.latest_version("fraud-detector") == "1.0.0"
    assert not (project / ".modeltrail").exists()
    with pytest.raises(ModelNotFoundError):
        with Registry.open(f"sqlite:///{project / 'other.db'}") as other:
            other.latest_version("fraud-detector")
