"""What a CI run says about itself, from its environment variables. Pure over a mapping.

CI checkouts are often shallow (`actions/checkout` fetches one commit) or detached (GitLab
checks out the commit, not the branch): git then knows the commit but not the branch, or
nothing at all when the code was copied without `.git`. The CI's variables fill those gaps
and name the run, so a version registered from CI links back to the job that built it.

    GitHub Actions (GITHUB_ACTIONS=true): GITHUB_SHA, GITHUB_HEAD_REF (pull requests) or
        GITHUB_REF_NAME, GITHUB_SERVER_URL + GITHUB_REPOSITORY, GITHUB_ACTOR; run URL
        {GITHUB_SERVER_URL}/{GITHUB_REPOSITORY}/actions/runs/{GITHUB_RUN_ID}
    GitLab CI (GITLAB_CI=true): CI_COMMIT_SHA, CI_COMMIT_REF_NAME, CI_PROJECT_URL,
        GITLAB_USER_LOGIN; run URL CI_JOB_URL, else CI_PIPELINE_URL
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

from modeltrail.core.capture.git import strip_credentials
from modeltrail.core.records import CodeState


@dataclass(frozen=True)
class CiFacts:
    provider: str  # "github-actions" | "gitlab-ci"
    commit: str | None
    branch: str | None
    repo_url: str | None
    actor: str | None
    run_url: str | None

    def tags(self) -> dict[str, str]:
        """`ci.provider` and `ci.run_url` (when known), for the version's tags."""
        tags = {"ci.provider": self.provider}
        if self.run_url:
            tags["ci.run_url"] = self.run_url
        return tags


def ci_facts(env: Mapping[str, str]) -> CiFacts | None:
    """The CI run described by `env`, or None outside a known CI."""

    def get(key: str) -> str | None:
        value = env.get(key, "").strip()
        return value or None

    if (get("GITHUB_ACTIONS") or "").lower() == "true":
        # A server URL with user:token@ in it must not reach the repo URL or the run link.
        server = strip_credentials((get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/"))
        repository = get("GITHUB_REPOSITORY")
        run_id = get("GITHUB_RUN_ID")
        return CiFacts(
            provider="github-actions",
            commit=get("GITHUB_SHA"),
            branch=get("GITHUB_HEAD_REF") or get("GITHUB_REF_NAME"),
            repo_url=strip_credentials(f"{server}/{repository}") if repository else None,
            actor=get("GITHUB_ACTOR"),
            run_url=(
                f"{server}/{repository}/actions/runs/{run_id}" if repository and run_id else None
            ),
        )
    if (get("GITLAB_CI") or "").lower() == "true":
        project = get("CI_PROJECT_URL")
        return CiFacts(
            provider="gitlab-ci",
            commit=get("CI_COMMIT_SHA"),
            branch=get("CI_COMMIT_BRANCH") or get("CI_COMMIT_REF_NAME"),
            repo_url=strip_credentials(project) if project else None,
            actor=get("GITLAB_USER_LOGIN"),
            run_url=_stripped(get("CI_JOB_URL") or get("CI_PIPELINE_URL")),
        )
    return None


def _stripped(url: str | None) -> str | None:
    return strip_credentials(url) if url else None


def code_with_ci(
    captured: CodeState | None, facts: CiFacts | None, *, shallow: bool = False, root: str = ""
) -> CodeState | None:
    """The code state, completed from the CI's facts where git could not tell.

    No repository (`captured` None): the CI's commit, branch and repository URL, recorded as
    clean (CI builds from a fresh checkout). Detached HEAD or a shallow clone: the branch
    and remote git lacks come from the CI; the checked-out commit stays git's.
    """
    if facts is None:
        return captured
    if captured is None:
        if not facts.commit:
            return None
        return CodeState(
            repo_root=root,
            commit=facts.commit,
            branch=facts.branch,
            remote_url=facts.repo_url,
            dirty=False,
        )
    if captured.branch is None or captured.remote_url is None or shallow:
        return replace(
            captured,
            branch=captured.branch or facts.branch,
            remote_url=captured.remote_url or facts.repo_url,
        )
    return captured


def is_shallow(repo_root: str) -> bool:
    """True for a shallow clone (git keeps the cut-off commits in `.git/shallow`)."""
    return os.path.exists(os.path.join(repo_root, ".git", "shallow"))
