"""What the artifact store is used for, written once over the `BlobStore` interface: store a
file or directory, pull a version's artifacts into a folder (verified while writing), verify
stored artifacts, and collect blobs no version references.

A directory is stored as one blob per file plus its manifest (the canonical text that
`capture.data` hashes for a directory digest), so the manifest blob's key *is* the directory's
digest and identical files across directories and versions are stored once.
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from modeltrail.core.capture.data import list_files, manifest_text
from modeltrail.core.errors import (
    ArtifactStoreError,
    BlobMismatchError,
    BlobMissingError,
    DataPathError,
    UsageError,
)
from modeltrail.core.records import Artifact, DataSnapshot, ManifestEntry
from modeltrail.core.vault.blobs import BlobStore, copy_hashing
from modeltrail.core.vault.filecopy import copy_file_hashing

if TYPE_CHECKING:
    from modeltrail.core.capture.statcache import StatCache

Kind = Literal["file", "directory"]
_WORKERS = 2


@dataclass(frozen=True)
class StoredPath:
    digest: str
    size: int
    kind: Kind
    file_count: int


def _store_one(
    store: BlobStore, abs_path: str, st: os.stat_result, cache: StatCache | None
) -> tuple[str, int]:
    """Store one file; with a stat-cache hit on a blob already stored nothing is read."""
    if cache is not None:
        known = cache.get(abs_path, st)
        if known is not None and store.refresh(known):
            return known, st.st_size
    digest, size = store.put_file(abs_path)
    if cache is not None and size == st.st_size:
        cache.put(abs_path, st, digest)
    return digest, size


def store_path(store: BlobStore, path: str, *, cache: StatCache | None = None) -> StoredPath:
    """Put a file, or a directory's files and manifest, into `store`."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise DataPathError(
            f"artifact not found: {path}", hint="check the path (relative to the run's directory)"
        ) from None
    except OSError as exc:
        raise DataPathError(f"cannot read artifact {path}: {exc.strerror or exc}") from None
    if stat.S_ISREG(st.st_mode):
        digest, size = _store_one(store, path, st, cache)
        return StoredPath(digest, size, "file", 1)
    if not stat.S_ISDIR(st.st_mode):
        raise DataPathError(f"artifact {path} is neither a file nor a directory")
    files = list_files(path, "artifact")
    with ThreadPoolExecutor(_WORKERS, thread_name_prefix="modeltrail-vault") as pool:
        results = list(pool.map(lambda f: _store_one(store, f[0], f[2], cache), files))
    entries = [
        ManifestEntry(rel, size, digest)
        for (_, rel, _), (digest, size) in zip(files, results, strict=True)
    ]
    text = manifest_text(entries).encode("utf-8", "surrogateescape")
    digest = store.put_bytes(text)
    return StoredPath(digest, sum(e.size for e in entries), "directory", len(entries))


def read_manifest(store: BlobStore, digest: str) -> tuple[ManifestEntry, ...]:
    with store.open(digest) as stream:
        data = stream.read()
    entries = []
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        file_digest, size, rel = line.split("  ", 2)
        entries.append(ManifestEntry(rel, int(size), file_digest))
    return tuple(entries)


# -- pull ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PulledFile:
    artifact: str
    path: str  # relative to the target folder
    digest: str
    size: int


def pull_plan(
    store: BlobStore, artifacts: Sequence[Artifact]
) -> tuple[list[PulledFile], list[str]]:
    """(the files to write, the names of artifacts that are referenced, not stored)."""
    files: list[PulledFile] = []
    skipped: list[str] = []
    for artifact in artifacts:
        if not artifact.stored or artifact.digest is None:
            skipped.append(artifact.name)
            continue
        if artifact.kind == "directory":
            for entry in read_manifest(store, artifact.digest):
                files.append(
                    PulledFile(
                        artifact.name, f"{artifact.name}/{entry.path}", entry.digest, entry.size
                    )
                )
        else:
            files.append(
                PulledFile(artifact.name, artifact.name, artifact.digest, artifact.size or 0)
            )
    for f in files:
        parts = Path(f.path).parts
        if Path(f.path).is_absolute() or ".." in parts:
            raise ArtifactStoreError(f"refusing to write {f.path!r} outside the target folder")
    return files, skipped


def fetch_verified(store: BlobStore, digest: str, target: Path, name: str) -> int:
    """Write blob `digest` to `target` through a temporary name, hashing while writing; on a
    mismatch nothing is left at `target` and BlobMismatchError names `name`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        local = store.local_file(digest)
        if local is not None:  # a file to file copy, hashed behind the kernel's copy
            source = os.open(local, os.O_RDONLY)
            try:
                written = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
                try:
                    found, size = copy_file_hashing(source, written)
                finally:
                    os.close(written)
            finally:
                os.close(source)
        else:
            with store.open(digest) as src, open(temp, "wb", buffering=0) as dst:
                found, size = copy_hashing(src, dst)
        if found != digest:
            raise BlobMismatchError(name, digest, found)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return size


def pull(
    store: BlobStore, artifacts: Sequence[Artifact], target: str | os.PathLike[str], *, force: bool
) -> tuple[list[PulledFile], list[str]]:
    """Write the artifacts into `target`; all of them verified, or none left behind."""
    root = Path(target)
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a directory")
    if root.is_dir() and any(root.iterdir()) and not force:
        raise UsageError(
            f"{root} is not empty", hint="pull into an empty directory, or pass --force"
        )
    files, skipped = pull_plan(store, artifacts)
    created_root = not root.exists()
    written: list[Path] = []
    try:
        for f in files:
            out = root / f.path
            try:
                fetch_verified(store, f.digest, out, f.path)
            except BlobMismatchError as exc:
                raise BlobMismatchError(f.path, exc.expected, exc.found) from None
            written.append(out)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        if created_root:
            shutil.rmtree(root, ignore_errors=True)
        raise
    return files, skipped


# -- verify --------------------------------------------------------------------------------

Status = Literal["ok", "changed", "missing", "not stored"]


@dataclass(frozen=True)
class Check:
    what: Literal["artifact", "data"]
    name: str
    status: Status
    expected: str | None
    found: str | None = None
    detail: str | None = None


def verify_artifact(store: BlobStore, artifact: Artifact) -> Check:
    if not artifact.stored or artifact.digest is None:
        return Check("artifact", artifact.name, "not stored", artifact.digest)
    try:
        if artifact.kind == "directory":
            entries = read_manifest(store, artifact.digest)
            bad = _first_bad(store, [(e.path, e.digest) for e in entries])
            if bad is not None:
                return Check("artifact", artifact.name, bad[0], artifact.digest, bad[2], bad[1])
            return Check("artifact", artifact.name, "ok", artifact.digest, artifact.digest)
        found = _hash_blob(store, artifact.digest)
    except BlobMissingError:
        return Check("artifact", artifact.name, "missing", artifact.digest)
    status: Status = "ok" if found == artifact.digest else "changed"
    return Check("artifact", artifact.name, status, artifact.digest, found)


def _hash_blob(store: BlobStore, digest: str) -> str:
    with store.open(digest) as stream:
        return copy_hashing(stream, None)[0]


def _first_bad(
    store: BlobStore, blobs: Iterable[tuple[str, str]]
) -> tuple[Status, str, str | None] | None:
    for rel, digest in blobs:
        try:
            found = _hash_blob(store, digest)
        except BlobMissingError:
            return "missing", rel, None
        if found != digest:
            return "changed", rel, found
    return None


# -- gc ------------------------------------------------------------------------------------


def referenced_blobs(store: BlobStore, artifacts: Iterable[Artifact]) -> set[str]:
    """Every blob the given artifacts need: file blobs, manifests and the files they list."""
    keep: set[str] = set()
    for artifact in artifacts:
        if not artifact.stored or artifact.digest is None:
            continue
        keep.add(artifact.digest)
        if artifact.kind == "directory":
            try:
                keep.update(e.digest for e in read_manifest(store, artifact.digest))
            except BlobMissingError:
                continue
    return keep


GRACE = 3600.0  # seconds: a blob younger than this may belong to a registration under way


@dataclass(frozen=True)
class Garbage:
    removable: tuple[tuple[str, int], ...]  # (digest, size) no version references
    recent: tuple[tuple[str, int], ...]  # unreferenced but younger than the grace period


def collect_garbage(store: BlobStore, keep: set[str], cutoff: float) -> Garbage:
    """Which blobs `keep` does not name: removable, or kept as recent when stored (or
    refreshed) after `cutoff` (seconds since the epoch). A run stores its artifacts before it
    registers, so a fresh unreferenced blob is most likely a registration not yet committed."""
    removable: list[tuple[str, int]] = []
    recent: list[tuple[str, int]] = []
    for info in store.listing():
        if info.digest in keep:
            continue
        (recent if info.modified >= cutoff else removable).append((info.digest, info.size))
    return Garbage(tuple(removable), tuple(recent))


def parse_grace(text: str) -> float:
    """`90s`, `30m`, `1h`, `2d`, or a number of seconds; `0` keeps nothing for its age."""
    import re

    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if found is None:
        raise UsageError(f"--grace {text!r} is not a duration", hint="use e.g. 1h, 30m, 90s or 0")
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[found.group(2)]
    return float(found.group(1)) * unit


def verify_data(snapshot: DataSnapshot, *, cache: StatCache | None = None) -> Check:
    """Re-hash the data at its recorded path (the stat cache spares unchanged files)."""
    from modeltrail.core.capture.data import snapshot_data

    if snapshot.kind == "uri" or snapshot.digest is None:
        return Check("data", snapshot.role, "not stored", snapshot.digest, detail=snapshot.path)
    try:
        now = snapshot_data(snapshot.role, snapshot.path, cache=cache)
    except DataPathError:
        return Check("data", snapshot.role, "missing", snapshot.digest, detail=snapshot.path)
    status: Status = "ok" if now.digest == snapshot.digest else "changed"
    return Check("data", snapshot.role, status, snapshot.digest, now.digest, snapshot.path)
