"""The audit trail's hash chain: it verifies when untouched, and raw-SQL tampering is caught
at the right event, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import text

from modeltrail.core.lifecycle import audit
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry

ACTOR = "Ada <ada@example.com>"
EVENTS = 5


@pytest.fixture
def chained(registry: Registry) -> Registry:
    """A registry with EVENTS audit events: registrations of two models and a goal change."""
    for i in range(EVENTS - 1):
        registry.register(
            VersionDraft(
                "fraud" if i % 2 == 0 else "churn",
                params={"lr": 0.1 * (i + 1)},
                metric_points={"loss": [(0, 1.0 / (i + 1), 1_790_000_000.0)]},
                description=f"run {i}",
            ),
            actor=ACTOR,
        )
    registry.set_metric_goal("fraud", "loss", "minimize", 0.01, actor=ACTOR, reason="noise")
    result = registry.verify_audit()
    assert result == audit.VerifyResult(True, EVENTS)
    return registry


def run_sql(registry: Registry, *statements: str, **params: object) -> None:
    with registry.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), params)


def stored(registry: Registry, seq: int) -> audit.StoredEvent:
    with registry.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM audit_events WHERE seq = :s"), {"s": seq})
        return audit.StoredEvent(**row.mappings().one())


def test_an_empty_registry_verifies(registry: Registry) -> None:
    assert registry.verify_audit() == audit.VerifyResult(True, 0)


def test_every_mutation_is_chained(chained: Registry) -> None:
    events = list(reversed(chained.audit_log()))
    assert [e.seq for e in events] == list(range(1, EVENTS + 1))
    assert events[0].prev_hash == audit.GENESIS
    for earlier, later in itertools.pairwise(events):
        assert later.prev_hash == earlier.hash
    assert [e.action for e in events] == ["register"] * (EVENTS - 1) + ["metric_goal"]
    assert all(e.actor == ACTOR for e in events)
    assert all(e.created_at.tzinfo is not None for e in events)
    # More registrations keep extending the same chain.
    chained.register(VersionDraft("fraud"), actor=ACTOR)
    assert chained.verify_audit() == audit.VerifyResult(True, EVENTS + 1)


def test_edited_actor_is_caught_at_that_event(chained: Registry) -> None:
    run_sql(chained, "UPDATE audit_events SET actor = 'Mallory' WHERE seq = 2")
    result = chained.verify_audit()
    assert (result.ok, result.bad_seq, result.events_checked) == (False, 2, 1)
    assert result.problem is not None
    assert "event 2" in result.problem and "edited" in result.problem
    assert "Mallory" in result.problem


def test_edited_recipe_summary_is_caught(chained: Registry) -> None:
    run_sql(
        chained,
        'UPDATE audit_events SET "after" = REPLACE("after", :old, :new) WHERE seq = 1',
        old='"loss":1.0',
        new='"loss":0.01',
    )
    assert '"loss":0.01' in (stored(chained, 1).after or "")
    result = chained.verify_audit()
    assert (result.ok, result.bad_seq) == (False, 1)


def test_edited_and_rehashed_event_breaks_the_next_link(chained: Registry) -> None:
    event = stored(chained, 3)
    forged = audit.StoredEvent(**{**event.__dict__, "actor": "Mallory", "hash": ""})
    run_sql(
        chained,
        "UPDATE audit_events SET actor = 'Mallory', hash = :h WHERE seq = 3",
        h=forged.recomputed_hash(),
    )
    result = chained.verify_audit()
    assert (result.ok, result.bad_seq, result.events_checked) == (False, 4, 3)
    assert result.problem is not None and "does not follow event 3" in (result.problem or "")


def test_deleted_middle_event_is_caught(chained: Registry) -> None:
    run_sql(chained, "DELETE FROM audit_events WHERE seq = 3")
    result = chained.verify_audit()
    assert (result.ok, result.bad_seq, result.events_checked) == (False, 3, 2)
    assert result.problem is not None
    assert "event 3 is missing" in result.problem and "deleted" in result.problem


def test_deleted_last_event_disagrees_with_the_head(chained: Registry) -> None:
    run_sql(chained, f"DELETE FROM audit_events WHERE seq = {EVENTS}")
    result = chained.verify_audit()
    assert (result.ok, result.bad_seq, result.events_checked) == (False, EVENTS, EVENTS - 1)
    assert result.problem is not None
    assert f"{EVENTS} were written" in result.problem and "deleted" in result.problem


def test_deleted_whole_trail_is_caught(chained: Registry) -> None:
    run_sql(chained, "DELETE FROM audit_events")
    result = chained.verify_audit()
    assert (result.ok, result.bad_seq, result.events_checked) == (False, 1, 0)


def test_deleted_head_is_caught(chained: Registry) -> None:
    run_sql(chained, "DELETE FROM audit_head")
    result = chained.verify_audit()
    assert (result.ok, result.events_checked) == (False, EVENTS)
    assert result.problem is not None and "head is missing" in result.problem


def _forge(registry: Registry, seq: int, prev_hash: str, created_at: str | None = None) -> None:
    fields = {
        "seq": seq,
        "created_at": created_at
        or dt.datetime(2026, 1, 1, tzinfo=dt.UTC).isoformat(timespec="microseconds"),
        "actor": "Mallory",
        "action": "register",
        "model": "fraud",
        "version": "9.9.9",
        "before": None,
        "after": audit.canonical_json({"params": 0}),
        "reason": "forged",
        "prev_hash": prev_hash,
    }
    run_sql(
        registry,
        'INSERT INTO audit_events (seq, created_at, actor, action, model, version, "before", '
        '"after", reason, prev_hash, hash) VALUES (:seq, :created_at, :actor, :action, :model, '
        ":version, :before, :after, :reason, :prev_hash, :hash)",
        **fields,
        hash=audit.event_hash(**fields),
    )


def test_forged_event_appended_with_a_valid_hash_disagrees_with_the_head(
    chained: Registry,
) -> None:
    last = stored(chained, EVENTS)
    _forge(chained, EVENTS + 1, last.hash, last.created_at)
    result = chained.verify_audit()
    assert (result.ok, result.bad_seq, result.events_checked) == (False, EVENTS + 1, EVENTS + 1)
    assert result.problem is not None and "added at the end" in result.problem


def test_forged_event_inserted_in_the_middle_is_caught(chained: Registry) -> None:
    # Make room at seq 3 (highest first, so the primary key never collides), then slip a
    # well-formed event in. The forgery links and hashes correctly, so the first event that
    # can be shown wrong is the original event 3, now at seq 4.
    for seq in range(EVENTS, 2, -1):
        run_sql(
            chained, "UPDATE audit_events SET seq = :new WHERE seq = :old", new=seq + 1, old=seq
        )
    _forge(chained, 3, stored(chained, 2).hash, stored(chained, 2).created_at)
    result = chained.verify_audit()
    assert (result.ok, result.bad_seq, result.events_checked) == (False, 4, 3)


def test_forged_event_before_the_first_is_caught(chained: Registry) -> None:
    _forge(chained, 0, audit.GENESIS)
    result = chained.verify_audit()
    assert (result.ok, result.bad_seq, result.events_checked) == (False, 0, 0)
    assert result.problem is not None and "event 0 is out of place" in result.problem


def test_swapped_sequence_numbers_are_caught(chained: Registry) -> None:
    run_sql(
        chained,
        "UPDATE audit_events SET seq = 1000 WHERE seq = 2",
        "UPDATE audit_events SET seq = 2 WHERE seq = 3",
        "UPDATE audit_events SET seq = 3 WHERE seq = 1000",
    )
    result = chained.verify_audit()
    assert (result.ok, result.bad_seq, result.events_checked) == (False, 2, 1)
    assert result.problem is not None and "does not follow event 1" in result.problem


def test_swapped_contents_with_seq_kept_are_caught(chained: Registry) -> None:
    # Swap everything but seq between events 2 and 4: each stays in place by number.
    cols = ("created_at", "actor", "action", "model", "version", "reason", "prev_hash", "hash")
    two, four = stored(chained, 2), stored(chained, 4)
    for target, source in ((2, four), (4, two)):
        run_sql(
            chained,
            "UPDATE audit_events SET "
            + ", ".join(f"{c} = :{c}" for c in cols)
            + ', "before" = :b, "after" = :a WHERE seq = :seq',
            **{c: getattr(source, c) for c in cols},
            b=source.before,
            a=source.after,
            seq=target,
        )
    result = chained.verify_audit()
    assert (result.ok, result.bad_seq) == (False, 2)


# -- the pure chain check -------------------------------------------------------------------


def _chain(n: int, key: bytes | None = None) -> list[audit.StoredEvent]:
    events: list[audit.StoredEvent] = []
    prev = audit.GENESIS
    for seq in range(1, n + 1):
        fields = {
            "seq": seq,
            "created_at": f"2026-01-0{seq}T00:00:00.000000+00:00",
            "actor": "a",
            "action": "register",
            "model": "m",
            "version": f"1.0.{seq - 1}",
            "before": None,
            "after": "{}",
            "reason": None,
            "prev_hash": prev,
        }
        prev = audit.event_hash(**fields, key=key)
        events.append(audit.StoredEvent(**fields, hash=prev, keyed=key is not None))
    return events


def test_verify_chain_pure() -> None:
    events = _chain(3)
    assert audit.verify_chain(events, (3, events[-1].hash)) == audit.VerifyResult(True, 3)
    assert audit.verify_chain([], None) == audit.VerifyResult(True, 0)
    wrong_head = audit.verify_chain(events, (3, "0" * 64))
    assert (wrong_head.ok, wrong_head.bad_seq) == (False, 3)
    assert not audit.verify_chain(events, None).ok


def test_event_hash_covers_every_field() -> None:
    base = _chain(1)[0]
    for name in ("created_at", "actor", "action", "model", "version", "before", "after", "reason"):
        changed = audit.StoredEvent(**{**base.__dict__, name: "x"})
        assert changed.recomputed_hash() != base.hash, name
    assert audit.StoredEvent(**{**base.__dict__, "seq": 2}).recomputed_hash() != base.hash


@pytest.mark.parametrize("key", [b"k", b"x" * 64, b"y" * 65, "ключ".encode() * 40])
def test_keyed_chains_verify_with_any_key_length(key: bytes) -> None:
    events = _chain(4, key)
    assert audit.verify_chain(events, (4, events[-1].hash), key=key).ok
    assert not audit.verify_chain(events, (4, events[-1].hash), key=b"other").ok
    assert (
        audit.keyed_hasher(key)(b"content")
        == __import__("hmac").new(key, b"content", "sha256").hexdigest()
    )


def test_the_inline_check_and_the_event_by_event_check_agree() -> None:
    """`feed_many` (what verify runs) and `feed` find the same fault with the same words."""
    key = b"secret"
    events = _chain(6, key)
    edited = [*events]
    edited[2] = audit.StoredEvent(**{**events[2].__dict__, "actor": "mallory"})
    unkeyed = [*events]
    unkeyed[3] = audit.StoredEvent(**{**events[3].__dict__, "keyed": False})
    backwards = _chain(3, key)
    late = {**backwards[1].__dict__, "created_at": "2025-01-01T00:00:00.000000+00:00"}
    late["hash"] = audit.event_hash(
        **{k: v for k, v in late.items() if k not in ("hash", "keyed")}, key=key
    )
    backwards[1] = audit.StoredEvent(**late)
    for case in (events, edited, unkeyed, backwards, events[:2] + events[3:]):
        one = audit.ChainCheck(key)
        for event in case:
            if not one.feed(event.row()):
                break
        many = audit.ChainCheck(key)
        seen: list[tuple[object, ...]] = []
        many.feed_many((e.row() for e in case), frozenset({"register"}), seen.append)
        assert (many.problem, many.bad_seq, many.count, many.keyed) == (
            one.problem,
            one.bad_seq,
            one.count,
            one.keyed,
        )
        assert [row[0] for row in seen] == list(range(1, many.count + 1))
