"""The `modeltrail` command through its public entry point, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from support import commit_file

from modeltrail.bot.cli.main import main


@pytest.fixture
def cli(db_url: str, capsys: pytest.CaptureFixture[str]):
    """Run the CLI against the test database; return (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--db", db_url, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def project(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (git_repo / "data").mkdir()
    (git_repo / "data" / "train.csv").write_text("x,y\n1,0\n2,1\n")
    (git_repo / "params.yaml").write_text("optimizer:\n  name: adam\n  lr: 0.01\nepochs: 20\n")
    (git_repo / "metrics.json").write_text(json.dumps({"auc": 0.91, "loss": [0.7, 0.5, 0.4]}))
    (git_repo / "model.pkl").write_bytes(b"\x80\x04weights")
    commit_file(git_repo, ".gitignore", "model.pkl\nmetrics.json\n", "ignore outputs")
    commit_file(git_repo, "data/train.csv", "x,y\n1,0\n2,1\n", "add data")
    commit_file(git_repo, "params.yaml", (git_repo / "params.yaml").read_text(), "add params")
    monkeypatch.chdir(git_repo)
    return git_repo


def test_register_from_files_then_list_and_show(cli, project: Path) -> None:
    code, out, err = cli(
        "register", "fraud-detector",
        "--params", "params.yaml", "--metrics", "metrics.json",
        "--data", "train=data/train.csv", "--artifact", "model.pkl",
        "--description", "weekly retrain", "--actor", "ci-bot",
    )  # fmt: skip
    assert code == 0, err
    assert "registered fraud-detector 1.0.0" in out

    code, out, _ = cli("register", "fraud-detector", "--param", "epochs=30", "--metric", "auc=0.93")
    assert code == 0
    assert "1.0.1 (parent 1.0.0)" in out

    code, out, _ = cli("list")
    assert code == 0
    assert "fraud-detector" in out and "1.0.1" in out

    code, out, _ = cli("list", "fraud-detector")
    assert code == 0
    assert out.index("1.0.1") < out.index("1.0.0")

    code, out, _ = cli("show", "fraud-detector", "1.0.0", "--json", "--history")
    assert code == 0
    shown = json.loads(out)
    assert shown["params"] == {"optimizer.name": "adam", "optimizer.lr": 0.01, "epochs": 20}
    assert shown["metrics"]["loss"]["value"] == 0.4
    assert [p["value"] for p in shown["metrics"]["loss"]["history"]] == [0.7, 0.5, 0.4]
    assert shown["metric_goals"]["loss"]["goal"] == "minimize"
    assert shown["data"][0]["role"] == "train"
    assert shown["data"][0]["digest"] and shown["data"][0]["size"] == 12
    assert shown["artifacts"][0]["name"] == "model.pkl"
    assert shown["code"]["branch"] == "main"
    assert shown["code"]["dirty"] is False
    assert shown["environment"]["packages"]["sqlalchemy"]
    assert shown["actor"] == "ci-bot"
    assert shown["description"] == "weekly retrain"

    code, out, _ = cli("show", "fraud-detector")  # newest by default, readable
    assert code == 0
    assert "fraud-detector 1.0.1" in out
    assert "epochs" in out and "30" in out


def test_explicit_version_and_semver_order(cli, project: Path) -> None:
    assert cli("register", "m", "--version", "2.9.0", "--no-git")[0] == 0
    assert cli("register", "m", "--version", "v2.10.0", "--no-git")[0] == 0
    code, out, _ = cli("register", "m", "--no-git")
    assert code == 0 and "2.10.1" in out
    code, out, _ = cli("list", "m", "--json")
    assert [v["version"] for v in json.loads(out)] == ["2.10.1", "2.10.0", "2.9.0"]


@pytest.mark.parametrize(
    ("args", "message", "exit_code"),
    [
        (("show", "nope", "1.0.0"), "no model named 'nope'", 1),
        (("register", "m", "--version", "1.2"), "'1.2' is not a version number", 1),
        (("register", "m", "--metric", "auc=nan"), "metric 'auc'", 1),
        (("register", "m", "--metric", "auc=high"), "not a number", 1),
        (("register", "m", "--data", "train=missing.csv"), "missing.csv", 1),
        (("register", "m", "--data", "train"), "KEY=VALUE", 2),
        (("register", "m", "--params", "nowhere.yaml"), "does not exist", 2),
        (("register", "bad name!"), "not a valid model name", 1),
        (("list", "--limit", "-3"), "Invalid value", 2),
    ],
)
def test_bad_input_is_one_clear_line_and_writes_nothing(
    cli, project: Path, args: tuple[str, ...], message: str, exit_code: int
) -> None:
    code, out, err = cli(*args)
    assert code == exit_code
    assert message in err
    assert "Traceback" not in err + out
    code, out, _ = cli("list", "--json")
    assert json.loads(out) == []


def test_duplicate_version_is_refused(cli, project: Path) -> None:
    assert cli("register", "m", "--version", "1.0.0", "--no-git")[0] == 0
    code, _, err = cli("register", "m", "--version", "1.0.0", "--param", "x=1")
    assert code == 1
    assert "already has version 1.0.0" in err
    code, out, _ = cli("list", "m", "--json")
    assert len(json.loads(out)) == 1


def test_unknown_version(cli, project: Path) -> None:
    assert cli("register", "m", "--no-git")[0] == 0
    code, _, err = cli("show", "m", "3.0.0")
    assert code == 1
    assert "model 'm' has no version 3.0.0" in err


def test_missing_database_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--db", f"sqlite:///{tmp_path}/no/such/dir/registry.db", "list"])
    _, err = capsys.readouterr()
    assert code == 1
    assert "does not exist" in err and "Traceback" not in err


def test_database_of_a_newer_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/registry.db"
    assert main(["--db", url, "init"]) == 0
    with sqlite3.connect(tmp_path / "registry.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    capsys.readouterr()
    code = main(["--db", url, "list"])
    _, err = capsys.readouterr()
    assert code == 1
    assert "newer than this modeltrail knows" in err


def test_default_database_is_created_under_cwd(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init"]) == 0
    assert (tmp_path / ".modeltrail" / "registry.db").is_file()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    from modeltrail.core.errors import ModelNotFoundError

    with pytest.raises(ModelNotFoundError):
        main(["--db", f"sqlite:///{tmp_path}/r.db", "--debug", "show", "x", "1.0.0"])


def test_every_command_has_help_and_is_in_the_readme(capsys: pytest.CaptureFixture[str]) -> None:
    import click

    from modeltrail.bot.cli.main import app

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    # the group imports a command's module on first use: ask it, not the loaded commands
    names = app.list_commands(click.Context(app))
    assert len(names) > 30
    for name in names:
        command = app.get_command(click.Context(app), name)
        assert command is not None and command.help, f"{name} has no help text"
        assert main([name, "--help"]) == 0
        assert f"modeltrail {name}" in readme, f"README does not mention `modeltrail {name}`"
