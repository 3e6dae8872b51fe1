"""Read-only access to a local SQLite registry through the standard library alone.

`modeltrail show` and `list` must answer within 0.4 s as fresh processes; importing
SQLAlchemy costs about half of that here. When the registry is a SQLite file already at this
release's schema, these commands read it through sqlite3 with the same queries the
`Registry` runs (core/store/reads.py, core/store/loading.py). Anything else — PostgreSQL, a
database that needs migrating or does not exist yet — goes through the full `Registry`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from modeltrail.core.config import Settings
from modeltrail.core.errors import VersionNotFoundError
from modeltrail.core.records import Environment, ModelSummary, VersionRecord, VersionSummary
from modeltrail.core.store import reads
from modeltrail.core.store.loading import load_records
from modeltrail.core.store.revisions import HEAD
from modeltrail.core.versioning import SemVer


class _Dialect:
    name = "sqlite"


class _Connection:
    """The slice of SQLAlchemy's Connection that the read queries use."""

    dialect = _Dialect()

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def exec_driver_sql(self, statement: str, parameters: Any = ()) -> Any:
        return self.raw.execute(statement, parameters)


def sqlite_path(settings: Settings) -> Path | None:
    """The file of a plain `sqlite:///path` registry, or None for anything else."""
    url = settings.resolved_database_url()
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = unquote(url[len(prefix) :])
    if not path or path == ":memory:":
        return None
    return Path(path)


class SqliteReader:
    def __init__(self, raw: sqlite3.Connection) -> None:
        self._conn = _Connection(raw)
        self._environments: dict[str, Environment] = {}

    @classmethod
    def open(cls, settings: Settings) -> SqliteReader | None:
        """A reader when the registry is an existing SQLite file at HEAD; else None."""
        path = sqlite_path(settings)
        if path is None or not path.is_file():
            return None
        try:
            raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        except sqlite3.Error:
            return None
        try:
            row = raw.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            raw.close()
            return None
        if row is None or row[0] != HEAD:
            raw.close()
            return None
        return cls(raw)

    @property
    def connection(self) -> Any:
        """The read connection (`exec_driver_sql`), for tools written in plain SQL."""
        return self._conn

    def close(self) -> None:
        self._conn.raw.close()

    def __enter__(self) -> SqliteReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def list_models(self) -> list[ModelSummary]:
        return reads.list_models(self._conn)

    def list_versions(self, model: str, *, limit: int | None = None) -> list[VersionSummary]:
        return reads.list_versions(self._conn, reads.model_id(self._conn, model), model, limit)

    def count_versions(self, model: str) -> int:
        return reads.count_versions(self._conn, reads.model_id(self._conn, model))

    def latest_version(self, model: str) -> str:
        newest = reads.newest(self._conn, reads.model_id(self._conn, model))
        if newest is None:
            raise VersionNotFoundError(model, "(any)")
        return str(newest)

    def load_many(
        self, model: str, versions: Sequence[str] | None = None, *, history: bool = False
    ) -> list[VersionRecord]:
        wanted = None if versions is None else [str(SemVer.parse(v)) for v in versions]
        model_id = reads.model_id(self._conn, model)
        return load_records(
            self._conn, model, model_id, wanted, history=history, environments=self._environments
        )

    def model_state(self, model: str) -> Any:
        """As `Registry.model_state`: stages, golden and the stage history (`lifecycle.rules`)."""
        return reads.model_state(self._conn, reads.model_id(self._conn, model), model)

    def resolve_version(self, model: str, ref: str) -> str:
        """As `Registry.resolve_version`: the same queries (core/store/reads.py)."""
        from modeltrail.core.refs import parse_selector

        return reads.resolve(self._conn, model, parse_selector(ref))

    def resolve(self, ref: str) -> VersionRecord:
        from modeltrail.core.refs import parse_ref

        parsed = parse_ref(ref)
        return self.load(parsed.model, self.resolve_version(parsed.model, parsed.selector))

    def load(self, model: str, version: str, *, history: bool = False) -> VersionRecord:
        wanted = str(SemVer.parse(version))
        records = self.load_many(model, [wanted], history=history)
        if not records:
            raise VersionNotFoundError(model, wanted)
        return records[0]
