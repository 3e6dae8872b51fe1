"""The git state a model was trained from, and what changed between two commits.

Read with the git command line, one short `git` process per question (rev-parse, status,
config, and diff when the tree is dirty): gitpython's import and repository object cost
`register` more than those processes themselves (see bench/RESULTS.md, issue 18).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import urllib.parse
from typing import BinaryIO

from modeltrail.core.records import CodeState
from modeltrail.core.safe_files import open_regular

UNTRACKED_CONTENT_LIMIT = 8 * 1024 * 1024  # bytes; bigger untracked files count by stat only
# Query parameters that carry secrets in remote URLs and presigned data URLs.
_SECRET_PARAMS = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "auth",
        "key",
        "password",
        "passwd",
        "private_token",
        "pwd",
        "secret",
        "sig",
        "signature",
        "token",
        "x-amz-credential",
        "x-amz-security-token",
        "x-amz-signature",
        "x-goog-credential",
        "x-goog-signature",
    }
)
# Schemes where a user name is how you log in, not a secret (ssh://git@host/...).
_USER_IS_PUBLIC = frozenset({"ssh", "git+ssh", "ssh+git", "sftp"})


def strip_credentials(url: str) -> str:
    """Remove passwords and tokens from a URL so it can be stored and shown.

    `https://user:token@host/x.git` and `https://token@host/x.git` lose the user info;
    `ssh://git@host/x` keeps its user name but not a password; scp-like `git@host:x/y.git` is
    returned unchanged; query parameters named like secrets (token, password, sig...) go.
    """
    scheme_end = url.find("://")
    if scheme_end <= 0:
        return url  # scp-like or a plain path: no place for a password
    scheme = url[:scheme_end].lower()
    rest = url[scheme_end + 3 :]
    authority_end = len(rest)
    for sep in "/?#":
        idx = rest.find(sep)
        if idx != -1:
            authority_end = min(authority_end, idx)
    authority, tail = rest[:authority_end], rest[authority_end:]
    if "@" in authority:
        userinfo, host = authority.rsplit("@", 1)
        if scheme in _USER_IS_PUBLIC:
            user = userinfo.split(":", 1)[0]
            authority = f"{user}@{host}" if user else host
        else:
            authority = host
    return f"{url[:scheme_end]}://{authority}{_strip_query(tail)}"


def _strip_query(tail: str) -> str:
    path, q, query_and_fragment = tail.partition("?")
    if not q:
        return tail
    query, h, fragment = query_and_fragment.partition("#")
    kept = [
        (k, v)
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)
        if k.lower() not in _SECRET_PARAMS
        and not any(word in k.lower() for word in ("token", "password", "secret"))
    ]
    new_query = f"?{urllib.parse.urlencode(kept)}" if kept else ""
    return f"{path}{new_query}{h}{fragment}"


class _GitFailed(Exception):
    """git exited non-zero (or could not be started)."""


def _git(cwd: str | None, *args: str, strip: bool = False) -> bytes:
    """stdout of `git args…` run in `cwd`; raises _GitFailed. `strip` drops one trailing
    newline, as gitpython did: the digests of submodule states were computed that way."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            check=False,
            # Don't take index.lock from a concurrent git; never prompt; the C locale, as
            # gitpython ran git, so nothing git prints depends on the user's language.
            env={
                **os.environ,
                "GIT_OPTIONAL_LOCKS": "0",
                "GIT_TERMINAL_PROMPT": "0",
                "LC_ALL": "C",
                "LANGUAGE": "C",
            },
        )
    except OSError as exc:  # no git executable, or `cwd` is not a directory
        raise _GitFailed(str(exc)) from None
    if done.returncode != 0:
        raise _GitFailed(os.fsdecode(done.stderr).strip())
    out = done.stdout
    if strip and out.endswith(b"\n"):
        out = out[:-1]
    return out


def _work_tree(path: str | os.PathLike[str]) -> str | None:
    """The working tree containing `path` (parents are searched), or None without git,
    outside a repository, in a bare one, or where git refuses the repository."""
    start = os.path.abspath(os.fspath(path))
    try:
        out = _git(start, "rev-parse", "--is-inside-work-tree", "--show-cdup")
    except _GitFailed:
        return None
    lines = os.fsdecode(out).splitlines()
    if not lines or lines[0] != "true":  # bare, or inside the .git directory
        return None
    # Relative to the path as given (symlinks kept), as gitpython reported it.
    return os.path.normpath(os.path.join(start, lines[1])) if len(lines) > 1 else start


def _parse_status(raw: bytes) -> tuple[str | None, str | None, list[str], list[str]]:
    """(commit, branch, changed paths, untracked paths) from `git status --porcelain=v2 -z
    --branch`. commit is None before the first commit, branch None when detached."""
    commit: str | None = None
    branch: str | None = None
    changed: list[str] = []
    untracked: list[str] = []
    records = raw.split(b"\0")
    i = 0
    while i < len(records):
        rec = os.fsdecode(records[i])
        i += 1
        if not rec:
            continue
        if rec.startswith("# branch.oid "):
            oid = rec[len("# branch.oid ") :]
            commit = None if oid == "(initial)" else oid
        elif rec.startswith("# branch.head "):
            head = rec[len("# branch.head ") :]
            branch = None if head == "(detached)" else head
        elif rec.startswith("1 "):
            changed.append(rec.split(" ", 8)[8])
        elif rec.startswith("2 "):
            changed.append(rec.split(" ", 9)[9])
            changed.append(os.fsdecode(records[i]))  # the rename's original path
            i += 1
        elif rec.startswith("u "):
            changed.append(rec.split(" ", 10)[10])
        elif rec.startswith("? "):
            untracked.append(rec[2:])
    return commit, branch, changed, untracked


def _remote_url(root: str) -> str | None:
    try:
        out = os.fsdecode(_git(root, "config", "--get-regexp", r"^remote\..*\.url$"))
    except _GitFailed:  # exit 1: no remotes configured
        return None
    urls: dict[str, str] = {}
    for line in out.splitlines():
        key, _, url = line.partition(" ")
        urls.setdefault(key[len("remote.") : -len(".url")], url)
    if not urls:
        return None
    url = urls.get("origin") or next(iter(urls.values()))
    return strip_credentials(url)


def _submodule_state(root: str, path: str) -> bytes:
    """What a submodule's working tree holds beyond its commit: its own diff against HEAD and
    its untracked files. The parent's diff only says "-dirty", so without this two different
    edits inside a submodule would digest alike."""
    sub = os.path.join(root, path)
    try:
        diff = _git(sub, "diff", "HEAD", "--binary", "--no-color", "--no-ext-diff", strip=True)
        status = _git(sub, "status", "--porcelain", "-z", "--untracked-files=all", strip=True)
    except _GitFailed:
        return b"unreadable"
    out = [diff, status]
    for rec in status.split(b"\0"):
        if rec.startswith(b"?? "):
            try:
                f = _open_regular(os.path.join(root, path, os.fsdecode(rec[3:])))
            except OSError:
                out.append(b"unreadable")
                continue
            if f is None:
                out.append(b"not a regular file")
                continue
            with f:
                out.append(f.read(UNTRACKED_CONTENT_LIMIT))
    return b"\0".join(out)


def _open_regular(path: str) -> BinaryIO | None:
    """`path` opened for reading if it is a regular file now (links not followed), else None.
    git status lists only regular files, but one can be swapped for a pipe (or a symlink to
    one) before it is read."""
    fd = open_regular(path, follow_links=False)
    return None if fd is None else os.fdopen(fd, "rb")


def _diff_digest(root: str, untracked: list[str], changed: list[str] | None = None) -> str:
    """sha256 over `git diff HEAD --binary` plus each untracked file's path and content
    (size and mtime instead of content above UNTRACKED_CONTENT_LIMIT), plus what changed
    inside each modified submodule's working tree."""
    raw = _git(
        root,
        "diff",
        "HEAD",
        # Pin every option a user's diff.* config could change, so the same change gives
        # the same digest on every machine.
        "--binary",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--no-renames",
        "--no-relative",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        "--diff-algorithm=myers",
        "--indent-heuristic",
        "--unified=3",
        "--inter-hunk-context=0",
    )
    digest = hashlib.sha256()
    digest.update(b"diff\0")
    digest.update(raw)
    for rel in sorted(untracked):
        digest.update(b"\0untracked\0" + os.fsencode(rel) + b"\0")
        full = os.path.join(root, rel)
        try:
            if os.path.islink(full):
                digest.update(b"link\0" + os.fsencode(os.readlink(full)))
                continue
            f = _open_regular(full)
            if f is None:
                digest.update(b"not a regular file")
                continue
            with f:
                st = os.fstat(f.fileno())
                if st.st_size > UNTRACKED_CONTENT_LIMIT:
                    # An unignored dataset must not make every capture read gigabytes; size
                    # and mtime still change when such a file does.
                    digest.update(f"stat\0{st.st_size}\0{st.st_mtime_ns}".encode())
                    continue
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
        except OSError:
            # Vanished or unreadable since `git status`: the path alone still counts.
            digest.update(b"unreadable")
    for rel in sorted(changed or ()):
        if os.path.exists(os.path.join(root, rel, ".git")):  # a submodule's checkout
            digest.update(b"\0submodule\0" + os.fsencode(rel) + b"\0")
            digest.update(_submodule_state(root, rel))
    return digest.hexdigest()


def _is_own_state(relative: str) -> bool:
    return ".modeltrail" in relative.split("/")


def capture_code(path: str | os.PathLike[str] = ".") -> CodeState | None:
    """The git state of the repository containing `path` (parents are searched).

    None outside a repository, without a git executable, or before the first commit.
    """
    root = _work_tree(path)
    if root is None:
        return None
    try:
        status = _git(root, "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all")
        commit, branch, changed, untracked = _parse_status(status)
        if commit is None:
            return None
        # modeltrail's own default registry (.modeltrail/ under the working directory) is
        # not part of the training code; counting it would mark every run as dirty.
        changed = [p for p in changed if not _is_own_state(p)]
        untracked = [p for p in untracked if not _is_own_state(p)]
        dirty = bool(changed or untracked)
        return CodeState(
            repo_root=root,
            commit=commit,
            branch=branch,
            remote_url=_remote_url(root),
            dirty=dirty,
            dirty_files=tuple(sorted(set(changed) | set(untracked))),
            diff_digest=_diff_digest(root, untracked, changed) if dirty else None,
        )
    except _GitFailed:
        # e.g. a repository git refuses to use ("dubious ownership"): no code state
        return None


def git_user(path: str | os.PathLike[str] = ".") -> str | None:
    """`Name <email>` from git config (repository config when `path` is in one, else global),
    or whichever of the two is set; None without git or either setting."""
    cwd = os.fspath(path)
    try:
        out = _git(
            cwd if os.path.isdir(cwd) else None, "config", "--get-regexp", r"^user\.(name|email)$"
        )
    except _GitFailed:
        return None
    values: dict[str, str] = {}
    for line in os.fsdecode(out).splitlines():
        key, _, value = line.partition(" ")
        values[key.lower()] = value.strip()  # the last one set wins, as in git itself
    name, email = values.get("user.name"), values.get("user.email")
    if name and email:
        return f"{name} <{email}>"
    return name or email or None
