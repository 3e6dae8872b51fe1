"""The transactional outbox, on SQLite and PostgreSQL: claiming, leases, retries with backoff,
dead events, and two concurrent consumers that neither lose nor double an event."""

from __future__ import annotations

import collections
import datetime as dt
import threading
import time

import pytest
from sqlalchemy import text

from modeltrail.core.lifecycle.outbox import Outbox, OutboxEvent, enqueue
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry
from modeltrail.core.store.engine import WRITE, make_engine
from modeltrail.core.store.leases import MAX_BACKOFF, backoff

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)


def fill(registry: Registry, count: int, *, topic: str = "version.promoted") -> None:
    """Enqueue `count` events in one write transaction, as a registry write would."""
    with registry.engine.connect().execution_options(**WRITE) as conn, conn.begin():
        for i in range(count):
            enqueue(
                conn,
                topic=topic,
                model="fraud",
                version=f"1.0.{i}",
                payload={"n": i},
                key=f"{topic}:{i}",
                now=T0,
            )


def only(events: list[OutboxEvent]) -> OutboxEvent:
    assert len(events) == 1, events
    return events[0]


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in (0, 1, 2, 3, 4)] == [5, 5, 10, 20, 40]
    assert backoff(50) == MAX_BACKOFF


def test_registrations_enqueue_in_their_transaction(registry: Registry) -> None:
    registry.register(VersionDraft("fraud"), actor="ada")
    event = only(Outbox(registry.engine).claim(now=dt.datetime.now(dt.UTC) + SECOND))
    assert (event.topic, event.model, event.version) == ("version.registered", "fraud", "1.0.0")
    assert event.payload == {"model": "fraud", "version": "1.0.0", "actor": "ada"}
    assert event.idempotency_key == f"audit:{registry.audit_log(limit=1)[0].seq}"


def test_claim_takes_due_events_in_order_and_holds_them(registry: Registry) -> None:
    fill(registry, 5)
    box = Outbox(registry.engine)
    assert box.claim(now=T0 - SECOND) == []  # not due yet
    first = box.claim(now=T0, limit=3)
    assert [e.payload["n"] for e in first] == [0, 1, 2]
    assert {e.status for e in first} == {"claimed"} and {e.attempts for e in first} == {1}
    assert len({e.claim_token for e in first}) == 1
    rest = box.claim(now=T0, limit=10)
    assert [e.payload["n"] for e in rest] == [3, 4]
    assert box.claim(now=T0 + 60 * SECOND) == []  # all held under their lease
    assert all(box.complete(e, now=T0) for e in first + rest)
    assert box.counts() == {"done": 5}
    assert box.claim(now=T0 + dt.timedelta(days=1)) == []


def test_claim_filters_by_topic(registry: Registry) -> None:
    fill(registry, 2, topic="version.promoted")
    fill(registry, 2, topic="version.registered")
    box = Outbox(registry.engine)
    taken = box.claim(now=T0, topics=("version.registered",))
    assert [e.topic for e in taken] == ["version.registered"] * 2
    assert box.counts() == {"claimed": 2, "pending": 2}


def test_a_failed_event_is_retried_after_its_backoff(registry: Registry) -> None:
    fill(registry, 1)
    box = Outbox(registry.engine)
    event = only(box.claim(now=T0))
    assert box.fail(event, "slack said 500", now=T0) == "pending"
    assert box.claim(now=T0 + 4 * SECOND) == []  # backoff(1) is 5 s
    again = only(box.claim(now=T0 + 5 * SECOND))
    assert again.attempts == 2 and again.last_error == "slack said 500"
    assert again.claim_token != event.claim_token

    t1 = T0 + 5 * SECOND
    box.fail(again, "still down", now=t1)
    assert box.claim(now=t1 + 9 * SECOND) == []  # backoff(2) is 10 s
    third = only(box.claim(now=t1 + 10 * SECOND))

    t2 = t1 + 10 * SECOND
    box.fail(third, "rate limited", now=t2, retry_after=120)  # Retry-After beats 20 s
    assert box.claim(now=t2 + 119 * SECOND) == []
    fourth = only(box.claim(now=t2 + 120 * SECOND))
    assert fourth.attempts == 4
    assert box.complete(fourth, now=t2 + 121 * SECOND)
    done = only(box.events(status="done"))
    assert (done.id, done.status, done.last_error) == (event.id, "done", None)


def test_an_expired_lease_is_reclaimed_and_the_late_result_dropped(registry: Registry) -> None:
    fill(registry, 1)
    box = Outbox(registry.engine)
    lease = dt.timedelta(seconds=60)
    stale = only(box.claim(now=T0, lease=lease))
    assert box.claim(now=T0 + 59 * SECOND, lease=lease) == []
    fresh = only(box.claim(now=T0 + 60 * SECOND, lease=lease))  # the first consumer died
    assert (fresh.id, fresh.attempts) == (stale.id, 2)
    assert fresh.claim_token != stale.claim_token

    assert box.complete(stale, now=T0 + 61 * SECOND) is False  # late: dropped
    box.fail(stale, "late failure", now=T0 + 61 * SECOND)  # late: changes nothing
    row = only(box.events())
    assert (row.status, row.claim_token, row.last_error) == ("claimed", fresh.claim_token, None)
    assert box.complete(fresh, now=T0 + 62 * SECOND) is True
    assert box.counts() == {"done": 1}


def test_after_max_attempts_an_event_is_dead_until_retried(registry: Registry) -> None:
    fill(registry, 1)
    box = Outbox(registry.engine, max_attempts=3)
    now = T0
    statuses = []
    for _ in range(3):
        event = only(box.claim(now=now))
        statuses.append(box.fail(event, f"attempt {event.attempts} failed", now=now))
        now += dt.timedelta(hours=1)
    assert statuses == ["pending", "pending", "dead"]
    assert box.claim(now=now + dt.timedelta(days=365)) == []
    dead = only(box.events(status="dead"))
    assert (dead.attempts, dead.last_error) == (3, "attempt 3 failed")
    assert box.counts() == {"dead": 1}

    assert box.retry_dead(now=now) == 1
    revived = only(box.claim(now=now))
    assert revived.attempts == 1
    assert box.complete(revived, now=now)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite serialises claims
def test_postgres_claims_skip_rows_another_consumer_has_locked(db_url: str) -> None:
    with Registry.open(db_url) as registry:
        fill(registry, 3)
        box = Outbox(registry.engine)
        with registry.engine.connect() as other, other.begin():
            other.execute(text("SELECT id FROM outbox ORDER BY id LIMIT 1 FOR UPDATE"))
            taken = box.claim(now=T0)  # does not wait for the lock
            assert [e.payload["n"] for e in taken] == [1, 2]
        assert [e.payload["n"] for e in box.claim(now=T0)] == [0]


def test_two_concurrent_consumers_deliver_500_events_exactly_once(db_url: str) -> None:
    total = 500
    with Registry.open(db_url) as registry:
        fill(registry, total)
    delivered: list[list[str]] = [[], []]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def consume(slot: int) -> None:
        engine = make_engine(db_url)  # each consumer its own engine, like its own process
        box = Outbox(engine)
        try:
            start.wait()
            while batch := box.claim(now=T0, limit=7, lease=dt.timedelta(hours=1)):
                for event in batch:
                    # The delivery (a Slack post) takes a moment outside any transaction; a
                    # consumer that never paused would keep SQLite's write lock warm and the
                    # other's busy-handler retries (1, 2, 5 … 100 ms) could all miss.
                    time.sleep(0.001)
                    delivered[slot].append(event.idempotency_key)
                    assert box.complete(event, now=T0)
        except BaseException as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=consume, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []

    seen = collections.Counter(delivered[0] + delivered[1])
    assert set(seen) == {f"version.promoted:{i}" for i in range(total)}  # none lost
    assert max(seen.values()) == 1  # none doubled
    assert delivered[0] and delivered[1]  # both consumers took part
    with Registry.open(db_url) as registry:
        assert Outbox(registry.engine).counts() == {"done": total}
