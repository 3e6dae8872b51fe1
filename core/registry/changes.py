"""What changed in the registry since a server last looked, for caches that must follow every
write without being thrown away by writes that do not concern them.

Every write is audited in its own transaction and moves the audit head, so one indexed probe
per request (`head_probe`) tells whether anything changed. When the head has moved, the new
events are read once (a primary-key range of the few events since the last look) and sorted
into what they can change:

- `monitor` events (production observations, many a minute from a serving system) change
  monitoring data and the audit trail only: a version's record, a listing, a model's
  overview and its history stay as they were;
- an event that names a model changes what is shown of that model only;
- any other event (one that names no model) may change anything.

`Stamps.fresh(built_at, model)` then says whether an answer built when the head was at
`built_at` still holds. Stamps are replaced whole, never changed in place, so a request
judges its answer against one consistent picture while another thread catches up. Appends
are serialised by the head row and commit with it, so every event up to a head that a probe
saw is readable when the range is read.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from modeltrail.core.registry.head_probe import head_probe
from modeltrail.core.registry.writer import Registry
from modeltrail.core.store import schema

# Actions that change nothing a version record, a listing or a stage history shows.
MONITORING_ACTIONS = frozenset({"monitor"})
# Past this many new events, forgetting everything is cheaper than sorting them.
RESET_AFTER = 10_000


@dataclass
class Stamps:
    """The newest seq of each kind of change, as far as the tracker has read (pure)."""

    head: int = 0  # every event, monitoring included (what the audit answers follow)
    records: int = 0  # the newest event that can change a record, a listing or a history
    unscoped: int = 0  # the newest such event that names no model
    models: dict[str, int] = field(default_factory=dict)
    last_hash: str | None = None  # of the event at `head`, to tell a stale probe from a reset

    def note(self, seq: int, action: str, model: str | None) -> None:
        self.head = max(self.head, seq)
        if action in MONITORING_ACTIONS:
            return
        self.records = max(self.records, seq)
        if model is None:
            self.unscoped = max(self.unscoped, seq)
        else:
            self.models[model] = max(self.models.get(model, 0), seq)

    def reset(self, head: int, last_hash: str | None) -> None:
        """Forget the details: everything built before `head` is stale."""
        self.head = self.records = self.unscoped = head
        self.models.clear()
        self.last_hash = last_hash

    def fresh(self, built_at: int, model: str | None, *, audit: bool = False) -> bool:
        """Whether an answer built at `built_at` still holds: about `model` (None: across
        models), or including the audit trail itself."""
        if audit:
            return built_at >= self.head
        if model is None:
            return built_at >= self.records
        return built_at >= max(self.unscoped, self.models.get(model, 0))


class ChangeTracker:
    """`head()` probes the audit head; `stamps_at(head)` gives the stamps as of at least that
    head, whose `fresh(...)` judges cached answers. Apart, so that a server can check a
    request's credentials between the two and read nothing more for a refused one."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.stamps = Stamps()
        self._probe = head_probe(registry)
        self._lock = threading.Lock()
        self._started = False

    def head(self) -> int:
        """The audit head now: one SELECT, nothing else read."""
        return self._probe()

    def stamps_at(self, head: int) -> Stamps:
        """Stamps as of at least `head` (a value `head()` returned), reading the events since
        the last look when it has moved."""
        stamps = self.stamps
        if not self._started or head != stamps.head:
            with self._lock:
                stamps = dataclasses.replace(self.stamps, models=dict(self.stamps.models))
                self._catch_up(stamps, head)
                self.stamps = stamps
        return stamps

    def _catch_up(self, stamps: Stamps, head: int) -> None:
        if not self._started:
            stamps.reset(head, self._hash_at(head))
            self._started = True
        elif head > stamps.head + RESET_AFTER:
            stamps.reset(head, self._hash_at(head))
        elif head > stamps.head:
            last = stamps.head
            for seq, action, model, digest in self._events(last, head):
                stamps.note(seq, action, model)
                stamps.last_hash = digest
            if stamps.head < head:  # events missing from the range: do not guess
                stamps.reset(head, self._hash_at(head))
        elif head < stamps.head and self._hash_at(stamps.head) != stamps.last_hash:
            # The trail is shorter and the event we last saw is gone or different: another
            # database is behind the URL now (a restore). A probe that merely started before
            # the latest write finished reads a lower head too; that one is ignored.
            stamps.reset(head, self._hash_at(head))

    def _events(self, after: int, upto: int) -> Iterable[tuple[int, str, str | None, str]]:
        a = schema.audit_events
        with self.registry.engine.connect() as conn:
            rows = conn.execute(
                select(a.c.seq, a.c.action, a.c.model, a.c.hash)
                .where(a.c.seq > after, a.c.seq <= upto)
                .order_by(a.c.seq)
            )
            return [(int(seq), action, model, digest) for seq, action, model, digest in rows]

    def _hash_at(self, seq: int) -> str | None:
        a = schema.audit_events
        with self.registry.engine.connect() as conn:
            return conn.execute(select(a.c.hash).where(a.c.seq == seq)).scalar()
