"""A local cache of file digests keyed by stat data, so unchanged data is not re-hashed.

It is an optimisation only: every failure to open, read or write it degrades to "not cached"
and never fails a capture. It lives in its own small SQLite file (not the registry) because it
describes this machine's files, not anything the team shares.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_SCHEMA_VERSION = 1

# A file changed again within the filesystem's timestamp granularity of being hashed keeps the
# same mtime; git calls such entries "racily clean". We only trust an entry whose mtime is
# older than the moment it was hashed by more than the coarsest common granularity (FAT: 2 s).
RACY_MARGIN_NS = 2_000_000_000


@dataclass(frozen=True)
class CachedStat:
    size: int
    mtime_ns: int
    inode: int
    device: int
    digest: str
    checked_ns: int  # when the digest was computed

    def matches(self, st: os.stat_result) -> bool:
        return (
            self.size == st.st_size
            and self.mtime_ns == st.st_mtime_ns
            and self.inode == st.st_ino
            and self.device == st.st_dev
            and st.st_mtime_ns + RACY_MARGIN_NS <= self.checked_ns
        )


def default_cache_path() -> Path:
    """`$MODELTRAIL_CACHE_DIR/statcache.db`, else `$XDG_CACHE_HOME/modeltrail/statcache.db`,
    else `~/.cache/modeltrail/statcache.db`."""
    explicit = os.environ.get("MODELTRAIL_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser() / "statcache.db"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "modeltrail" / "statcache.db"


def cache_key(path: str | os.PathLike[str]) -> str:
    """Absolute, lexically normalised path; symlinks are not resolved (inode/device catch a
    link that now points elsewhere)."""
    return os.path.abspath(os.fspath(path))


class StatCache:
    """(absolute path) -> (size, mtime_ns, inode, device, sha256) in a local SQLite file.

    Safe for several processes at once (WAL plus a busy timeout) and for threads sharing one
    instance (a lock). Opened lazily, so building one costs nothing until it is used.
    """

    def __init__(self, path: Path | str, *, timeout: float = 5.0) -> None:
        self.path = Path(path)
        self._timeout = timeout
        self._conn: sqlite3.Connection | None = None
        self._broken = False
        self._lock = threading.Lock()

    def __enter__(self) -> StatCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is not None or self._broken:
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version != _SCHEMA_VERSION:
                # A cache from another modeltrail release: drop it rather than migrate.
                conn.execute("DROP TABLE IF EXISTS files")
                conn.execute(
                    "CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER NOT NULL,"
                    " mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, device INTEGER NOT NULL,"
                    " digest TEXT NOT NULL, checked_ns INTEGER NOT NULL) WITHOUT ROWID"
                )
                conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        except (sqlite3.Error, OSError):
            self._broken = True
            return None
        self._conn = conn
        return conn

    def get(self, path: str | os.PathLike[str], st: os.stat_result) -> str | None:
        """The cached digest when size, mtime_ns, inode and device all still match."""
        with self._lock:
            conn = self._connect()
            if conn is None:
                return None
            try:
                row = conn.execute(
                    "SELECT size, mtime_ns, inode, device, digest, checked_ns FROM files"
                    " WHERE path = ?",
                    (cache_key(path),),
                ).fetchone()
            except sqlite3.Error:
                return None
        if row is None:
            return None
        cached = CachedStat(*row)
        return cached.digest if cached.matches(st) else None

    def load_prefix(self, directory: str | os.PathLike[str]) -> dict[str, CachedStat]:
        """Every entry under `directory`, keyed by absolute path, in one range query."""
        prefix = cache_key(directory).rstrip(os.sep) + os.sep
        # Keys under the prefix sort between "prefix" and the prefix with its last char bumped.
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        with self._lock:
            conn = self._connect()
            if conn is None:
                return {}
            try:
                rows = conn.execute(
                    "SELECT path, size, mtime_ns, inode, device, digest, checked_ns FROM files"
                    " WHERE path >= ? AND path < ?",
                    (prefix, upper),
                ).fetchall()
            except sqlite3.Error:
                return {}
        return {row[0]: CachedStat(*row[1:]) for row in rows}

    def put(self, path: str | os.PathLike[str], st: os.stat_result, digest: str) -> None:
        self.put_many([(path, st, digest)])

    def put_many(self, items: Iterable[tuple[str | os.PathLike[str], os.stat_result, str]]) -> None:
        """Record digests computed from files with the given stat results, in one transaction.

        Pass the stat taken *before* hashing, so a file changed while it was being read is
        recorded with its old stat and misses next time rather than hitting with a wrong digest.
        """
        now = time.time_ns()
        rows = [
            (cache_key(p), st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, digest, now)
            for p, st, digest in items
        ]
        if not rows:
            return
        with self._lock:
            conn = self._connect()
            if conn is None:
                return
            try:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany(
                        "INSERT OR REPLACE INTO files"
                        " (path, size, mtime_ns, inode, device, digest, checked_ns)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        rows,
                    )
            except sqlite3.Error:
                # Busy beyond the timeout, disk full, read-only: the next run hashes again.
                pass
