"""Replaying the audit trail to the state the tables should hold (pure: values in, values out).

The chain shows the events were not edited; this shows the tables were not edited behind the
events' back. Every register event carries digests of the version's content (see
core/registry/integrity.py); stage, golden, tag and note events say how the mutable part
moved. `Replay.feed` takes the events in order, `Replay.check_version` compares one version as
the tables hold it, and `Replay.finish` names what the events produced that the tables lack
(a deleted version, a golden pointer moved).

Memory grows with the number of versions, never with the number of events: the bulk of a long
trail (monitoring observations, settings) is skipped without parsing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modeltrail.core.lifecycle.audit import Difference

REGISTERS = frozenset({"register", "import"})
STAGE_MOVES = frozenset({"promote", "stage", "rollback", "retire", "retention"})
MUTATIONS = REGISTERS | STAGE_MOVES | {"golden", "tag", "untag", "note"}
SECTIONS = ("version", "code", "environment", "params", "metrics", "data", "artifacts", "profiles")


@dataclass
class _Expected:
    stage: str = "none"
    content: Mapping[str, str] | None = None  # None: registered before content digests
    summary: Mapping[str, Any] = field(default_factory=dict)
    tags: dict[str, str] | None = None
    notes: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class TableVersion:
    """One version as the tables hold it, reduced to what the events can vouch for."""

    model: str
    version: str
    stage: str
    content: Mapping[str, str]
    metrics: Mapping[str, float]
    data: Mapping[str, str | None]
    tags: Mapping[str, str]
    notes: tuple[str, ...]


class Replay:
    """`rules_from`: the first seq whose register events must carry content digests."""

    def __init__(self, *, rules_from: int = 1) -> None:
        self.rules_from = rules_from
        self.problems: list[Difference] = []
        self.versions: dict[tuple[str, str], _Expected] = {}
        self.golden: dict[str, str | None] = {}
        self.uncovered = 0  # versions registered before content digests were recorded
        self._seen: set[tuple[str, str]] = set()

    def feed(
        self,
        seq: int,
        action: str,
        model: str | None,
        version: str | None,
        after: str | None,
        before: str | None,
    ) -> None:
        if action not in MUTATIONS or model is None:
            return
        if action == "golden":
            self.golden[model] = _load(after).get("golden")
            return
        if version is None:
            return
        key = (model, version)
        if action in REGISTERS:
            summary = _load(after)
            content = summary.get("content")
            tags = summary.get("tags")
            if not isinstance(content, dict) and seq >= self.rules_from:
                self.problems.append(
                    Difference(
                        model,
                        version,
                        "registration",
                        f"register event {seq} carries no content digest, which every "
                        "registration since this registry's last upgrade records (forged?)",
                    )
                )
            self.versions[key] = _Expected(
                content=content if isinstance(content, dict) else None,
                summary=summary,
                tags=dict(tags) if isinstance(tags, dict) else None,
            )
            return
        expected = self.versions.get(key)
        if expected is None:
            return  # the chain check already vouches for the order; nothing to replay onto
        if action in STAGE_MOVES:
            expected.stage = str(_load(after).get("stage", expected.stage))
        elif action == "tag" and expected.tags is not None:
            expected.tags.update({k: str(v) for k, v in _load(after).items()})
        elif action == "untag" and expected.tags is not None:
            for name in _load(before):
                expected.tags.pop(name, None)
        elif action == "note":
            expected.notes[str(_load(after).get("note"))] += 1

    def check_version(self, table: TableVersion) -> list[Difference]:
        """What differs between `table` and what the events say of it."""
        key = (table.model, table.version)
        self._seen.add(key)
        expected = self.versions.get(key)
        if expected is None:
            return [
                Difference(
                    table.model,
                    table.version,
                    "registration",
                    "the version exists but no register event records it (inserted behind "
                    "the trail's back, or the trail was wiped)",
                )
            ]
        found: list[Difference] = []

        def differ(name: str, message: str) -> None:
            found.append(Difference(table.model, table.version, name, message))

        if expected.stage != table.stage:
            differ("stage", f"the events leave it {expected.stage}, the table says {table.stage}")
        if expected.content is None:
            self.uncovered += 1
        else:
            for section in SECTIONS:
                if expected.content.get(section) != table.content.get(section):
                    differ(section, _what_changed(section, expected.summary, table))
        if expected.tags is not None and expected.tags != dict(table.tags):
            changed = sorted(set(expected.tags.items()).symmetric_difference(table.tags.items()))
            differ("tags", f"tag {changed[0][0]!r} differs from what the events recorded")
        if expected.content is not None and expected.notes != Counter(table.notes):
            differ(
                "notes",
                f"the events recorded {sum(expected.notes.values())} note(s), the table holds "
                f"{len(table.notes)} (or their text differs)",
            )
        return found

    def finish(self, golden: Mapping[str, str | None]) -> list[Difference]:
        """Versions the events registered that the tables lost, and golden pointers."""
        found = [
            Difference(model, version, "registration", "registered, but the version is gone")
            for (model, version) in self.versions
            if (model, version) not in self._seen
        ]
        for model in sorted(set(self.golden) | {m for m, g in golden.items() if g}):
            wanted, actual = self.golden.get(model), golden.get(model)
            if wanted != actual:
                found.append(
                    Difference(
                        model,
                        None,
                        "golden",
                        f"the events make {wanted or 'no version'} golden, the table says "
                        f"{actual or 'none'}",
                    )
                )
        return found


def _what_changed(section: str, summary: Mapping[str, Any], table: TableVersion) -> str:
    """Name the metric or data role that changed, when the register event's summary can."""
    if section == "metrics":
        for name, value in (summary.get("metrics") or {}).items():
            if table.metrics.get(name) != value:
                return (
                    f"metric {name!r} was registered as {value}, the table says "
                    f"{table.metrics.get(name, 'nothing')}"
                )
    if section == "data":
        for role, digest in (summary.get("data") or {}).items():
            if table.data.get(role) != digest:
                return f"data {role!r} was registered with digest {str(digest)[:12]}…, now differs"
    return "the content no longer matches the digest its register event recorded"


def _load(text: str | None) -> Mapping[str, Any]:
    if text is None:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {}
