"""The transactional outbox: notifications written with the change they announce.

Writers call `enqueue` inside their own transaction, so an event exists if and only if the
change committed. Consumers (the Slack poster, the mailer) `claim` due events for a lease,
deliver them, and `complete` or `fail` them with the claim token they got:

- PostgreSQL: claiming is `SELECT … FOR UPDATE SKIP LOCKED`, so replicas never take the
  same row; SQLite: claims run under the single writer lock (BEGIN IMMEDIATE), which is the
  same guarantee on one machine.
- A consumer that dies leaves its claim to expire; the event is then claimed again. A token
  mismatch on completion means the lease ran out and someone else owns the event now, so the
  late consumer's result is dropped rather than recorded twice.
- Failed events are retried with exponential backoff; after `max_attempts` they stay as
  `dead` for a person to look at (`modeltrail outbox list`), never silently dropped.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update

from modeltrail.core.store import schema
from modeltrail.core.store.engine import WRITE

BASE_BACKOFF = dt.timedelta(seconds=5)
MAX_BACKOFF = dt.timedelta(minutes=30)


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


def backoff(attempts: int) -> dt.timedelta:
    """5 s, 10 s, 20 s, … capped at 30 minutes."""
    # Cap the exponent first: 5 s * 2**20 is far past the cap, and a large attempt count
    # (a high max_attempts) would otherwise overflow timedelta.
    return min(BASE_BACKOFF * (2 ** min(max(attempts - 1, 0), 20)), MAX_BACKOFF)


class Outbox:
    def __init__(self, engine: Engine, *, max_attempts: int = 12) -> None:
        self.engine = engine
        self.max_attempts = max_attempts
        self._postgres = engine.dialect.name == "postgresql"

    def claim(
        self,
        *,
        now: dt.datetime,
        limit: int = 10,
        lease: dt.timedelta = dt.timedelta(minutes=2),
        topics: tuple[str, ...] | None = None,
    ) -> list[OutboxEvent]:
        o = schema.outbox
        due = or_(
            and_(o.c.status == "pending", o.c.next_attempt_at <= now),
            and_(o.c.status == "claimed", o.c.lease_until <= now),
        )
        query = select(o).where(due).order_by(o.c.id).limit(limit)
        if topics is not None:
            query = query.where(o.c.topic.in_(topics))
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        token = secrets.token_hex(16)
        with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            rows = list(conn.execute(query).mappings())
            if not rows:
                return []
            ids = [r["id"] for r in rows]
            conn.execute(
                update(o)
                .where(o.c.id.in_(ids))
                .values(
                    status="claimed",
                    claim_token=token,
                    lease_until=now + lease,
                    attempts=o.c.attempts + 1,
                )
            )
        return [_event(r, token=token, attempts=r["attempts"] + 1) for r in rows]

    def complete(self, event: OutboxEvent, *, now: dt.datetime) -> bool:
        """Mark delivered. False when the claim had expired and was taken over."""
        o = schema.outbox
        with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            result = conn.execute(
                update(o)
                .where(o.c.id == event.id, o.c.claim_token == event.claim_token)
                .values(status="done", done_at=now, lease_until=None, last_error=None)
            )
            return result.rowcount == 1

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
        o = schema.outbox
        delay = backoff(event.attempts)
        if retry_after is not None:
            delay = max(delay, dt.timedelta(seconds=retry_after))
        status = "dead" if permanent or event.attempts >= self.max_attempts else "pending"
        with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            result = conn.execute(
                update(o)
                .where(o.c.id == event.id, o.c.claim_token == event.claim_token)
                .values(
                    status=status,
                    next_attempt_at=now + delay,
                    lease_until=None,
                    last_error=error[:2000],
                )
            )
        if result.rowcount != 1:
            return "lost"  # the lease ran out and another consumer owns the event now
        return status

    def counts(self) -> dict[str, int]:
        return status_counts(self.engine, schema.outbox)

    def events(self, *, status: str | None = None, limit: int = 100) -> list[OutboxEvent]:
        o = schema.outbox
        query = select(o).order_by(o.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(o.c.status == status)
        with self.engine.connect() as conn:
            return [_event(r) for r in conn.execute(query).mappings()]

    def retry_dead(self, *, now: dt.datetime) -> int:
        return requeue(self.engine, schema.outbox, "dead", now=now)


# Shared with the digest ledger, which queues deliveries the same way.


def status_counts(engine: Engine, table: Any) -> dict[str, int]:
    """Rows of a queue table by status."""
    with engine.connect() as conn:
        return {
            str(status): int(count)
            for status, count in conn.execute(
                select(table.c.status, func.count()).group_by(table.c.status)
            )
        }


def requeue(engine: Engine, table: Any, from_status: str, *, now: dt.datetime) -> int:
    """Give rows that ran out of attempts a fresh start; returns how many."""
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        result = conn.execute(
            update(table)
            .where(table.c.status == from_status)
            .values(status="pending", attempts=0, next_attempt_at=now)
        )
        return int(result.rowcount)


def _event(
    row: Mapping[str, Any], *, token: str | None = None, attempts: int | None = None
) -> OutboxEvent:
    return OutboxEvent(
        id=row["id"],
        topic=row["topic"],
        model=row["model"],
        version=row["version"],
        payload=json.loads(row["payload"]),
        idempotency_key=row["idempotency_key"],
        attempts=row["attempts"] if attempts is None else attempts,
        created_at=row["created_at"],
        claim_token=token if token is not None else row["claim_token"],
        status="claimed" if token is not None else row["status"],
        last_error=row["last_error"],
    )
