"""Which versions to compare, and the I/O around the pure diff: loading and git history.

`diff_versions` never touches the database or git; this module is the thin shell that feeds
it: it resolves "V against its parent" and "the newest against the one before", loads the
records, and reads the commits between them when a checkout of the repository is at hand.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modeltrail.core.errors import UsageError, VersionNotFoundError
from modeltrail.core.records import CodeHistory, VersionRecord
from modeltrail.core.versioning import SemVer

if TYPE_CHECKING:
    from modeltrail.core.capture.git_history import PendingHistory
    from modeltrail.core.diff.engine import VersionDiff
    from modeltrail.core.registry.writer import Registry
    from modeltrail.core.store.sqlite_reader import SqliteReader

    # Reads only: the stdlib SQLite reader serves a local registry without SQLAlchemy.
    Reader = Registry | SqliteReader


def code_history_for(
    old: VersionRecord, new: VersionRecord, *, repo: str | None = None, limit: int = 50
) -> CodeHistory | None:
    """The commits between the two versions, read from `repo` or from where `new` was trained.

    None when either side has no commit, the commits are the same, or no checkout is here.
    """
    pending = _start_history(old, new, repo=repo, limit=limit)
    return pending.result() if pending is not None else None


def _start_history(
    old: VersionRecord, new: VersionRecord, *, repo: str | None, limit: int = 50
) -> PendingHistory | None:
    if old.code is None or new.code is None or old.code.commit == new.code.commit:
        return None
    root = repo or new.code.repo_root or old.code.repo_root
    if not root or not os.path.isdir(root):
        return None
    from modeltrail.core.capture.git_history import start_code_history

    return start_code_history(root, old.code.commit, new.code.commit, limit=limit)


def dvc_commits_for(
    old: VersionRecord, new: VersionRecord, history: CodeHistory | None, *, repo: str | None = None
) -> dict[str, str]:
    """For data whose DVC md5 moved between the two versions: its `.dvc`/dvc.lock file → the
    newest commit between the two that touched it (git, when the history is at hand)."""
    if history is None or not history.reachable or new.code is None:
        return {}
    before = {s.role: s.dvc_md5 for s in old.data}
    sources = sorted(
        {
            s.dvc_source
            for s in new.data
            if s.dvc_source and s.dvc_md5 and before.get(s.role) not in (None, s.dvc_md5)
        }
    )
    if not sources:
        return {}
    from modeltrail.core.capture.git_history import last_commits_touching

    root = repo or new.code.repo_root
    return last_commits_touching(root, history.old_commit, history.new_commit, sources)


def resolve_pair(
    registry: Reader, model: str, first: str | None = None, second: str | None = None
) -> tuple[str, str]:
    """(old, new) version numbers for `diff MODEL [V1 [V2]]`.

    Two versions: as given. One: it against its parent. None: the newest against the
    version before it. Each may be a number or a name (production, staging, golden, latest,
    previous; see core/refs.py).
    """
    if first is not None and second is not None:
        return registry.resolve_version(model, first), registry.resolve_version(model, second)
    if first is not None:
        record = registry.load(model, registry.resolve_version(model, first))
        if record.parent is None:
            raise UsageError(
                f"{model} {record.version} has no parent to compare with",
                hint=f"name the other version: modeltrail diff {model} OTHER {record.version}",
            )
        return record.parent, record.version
    newest = registry.list_versions(model, limit=2)
    if len(newest) < 2:
        raise UsageError(
            f"{model} has {len(newest)} version{'s' if len(newest) != 1 else ''}; a diff needs two",
        )
    return newest[1].version, newest[0].version


class PendingDiff:
    """A diff whose records are read and whose git processes are running: `result()` waits
    for git and compares. Across a long range git takes a few hundred milliseconds, which a
    caller spends on its own imports (the diff engine, the templates) meanwhile."""

    def __init__(
        self,
        old: VersionRecord,
        new: VersionRecord,
        history: PendingHistory | None,
        repo: str | None,
    ) -> None:
        self._old, self._new, self._history, self._repo = old, new, history, repo

    def result(self) -> VersionDiff:
        from modeltrail.core.diff.engine import diff_versions

        old, new = self._old, self._new
        history = self._history.result() if self._history is not None else None
        commits = dvc_commits_for(old, new, history, repo=self._repo)
        return diff_versions(old, new, history, commits)


def start_compare(
    registry: Reader,
    model: str,
    old_version: str,
    new_version: str,
    *,
    repo: str | None = None,
    git: bool = True,
) -> PendingDiff:
    """`compare`, begun: the two records read and git started; `.result()` is the diff."""
    records = {r.version: r for r in registry.load_many(model, [old_version, new_version])}
    old_key, new_key = str(SemVer.parse(old_version)), str(SemVer.parse(new_version))
    for key in (old_key, new_key):
        if key not in records:
            raise VersionNotFoundError(model, key)
    old, new = records[old_key], records[new_key]
    history = _start_history(old, new, repo=repo) if git else None
    return PendingDiff(old, new, history, repo)


def compare(
    registry: Reader,
    model: str,
    old_version: str,
    new_version: str,
    *,
    repo: str | None = None,
    git: bool = True,
) -> VersionDiff:
    return start_compare(registry, model, old_version, new_version, repo=repo, git=git).result()


@dataclass(frozen=True)
class ChangelogEntry:
    record: VersionRecord
    diff: VersionDiff | None  # None for a version without a parent


def changelog(
    registry: Reader,
    model: str,
    *,
    since: str | None = None,
    repo: str | None = None,
    git: bool = False,
) -> list[ChangelogEntry]:
    """Every version newest first, each with its diff against its parent.

    `since` keeps the versions newer than it. Reading git for each entry costs a process
    per version, so it is off unless asked for.
    """
    records = registry.load_many(model)
    by_version = {r.version: r for r in records}
    floor = SemVer.parse(registry.resolve_version(model, since)) if since is not None else None
    if floor is not None and str(floor) not in by_version:
        raise VersionNotFoundError(model, str(floor))
    from modeltrail.core.diff.engine import diff_versions

    entries = []
    for record in records:
        if floor is not None and SemVer.parse(record.version) <= floor:
            continue
        parent = by_version.get(record.parent) if record.parent else None
        diff = None
        if parent is not None:
            history = code_history_for(parent, record, repo=repo) if git else None
            commits = dvc_commits_for(parent, record, history, repo=repo)
            diff = diff_versions(parent, record, history, commits)
        entries.append(ChangelogEntry(record, diff))
    return entries
