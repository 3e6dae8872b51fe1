"""`--version`, `python -m modeltrail` and the shipped files, from this (editable) install."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from modeltrail.bot.cli.main import main

ROOT = Path(__file__).parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"modeltrail {VERSION}\n"


def test_python_dash_m_runs_the_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "modeltrail", "--db", f"sqlite:///{tmp_path / 'r.db'}", "list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "no models" in result.stdout.lower()


def test_slack_manifest_prints_the_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["slack", "manifest"]) == 0
    assert capsys.readouterr().out == (ROOT / "manifest.yml").read_text()


def test_files_lists_and_writes_what_ships(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["files"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == [
        "manifest.yml",
        ".env.example",
        "examples/github-actions/register-model.yml",
    ]
    for name in listed:
        assert (ROOT / name).is_file()  # every listed file exists at the top of the repo
    assert main(["files", ".env.example", "--out", str(tmp_path / ".env")]) == 0
    assert (tmp_path / ".env").read_text() == (ROOT / ".env.example").read_text()


def test_an_unknown_file_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["files", "../pyproject.toml"]) == 1
    err = capsys.readouterr().err
    assert "error: modeltrail ships no file '../pyproject.toml'" in err
    assert "Traceback" not in err


# Web API method → the bot scope Slack requires for it (api.slack.com/methods). Methods that
# need no scope (auth.test, views.open, views.publish, chat.update of our own posts) are absent.
_SCOPE_OF = {
    "chat_postMessage": {"chat:write"},
    "conversations_history": {"channels:history", "groups:history"},
    "users_info": {"users:read"},
    "usergroups_users_list": {"usergroups:read"},
}


def test_the_manifest_grants_every_scope_the_bot_calls_need() -> None:
    import yaml

    scopes = set(
        yaml.safe_load((ROOT / "manifest.yml").read_text())["oauth_config"]["scopes"]["bot"]
    )
    called: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        called |= set(re.findall(r"client\.([a-z]+_[A-Za-z_]+)\(", path.read_text()))
    slack_methods = called & set(_SCOPE_OF)
    assert {"chat_postMessage", "conversations_history", "users_info"} <= slack_methods
    for method in sorted(slack_methods):
        assert _SCOPE_OF[method] <= scopes, f"{method} needs {_SCOPE_OF[method] - scopes}"
