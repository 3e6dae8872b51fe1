"""Anchoring the audit trail's head outside the database, once a day (`serve`).

Truncating the trail and moving the head row back needs no hashing, so no key catches it;
a copy of the head kept elsewhere does (`modeltrail audit verify --expect SEQ:HASH`).
MODELTRAIL_AUDIT_ANCHOR says where: `slack:#channel` (a message, sent through the outbox so a
Slack outage delays it and replicas never post it twice: the day is its idempotency key) or
a file path (one `DATE SEQ:HASH` line appended per day).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from modeltrail.core.errors import ConfigError, ModeltrailError
from modeltrail.core.lifecycle.audit import format_head
from modeltrail.core.lifecycle.outbox import enqueue
from modeltrail.core.registry.writer import Registry, utcnow
from modeltrail.core.safe_files import open_regular
from modeltrail.core.store.engine import write_transaction

log = logging.getLogger("modeltrail.anchor")
TOPIC = "audit.head"


@dataclass(frozen=True)
class Destination:
    kind: str  # "slack" or "file"
    target: str  # channel, or path

    @classmethod
    def parse(cls, text: str) -> Destination:
        if text.startswith("slack:"):
            channel = text[len("slack:") :].strip().lstrip("#")
            if not channel:
                raise ConfigError(
                    "MODELTRAIL_AUDIT_ANCHOR=slack: needs a channel, e.g. slack:#audit"
                )
            return cls("slack", channel)
        path = text[len("file:") :] if text.startswith("file:") else text
        if not path.strip():
            raise ConfigError("MODELTRAIL_AUDIT_ANCHOR is empty")
        return cls("file", path)


class HeadAnchor:
    """`run_once` anchors today's head unless it is anchored already."""

    def __init__(
        self,
        registry: Registry,
        destination: Destination,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.registry = registry
        self.destination = destination
        self.clock = clock

    def run_once(self) -> bool:
        """True when a head was anchored (or queued for Slack) in this call."""
        now = self.clock()
        day = now.astimezone(dt.UTC).date().isoformat()
        head = format_head(self.registry.audit_head())
        if self.destination.kind == "file":
            return self._append(day, head)
        return self._enqueue(day, head, now)

    def _append(self, day: str, head: str) -> bool:
        path = Path(self.destination.target).expanduser()
        try:
            if path.exists() and _last_line(path).startswith(day + " "):
                return False
            with path.open("a", encoding="utf-8") as out:
                out.write(f"{day} {head}\n")
        except OSError as exc:
            raise ModeltrailError(f"cannot write the audit anchor to {path}: {exc}") from None
        return True

    def _enqueue(self, day: str, head: str, now: dt.datetime) -> bool:
        try:
            with write_transaction(self.registry.engine) as conn:
                enqueue(
                    conn,
                    topic=TOPIC,
                    model=None,
                    version=None,
                    payload={"channel": self.destination.target, "day": day, "head": head},
                    key=f"audit-head:{day}",
                    now=now,
                )
        except IntegrityError:
            return False  # today's head is queued already (by this replica or another)
        return True

    def run_forever(self, stop: threading.Event, interval: float = 600.0) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("anchoring the audit head failed")
            stop.wait(interval)


def anchor_message(payload: dict[str, str]) -> str:
    """The text of the Slack anchor message (the dispatcher posts it)."""
    return (
        f"modeltrail audit head on {payload.get('day')}: `{payload.get('head')}` — check the "
        f"trail against it with `modeltrail audit verify --expect {payload.get('head')}`"
    )


def _last_line(path: Path) -> str:
    """The anchor file's last line, read from its tail (the file grows a line a day, forever).
    A pipe or a device there is refused, never read: it would block or never end."""
    fd = open_regular(path)
    if fd is None:
        raise ModeltrailError(f"the audit anchor {path} is not a regular file")
    with os.fdopen(fd, "rb") as f:
        f.seek(max(0, os.fstat(fd).st_size - 4096))
        lines = f.read().decode("utf-8", "replace").splitlines()
    return lines[-1] if lines else ""
