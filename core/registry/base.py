"""What every part of the `Registry` stands on: the engine, the clock, the read and write
transactions (database errors become modeltrail's), the model and version lookups, and the
append to the hash-chained audit trail that every write makes in its own transaction. The
mixins (registration, reading, governance) inherit this, so none imports the writer back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DataError, OperationalError, SQLAlchemyError

from modeltrail.core.errors import DatabaseError, ModelNotFoundError, UsageError
from modeltrail.core.records import Environment
from modeltrail.core.registry import integrity
from modeltrail.core.store import schema
from modeltrail.core.store.engine import write_transaction
from modeltrail.core.versioning import SemVer


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class RegistryBase:
    """The registry's engine, clock and transactions; see `Registry` for the whole door."""

    def __init__(
        self, engine: Engine, *, clock: Any = utcnow, audit_key: str | None = None
    ) -> None:
        self.engine = engine
        self._clock = clock
        self._audit_key = integrity.audit_key(audit_key)
        self._sqlite = engine.dialect.name == "sqlite"
        self._environments: dict[str, Environment] = {}  # content-addressed, never stale

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with write_transaction(self.engine) as conn:
                yield conn
        except OperationalError as exc:
            message = f"the registry database refused the write: {first_line(exc)}"
            raise DatabaseError(message) from None
        except DataError as exc:
            # PostgreSQL enforces column sizes that SQLite ignores (e.g. an overlong tag name).
            message = f"the registry cannot store a value given: {first_line(exc)}"
            raise UsageError(message) from None

    @contextmanager
    def _read(self, *, autocommit: bool = False) -> Iterator[Connection]:
        """A read connection. `autocommit` for plain queries on PostgreSQL: at its READ
        COMMITTED each statement reads its own snapshot, in a transaction or not, and without
        one a read sends no BEGIN and no ROLLBACK (a read-API answer built from the database:
        1.5 -> 1.05 ms). Not for streamed results: a server-side cursor needs a transaction."""
        try:
            with self.engine.connect() as conn:
                if autocommit and not self._sqlite:
                    conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                yield conn
        except OperationalError as exc:
            raise DatabaseError(f"cannot read the registry database: {first_line(exc)}") from None

    # -- the audit chain ------------------------------------------------------------------

    def _append_audit(
        self,
        conn: Connection,
        *,
        now: dt.datetime,
        actor: str,
        action: str,
        model: str | None,
        version: str | None,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        reason: str | None,
    ) -> int:
        return integrity.append(
            conn,
            sqlite=self._sqlite,
            key=self._audit_key,
            now=now,
            actor=actor,
            action=action,
            model=model,
            version=version,
            before=before,
            after=after,
            reason=reason,
        )

    # -- helpers --------------------------------------------------------------------------

    def _dialect(self) -> Any:
        """This database's SQLAlchemy dialect module (for `insert … on conflict`), imported
        when first needed: the PostgreSQL one (with its asyncpg side) costs a SQLite
        `register` ~25 ms of start-up."""
        if self._sqlite:
            from sqlalchemy.dialects import sqlite

            return sqlite
        from sqlalchemy.dialects import postgresql

        return postgresql

    def _model_id(self, conn: Connection, model: str, *, lock: bool = False) -> int:
        query = select(schema.models.c.id).where(schema.models.c.name == model)
        if lock and not self._sqlite:
            query = query.with_for_update()
        model_id = conn.execute(query).scalar()
        if model_id is None:
            raise ModelNotFoundError(model)
        return int(model_id)

    def _version_id(self, conn: Connection, model_id: int, version: SemVer) -> int | None:
        return conn.execute(
            select(schema.versions.c.id).where(
                schema.versions.c.model_id == model_id,
                schema.versions.c.version == str(version),
            )
        ).scalar()


def first_line(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
