"""Fixtures for the capture tests: real git repositories in tmp dirs, isolated from the
machine's git configuration."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

GitRunner = Callable[..., str]


@pytest.fixture
def capture_git_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Make git (ours and gitpython's) ignore the user's config and use a fixed identity."""
    home = tmp_path_factory.mktemp("capture_home")
    config = home / ".gitconfig"
    config.write_text("[user]\n\tname = Ada Lovelace\n\temail = ada@example.com\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)
    return config


@pytest.fixture
def capture_git(capture_git_env: Path) -> GitRunner:
    """`capture_git(repo, "commit", "-m", "x")` runs the git CLI and returns its stdout."""

    def run(repo: Path, *args: str, input: str | None = None) -> str:
        result = subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=False, input=input
        )
        if result.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    return run


@pytest.fixture
def capture_repo(tmp_path: Path, capture_git: GitRunner) -> Path:
    """A repository on branch `main` with one commit holding `train.py`."""
    repo = tmp_path / "repo"
    repo.mkdir()
    capture_git(repo, "init", "-q", "-b", "main")
    (repo / "train.py").write_text("print('train')\n")
    (repo / ".gitignore").write_text("*.log\n")
    capture_git(repo, "add", ".")
    capture_git(repo, "commit", "-q", "-m", "first")
    return repo
