"""CI facts from environment variables (pure), and `modeltrail register` inside a CI job
with a shallow, detached checkout or no repository at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import git

from modeltrail.bot.cli.main import main
from modeltrail.core.capture.ci import ci_facts, code_with_ci
from modeltrail.core.records import CodeState

SHA = "f" * 40
GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SHA": SHA,
    "GITHUB_REF_NAME": "main",
    "GITHUB_REPOSITORY": "acme/fraud",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_ACTOR": "octocat",
}
GITLAB = {
    "GITLAB_CI": "true",
    "CI_COMMIT_SHA": SHA,
    "CI_COMMIT_REF_NAME": "release/2",
    "CI_PROJECT_URL": "https://gitlab.example.com/ml/fraud",
    "GITLAB_USER_LOGIN": "ana",
    "CI_PIPELINE_URL": "https://gitlab.example.com/ml/fraud/-/pipelines/7",
    "CI_JOB_URL": "https://gitlab.example.com/ml/fraud/-/jobs/99",
}


def test_github_actions_facts() -> None:
    facts = ci_facts(GITHUB)
    assert facts is not None
    assert (facts.provider, facts.commit, facts.branch, facts.actor) == (
        "github-actions",
        SHA,
        "main",
        "octocat",
    )
    assert facts.repo_url == "https://github.com/acme/fraud"
    assert facts.run_url == "https://github.com/acme/fraud/actions/runs/4242"
    assert facts.tags() == {
        "ci.provider": "github-actions",
        "ci.run_url": "https://github.com/acme/fraud/actions/runs/4242",
    }
    # a pull request: the branch is the head ref, not "12/merge"
    pr = ci_facts({**GITHUB, "GITHUB_REF_NAME": "12/merge", "GITHUB_HEAD_REF": "feature"})
    assert pr is not None and pr.branch == "feature"
    enterprise = ci_facts({**GITHUB, "GITHUB_SERVER_URL": "https://ghe.acme.io/"})
    assert enterprise is not None
    assert enterprise.run_url == "https://ghe.acme.io/acme/fraud/actions/runs/4242"


def test_gitlab_facts_prefer_the_job_url() -> None:
    facts = ci_facts(GITLAB)
    assert facts is not None
    assert (facts.provider, facts.branch, facts.actor) == ("gitlab-ci", "release/2", "ana")
    assert facts.repo_url == "https://gitlab.example.com/ml/fraud"
    assert facts.run_url == "https://gitlab.example.com/ml/fraud/-/jobs/99"
    no_job = ci_facts({k: v for k, v in GITLAB.items() if k != "CI_JOB_URL"})
    assert no_job is not None
    assert no_job.run_url == "https://gitlab.example.com/ml/fraud/-/pipelines/7"


def test_outside_ci_there_are_no_facts() -> None:
    assert ci_facts({}) is None
    assert ci_facts({"GITHUB_SHA": SHA}) is None  # not in Actions: a stray variable
    assert ci_facts({**GITHUB, "GITHUB_ACTIONS": "false"}) is None


def test_code_state_is_completed_only_where_git_could_not_tell() -> None:
    facts = ci_facts(GITHUB)
    filled = code_with_ci(None, facts, root="/build")
    assert filled == CodeState("/build", SHA, "main", "https://github.com/acme/fraud", False)
    detached = CodeState("/w", "a" * 40, None, None, False)
    completed = code_with_ci(detached, facts)
    assert completed is not None
    assert (completed.commit, completed.branch, completed.remote_url) == (
        "a" * 40,  # the checked-out commit stays git's
        "main",
        "https://github.com/acme/fraud",
    )
    full = CodeState("/w", "a" * 40, "dev", "https://github.com/me/fork", True, ("x.py",), "d")
    assert code_with_ci(full, facts) == full
    assert code_with_ci(full, None) == full
    assert code_with_ci(None, ci_facts({"GITHUB_ACTIONS": "true"})) is None


def _ci_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def test_register_in_github_actions_from_a_shallow_detached_checkout(
    git_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (git_repo / "train.py").write_text("print('train')\n")
    git(git_repo, "add", "train.py")
    git(git_repo, "commit", "-q", "-m", "train")
    clone = tmp_path / "ci-checkout"
    git(tmp_path, "clone", "-q", "--depth", "1", git_repo.as_uri(), str(clone))
    head = git(clone, "rev-parse", "HEAD")
    git(clone, "checkout", "-q", "--detach", head)
    git(clone, "remote", "remove", "origin")
    assert (clone / ".git" / "shallow").exists()
    monkeypatch.chdir(clone)
    _ci_env(monkeypatch, {**GITHUB, "GITHUB_SHA": head})
    db = f"sqlite:///{tmp_path / 'registry.db'}"

    assert main(["--db", db, "register", "fraud", "--metric", "auc=0.9", "--no-env", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)

    assert record["actor"] == "octocat"
    assert record["code"]["commit"] == head
    assert record["code"]["branch"] == "main"
    assert record["code"]["remote_url"] == "https://github.com/acme/fraud"
    assert record["tags"]["ci.provider"] == "github-actions"
    assert record["tags"]["ci.run_url"] == "https://github.com/acme/fraud/actions/runs/4242"


def test_register_in_gitlab_without_a_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "export"
    work.mkdir()
    monkeypatch.chdir(work)
    _ci_env(monkeypatch, GITLAB)
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    args = ["--db", db, "register", "fraud", "--metric", "auc=0.9", "--no-env", "--json"]

    assert main([*args, "--actor", "release-bot"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["actor"] == "release-bot"  # an explicit actor wins over the CI's
    assert record["code"]["commit"] == SHA
    assert record["code"]["branch"] == "release/2"
    assert record["tags"]["ci.run_url"] == "https://gitlab.example.com/ml/fraud/-/jobs/99"

    assert main([*args, "--no-git"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["code"] is None  # --no-git means no code state, CI or not
    assert record["actor"] == "ana"
    assert record["tags"]["ci.provider"] == "gitlab-ci"
