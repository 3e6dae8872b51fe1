"""The audit-head probe behind the read API's cache, on SQLite and PostgreSQL: it follows
writes made through other connections at once, from every thread, and outlives a dropped
connection."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.head_probe import head_probe
from modeltrail.core.registry.queries import generation
from modeltrail.core.registry.writer import Registry


def _draft(model: str) -> VersionDraft:
    return VersionDraft(model, metric_points={"accuracy": [(0, 0.9, 1_790_000_000.0)]})


def test_the_probe_follows_writes_from_another_connection(registry: Registry, db_url: str) -> None:
    probe = head_probe(registry)
    assert probe() == 0
    other = Registry.open(db_url)
    try:
        other.register(_draft("fraud"), actor="t")
        assert probe() == generation(other)
        with ThreadPoolExecutor(4) as pool:  # each thread on a connection of its own
            assert set(pool.map(lambda _: probe(), range(8))) == {generation(other)}
            other.set_tag("fraud", "1.0.0", "owner", "ml", actor="t")
            assert set(pool.map(lambda _: probe(), range(8))) == {generation(other)} == {2}
    finally:
        other.close()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite's is a file handle
def test_the_probe_opens_a_new_connection_when_its_own_was_dropped(registry: Registry) -> None:
    from sqlalchemy import text

    probe = head_probe(registry)
    registry.register(_draft("fraud"), actor="t")
    assert probe() == 1
    with registry.engine.connect() as conn:
        ended = conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).all()
        conn.commit()
    assert ended  # the probe's connection was among them
    registry.engine.dispose()  # the pool's connections were dropped too
    registry.set_tag("fraud", "1.0.0", "owner", "ml", actor="t")
    assert probe() == 2
