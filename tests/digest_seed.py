"""A deterministic week in a registry, for the digest tests (core and mail).

The week is Monday 2026-11-16 to Sunday 2026-11-22 (UTC); the `mon 09:00` run that covers it
is on Monday 2026-11-23. Before the week: fraud 1.0.0 (golden) and 1.0.1 (production), churn
1.0.0–1.0.4 (1.0.4 in production), scoring 1.0.0. In the week:

- fraud: Bob registers 1.0.2 (auc up) and promotes it; Cy registers 1.0.3 (auc down, a
  regression) and promotes it past the relaxed gate; Bob rolls back ("auc dropped on live
  traffic"); Ada registers 1.0.4.
- churn: Dee retires 1.0.3 ("fairness issue on segment X"); retention (keep 1) archives
  1.0.0–1.0.2.
- scoring: nothing (a quiet model).

After the week (Nov 24) fraud 1.0.5 is registered, which no digest of the week may show.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterator

import pytest

from modeltrail.core.capture.environment import environment_from_parts
from modeltrail.core.lifecycle.rules import GateRules
from modeltrail.core.records import CodeState, DataSnapshot, VersionDraft
from modeltrail.core.registry.writer import Registry

ADA, BOB, CY, DEE = "Ada <ada@example.com>", "Bob", "Cy", "Dee"
WEEK_START = dt.datetime(2026, 11, 16, tzinfo=dt.UTC)
RUN_AT = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
ENV = environment_from_parts(python_version="3.11.9", packages={"numpy": "2.1.0"})


class Clock:
    def __init__(self, now: dt.datetime = WEEK_START - dt.timedelta(days=6)) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def at(self, moment: dt.datetime) -> None:
        self.now = moment

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


def draft(
    model: str, auc: float, loss: float, *, data: bytes = b"x,y\n1,0\n", note: str | None = None
) -> VersionDraft:
    digest = hashlib.sha256(data).hexdigest()
    return VersionDraft(
        model=model,
        params={"lr": 0.01},
        metric_points={"auc": [(0, auc, 1_790_000_000.0)], "loss": [(0, loss, 1_790_000_000.0)]},
        data=(DataSnapshot("train", "data/train.csv", "file", digest, len(data), 1),),
        code=CodeState("/src/" + model, "c0ffee" * 6 + "abcd", "main", None, False),
        environment=ENV,
        description=note,
    )


def seed_week(registry: Registry, clock: Clock) -> None:
    clock.at(WEEK_START - dt.timedelta(days=6))  # Tue Nov 10
    registry.register(draft("fraud", 0.80, 0.50), actor=ADA)
    clock.advance(hours=1)
    registry.register(draft("fraud", 0.82, 0.45), actor=ADA)
    registry.promote("fraud", "1.0.1", actor=ADA, reason="first production")
    registry.set_golden("fraud", "1.0.0", actor=ADA, reason="baseline")
    for i in range(5):
        clock.advance(minutes=5)
        registry.register(draft("churn", 0.70 + i / 100, 0.3), actor=DEE)
    registry.promote("churn", "1.0.4", actor=DEE, reason="monthly refresh")
    registry.register(draft("scoring", 0.66, 0.7), actor=ADA)

    clock.at(WEEK_START + dt.timedelta(days=1, hours=10))  # Tue Nov 17 10:00
    registry.register(draft("fraud", 0.85, 0.40, note="more data", data=b"more"), actor=BOB)
    clock.advance(hours=3)
    registry.promote("fraud", "1.0.2", actor=BOB, reason="better auc")
    clock.at(WEEK_START + dt.timedelta(days=3, hours=9))  # Thu Nov 19 09:00
    registry.register(draft("fraud", 0.70, 0.60, note="new features", data=b"more"), actor=CY)
    registry.set_gate_rules(
        "fraud", GateRules(allow_kinds=("metric_regression",)), actor=CY, reason="experiment"
    )
    clock.advance(minutes=30)
    registry.promote("fraud", "1.0.3", actor=CY, reason="try the new features")
    clock.advance(hours=2)
    registry.rollback("fraud", actor=BOB, reason="auc dropped on live traffic")
    clock.at(WEEK_START + dt.timedelta(days=4, hours=15))  # Fri Nov 20 15:00
    registry.register(draft("fraud", 0.86, 0.39, note="features fixed", data=b"more"), actor=ADA)
    registry.retire("churn", "1.0.3", actor=DEE, reason="fairness issue on segment X")
    clock.advance(hours=1)
    registry.apply_retention("churn", keep=1, actor=DEE)

    clock.at(RUN_AT + dt.timedelta(days=1))  # Tue Nov 24: after the week
    registry.register(draft("fraud", 0.90, 0.30, note="next week"), actor=ADA)
    clock.at(RUN_AT)


def make_seeded(url: str) -> None:
    clock = Clock()
    with Registry.open(url, clock=clock) as registry:
        seed_week(registry, clock)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database holding the seeded week, built once per test module and backend (seeding
    costs ~500 statements). Its own database, so other tests truncating theirs never touch it;
    tests may write to the digest ledger but not to the registry's history."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('digest') / 'registry.db'}"
        make_seeded(url)
        yield url
        return
    from sqlalchemy import create_engine, text

    base: str = request.getfixturevalue("postgres_url")
    prefix, worker_db = base.rsplit("/", 1)
    name = f"{worker_db[:40]}_dg_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{prefix}/{name}"
    try:
        make_seeded(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def clear_ledger(url: str) -> None:
    from sqlalchemy import create_engine, text

    from modeltrail.core.store.engine import normalise_url

    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM digest_deliveries"))
    engine.dispose()
