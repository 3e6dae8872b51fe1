"""Digests of the data a model was trained on and of the artifacts it produced.

Directory digest (others must be able to recompute it, so this is the contract):

    manifest = every regular file under the directory (file symlinks followed; symlinked
               directories, `.git/` and `.dvc/cache/` skipped; sockets, FIFOs and broken links
               ignored), each as (path relative to the directory with "/" separators, size in
               bytes, sha256 hex of the content), sorted by path (Python str order, i.e. by
               Unicode code point)
    text     = "".join(f"{sha256}  {size}  {path}\\n" for each entry)   # two spaces each
    digest   = sha256(text.encode("utf-8", "surrogateescape")).hexdigest()

`surrogateescape` only matters for file names that are not valid UTF-8: their original bytes
are used. An empty directory has the digest of the empty string.
"""

from __future__ import annotations

import errno
import hashlib
import os
import posixpath
import re
import stat
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from modeltrail.core.capture.dvc import DIR_SUFFIX, DvcRecord, parse_dvc_file, parse_dvc_lock
from modeltrail.core.capture.git import strip_credentials
from modeltrail.core.capture.statcache import StatCache, cache_key
from modeltrail.core.errors import CaptureError, DataPathError
from modeltrail.core.records import Artifact, DataSnapshot, ManifestEntry
from modeltrail.core.safe_files import open_regular, read_regular_file

CHUNK_SIZE = 1024 * 1024  # fits in L2 cache; large enough that syscalls cost little
_HASH_WORKERS = max(2, min(8, os.cpu_count() or 2))
_SKIP_DIRS = frozenset({".git"})
_buffers = threading.local()
# A scheme is two or more characters so that a Windows drive ("C:\\data") is not a URI.
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """(sha256 hex, size in bytes) of a file's content, streamed through one reused buffer."""
    digest = hashlib.sha256()
    size = 0
    buf = getattr(_buffers, "buf", None)
    if buf is None:
        # One buffer per thread: allocating (and zeroing) 1 MiB per small file would cost
        # more than hashing it.
        buf = _buffers.buf = bytearray(CHUNK_SIZE)
    view = memoryview(buf)
    # Non-blocking and checked on the open file: a path swapped for a pipe or a device after
    # the caller's stat must not hang the hash or read forever.
    fd = open_regular(path)
    if fd is None:
        raise OSError(errno.EINVAL, "not a regular file (a pipe or a device)")
    with open(fd, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


def manifest_text(entries: Iterable[ManifestEntry]) -> str:
    """The canonical manifest text a directory digest is computed from (see module doc)."""
    return "".join(f"{e.digest}  {e.size}  {e.path}\n" for e in entries)


def manifest_digest(entries: Iterable[ManifestEntry]) -> str:
    text = manifest_text(entries)
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def is_uri(path: str) -> bool:
    """True for anything with a scheme (s3://, gs://, https://, hdfs://, dbfs:/ ...)."""
    return bool(_URI.match(path))


def normalise_path(path: str) -> str:
    """The path as the user gave it, lexically tidied, with POSIX separators."""
    return posixpath.normpath(path.replace(os.sep, "/")) if path else "."


@dataclass(frozen=True)
class _FileJob:
    abs_path: str
    rel_path: str
    st: os.stat_result


def _walk(root: str, role: str) -> list[_FileJob]:
    files: list[_FileJob] = []
    stack = [(root, "")]
    while stack:
        directory, rel = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as exc:
            raise _unreadable(role, directory, exc) from None
        for entry in entries:
            name = entry.name if entry.name.isascii() else _escaped(entry.name)
            rel_path = f"{rel}{name}"
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name in _SKIP_DIRS or (
                        entry.name == "cache" and posixpath.basename(rel.rstrip("/")) == ".dvc"
                    ):
                        continue
                    stack.append((entry.path, rel_path + "/"))
                    continue
                st = entry.stat()  # follows file symlinks
            except FileNotFoundError:
                continue  # broken symlink, or deleted while we walked
            except OSError as exc:
                raise _unreadable(role, entry.path, exc) from None
            if stat.S_ISREG(st.st_mode):
                files.append(_FileJob(entry.path, rel_path, st))
            # Symlinks to directories land here as non-regular; skipping them avoids cycles.
    files.sort(key=lambda job: job.rel_path)
    return files


def _escaped(name: str) -> str:
    """A file name as the manifest records it: names that are not UTF-8 (Python hands them
    over with surrogate escapes, which no database stores) keep their bytes as `\\xNN`."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def list_files(root: str, role: str) -> list[tuple[str, str, os.stat_result]]:
    """(absolute path, path relative to `root`, stat) of every file under `root`, in manifest
    order, by the same rules a directory digest uses (symlinked directories are not followed,
    so a symlink loop cannot trap the walk)."""
    return [(job.abs_path, job.rel_path, job.st) for job in _walk(root, role)]


def _unreadable(role: str, path: str, exc: OSError) -> DataPathError:
    return DataPathError(
        f"cannot read {role} data at {path}: {exc.strerror or exc}",
        hint="check the file permissions",
    )


def _hash_for_role(role: str, job: _FileJob) -> tuple[str, int]:
    try:
        return hash_file(job.abs_path)
    except OSError as exc:
        raise _unreadable(role, job.abs_path, exc) from None


def _snapshot_dir(
    role: str, root: str, cache: StatCache | None
) -> tuple[str, int, tuple[ManifestEntry, ...]]:
    jobs = _walk(root, role)
    known = cache.load_prefix(root) if cache is not None else {}
    digests: dict[str, str] = {}
    sizes: dict[str, int] = {}
    todo: list[_FileJob] = []
    for job in jobs:
        cached = known.get(cache_key(job.abs_path))
        if cached is not None and cached.matches(job.st):
            digests[job.rel_path] = cached.digest
            sizes[job.rel_path] = job.st.st_size
        else:
            todo.append(job)
    if todo:
        workers = min(_HASH_WORKERS, len(todo))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="modeltrail-hash")
        try:
            results = list(pool.map(lambda j: _hash_for_role(role, j), todo))
        finally:
            # On an unreadable file, stop at once instead of hashing the rest first.
            pool.shutdown(wait=True, cancel_futures=True)
        for job, (digest, size) in zip(todo, results, strict=True):
            digests[job.rel_path] = digest
            sizes[job.rel_path] = size
        if cache is not None:
            cache.put_many(
                (job.abs_path, job.st, digest)
                for job, (digest, size) in zip(todo, results, strict=True)
                if size == job.st.st_size  # changed while read: do not remember it
            )
    manifest = tuple(
        ManifestEntry(path=job.rel_path, size=sizes[job.rel_path], digest=digests[job.rel_path])
        for job in jobs
    )
    return manifest_digest(manifest), sum(e.size for e in manifest), manifest


def _hash_single(
    role: str, abs_path: str, st: os.stat_result, cache: StatCache | None
) -> tuple[str, int]:
    if cache is not None:
        digest = cache.get(abs_path, st)
        if digest is not None:
            return digest, st.st_size
    job = _FileJob(abs_path, posixpath.basename(abs_path), st)
    digest, size = _hash_for_role(role, job)
    if cache is not None and size == st.st_size:
        cache.put(abs_path, st, digest)
    return digest, size


def _project_root(start: str) -> str | None:
    """The nearest directory at or above `start` holding `.dvc/` or `.git`."""
    current = start
    while True:
        if os.path.isdir(os.path.join(current, ".dvc")) or os.path.exists(
            os.path.join(current, ".git")
        ):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _read_text(path: str) -> str | None:
    """The text of a `.dvc` file or dvc.lock, None when there is none; a pipe, a device or
    a file over the size limit is refused (FileLimitError), never read."""
    if not os.path.lexists(path) or os.path.isdir(path):
        return None
    return read_regular_file(path, "DVC", error=CaptureError)


def find_dvc_record(abs_path: str) -> DvcRecord | None:
    """The DVC entry for `abs_path`: from `<path>.dvc` next to it, else from an `outs`/`deps`
    entry of a dvc.lock in its directory or any parent up to the project root."""
    abs_path = os.path.normpath(abs_path)
    parent = os.path.dirname(abs_path)
    root = _project_root(parent)

    def relative(file: str) -> str:
        return Path(os.path.relpath(file, root or parent)).as_posix()

    dvc_file = abs_path + ".dvc"
    text = _read_text(dvc_file)
    if text is not None:
        parsed = parse_dvc_file(text, source=relative(dvc_file))
        name = os.path.basename(abs_path)
        entry = next((o for o in parsed.outs if os.path.normpath(o.path) == name), parsed.outs[0])
        return DvcRecord(entry, relative(dvc_file))

    current = parent
    while True:
        lock_path = os.path.join(current, "dvc.lock")
        text = _read_text(lock_path)
        if text is not None:
            lock = parse_dvc_lock(text, source=relative(lock_path))
            for _stage, _kind, entry in lock.entries():
                if os.path.normpath(os.path.join(current, entry.path)) == abs_path:
                    return DvcRecord(entry, relative(lock_path))
        if current == root:
            return None
        up = os.path.dirname(current)
        if up == current:
            return None
        current = up


def _local_path(path: str, base_dir: str | None) -> tuple[str, str]:
    """(absolute path to read, path to store) for a local path or file:// URI."""
    if path.lower().startswith("file:"):
        local = urllib.request.url2pathname(urllib.parse.urlsplit(path).path)
        return os.path.abspath(local), normalise_path(local)
    base = base_dir if base_dir is not None else os.getcwd()
    return os.path.normpath(os.path.join(base, path)), normalise_path(path)


def _missing(role: str, path: str, abs_path: str, exc: OSError) -> DataPathError:
    if isinstance(exc, FileNotFoundError):
        return DataPathError(
            f"{role} data not found: {path} (looked at {abs_path})",
            hint="check the path and the working directory; for DVC data run `dvc pull`",
        )
    return _unreadable(role, abs_path, exc)


def snapshot_data(
    role: str,
    path: str,
    *,
    cache: StatCache | None = None,
    base_dir: str | None = None,
    dvc: DvcRecord | None = None,
) -> DataSnapshot:
    """Record one dataset: a file's sha256, a directory's manifest digest, or a URI as is.

    `dvc` is what DVC recorded for the path when the caller knows it (a dvc.lock entry of a
    `wdir:` stage); otherwise it is looked up next to the path.

    Relative paths are read from `base_dir` (default: the cwd) and stored as given.
    DVC-tracked paths also carry the recorded md5; if their data is not pulled, the snapshot
    comes from the DVC record alone (digest None). Raises DataPathError when a local path is
    missing or unreadable, CaptureError when a .dvc file or dvc.lock that may track it is
    malformed (so a broken lineage record is fixed rather than silently dropped).
    """
    path = os.fspath(path)
    if is_uri(path) and not path.lower().startswith("file:"):
        return DataSnapshot(
            role=role,
            path=strip_credentials(path),
            kind="uri",
            digest=None,
            size=None,
            file_count=None,
        )
    abs_path, stored = _local_path(path, base_dir)
    if dvc is None:
        dvc = find_dvc_record(abs_path)
    dvc_md5 = dvc.entry.md5 if dvc else None
    dvc_source = dvc.source if dvc else None
    try:
        st = os.stat(abs_path)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError) and dvc is not None and dvc_md5 is not None:
            is_dir = dvc.entry.is_dir or dvc_md5.endswith(DIR_SUFFIX)
            return DataSnapshot(
                role=role,
                path=stored,
                kind="directory" if is_dir else "file",
                digest=None,
                size=dvc.entry.size,
                file_count=dvc.entry.nfiles if is_dir else 1,
                dvc_md5=dvc_md5,
                dvc_source=dvc_source,
            )
        raise _missing(role, path, abs_path, exc) from None
    if stat.S_ISDIR(st.st_mode):
        digest, size, manifest = _snapshot_dir(role, abs_path, cache)
        return DataSnapshot(
            role=role,
            path=stored,
            kind="directory",
            digest=digest,
            size=size,
            file_count=len(manifest),
            manifest=manifest,
            dvc_md5=dvc_md5,
            dvc_source=dvc_source,
        )
    if not stat.S_ISREG(st.st_mode):
        raise DataPathError(
            f"{role} data at {path} is neither a file nor a directory",
            hint="point at a regular file or a directory",
        )
    digest, size = _hash_single(role, abs_path, st, cache)
    return DataSnapshot(
        role=role,
        path=stored,
        kind="file",
        digest=digest,
        size=size,
        file_count=1,
        dvc_md5=dvc_md5,
        dvc_source=dvc_source,
    )


def snapshot_artifact(
    path: str,
    *,
    name: str | None = None,
    cache: StatCache | None = None,
    base_dir: str | None = None,
) -> Artifact:
    """Record an output: sha256 + size of a file, manifest digest + total size of a directory,
    a URI as is (credentials stripped). Local paths are stored as given, like data paths."""
    path = os.fspath(path)
    if is_uri(path) and not path.lower().startswith("file:"):
        uri = strip_credentials(path)
        default_name = posixpath.basename(urllib.parse.urlsplit(uri).path.rstrip("/")) or uri
        return Artifact(name=name or default_name, uri=uri, digest=None, size=None)
    snap = snapshot_data("artifact", path, cache=cache, base_dir=base_dir)
    if snap.digest is None:  # DVC-tracked but not pulled: we cannot vouch for a local file
        raise DataPathError(f"artifact not found: {path}", hint="check the path, or run `dvc pull`")
    default_name = posixpath.basename(snap.path) or snap.path
    return Artifact(name=name or default_name, uri=snap.path, digest=snap.digest, size=snap.size)
