"""The audit trail's hash chain, as pure functions over event values.

Each event's hash is the sha256 of its canonical content, which includes the previous event's
hash and its own sequence number. Editing an event changes its hash; deleting, inserting or
reordering events breaks the sequence or the links; truncating the tail disagrees with the
head row the registry keeps beside the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from modeltrail.core.records import AuditEvent

GENESIS = "0" * 64


def canonical_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(
    *,
    seq: int,
    created_at: str,
    actor: str,
    action: str,
    model: str | None,
    version: str | None,
    before: str | None,
    after: str | None,
    reason: str | None,
    prev_hash: str,
) -> str:
    content = json.dumps(
        [seq, created_at, actor, action, model, version, before, after, reason, prev_hash],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredEvent:
    """An audit row exactly as stored (JSON fields still as text), for verification."""

    seq: int
    created_at: str
    actor: str
    action: str
    model: str | None
    version: str | None
    before: str | None
    after: str | None
    reason: str | None
    prev_hash: str
    hash: str

    def recomputed_hash(self) -> str:
        return event_hash(
            seq=self.seq,
            created_at=self.created_at,
            actor=self.actor,
            action=self.action,
            model=self.model,
            version=self.version,
            before=self.before,
            after=self.after,
            reason=self.reason,
            prev_hash=self.prev_hash,
        )

    def to_event(self) -> AuditEvent:
        import datetime as dt

        return AuditEvent(
            seq=self.seq,
            created_at=dt.datetime.fromisoformat(self.created_at),
            actor=self.actor,
            action=self.action,
            model=self.model,
            version=self.version,
            before=_loads(self.before),
            after=_loads(self.after),
            reason=self.reason,
            prev_hash=self.prev_hash,
            hash=self.hash,
        )


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events_checked: int
    problem: str | None = None
    bad_seq: int | None = None


def verify_chain(events: Iterable[StoredEvent], head: tuple[int, str] | None) -> VerifyResult:
    """Check `events` (in stored `seq` order) against each other and the head row."""
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    for event in events:
        if event.seq > expected_seq:
            return VerifyResult(
                False,
                count,
                f"event {expected_seq} is missing: the chain jumps from {expected_seq - 1} to "
                f"{event.seq} (an event was deleted)",
                expected_seq,
            )
        if event.seq < expected_seq:  # only a seq below 1 can sort before its place
            return VerifyResult(
                False,
                count,
                f"event {event.seq} is out of place: the chain starts at event 1 "
                "(an event was inserted or renumbered)",
                event.seq,
            )
        if event.prev_hash != prev_hash:
            return VerifyResult(
                False,
                count,
                f"event {event.seq} does not follow event {event.seq - 1}: its link to the "
                "previous event is wrong (an event was inserted, deleted or reordered)",
                event.seq,
            )
        if event.recomputed_hash() != event.hash:
            return VerifyResult(
                False,
                count,
                f"event {event.seq} ({event.action} by {event.actor}) was edited after it was "
                "written: its content no longer matches its hash",
                event.seq,
            )
        prev_hash = event.hash
        expected_seq += 1
        count += 1
    if head is not None and (head[0] != count or head[1] != prev_hash):
        if head[0] > count:
            return VerifyResult(
                False,
                count,
                f"the chain ends at event {count} but {head[0]} were written "
                "(events at the end were deleted)",
                count + 1,
            )
        if head[0] < count:
            return VerifyResult(
                False,
                count,
                f"the chain has {count} events but only {head[0]} were written "
                "(events were added at the end)",
                head[0] + 1,
            )
        return VerifyResult(
            False, count, "the chain's last event does not match the recorded head", count
        )
    if head is None and count:
        return VerifyResult(False, count, "events exist but the chain head is missing", None)
    return VerifyResult(True, count)


def _loads(text: str | None) -> Mapping[str, Any] | None:
    return None if text is None else json.loads(text)
