"""A remote store seen through a local folder of the blobs already fetched, keyed by digest:
a serving process that restarts, or pulls the same version again, reads its disk instead of
downloading again. Blobs enter the cache only after they hash to their digest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from modeltrail.core.vault.blobs import BlobInfo, BlobStore
from modeltrail.core.vault.local import LocalStore


class CachedStore(BlobStore):
    def __init__(self, remote: BlobStore, cache: LocalStore) -> None:
        self.remote = remote
        self.cache = cache
        self.location = remote.location

    def has(self, digest: str) -> bool:
        return self.cache.has(digest) or self.remote.has(digest)

    def refresh(self, digest: str) -> bool:
        return self.remote.refresh(digest)

    def size(self, digest: str) -> int | None:
        return self.cache.size(digest) or self.remote.size(digest)

    def put_file(self, path: str) -> tuple[str, int]:
        return self.remote.put_file(path)

    def put_bytes(self, data: bytes) -> str:
        return self.remote.put_bytes(data)

    def _fetch(self, digest: str) -> None:
        if not self.cache.has(digest):
            with self.remote.open(digest) as source:
                self.cache.put_verified(source, digest)

    def open(self, digest: str) -> BinaryIO:
        self._fetch(digest)
        return self.cache.open(digest)

    def local_file(self, digest: str) -> str:
        self._fetch(digest)
        return self.cache.local_file(digest)

    def listing(self) -> Iterator[BlobInfo]:
        return self.remote.listing()

    def modified(self, digest: str) -> float | None:
        return self.remote.modified(digest)

    def delete(self, digest: str) -> None:
        self.remote.delete(digest)
        self.cache.delete(digest)
