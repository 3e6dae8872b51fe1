"""A remote store seen through a local folder of the blobs already fetched, keyed by digest:
a serving process that restarts, or pulls the same version again, reads its disk instead of
downloading again. Blobs enter the cache only after they hash to their digest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from modeltrail.core.vault.blobs import BlobStore
from modeltrail.core.vault.local import LocalStore


class CachedStore(BlobStore):
    def __init__(self, remote: BlobStore, cache: LocalStore) -> None:
        self.remote = remote
        self.cache = cache
        self.location = remote.location

    def has(self, digest: str) -> bool:
        return self.cache.has(digest) or self.remote.has(digest)

    def size(self, digest: str) -> int | None:
        return self.cache.size(digest) or self.remote.size(digest)

    def put_file(self, path: str) -> tuple[str, int]:
        return self.remote.put_file(path)

    def put_bytes(self, data: bytes) -> str:
        return self.remote.put_bytes(data)

    def open(self, digest: str) -> BinaryIO:
        if not self.cache.has(digest):
            with self.remote.open(digest) as source:
                self.cache.put_verified(source, digest)
        return self.cache.open(digest)

    def digests(self) -> Iterator[str]:
        return self.remote.digests()

    def delete(self, digest: str) -> None:
        self.remote.delete(digest)
        self.cache.delete(digest)
