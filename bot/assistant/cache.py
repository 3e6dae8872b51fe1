"""The summary cache, in the registry database so every process (CLI, bot replicas) shares it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from modeltrail.core.store import schema
from modeltrail.core.store.engine import write_transaction


class SummaryCache:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(schema.summaries.c.text).where(schema.summaries.c.key == key)
            ).scalar()

    def put(self, key: str, text: str, *, model: str | None) -> None:
        dialect = sqlite if self.engine.dialect.name == "sqlite" else postgresql
        with write_transaction(self.engine) as conn:
            conn.execute(
                dialect.insert(schema.summaries)
                .values(key=key, text=text, model=model, created_at=dt.datetime.now(dt.UTC))
                .on_conflict_do_nothing(index_elements=["key"])
            )
