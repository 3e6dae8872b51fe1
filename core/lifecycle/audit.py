"""The audit trail's hash chain, as pure functions over event values.

Each event's hash covers its canonical content, which includes the previous event's hash and
its own sequence number. Editing an event changes its hash; deleting, inserting or reordering
events breaks the sequence or the links; truncating the tail disagrees with the head row the
registry keeps beside the chain.

Whoever can write to the database can also recompute plain sha256 hashes, so a plain chain
only shows mistakes and careless edits. With a key (MODELTRAIL_AUDIT_KEY) each hash is an
HMAC-SHA256 under it, and re-hashing needs the key. Truncating the tail and moving the head
row back needs no hashing at all: that is caught against an anchored head (`expect`), a copy
of (seq, hash) kept outside the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import json.encoder
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from modeltrail.core.records import AuditEvent

GENESIS = "0" * 64
_BLOCK = 64  # sha256's block size, for the HMAC pads
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_quote = json.encoder.encode_basestring  # the C string encoder json uses for ensure_ascii=False

UNKEYED_WARNING = (
    "the chain is not keyed (MODELTRAIL_AUDIT_KEY is not set): anyone with write access to "
    "the database could edit events and re-hash the chain; set a key, and anchor the head "
    "(modeltrail audit head) outside the database"
)


def canonical_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _content(row: tuple[Any, ...]) -> bytes:
    """The hashed bytes of an event: (seq, created_at, actor, action, model, version, before,
    after, reason, prev_hash), exactly as stored, as the JSON array
    `json.dumps(row, separators=(",", ":"), ensure_ascii=False)` writes — built from its
    string encoder directly (unrolled: this runs once per event of a million-event trail),
    which is three times faster than `json.dumps`."""
    seq, c, ac, act, m, v, b, af, r, p = row[:10]
    if seq.__class__ is not int:
        return _dumps(list(row[:10])).encode("utf-8")
    q = _quote
    return (
        f"[{seq},{'null' if c is None else q(c)},{'null' if ac is None else q(ac)},"
        f"{'null' if act is None else q(act)},{'null' if m is None else q(m)},"
        f"{'null' if v is None else q(v)},{'null' if b is None else q(b)},"
        f"{'null' if af is None else q(af)},{'null' if r is None else q(r)},"
        f"{'null' if p is None else q(p)}]"
    ).encode()


def keyed_hasher(key: bytes) -> Callable[[bytes], str]:
    """HMAC-SHA256 hex under `key`, with the key's inner and outer pads hashed once: per
    event only the two hash states are copied (RFC 2104), 2.4× faster than `hmac.digest`."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(x ^ 0x36 for x in key)).copy
    outer = hashlib.sha256(bytes(x ^ 0x5C for x in key)).copy

    def digest(content: bytes) -> str:
        i = inner()
        i.update(content)
        o = outer()
        o.update(i.digest())
        return o.hexdigest()

    return digest


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
    key: bytes | None = None,
) -> str:
    content = _content(
        (seq, created_at, actor, action, model, version, before, after, reason, prev_hash)
    )
    if key is not None:
        return hmac.new(key, content, hashlib.sha256).hexdigest()
    return hashlib.sha256(content).hexdigest()


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
    keyed: bool = False

    def row(self) -> tuple[Any, ...]:
        """The columns in the order `ChainCheck.feed` takes them."""
        return (
            self.seq,
            self.created_at,
            self.actor,
            self.action,
            self.model,
            self.version,
            self.before,
            self.after,
            self.reason,
            self.prev_hash,
            self.hash,
            self.keyed,
        )

    def recomputed_hash(self, key: bytes | None = None) -> str:
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
            key=key,
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


# The columns `ChainCheck.feed` expects, in order (select them in this order).
COLUMNS = (
    "seq",
    "created_at",
    "actor",
    "action",
    "model",
    "version",
    "before",
    "after",
    "reason",
    "prev_hash",
    "hash",
    "keyed",
)


@dataclass(frozen=True)
class Difference:
    """Something the tables hold that the events do not produce (or the reverse)."""

    model: str
    version: str | None
    field: str
    message: str

    def __str__(self) -> str:
        target = f"{self.model} {self.version}" if self.version else self.model
        return f"{target}: {self.field}: {self.message}"


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events_checked: int
    problem: str | None = None
    bad_seq: int | None = None
    differences: tuple[Difference, ...] = ()
    # What a reader should know even when everything verified (unkeyed chain, old events).
    notes: tuple[str, ...] = field(default=(), compare=False)
    head: tuple[int, str] | None = field(default=None, compare=False)
    keyed_events: int = field(default=0, compare=False)


class ChainCheck:
    """Feed events in stored `seq` order (`feed`), then `finish`; stops at the first fault.

    Rows are plain tuples in `COLUMNS` order so that a million events cost no objects beyond
    the row itself. `rules_from` is the first seq written under this release's rules (the
    migration that introduced them records it): timestamps from there on never go backwards.
    """

    def __init__(
        self,
        key: bytes | None = None,
        *,
        rules_from: int = 1,
        expect: tuple[int, str] | None = None,
    ) -> None:
        self.key = key
        self._keyed = keyed_hasher(key) if key is not None else None
        self.rules_from = rules_from
        self.expect = expect
        self.expected_hash: str | None = None
        self.prev_hash = GENESIS
        self.prev_time = ""
        self.count = 0
        self.keyed = 0
        self.unkeyed_after_keyed: int | None = None
        self.problem: str | None = None
        self.bad_seq: int | None = None

    def feed(self, row: tuple[Any, ...]) -> bool:
        """Check one event; False (and `problem` set) at the first fault."""
        seq, created_at, actor, action = row[0], row[1], row[2], row[3]
        expected = self.count + 1
        if seq != expected:
            if seq > expected:
                return self._fail(
                    f"event {expected} is missing: the chain jumps from {expected - 1} to "
                    f"{seq} (an event was deleted)",
                    expected,
                )
            return self._fail(  # only a seq below 1 can sort before its place
                f"event {seq} is out of place: the chain starts at event 1 "
                "(an event was inserted or renumbered)",
                seq,
            )
        if row[9] != self.prev_hash:
            return self._fail(
                f"event {seq} does not follow event {seq - 1}: its link to the previous event "
                "is wrong (an event was inserted, deleted or reordered)",
                seq,
            )
        content = _content(row[:10])
        if row[11]:
            if self.key is None:
                return self._fail(
                    f"event {seq} is keyed: set MODELTRAIL_AUDIT_KEY to the key the registry "
                    "writes with to verify the trail",
                    seq,
                )
            recomputed = self._keyed(content)  # type: ignore[misc]
            self.keyed += 1
        else:
            if self.keyed and self.key is not None:
                return self._fail(
                    f"event {seq} is not keyed although earlier events are: it was written or "
                    "re-hashed without the key",
                    seq,
                )
            recomputed = hashlib.sha256(content).hexdigest()
        if recomputed != row[10]:
            return self._fail(
                f"event {seq} ({action} by {actor}) was edited after it was written: its "
                "content no longer matches its hash",
                seq,
            )
        if created_at < self.prev_time and seq >= self.rules_from:
            return self._fail(
                f"event {seq} is dated {created_at}, before event {seq - 1} "
                f"({self.prev_time}): audit time never goes backwards",
                seq,
            )
        self.prev_hash = row[10]
        self.prev_time = created_at
        self.count = seq
        if self.expect is not None and seq == self.expect[0]:
            self.expected_hash = row[10]
        return True

    def feed_many(
        self,
        rows: Iterable[tuple[Any, ...]],
        wanted: frozenset[str],
        sink: Callable[[tuple[Any, ...]], None],
    ) -> bool:
        """`feed` every row, handing those whose action is in `wanted` to `sink` after they
        check; False at the first fault. The common case (the next seq, the right link, the
        expected kind of hash, time moving on) is checked inline with local names: a
        million-event trail spends its time here. Anything else goes through `feed`, which
        says what is wrong."""
        count, prev_hash, prev_time = self.count, self.prev_hash, self.prev_time
        keyed_hash, plain, content_of = self._keyed, hashlib.sha256, _content
        rules_from, expect_seq = self.rules_from, self.expect[0] if self.expect else None
        keyed = self.keyed
        for row in rows:
            seq = row[0]
            if (
                seq == count + 1
                and row[9] == prev_hash
                and (row[1] >= prev_time or seq < rules_from)
                and seq != expect_seq
            ):
                if row[11]:
                    ok = keyed_hash is not None and keyed_hash(content_of(row)) == row[10]
                    keyed += ok
                else:
                    ok = not (keyed and keyed_hash is not None)
                    ok = ok and plain(content_of(row)).hexdigest() == row[10]
                if ok:
                    count, prev_hash, prev_time = seq, row[10], row[1]
                    if row[3] in wanted:
                        sink(row)
                    continue
            self.count, self.prev_hash, self.prev_time, self.keyed = (
                count,
                prev_hash,
                prev_time,
                keyed,
            )
            if not self.feed(row):
                return False
            count, prev_hash, prev_time, keyed = (
                self.count,
                self.prev_hash,
                self.prev_time,
                self.keyed,
            )
            if row[3] in wanted:
                sink(row)
        self.count, self.prev_hash, self.prev_time, self.keyed = count, prev_hash, prev_time, keyed
        return True

    def _fail(self, problem: str, seq: int | None) -> bool:
        self.problem, self.bad_seq = problem, seq
        return False

    def finish(self, head: tuple[int, str] | None) -> VerifyResult:
        """The verdict, given the head row (and the anchored head, when one was given)."""
        expect = self.expect
        count = self.count
        if self.problem is not None:
            return self._result(False, self.problem, self.bad_seq)
        if head is not None and (head[0] != count or head[1] != self.prev_hash):
            if head[0] > count:
                return self._result(
                    False,
                    f"the chain ends at event {count} but {head[0]} were written "
                    "(events at the end were deleted)",
                    count + 1,
                )
            if head[0] < count:
                return self._result(
                    False,
                    f"the chain has {count} events but only {head[0]} were written "
                    "(events were added at the end)",
                    head[0] + 1,
                )
            return self._result(
                False, "the chain's last event does not match the recorded head", count
            )
        if head is None and count:
            return self._result(False, "events exist but the chain head is missing", None)
        if expect is not None:
            problem = self._expect_problem(expect)
            if problem is not None:
                return self._result(False, problem, expect[0])
        return self._result(True, None, None)

    def _expect_problem(self, expect: tuple[int, str]) -> str | None:
        seq, wanted = expect
        if seq == 0:
            return None if wanted == GENESIS else "an anchored head at event 0 is the empty chain"
        if seq > self.count:
            return (
                f"the anchored head is event {seq} but the chain ends at event {self.count} "
                "(events at the end were deleted and the head moved back)"
            )
        if self.expected_hash != wanted:
            return (
                f"event {seq} is not the anchored one: its hash differs from {wanted[:12]}… "
                "(the chain was rewritten from there on)"
            )
        return None

    def _result(self, ok: bool, problem: str | None, bad_seq: int | None) -> VerifyResult:
        notes: list[str] = []
        if self.key is None and not self.keyed:
            notes.append(UNKEYED_WARNING)
        elif self.key is not None and self.keyed < self.count:
            unkeyed = self.count - self.keyed
            notes.append(
                f"events 1–{unkeyed} were written before MODELTRAIL_AUDIT_KEY was set: their "
                "hashes are plain sha256, which anyone with write access could recompute"
            )
        return VerifyResult(
            ok,
            self.count,
            problem,
            bad_seq,
            notes=tuple(notes),
            head=(self.count, self.prev_hash) if self.count else None,
            keyed_events=self.keyed,
        )


def verify_chain(
    events: Iterable[StoredEvent],
    head: tuple[int, str] | None,
    *,
    key: bytes | None = None,
    expect: tuple[int, str] | None = None,
) -> VerifyResult:
    """Check `events` (in stored `seq` order) against each other and the head row."""
    check = ChainCheck(key, expect=expect)
    check.feed_many((event.row() for event in events), frozenset(), lambda row: None)
    return check.finish(head)


def parse_head(text: str) -> tuple[int, str]:
    """`SEQ:HASH` (what `audit head` prints) as a pair; ValueError when malformed."""
    seq_text, sep, digest = text.strip().partition(":")
    if not sep or not seq_text.isdigit() or len(digest) != 64:
        raise ValueError(f"{text!r} is not a head: expected SEQ:HASH as `audit head` prints")
    try:
        int(digest, 16)
    except ValueError:
        raise ValueError(f"{text!r} is not a head: the hash is not hexadecimal") from None
    return int(seq_text), digest.lower()


def format_head(head: tuple[int, str] | None) -> str:
    return "0:" + GENESIS if head is None else f"{head[0]}:{head[1]}"


def _loads(text: str | None) -> Mapping[str, Any] | None:
    return None if text is None else json.loads(text)
