"""The artifact store's one interface, and the streamed copy that hashes while it writes.

A store keeps blobs under their sha256 (hex). Every store implements the small `BlobStore`
interface; everything else (storing a directory, pulling a version, verifying, gc) is written
once on top of it in `vault.py`. `open` hands out a plain readable stream so other readers
(the HTTP API) can stream a blob without knowing where it lives.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

CHUNK = 4 * 1024 * 1024
_DEPTH = 4  # chunks in flight between the reading/hashing thread and the writing one
_HEX = frozenset("0123456789abcdef")


def is_digest(text: str) -> bool:
    return len(text) == 64 and set(text) <= _HEX


class Readable(Protocol):
    def readinto(self, buffer: bytearray | memoryview, /) -> int | None: ...


class Writable(Protocol):
    def write(self, data: memoryview, /) -> object: ...


def copy_hashing(source: Readable | BinaryIO, target: Writable | None) -> tuple[str, int]:
    """Copy `source` to `target` (None: only hash) in one read pass; return (sha256, size).

    Reading and hashing run in this thread while a second thread writes the previous chunk:
    hashlib and file writes release the GIL, so the copy costs about max(read+hash, write)
    rather than their sum.
    """
    digest = hashlib.sha256()
    size = 0
    if target is None:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while n := source.readinto(buf):
            digest.update(view[:n])
            size += n
        return digest.hexdigest(), size
    free: queue.Queue[bytearray] = queue.Queue()
    for _ in range(_DEPTH):
        free.put(bytearray(CHUNK))
    full: queue.Queue[tuple[bytearray, int] | None] = queue.Queue()
    failure: list[BaseException] = []

    def write() -> None:
        while (item := full.get()) is not None:
            chunk, n = item
            if not failure:
                try:
                    target.write(memoryview(chunk)[:n])
                except BaseException as exc:  # handed to the reading thread below
                    failure.append(exc)
            free.put(chunk)

    writer = threading.Thread(target=write, name="modeltrail-vault-write", daemon=True)
    writer.start()
    try:
        while not failure:
            chunk = free.get()
            n = source.readinto(chunk) or 0
            if n == 0:
                free.put(chunk)
                break
            digest.update(memoryview(chunk)[:n])
            size += n
            full.put((chunk, n))
    finally:
        full.put(None)
        writer.join()
    if failure:
        raise failure[0]
    return digest.hexdigest(), size


@dataclass(frozen=True)
class BlobInfo:
    digest: str
    size: int
    modified: float  # seconds since the epoch: when it was stored, or last stored again


class BlobStore(ABC):
    """Blobs by sha256. Implementations: `LocalStore` (a folder), `ObjectStore` (S3 …)."""

    location: str  # for messages: a path or URL, never credentials

    @abstractmethod
    def has(self, digest: str) -> bool: ...

    @abstractmethod
    def size(self, digest: str) -> int | None:
        """The blob's size in bytes, None when it is not there."""

    @abstractmethod
    def refresh(self, digest: str) -> bool:
        """Whether the blob is stored; if it is, it counts as stored just now, so gc's grace
        period covers a registration that reuses it (bytes found by the stat cache, or
        stored again by another run) until that registration commits."""

    @abstractmethod
    def put_file(self, path: str) -> tuple[str, int]:
        """Store a file's bytes under their digest, hashed as they are copied. The blob
        appears whole or not at all; bytes already stored are not stored twice (the blob
        is refreshed instead)."""

    @abstractmethod
    def put_bytes(self, data: bytes) -> str: ...

    @abstractmethod
    def open(self, digest: str) -> BinaryIO:
        """A readable binary stream of the blob (BlobMissingError when absent); close it."""

    def local_file(self, digest: str) -> str | None:
        """A path to the blob's bytes on this machine (BlobMissingError when the store has
        no such blob), or None when the store keeps them elsewhere: read with `open`."""
        return None

    @abstractmethod
    def listing(self) -> Iterator[BlobInfo]:
        """Every blob stored, with its size and age (gc walks these)."""

    @abstractmethod
    def modified(self, digest: str) -> float | None:
        """When the blob was stored or last refreshed (seconds since the epoch, as in
        `listing`), None when it is not there. gc asks again right before deleting."""

    def digests(self) -> Iterator[str]:
        return (info.digest for info in self.listing())

    @abstractmethod
    def delete(self, digest: str) -> None: ...

    def close(self) -> None:  # noqa: B027 - most stores hold nothing to release
        pass
