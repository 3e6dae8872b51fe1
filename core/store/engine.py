"""Engines for the registry database, and keeping its schema current.

SQLite gets WAL, foreign keys and a busy timeout, and we issue BEGIN ourselves so that write
transactions can take the write lock up front (BEGIN IMMEDIATE): two writers then queue
instead of one failing half-way with "database is locked" on lock upgrade. Writers in one
process queue on a lock of their own first (`write_transaction`): SQLite's busy handler waits
by sleeping 1, 2, 5 … 100 ms between tries, so twenty threads writing a row each (the Slack
bot's request ledger) waited up to ~350 ms for a lock that is free every millisecond.

Migrations are alembic's. Checking the schema must not import alembic (~0.4 s here), so the
fast path reads `alembic_version` directly and compares it with the revisions this release
ships; alembic runs only when an upgrade is actually due.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError, SQLAlchemyError

from modeltrail.core.errors import DatabaseError, SchemaTooNewError
from modeltrail.core.store.revisions import HEAD, REVISIONS

WRITE = {"modeltrail_write": True}
_PG_MIGRATION_LOCK = 0x6D6F64656C  # any constant; names the advisory lock for migrations
_SQLITE_TIMEOUT = 60.0  # seconds a SQLite connection waits for a lock
# SQLite engine → the lock its writers in this process take before BEGIN IMMEDIATE (re-entrant:
# a thread already inside a write goes on to SQLite, as it did without the lock).
_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction (BEGIN IMMEDIATE on SQLite), committed when the block ends."""
    with (
        _WRITE_LOCKS.get(engine) or nullcontext(),
        engine.connect().execution_options(**WRITE) as conn,
        conn.begin(),
    ):
        yield conn


def normalise_url(url: str) -> str:
    """Accept the URLs people paste: `postgres://` and `postgresql://` mean psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, *, create_dirs: bool = False) -> Engine:
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"cannot parse database URL {_redact(url)!r}",
            hint="use sqlite:///path/to/registry.db or postgresql+psycopg://user@host/db",
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, parsed.database, create_dirs=create_dirs)
    if backend == "postgresql":
        if parsed.get_driver_name() == "psycopg":
            from modeltrail.core.extras import require

            require("postgres", "a PostgreSQL registry")
        try:
            return create_engine(url, pool_pre_ping=True, future=True)
        except (ArgumentError, ImportError) as exc:
            raise DatabaseError(f"cannot use database URL {_redact(url)!r}: {exc}") from None
    raise DatabaseError(
        f"unsupported database {backend!r}", hint="modeltrail supports SQLite and PostgreSQL"
    )


def _sqlite_engine(url: str, database: str | None, *, create_dirs: bool) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        directory = Path(database).expanduser().parent
        if not directory.is_dir():
            if not create_dirs:
                raise DatabaseError(
                    f"the directory {directory} for the registry database does not exist",
                    hint="create it, or point MODELTRAIL_DATABASE_URL / --db elsewhere",
                )
            directory.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": _SQLITE_TIMEOUT}, future=True)
    _WRITE_LOCKS[engine] = threading.RLock()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Autocommit at the driver level: we emit BEGIN ourselves (see the "begin" hook).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(_SQLITE_TIMEOUT * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("modeltrail_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _enable_wal(cursor: sqlite3.Cursor, timeout: float = _SQLITE_TIMEOUT) -> None:
    """Switch to WAL, waiting out other connections that are doing the same.

    On a file not yet in WAL mode (a brand-new registry) the switch needs the write lock while
    it already holds a read lock, so SQLite answers "database is locked" at once instead of
    calling the busy handler. Several processes opening a new registry together hit that.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


def current_revision(conn: Connection) -> str | None:
    try:
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    except (OperationalError, ProgrammingError):
        # No table yet: a fresh database. PostgreSQL aborts the transaction on the error.
        conn.rollback()
        return None
    return None if row is None else str(row[0])


def ensure_schema(engine: Engine) -> None:
    """Bring the database to HEAD, or refuse one written by a newer modeltrail."""
    try:
        with engine.connect() as conn:
            found = current_revision(conn)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot open the registry database: {_short(exc)}") from None
    if found == HEAD:
        return
    if found is not None and found not in REVISIONS:
        raise SchemaTooNewError(found)
    upgrade(engine)


def upgrade(engine: Engine) -> None:
    """Run pending migrations in one transaction, serialised against other processes."""
    from alembic import command
    from alembic.config import Config

    try:
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            # Re-check under the lock: another process may have migrated meanwhile.
            found = _revision_in_transaction(conn)
            if found == HEAD:
                return
            if found is not None and found not in REVISIONS:
                raise SchemaTooNewError(found)
            config = Config()
            config.set_main_option("script_location", "modeltrail.core.store:migrations")
            config.attributes["connection"] = conn
            command.upgrade(config, HEAD)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot migrate the registry database: {_short(exc)}") from None


def _revision_in_transaction(conn: Connection) -> str | None:
    exists = conn.dialect.has_table(conn, "alembic_version")
    if not exists:
        return None
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _short(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    message = str(orig if orig is not None else exc).strip().splitlines()
    return message[0] if message else type(exc).__name__
