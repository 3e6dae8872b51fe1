"""The transactional outbox: notifications written with the change they announce.

Writers call `enqueue` inside their own transaction, so an event exists if and only if the
change committed. Consumers (the Slack poster, the mailer) `claim` due events for a lease,
deliver them, and `complete` or `fail` them with the claim token they got:

- PostgreSQL: claiming is `SELECT … FOR UPDATE SKIP LOCKED`, so replicas never take the
  same row; SQLite: claims run under the single writer lock (BEGIN IMMEDIATE), which is the
  same guarantee on one machine.
- A consumer that dies leaves its claim to expire; the event is then claimed again. A token
  mismatch on completion means the lease ran out and someone else owns the event now, so the
  late consumer's result is dropped rather than recorded twice. Right before delivering, a
  consumer `renew`s its claim: if it was paused past the lease and the event was taken over,
  the renewal fails and it delivers nothing.
- Failed events are retried with exponential backoff; after `max_attempts` they stay as
  `dead` for a person to look at (`modeltrail outbox list`), never silently dropped.

The claim, settle and backoff mechanics are core/store/leases.py, shared with the digest
ledger, which queues deliveries the same way.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from modeltrail.core.store import leases, schema
from modeltrail.core.store.engine import write_transaction

# dead: out of attempts, or a permanent error; skipped: older than the bot's first start
STATUSES = ("pending", "done", "dead", "skipped")
# How long a claim holds an event: far longer than one Slack call (the client's timeout is
# 10 s), so a consumer that renews right before posting keeps it through the post.
LEASE = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class OutboxEvent:
    id: int
    topic: str
    model: str | None
    version: str | None
    payload: Mapping[str, Any]
    idempotency_key: str
    attempts: int
    created_at: dt.datetime
    claim_token: str | None = None
    status: str = "pending"
    last_error: str | None = None


# The topics a consumer drains (the Slack dispatcher claims exactly these; a test holds the two
# lists equal). A change nobody announces (staging, retention archiving) enqueues nothing: an
# event no consumer claims would sit "pending" forever and read as a stuck backlog.
TOPICS: tuple[str, ...] = (
    "version.registered",
    "version.promoted",
    "version.rolled_back",
    "version.retired",
    "version.golden",
    "monitoring.alert",
    "audit.head",  # the daily head anchor posted to Slack (bot/anchor.py)
    "promotion.requested",  # an approval asked for in the model's channel
)


def enqueue(
    conn: Connection,
    *,
    topic: str,
    model: str | None,
    version: str | None,
    payload: Mapping[str, Any],
    key: str,
    now: dt.datetime,
) -> None:
    conn.execute(
        insert(schema.outbox),
        {
            "created_at": now,
            "topic": topic,
            "model": model,
            "version": version,
            "payload": json.dumps(payload, sort_keys=True, default=str),
            "idempotency_key": key,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
        },
    )


class Outbox:
    def __init__(self, engine: Engine, *, max_attempts: int = 12) -> None:
        self.engine = engine
        self.max_attempts = max_attempts
        self._queue = leases.LeaseQueue(engine, schema.outbox, claimed="claimed", exhausted="dead")

    def claim(
        self,
        *,
        now: dt.datetime,
        limit: int = 10,
        lease: dt.timedelta = LEASE,
        topics: tuple[str, ...] | None = None,
    ) -> list[OutboxEvent]:
        only = None if topics is None else schema.outbox.c.topic.in_(topics)
        return [_event(r) for r in self._queue.claim(now=now, limit=limit, lease=lease, where=only)]

    def peek(
        self, *, now: dt.datetime, topics: tuple[str, ...] | None = None
    ) -> OutboxEvent | None:
        """The next due event, not claimed (see `claim_event`)."""
        only = None if topics is None else schema.outbox.c.topic.in_(topics)
        row = self._queue.peek(now=now, where=only)
        return None if row is None else _event(row)

    def claim_event(
        self, event: OutboxEvent, *, now: dt.datetime, lease: dt.timedelta = LEASE
    ) -> OutboxEvent | None:
        """Claim exactly `event` (seen with `peek`); None when it is no longer due (another
        consumer took or finished it meanwhile)."""
        rows = self._queue.claim(
            now=now, limit=1, lease=lease, where=schema.outbox.c.id == event.id
        )
        return _event(rows[0]) if rows else None

    def renew(self, event: OutboxEvent, *, now: dt.datetime, lease: dt.timedelta = LEASE) -> bool:
        """Extend the claim on `event` for `lease` from `now`; False when it was lost (the
        lease ran out and another consumer took the event over): the caller must then not
        deliver it. Called right before posting, whatever ran since the claim."""
        return self._queue.renew(event, now=now, lease=lease)

    def complete(self, event: OutboxEvent, *, now: dt.datetime) -> bool:
        """Mark delivered. False when the claim had expired and was taken over."""
        return self._queue.settle(event, status="done", done_at=now, last_error=None)

    def fail(
        self,
        event: OutboxEvent,
        error: str,
        *,
        now: dt.datetime,
        retry_after: float | None = None,
        permanent: bool = False,
    ) -> str:
        """Record a failed delivery; returns the new status ("pending" or "dead"), or "lost"
        when the claim had expired and another consumer took the event over.

        `retry_after` (seconds, e.g. from a 429's Retry-After) overrides the backoff when it
        is longer. `permanent` (the destination will never accept it: a wrong channel, a
        revoked token) makes it dead at once, for a person to fix and `outbox retry`.
        """
        return self._queue.retry_later(
            event,
            error,
            now=now,
            max_attempts=self.max_attempts,
            retry_after=retry_after,
            permanent=permanent,
        )

    def counts(self, topics: tuple[str, ...] | None = None) -> dict[str, int]:
        """Events by status; of `topics` only, when given."""
        if topics is None:
            return self._queue.status_counts()
        o = schema.outbox
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(o.c.status, func.count()).where(o.c.topic.in_(topics)).group_by(o.c.status)
            )
            return {str(status): int(count) for status, count in rows}

    def events(self, *, status: str | None = None, limit: int = 100) -> list[OutboxEvent]:
        o = schema.outbox
        query = select(o).order_by(o.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(o.c.status == status)
        with self.engine.connect() as conn:
            return [_event(r) for r in conn.execute(query).mappings()]

    def skip_before(self, moment: dt.datetime, *, topics: tuple[str, ...], now: dt.datetime) -> int:
        """Set aside the pending events of `topics` written before `moment` (a bot turned on
        for a registry with a past must not post all of it); `replay` brings them back."""
        o = schema.outbox
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                update(o)
                .where(o.c.status == "pending", o.c.created_at < moment, o.c.topic.in_(topics))
                .values(status="skipped", done_at=now, last_error="older than the first start")
            )
            return int(result.rowcount)

    def replay(self, *, since: dt.datetime, topics: tuple[str, ...], now: dt.datetime) -> int:
        """Deliver again the events of `topics` written since `since` that were skipped or
        already delivered; returns how many."""
        o = schema.outbox
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                update(o)
                .where(
                    o.c.status.in_(("skipped", "done")),
                    o.c.created_at >= since,
                    o.c.topic.in_(topics),
                )
                .values(status="pending", attempts=0, next_attempt_at=now, last_error=None)
            )
            return int(result.rowcount)

    def retry_dead(self, *, now: dt.datetime) -> int:
        return self._queue.requeue(now=now)


def _event(row: Mapping[str, Any]) -> OutboxEvent:
    return OutboxEvent(
        id=row["id"],
        topic=row["topic"],
        model=row["model"],
        version=row["version"],
        payload=json.loads(row["payload"]),
        idempotency_key=row["idempotency_key"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        claim_token=row["claim_token"],
        status=row["status"],
        last_error=row["last_error"],
    )
