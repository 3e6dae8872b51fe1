"""What happened between two commits, read with the git command line (no gitpython).

`diff` and `changelog` read this on every run; gitpython's import and repository object cost
more than the four short git processes themselves, so these run `git` directly. Counts come
from `git rev-list --count` and one `git diff --numstat -M` (a rename counts once, as in
`git diff --stat`); the commit list is capped for display. Nothing here raises: an absent
repository or a commit that is not in this clone gives `reachable=False`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import subprocess

from modeltrail.core.records import CodeHistory, CommitInfo

FILES_CAP = 200
_FIELD = "\x1f"  # unit separator: cannot appear in names or subjects git prints
_HEX = re.compile(r"^[0-9a-fA-F]{4,64}$")


def _git(root: str, *args: str) -> bytes | None:
    """stdout of `git -C root args…`, or None when git fails or is not installed."""
    try:
        done = subprocess.run(
            ["git", "-C", root, *args],
            capture_output=True,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def _resolve(root: str, old: str, new: str) -> tuple[str, str] | None:
    """Full SHAs of both commits, or None if either is unknown here (or is not a commit id)."""
    if not (_HEX.match(old) and _HEX.match(new)):
        return None
    out = _git(root, "rev-parse", f"{old}^{{commit}}", f"{new}^{{commit}}")
    shas = out.decode().split() if out else []
    return (shas[0], shas[1]) if len(shas) == 2 else None


def _has(root: str, commit: str) -> bool:
    return _git(root, "cat-file", "-e", f"{commit}^{{commit}}") is not None


def changed_files(numstat: bytes) -> tuple[list[str], int]:
    """Paths from `git diff --numstat -M -z` (a rename as its new path, once) and how many of
    them are renames."""
    fields = numstat.split(b"\0")
    files: list[str] = []
    renamed = 0
    i = 0
    while i < len(fields):
        head = fields[i]
        i += 1
        if not head:
            continue
        parts = head.split(b"\t", 2)
        if len(parts) == 3 and parts[2]:
            files.append(os.fsdecode(parts[2]))
        elif i + 1 < len(fields):  # a rename: "added\tdeleted\t" then old and new paths
            files.append(os.fsdecode(fields[i + 1]))
            renamed += 1
            i += 2
    return files, renamed


def code_history(
    repo_root: str, old_commit: str, new_commit: str, *, limit: int = 50
) -> CodeHistory:
    """Commits reachable from `new_commit` but not `old_commit` (newest first, at most `limit`)
    and the files that differ between them (at most FILES_CAP listed, all counted)."""
    unreachable = CodeHistory(
        old_commit=old_commit,
        new_commit=new_commit,
        commits=(),
        total_commits=0,
        files_changed=(),
        total_files_changed=0,
        reachable=False,
    )
    shas = _resolve(repo_root, old_commit, new_commit)
    if shas is None:
        pair = (old_commit, new_commit)
        absent = tuple(c for c in pair if _HEX.match(c) and not _has(repo_root, c))
        return dataclasses.replace(unreachable, missing=absent)
    old, new = shas
    span = f"{old}..{new}"
    count = _git(repo_root, "rev-list", "--count", span)
    numstat = _git(repo_root, "diff", "--numstat", "-M", "-z", "--no-ext-diff", old, new)
    if count is None or numstat is None:
        return unreachable
    total = int(count.strip() or 0)
    commits: list[CommitInfo] = []
    if limit > 0 and total:
        fmt = f"--format=%H{_FIELD}%an{_FIELD}%at{_FIELD}%s"
        log = _git(repo_root, "log", f"--max-count={limit}", fmt, "-z", span)
        commits = [_commit_info(rec) for rec in (log or b"").split(b"\0") if rec.strip()]
    files, renamed = changed_files(numstat)
    return CodeHistory(
        old_commit=old_commit,
        new_commit=new_commit,
        commits=tuple(commits),
        total_commits=total,
        files_changed=tuple(files[:FILES_CAP]),
        total_files_changed=len(files),
        renamed=renamed,
    )


def last_commits_touching(
    repo_root: str, old_commit: str, new_commit: str, paths: list[str]
) -> dict[str, str]:
    """Each path (relative to the repository) → the newest commit in old..new that changed
    it; paths no commit there touched are left out."""
    shas = _resolve(repo_root, old_commit, new_commit)
    if shas is None:
        return {}
    found: dict[str, str] = {}
    for path in paths:
        out = _git(repo_root, "log", "-1", "--format=%H", f"{shas[0]}..{shas[1]}", "--", path)
        sha = out.decode().strip() if out else ""
        if sha:
            found[path] = sha
    return found


def _commit_info(record: bytes) -> CommitInfo:
    sha, author, timestamp, subject = record.decode("utf-8", "replace").split(_FIELD, 3)
    return CommitInfo(
        sha=sha.strip(),
        author=author,
        date=dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC),
        subject=subject,
    )
