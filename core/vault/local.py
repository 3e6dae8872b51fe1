"""The artifact store in a local (or mounted shared) folder.

Layout: `ROOT/sha256/ab/abcdef…` per blob, and `ROOT/tmp/` for blobs being written. A blob is
written under a temporary name in the same filesystem, flushed to disk, then renamed into
place, so a crash leaves at most a stray temporary file (gc removes old ones), never a partial
blob under a digest.
"""

from __future__ import annotations

import contextlib
import errno
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from modeltrail.core.errors import (
    ArtifactStoreError,
    BlobMismatchError,
    BlobMissingError,
    DataPathError,
)
from modeltrail.core.vault.blobs import BlobInfo, BlobStore, copy_hashing, is_digest
from modeltrail.core.vault.filecopy import copy_file_hashing


class LocalStore(BlobStore):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def _path(self, digest: str) -> Path:
        if not is_digest(digest):
            raise ArtifactStoreError(f"{digest!r} is not a sha256 digest")
        return self.root / "sha256" / digest[:2] / digest

    def has(self, digest: str) -> bool:
        return self._path(digest).is_file()

    def refresh(self, digest: str) -> bool:
        try:
            os.utime(self._path(digest))
        except FileNotFoundError:
            return False
        except OSError:  # read-only store: present, and nobody can collect it from here
            return self.has(digest)
        return True

    def local_file(self, digest: str) -> str:
        path = self._path(digest)
        if not path.is_file():
            raise BlobMissingError(digest, self.location)
        return str(path)

    def size(self, digest: str) -> int | None:
        try:
            return self._path(digest).stat().st_size
        except FileNotFoundError:
            return None

    def _temp(self) -> Path:
        tmp = self.root / "tmp"
        try:
            tmp.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _store_error(self.location, exc) from None
        return tmp / f"{uuid.uuid4().hex}.part"

    def _commit(self, temp: Path, digest: str) -> None:
        final = self._path(digest)
        if self.refresh(digest):
            temp.unlink(missing_ok=True)  # the same bytes are stored already
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
        # The rename is durable before a registration can commit a reference to it.
        folder = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def put_file(self, path: str) -> tuple[str, int]:
        try:
            src = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise DataPathError(
                f"cannot read artifact {path}: {exc.strerror or exc}", hint="check the path"
            ) from None
        try:
            temp = self._temp()
        except BaseException:
            os.close(src)
            raise
        try:
            try:
                dst = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
                try:
                    digest, size = copy_file_hashing(src, dst, sync=True)
                finally:
                    os.close(dst)
            finally:
                os.close(src)
            self._commit(temp, digest)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise _store_error(self.location, exc) from None
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return digest, size

    def put_verified(self, source: BinaryIO, expected: str) -> None:
        """Copy a stream in under `expected`, keeping it only if it hashes to that."""
        temp = self._temp()
        try:
            with open(temp, "wb", buffering=0) as dst:
                found, _ = copy_hashing(source, dst)
                os.fsync(dst.fileno())
            if found != expected:
                raise BlobMismatchError(f"blob {expected[:12]}…", expected, found)
            self._commit(temp, expected)
        finally:
            temp.unlink(missing_ok=True)

    def put_bytes(self, data: bytes) -> str:
        import hashlib

        digest = hashlib.sha256(data).hexdigest()
        if self.refresh(digest):
            return digest
        temp = self._temp()
        try:
            with open(temp, "wb") as dst:
                dst.write(data)
                dst.flush()
                os.fsync(dst.fileno())
            self._commit(temp, digest)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise _store_error(self.location, exc) from None
        return digest

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self._path(digest), "rb", buffering=0)
        except FileNotFoundError:
            raise BlobMissingError(digest, self.location) from None
        except OSError as exc:
            raise _store_error(self.location, exc) from None

    def listing(self) -> Iterator[BlobInfo]:
        base = self.root / "sha256"
        if not base.is_dir():
            return
        for prefix in sorted(base.iterdir()):
            if prefix.is_dir():
                for blob in sorted(prefix.iterdir()):
                    if is_digest(blob.name):
                        with contextlib.suppress(FileNotFoundError):  # deleted meanwhile
                            st = blob.stat()
                            yield BlobInfo(blob.name, st.st_size, st.st_mtime)

    def modified(self, digest: str) -> float | None:
        try:
            return self._path(digest).stat().st_mtime
        except FileNotFoundError:
            return None

    def delete(self, digest: str) -> None:
        self._path(digest).unlink(missing_ok=True)

    def stray_temporaries(self, older_than: float) -> list[Path]:
        """Temporary files left by a crash, not touched for `older_than` seconds."""
        import time

        tmp = self.root / "tmp"
        if not tmp.is_dir():
            return []
        cutoff = time.time() - older_than
        found = []
        for entry in tmp.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff:
                    found.append(entry)
        return found


def _store_error(location: str, exc: OSError) -> ArtifactStoreError:
    if exc.errno == errno.ENOSPC:
        what = "is out of space"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        what = "refused the write (permission or read-only)"
    else:
        what = f"failed: {exc.strerror or exc}"
    return ArtifactStoreError(
        f"the artifact store at {location} {what}",
        hint="free space or fix MODELTRAIL_ARTIFACT_STORE; nothing was registered",
    )
