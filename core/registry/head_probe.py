"""The audit head for a server's hot path: every cached answer is judged against it, so it is
read once per request, and that read must cost next to nothing.

Each thread keeps a connection of its own, out of the pool and in autocommit, so a probe is
one statement instead of a pool checkout, a BEGIN and a ROLLBACK. SQLite reads it in process
(~5 µs). PostgreSQL answers over a socket: there the statement is prepared once per
connection and sent through libpq directly, because psycopg's cursor costs more than the
round trip (65 → 15 µs of CPU and 176 → 41 µs of wall time per probe, bench/RESULTS.md).

Probes are not shared between threads: one started before a request arrived may miss a
write committed just before it, and making later callers wait for a fresh shared one cost
more under load (Condition hand-offs under the GIL) than the round trips it saved.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from modeltrail.core.registry.writer import Registry

log = logging.getLogger("modeltrail.queries")

HEAD_SQL = "SELECT seq FROM audit_head"
_STATEMENT = b"modeltrail_head"


def head_probe(registry: Registry) -> Callable[[], int]:
    """A callable, safe to call from many threads, that returns the audit head now (0 for an
    empty trail), as committed when the call started."""
    reader = _PgHead if registry.engine.dialect.name == "postgresql" else _SqliteHead
    return _PerThread(lambda: reader(registry))


class _PerThread:
    def __init__(self, make: Callable[[], Callable[[], int]]) -> None:
        self._make = make
        self._local = threading.local()

    def __call__(self) -> int:
        probe = getattr(self._local, "probe", None)
        if probe is None:
            probe = self._local.probe = self._make()
        return probe()


class _Probe(ABC):
    """One thread's connection and its read of the head. A failed read (a dropped
    connection, a database restart) opens a new connection once, then lets the error
    through to the caller."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._conn: Any = None

    def __call__(self) -> int:
        for attempt in (1, 2):
            try:
                if self._conn is None:
                    self._conn = self._open()
                return self._read(self._conn)
            except Exception:
                log.debug("generation probe failed", exc_info=True)
                self._drop()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _open(self) -> Any:
        return _detached(self.registry)

    @abstractmethod
    def _read(self, conn: Any) -> int:
        """The head's seq on this backend's connection."""

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.debug("closing a broken probe connection failed", exc_info=True)


class _SqliteHead(_Probe):
    def _read(self, conn: Any) -> int:
        cursor = conn.cursor()
        try:
            cursor.execute(HEAD_SQL)
            row = cursor.fetchone()
        finally:
            cursor.close()
        return int(row[0]) if row else 0


class _PgHead(_Probe):
    """The head through libpq, the statement prepared once on the connection."""

    def _open(self) -> Any:
        conn = _detached(self.registry)
        pgconn = conn.dbapi_connection.pgconn
        _check(pgconn, pgconn.prepare(_STATEMENT, HEAD_SQL.encode()))
        return conn

    def _read(self, conn: Any) -> int:
        pgconn = conn.dbapi_connection.pgconn
        result = pgconn.exec_prepared(_STATEMENT, None)
        _check(pgconn, result)
        return int(result.get_value(0, 0)) if result.ntuples else 0


def _check(pgconn: Any, result: Any) -> None:
    from psycopg import OperationalError, pq

    if result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
        message = (result.error_message or pgconn.error_message or b"").decode(errors="replace")
        raise OperationalError(message.strip() or "the head probe failed")


def _detached(registry: Registry) -> Any:
    pooled = registry.engine.raw_connection()
    if registry.engine.dialect.name == "postgresql":
        pooled.rollback()  # idle, so that the mode may change
        pooled.dbapi_connection.autocommit = True  # type: ignore[union-attr]
    pooled.detach()  # ours for the thread's life; the pool's size is left to the queries
    return pooled  # kept: dropping it would close the connection
