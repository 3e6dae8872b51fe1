"""`modeltrail demo` end to end: a real project, real training runs, a real registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import git

from modeltrail.bot.cli.main import main
from modeltrail.core.records import VersionDraft, VersionRecord
from modeltrail.core.registry.writer import Registry

MODEL = "fraud-detector"
VERSIONS = ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4"]
ACTORS = ["ana@demo", "ben@demo", "ana@demo", "ben@demo", "chen@demo"]


def run_demo(directory: Path, capsys: pytest.CaptureFixture[str], *options: str) -> str:
    code = main([*options, "demo", "--dir", str(directory)])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def load_versions(directory: Path) -> list[VersionRecord]:
    with Registry.open(f"sqlite:///{directory / '.modeltrail' / 'registry.db'}") as registry:
        listed = [v.version for v in registry.list_versions(MODEL)]
        assert sorted(listed) == VERSIONS
        return [registry.load(MODEL, v, history=True) for v in VERSIONS]


def digest(record: VersionRecord, role: str) -> str | None:
    return next(s.digest for s in record.data if s.role == role)


def test_demo_trains_and_registers_a_version_per_kind_of_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "demo"
    run_demo(directory, capsys)
    out = run_demo(directory, capsys)  # a second run replaces the first

    assert f"{MODEL}: 5 versions" in out
    assert f"{MODEL} 1.0.4" in out
    assert f"cd {directory}" in out
    base, params, data, code, env = records = load_versions(directory)

    assert [r.parent for r in records] == [None, *VERSIONS[:-1]]
    assert [r.actor for r in records] == ACTORS
    for r in records:
        assert r.description
        assert r.code is not None and not r.code.dirty and len(r.code.commit) == 40
        assert {s.role for s in r.data} == {"train", "test"}
        assert all(s.digest for s in r.data)
        assert r.environment is not None
        assert {"auc", "accuracy", "f1", "loss"} <= set(r.metrics)
        loss = r.metrics["loss"]
        epochs = r.params["train.epochs"]
        assert loss.history is not None and [p.step for p in loss.history] == list(range(epochs))
        assert loss.history[-1].value < loss.history[0].value  # it really trained
        assert [a.name for a in r.artifacts] == ["model.npz"]
    # Every version was trained from its own commit, authored by the persona.
    assert len({r.code.commit for r in records if r.code}) == 5
    authors = git(directory, "log", "--format=%ae").splitlines()
    assert authors == ACTORS[::-1]

    # 1.0.1: a params change only.
    assert (base.params["train.learning_rate"], base.params["train.epochs"]) == (0.05, 100)
    assert (params.params["train.learning_rate"], params.params["train.epochs"]) == (0.5, 300)
    assert digest(params, "train") == digest(base, "train")
    # 1.0.2: a new training set, same test set and params.
    assert digest(data, "train") != digest(params, "train")
    assert len({digest(r, "test") for r in records}) == 1
    assert data.params == params.params
    # 1.0.3: a code change only.
    assert code.params == data.params and code.data == data.data
    assert code.environment == data.environment
    # 1.0.4: featurekit upgraded across a major version, and the model got worse.
    assert env.code is not None and code.code is not None
    assert code.environment is not None and env.environment is not None
    assert code.environment.packages["featurekit"] == "1.4.0"
    assert env.environment.packages["featurekit"] == "2.0.0"
    assert env.environment.fingerprint != code.environment.fingerprint
    assert env.metrics["auc"].value < code.metrics["auc"].value
    # The recorded metrics are the ones train.py printed.
    assert f"auc {code.metrics['auc'].value:.4f}" in out


def test_demo_refuses_a_directory_that_is_not_a_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "mine"
    directory.mkdir()
    (directory / "notes.txt").write_text("keep me\n")

    code = main(["demo", "--dir", str(directory)])
    _, err = capsys.readouterr()

    assert code == 1
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("error:")
    # rich wraps at the console width; the message itself is one line.
    assert "is not empty and is not a previous modeltrail demo" in " ".join(err.split())
    assert "hint:" in err
    assert (directory / "notes.txt").read_text() == "keep me\n"
    assert sorted(p.name for p in directory.iterdir()) == ["notes.txt"]


def test_demo_will_not_add_to_a_configured_registry_that_has_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    with Registry.open(url) as registry:
        registry.register(VersionDraft(model=MODEL), actor="someone")

    previous = tmp_path / "demo"
    previous.mkdir()
    (previous / ".modeltrail-demo").write_text("")
    (previous / "train.py").write_text("# a previous demo's file\n")

    code = main(["--db", url, "demo", "--dir", str(previous)])
    _, err = capsys.readouterr()

    assert code == 1
    assert "already has a model named 'fraud-detector'" in " ".join(err.split())
    with Registry.open(url) as registry:
        assert registry.count_versions(MODEL) == 1
    assert (previous / "train.py").is_file()  # refused before anything was replaced


def test_demo_needs_git(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    code = main(["demo", "--dir", str(tmp_path / "demo")])
    _, err = capsys.readouterr()

    assert code == 1
    assert "needs git" in err
    assert not (tmp_path / "demo").exists()
