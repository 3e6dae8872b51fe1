"""Where the registry lives: the engine (SQLite WAL or PostgreSQL), the SQLAlchemy Core tables,
the alembic migrations, the plain-SQL read queries and row loading shared by the `Registry` and
the stdlib SQLite reader (which serves `show`/`list` without importing SQLAlchemy)."""

from typing import Any

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

def __getattr__(name: str) -> Any:
    # Imported on first use, so reading one submodule never pays for its siblings.
    if name in _PUBLIC:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
