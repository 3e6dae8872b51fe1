"""Where the registry lives: the engine (SQLite WAL or PostgreSQL), the SQLAlchemy Core tables,
the alembic migrations, the plain-SQL read queries and row loading shared by the `Registry` and
the stdlib SQLite reader (which serves `show`/`list` without importing SQLAlchemy)."""

from modeltrail.core.lazy import lazy_exports

_PUBLIC = {
    "make_engine": "engine",
    "ensure_schema": "engine",
    "normalise_url": "engine",
    "current_revision": "engine",
    "load_records": "loading",
    "SqliteReader": "sqlite_reader",
    "sqlite_path": "sqlite_reader",
}
__all__ = sorted(_PUBLIC)
__getattr__ = lazy_exports(__name__, _PUBLIC)
