"""The artifact store in object storage (S3 and S3-compatible servers, Google Cloud Storage,
Azure Blob Storage) through obstore: a small Rust-backed client with no Python dependencies,
chosen over fsspec + s3fs for footprint and speed (figures in bench/RESULTS.md).

Credentials, region and endpoint come from the standard environment variables (AWS_*,
AWS_ENDPOINT_URL for MinIO, Ceph or R2; GOOGLE_*; AZURE_*), which obstore reads, and for S3
from the AWS profile files (`aws.py`), which it does not. Keys are `PREFIX/sha256/ab/<digest>`.
A blob is uploaded under `PREFIX/tmp/<uuid>` while it is hashed, then copied to its digest
and the temporary object deleted, so no object ever sits under a digest it does not match.
Bytes stored again leave an empty `PREFIX/recent/<digest>` marker, whose time gc's grace
period reads (an object's own time cannot be bumped in place).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any, BinaryIO

import obstore
from obstore.exceptions import BaseError, NotFoundError
from obstore.store import from_url

from modeltrail.core.errors import ArtifactStoreError, BlobMissingError, DataPathError
from modeltrail.core.vault.blobs import BlobInfo, BlobStore, copy_hashing, is_digest


class _Reader:
    """obstore's ReadableFile with `readinto`, which the streamed copy uses."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self._inner.read(len(buffer))
        n = len(data)
        memoryview(buffer)[:n] = memoryview(data)
        return n

    def read(self, size: int = -1) -> bytes:
        return bytes(self._inner.read() if size < 0 else self._inner.read(size))

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ObjectStore(BlobStore):
    def __init__(self, store: Any, location: str, prefix: str) -> None:
        self._store = store
        self.location = location
        self._prefix = prefix.strip("/")

    @classmethod
    def from_url(cls, url: str) -> ObjectStore:
        parts = urllib.parse.urlsplit(url)
        if not parts.netloc:
            raise ArtifactStoreError(f"artifact store {url!r} names no bucket")
        # Fewer retries than obstore's default (10 over up to 3 minutes): a registration whose
        # store is down should say so within seconds.
        options: dict[str, Any] = {
            "retry_config": {"max_retries": 3, "retry_timeout": dt.timedelta(seconds=30)}
        }
        if parts.scheme in ("s3", "s3a"):
            from modeltrail.core.vault.aws import endpoint, s3_options

            profile = s3_options(os.environ)
            options.update(profile)
            where = endpoint(os.environ, profile)
            if where and where.startswith("http://"):  # MinIO and friends on a plain port
                options["client_options"] = {"allow_http": True}
        try:
            store = from_url(f"{parts.scheme}://{parts.netloc}", **options)
        except BaseError as exc:
            raise ArtifactStoreError(
                f"cannot open the artifact store {url}: {_short(exc)}"
            ) from None
        location = f"{parts.scheme}://{parts.netloc}/{parts.path.strip('/')}".rstrip("/")
        return cls(store, location, parts.path)

    def _key(self, digest: str) -> str:
        if not is_digest(digest):
            raise ArtifactStoreError(f"{digest!r} is not a sha256 digest")
        return self._join(f"sha256/{digest[:2]}/{digest}")

    def _join(self, rest: str) -> str:
        return f"{self._prefix}/{rest}" if self._prefix else rest

    def _error(self, exc: BaseException) -> ArtifactStoreError:
        return ArtifactStoreError(
            f"the artifact store at {self.location} failed: {_short(exc)}",
            hint="check MODELTRAIL_ARTIFACT_STORE, the credentials and the endpoint; "
            "nothing was registered",
        )

    def has(self, digest: str) -> bool:
        return self.size(digest) is not None

    def _recent_key(self, digest: str) -> str:
        return self._join(f"recent/{digest}")

    def refresh(self, digest: str) -> bool:
        # An object's time cannot be bumped in place: an empty marker says "reused now".
        if not self.has(digest):
            return False
        try:
            obstore.put(self._store, self._recent_key(digest), b"")
        except (BaseError, OSError) as exc:
            raise self._error(exc) from None
        return True

    def size(self, digest: str) -> int | None:
        try:
            return int(obstore.head(self._store, self._key(digest))["size"])
        except (NotFoundError, FileNotFoundError):
            return None
        except (BaseError, OSError) as exc:
            raise self._error(exc) from None

    def put_file(self, path: str) -> tuple[str, int]:
        try:
            src = open(path, "rb", buffering=0)  # noqa: SIM115 - closed below
        except OSError as exc:
            raise DataPathError(
                f"cannot read artifact {path}: {exc.strerror or exc}", hint="check the path"
            ) from None
        temp = self._join(f"tmp/{uuid.uuid4().hex}")
        try:
            with src:
                writer = obstore.open_writer(self._store, temp)
                try:
                    digest, size = copy_hashing(src, writer)
                finally:
                    writer.close()
            if not self.refresh(digest):
                obstore.copy(self._store, temp, self._key(digest))
        except (BaseError, OSError) as exc:
            raise self._error(exc) from None
        finally:
            self._delete_quietly(temp)
        return digest, size

    def _delete_quietly(self, key: str) -> None:
        # Left behind on failure it is a stray temporary object, never under a digest.
        with contextlib.suppress(BaseError, OSError):
            obstore.delete(self._store, key)

    def put_bytes(self, data: bytes) -> str:
        import hashlib

        digest = hashlib.sha256(data).hexdigest()
        try:
            if not self.refresh(digest):
                obstore.put(self._store, self._key(digest), data)  # one PUT: all or nothing
        except (BaseError, OSError) as exc:
            raise self._error(exc) from None
        return digest

    def open(self, digest: str) -> BinaryIO:
        try:
            return _Reader(obstore.open_reader(self._store, self._key(digest)))  # type: ignore[return-value]
        except (NotFoundError, FileNotFoundError):
            raise BlobMissingError(digest, self.location) from None
        except (BaseError, OSError) as exc:
            raise self._error(exc) from None

    def _walk(self, prefix: str) -> Iterator[tuple[str, int, float]]:
        try:
            for batch in obstore.list(self._store, self._join(prefix)):
                for meta in batch:
                    name = str(meta["path"]).rsplit("/", 1)[-1]
                    if is_digest(name):
                        yield name, int(meta["size"]), meta["last_modified"].timestamp()
        except (BaseError, OSError) as exc:
            raise self._error(exc) from None

    def listing(self) -> Iterator[BlobInfo]:
        reused = {name: when for name, _, when in self._walk("recent/")}
        for name, size, when in self._walk("sha256/"):
            yield BlobInfo(name, size, max(when, reused.get(name, when)))

    def _modified(self, key: str) -> float | None:
        try:
            return float(obstore.head(self._store, key)["last_modified"].timestamp())
        except (NotFoundError, FileNotFoundError):
            return None
        except (BaseError, OSError) as exc:
            raise self._error(exc) from None

    def modified(self, digest: str) -> float | None:
        stored = self._modified(self._key(digest))
        if stored is None:
            return None
        reused = self._modified(self._recent_key(digest))
        return stored if reused is None else max(stored, reused)

    def delete(self, digest: str) -> None:
        self._delete_quietly(self._recent_key(digest))
        try:
            obstore.delete(self._store, self._key(digest))
        except (NotFoundError, FileNotFoundError):
            return
        except (BaseError, OSError) as exc:
            raise self._error(exc) from None


def _short(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__
