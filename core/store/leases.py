"""Queue mechanics shared by the outbox (`core.lifecycle.outbox`) and the digest ledger
(`core.digest.ledger`): tables whose rows are `pending` until a consumer claims them for a
lease, then settled with the claim token the consumer got.

The table needs `id`, `status`, `attempts`, `next_attempt_at`, `claim_token`, `lease_until`
and `last_error` columns. Each caller names its own statuses (the outbox's claimed rows are
`claimed` and exhausted ones `dead`; the ledger's are `sending` and `failed`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select, update

from modeltrail.core.store.engine import write_transaction

BASE_BACKOFF = dt.timedelta(seconds=5)
MAX_BACKOFF = dt.timedelta(minutes=30)


def backoff(attempts: int) -> dt.timedelta:
    """5 s, 10 s, 20 s, … capped at 30 minutes."""
    # Cap the exponent first: 5 s * 2**20 is far past the cap, and a large attempt count
    # (a high max_attempts) would otherwise overflow timedelta.
    return min(BASE_BACKOFF * (2 ** min(max(attempts - 1, 0), 20)), MAX_BACKOFF)


class Claimed(Protocol):
    """What a consumer holds for a claimed row (the outbox's event, the ledger's delivery)."""

    @property
    def id(self) -> int: ...
    @property
    def claim_token(self) -> str | None: ...
    @property
    def attempts(self) -> int: ...


@dataclass(frozen=True)
class LeaseQueue:
    """A queue table with the statuses its owner names: `claimed` while a consumer holds a
    row, `exhausted` once the row is out of attempts (or failed for good)."""

    engine: Engine
    table: Any
    claimed: str
    exhausted: str
    # The ledger's settled rows leave `claimed` for good, so a second settle under the same
    # token must not overwrite the first; the outbox has always gone by the token alone.
    settle_only_claimed: bool = False

    def claim(
        self,
        *,
        now: dt.datetime,
        limit: int,
        lease: dt.timedelta,
        where: ColumnElement[bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Take up to `limit` due rows (pending and due, or claimed with an expired lease)
        for `lease` under one fresh token; returns them as they now stand in the table."""
        t = self.table
        query = select(t).where(self._due(now)).order_by(t.c.id).limit(limit)
        if where is not None:
            query = query.where(where)
        # PostgreSQL: replicas never take the same row. SQLite has no row locks; the write
        # transaction (BEGIN IMMEDIATE) serialises claimers, the same guarantee on one machine.
        if self.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        token = secrets.token_hex(16)
        held = {"status": self.claimed, "claim_token": token, "lease_until": now + lease}
        with write_transaction(self.engine) as conn:
            rows = list(conn.execute(query).mappings())
            if not rows:
                return []
            conn.execute(
                update(t)
                .where(t.c.id.in_([r["id"] for r in rows]))
                .values(attempts=t.c.attempts + 1, **held)
            )
        return [{**r, **held, "attempts": r["attempts"] + 1} for r in rows]

    def _due(self, now: dt.datetime) -> ColumnElement[bool]:
        t = self.table
        return or_(
            and_(t.c.status == "pending", t.c.next_attempt_at <= now),
            and_(t.c.status == self.claimed, t.c.lease_until <= now),
        )

    def peek(
        self, *, now: dt.datetime, where: ColumnElement[bool] | None = None
    ) -> dict[str, Any] | None:
        """The next row `claim` would take, without taking it: a consumer prepares slow work
        (an LLM summary) for it first, then claims exactly that row (`where` on its id)."""
        t = self.table
        query = select(t).where(self._due(now)).order_by(t.c.id).limit(1)
        if where is not None:
            query = query.where(where)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else dict(row)

    def renew(self, row: Claimed, *, now: dt.datetime, lease: dt.timedelta) -> bool:
        """Hold `row` for `lease` from `now`, only while it is still held under its claim
        token; False when the claim was lost (another consumer took the row over after the
        lease ran out, or it was settled). A consumer calls it right before the step that
        must happen once (a post), so a pause since the claim cannot let two consumers do it.
        An expired lease nobody took over is still ours: the token says so, atomically."""
        t = self.table
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                update(t)
                .where(t.c.id == row.id, t.c.claim_token == row.claim_token)
                .where(t.c.status == self.claimed)
                .values(lease_until=now + lease)
            )
            return result.rowcount == 1

    def settle(self, row: Claimed, **values: Any) -> bool:
        """Write `values` and end the lease, only while `row` is still held under its claim
        token; False when the claim had been lost (and nothing was written)."""
        t = self.table
        held = [t.c.id == row.id, t.c.claim_token == row.claim_token]
        if self.settle_only_claimed:
            held.append(t.c.status == self.claimed)
        with write_transaction(self.engine) as conn:
            result = conn.execute(update(t).where(*held).values(lease_until=None, **values))
            return result.rowcount == 1

    def retry_later(
        self,
        row: Claimed,
        error: str,
        *,
        now: dt.datetime,
        max_attempts: int,
        retry_after: float | None = None,
        permanent: bool = False,
    ) -> str:
        """Settle a failed attempt: back to pending after the backoff (or `retry_after`
        seconds, when longer), or `exhausted` once `max_attempts` are spent or the failure
        is `permanent`. Returns the new status, or "lost" when the claim had been lost."""
        delay = backoff(row.attempts)
        if retry_after is not None:
            delay = max(delay, dt.timedelta(seconds=retry_after))
        status = self.exhausted if permanent or row.attempts >= max_attempts else "pending"
        settled = self.settle(
            row, status=status, next_attempt_at=now + delay, last_error=error[:2000]
        )
        return status if settled else "lost"

    def status_counts(self) -> dict[str, int]:
        """Rows by status."""
        t = self.table
        with self.engine.connect() as conn:
            return {
                str(status): int(count)
                for status, count in conn.execute(
                    select(t.c.status, func.count()).group_by(t.c.status)
                )
            }

    def requeue(self, *, now: dt.datetime) -> int:
        """Give rows that ran out of attempts a fresh start; returns how many."""
        t = self.table
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                update(t)
                .where(t.c.status == self.exhausted)
                .values(status="pending", attempts=0, next_attempt_at=now)
            )
            return int(result.rowcount)
