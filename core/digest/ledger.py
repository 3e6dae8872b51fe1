"""The digest delivery ledger: each period's digest to each recipient, once.

One row per (period key, recipient), unique in the database. The pattern is the outbox's
(core/lifecycle/outbox.py), and so are the claim, settle and retry mechanics
(core/store/leases.py):

- `enqueue` inserts the period's rows with ON CONFLICT DO NOTHING, so every scheduler, every
  restart, may call it as often as it likes: the first insert wins, later ones are no-ops.
- `claim` takes due rows (pending and due, or `sending` with an expired lease) for a lease:
  `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, SQLite's single writer lock (BEGIN
  IMMEDIATE) otherwise. A claimed row is `sending` with a fresh token; nobody else can take it
  until the lease runs out.
- `sent` / `reject` / `defer` settle a row only while the caller still holds its token: a
  consumer whose lease ran out (and whose row someone else took) cannot record anything.
- `defer` (SMTP unreachable, a temporary 4xx) puts the row back with exponential backoff;
  after `max_attempts` it stays `failed` for a person to look at (`modeltrail digest status`,
  `modeltrail digest retry`). A recipient the server rejects for good (5xx) is `rejected`.

The remaining window for a duplicate is a consumer that dies after the SMTP server accepted
the message and before `sent` commits; the retry then carries the same Message-ID, so mail
clients show one message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from modeltrail.core.digest.schedule import Window
from modeltrail.core.store import leases, schema
from modeltrail.core.store.engine import write_transaction

STATUSES = ("pending", "sending", "sent", "rejected", "failed")
DEFAULT_LEASE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Delivery:
    id: int
    period_key: str
    recipient: str
    window: Window
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    claim_token: str | None = None
    last_error: str | None = None
    message_id: str | None = None
    sent_at: dt.datetime | None = None


class DigestLedger:
    def __init__(self, engine: Engine, *, max_attempts: int = 20) -> None:
        self.engine = engine
        self.max_attempts = max_attempts
        self._postgres = engine.dialect.name == "postgresql"
        self._queue = leases.LeaseQueue(
            engine,
            schema.digest_deliveries,
            claimed="sending",
            exhausted="failed",
            settle_only_claimed=True,
        )

    def enqueue(self, window: Window, recipients: Iterable[str], *, now: dt.datetime) -> int:
        """Add a pending row per recipient not yet in the ledger for this period; returns how
        many were new."""
        rows = [
            {
                "period_key": window.key,
                "recipient": recipient,
                "period_start": window.start,
                "period_end": window.end,
                "first_day": window.first_day.isoformat(),
                "last_day": window.last_day.isoformat(),
                "timezone": window.timezone,
                "created_at": now,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
            }
            for recipient in dict.fromkeys(recipients)
        ]
        if not rows:
            return 0
        dialect = pg_dialect if self._postgres else sqlite_dialect
        added = 0
        with write_transaction(self.engine) as conn:
            for row in rows:
                # RETURNING rather than rowcount, which psycopg under SQLAlchemy 2.1 reports
                # as -1 for INSERT … ON CONFLICT.
                inserted = conn.execute(
                    dialect.insert(schema.digest_deliveries)
                    .values(**row)
                    .on_conflict_do_nothing(index_elements=["period_key", "recipient"])
                    .returning(schema.digest_deliveries.c.id)
                ).first()
                added += inserted is not None
        return added

    def claim(
        self, *, now: dt.datetime, limit: int = 50, lease: dt.timedelta = DEFAULT_LEASE
    ) -> list[Delivery]:
        return [_delivery(r) for r in self._queue.claim(now=now, limit=limit, lease=lease)]

    def renew(
        self, delivery: Delivery, *, now: dt.datetime, lease: dt.timedelta = DEFAULT_LEASE
    ) -> bool:
        """Extend the claim on `delivery` right before sending it; False when the claim was
        lost (a slow render let the lease run out and another scheduler took the row), and
        the caller must then not send."""
        return self._queue.renew(delivery, now=now, lease=lease)

    def sent(self, delivery: Delivery, *, now: dt.datetime, message_id: str | None) -> bool:
        """Record a delivery; False when the claim had been lost (and nothing was recorded)."""
        return self._queue.settle(
            delivery,
            status="sent",
            sent_at=now,
            message_id=message_id,
            last_error=None,
        )

    def reject(self, delivery: Delivery, error: str) -> bool:
        """The server refused this recipient for good: recorded, never retried."""
        return self._queue.settle(delivery, status="rejected", last_error=error[:2000])

    def defer(self, delivery: Delivery, error: str, *, now: dt.datetime) -> str:
        """Put the row back for a retry with backoff; returns "pending", "failed" (out of
        attempts) or "lost" (the claim had expired and someone else holds the row)."""
        return self._queue.retry_later(delivery, error, now=now, max_attempts=self.max_attempts)

    def deliveries(
        self, *, period_key: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        d = schema.digest_deliveries
        query = select(d).order_by(d.c.id.desc()).limit(limit)
        if period_key is not None:
            query = query.where(d.c.period_key == period_key)
        if status is not None:
            query = query.where(d.c.status == status)
        with self.engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(query).mappings()]

    def counts(self) -> dict[str, int]:
        return self._queue.status_counts()

    def retry_failed(self, *, now: dt.datetime) -> int:
        """Give failed deliveries (out of attempts) a fresh start."""
        return self._queue.requeue(now=now)


def _delivery(row: Mapping[str, Any]) -> Delivery:
    window = Window(
        start=row["period_start"],
        end=row["period_end"],
        first_day=dt.date.fromisoformat(row["first_day"]),
        last_day=dt.date.fromisoformat(row["last_day"]),
        timezone=row["timezone"],
        key=row["period_key"],
    )
    return Delivery(
        id=row["id"],
        period_key=row["period_key"],
        recipient=row["recipient"],
        window=window,
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        claim_token=row["claim_token"],
        last_error=row["last_error"],
        message_id=row["message_id"],
        sent_at=row["sent_at"],
    )
