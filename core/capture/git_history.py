"""What happened between two commits, read with the git command line (no gitpython).

`diff` and `changelog` read this on every run; gitpython's import and repository object cost
more than the few short git processes themselves, so these run `git` directly. The count
comes from one `git rev-list` of the range and the files from one `git diff --name-status -M`
(a rename counts once, as in `git diff --stat`), run side by side; only the newest commits
(capped for display) are read in detail.
Nothing here raises: an absent repository or a commit that is not in this clone gives
`reachable=False`.
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


def changed_files(name_status: bytes) -> tuple[list[str], int]:
    """Paths from `git diff --name-status -M -z` (a rename as its new path, once) and how
    many of them are renames."""
    fields = name_status.split(b"\0")
    files: list[str] = []
    renamed = 0
    i = 0
    while i < len(fields):
        status = fields[i]
        i += 1
        if not status:
            continue
        if status[:1] in (b"R", b"C"):  # a rename (or copy): score, then old and new paths
            if i + 1 < len(fields):
                files.append(os.fsdecode(fields[i + 1]))
                renamed += status[:1] == b"R"
            i += 2
        elif i < len(fields):
            files.append(os.fsdecode(fields[i]))
            i += 1
    return files, renamed


def _start(root: str, args: tuple[str, ...]) -> subprocess.Popen[bytes] | None:
    try:
        return subprocess.Popen(
            ["git", "-C", root, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except OSError:
        return None


def _finish(proc: subprocess.Popen[bytes] | None) -> bytes | None:
    if proc is None:
        return None
    stdout, _ = proc.communicate()
    return stdout if proc.returncode == 0 else None


class PendingHistory:
    """The git processes of one `code_history`, started and still running: `result()` waits
    for them. Across 20,000 commits the walk and the file list each take a few hundred
    milliseconds, so a caller starts them as soon as it knows the two commits and does its
    other work (imports, rendering set-up) while git runs."""

    def __init__(self, root: str, old_commit: str, new_commit: str, limit: int) -> None:
        self._root, self._limit = root, limit
        self._old_commit, self._new_commit = old_commit, new_commit
        self._walk: subprocess.Popen[bytes] | None = None
        self._names: subprocess.Popen[bytes] | None = None
        if _HEX.match(old_commit) and _HEX.match(new_commit):
            # Started on the ids as recorded (hex only, so never an option or a range;
            # peeled to commits): one unknown here fails both, `result` then says which.
            # One walk of the range (the commits' ids: all of them are counted), beside the
            # file list; then the details of only the newest `limit`. Without a commit-graph
            # each walk of 20,000 commits costs ~0.4 s of CPU, so the range is walked once,
            # not for the count and again for the log.
            old, new = f"{old_commit}^{{commit}}", f"{new_commit}^{{commit}}"
            self._walk = _start(root, ("rev-list", f"{old}..{new}"))
            # Names only: a numstat would diff the contents of every changed file.
            self._names = _start(
                root, ("diff", "--name-status", "-M", "-z", "--no-ext-diff", old, new)
            )

    def result(self) -> CodeHistory:
        unreachable = CodeHistory(
            old_commit=self._old_commit,
            new_commit=self._new_commit,
            commits=(),
            total_commits=0,
            files_changed=(),
            total_files_changed=0,
            reachable=False,
        )
        root = self._root
        listed, names = _finish(self._walk), _finish(self._names)
        if listed is None or names is None:
            if _resolve(root, self._old_commit, self._new_commit) is not None:
                return unreachable
            pair = (self._old_commit, self._new_commit)
            absent = tuple(c for c in pair if _HEX.match(c) and not _has(root, c))
            return dataclasses.replace(unreachable, missing=absent)
        shas = listed.split()
        total = len(shas)
        commits: list[CommitInfo] = []
        if self._limit > 0 and total:
            fmt = f"--format=%H{_FIELD}%an{_FIELD}%at{_FIELD}%s"
            newest = [sha.decode() for sha in shas[: self._limit]]
            log = _git(root, "log", "--no-walk=unsorted", fmt, "-z", *newest)
            commits = [_commit_info(rec) for rec in (log or b"").split(b"\0") if rec.strip()]
        files, renamed = changed_files(names)
        return CodeHistory(
            old_commit=self._old_commit,
            new_commit=self._new_commit,
            commits=tuple(commits),
            total_commits=total,
            files_changed=tuple(files[:FILES_CAP]),
            total_files_changed=len(files),
            renamed=renamed,
        )


def start_code_history(
    repo_root: str, old_commit: str, new_commit: str, *, limit: int = 50
) -> PendingHistory:
    """`code_history`'s git processes, started; `.result()` is what `code_history` returns."""
    return PendingHistory(repo_root, old_commit, new_commit, limit)


def code_history(
    repo_root: str, old_commit: str, new_commit: str, *, limit: int = 50
) -> CodeHistory:
    """Commits reachable from `new_commit` but not `old_commit` (newest first, at most `limit`)
    and the files that differ between them (at most FILES_CAP listed, all counted)."""
    return PendingHistory(repo_root, old_commit, new_commit, limit).result()


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
