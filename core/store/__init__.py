"""Where the registry lives: the engine (SQLite WAL or PostgreSQL), the SQLAlchemy Core tables,
the alembic migrations, the plain-SQL read queries and row loading shared by the `Registry` and
the stdlib SQLite reader (which serves `show`/`list` without importing SQLAlchemy)."""

from modeltrail.core.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "engine": "make_engine ensure_schema normalise_url current_revision",
        "loading": "load_records",
        "sqlite_reader": "SqliteReader sqlite_path",
    },
)
