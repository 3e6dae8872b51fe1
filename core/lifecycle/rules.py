"""Lifecycle rules as pure planning: stages, promotion, rollback, retention, gates.

Each rule takes the model's current state (plain values) and returns a `Plan`: the stage
moves to make, in order, with a reason each. The registry applies a plan in one transaction
(audit events and outbox rows included). Tests assert on plans; nothing here reads a clock or
a database.

Stages: none → staging → production → archived. At most one production version per model;
any version may be moved to staging or production again (re-promoting an archived version is
how rollback works).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modeltrail.core.errors import ModeltrailError, UsageError
from modeltrail.core.versioning import SemVer

if TYPE_CHECKING:
    # Only named in annotations: the stage timeline (`history`, `ask`) need not import the
    # diff engine.
    from modeltrail.core.diff.engine import Finding, VersionDiff

MOVABLE_TO = ("staging", "production", "archived")


class LifecycleError(ModeltrailError):
    """A move the rules do not allow (nothing to roll back to, retiring the golden, …)."""


@dataclass(frozen=True)
class VersionState:
    version: str
    stage: str


@dataclass(frozen=True)
class StageChange:
    """One stage move as recorded (the history rollback and `--at` read)."""

    version: str
    from_stage: str
    to_stage: str
    at: dt.datetime
    actor: str
    reason: str | None
    action: str | None = None  # promote, stage, rollback, retire, retention (None before 0005)


@dataclass(frozen=True)
class ModelState:
    model: str
    versions: tuple[VersionState, ...]  # any order
    golden: str | None
    changes: tuple[StageChange, ...] = ()  # oldest first

    def stage_of(self, version: str) -> str:
        for v in self.versions:
            if v.version == version:
                return v.stage
        raise UsageError(f"{self.model} has no version {version}")

    def in_stage(self, stage: str) -> list[str]:
        return [v.version for v in self.versions if v.stage == stage]

    @property
    def production(self) -> str | None:
        found = self.in_stage("production")
        return found[0] if found else None


@dataclass(frozen=True)
class Move:
    version: str
    from_stage: str
    to_stage: str
    reason: str | None


@dataclass(frozen=True)
class Plan:
    """What to do, in order. `action` names the user's intent for the audit trail and the
    outbox ("promote", "rollback", "retire", "retention"). Empty `moves` means nothing to do."""

    model: str
    action: str
    moves: tuple[Move, ...]
    notes: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.moves


def plan_stage(state: ModelState, version: str, to_stage: str, reason: str | None) -> Plan:
    """Move `version` to staging or production; promotion to production archives the
    previous production version "superseded by VERSION"."""
    if to_stage not in ("staging", "production"):
        raise UsageError(f"cannot promote to {to_stage!r}", hint="use production or staging")
    current = state.stage_of(version)
    if current == to_stage:
        raise LifecycleError(f"{state.model} {version} is already in {to_stage}")
    moves = []
    if to_stage == "production":
        previous = state.production
        if previous is not None:
            moves.append(Move(previous, "production", "archived", f"superseded by {version}"))
        action = "promote"
    else:
        action = "stage"
    moves.append(Move(version, current, to_stage, reason))
    return Plan(state.model, action, tuple(moves))


def plan_rollback(state: ModelState, reason: str) -> Plan:
    """Archive the current production; bring back the most recent earlier production version."""
    if not reason or not reason.strip():
        raise UsageError("a rollback needs a reason", hint='--reason "why it is rolled back"')
    current = state.production
    if current is None:
        raise LifecycleError(f"{state.model} has no production version to roll back")
    target = previous_production(state, exclude=current)
    if target is None:
        raise LifecycleError(
            f"{state.model} has no earlier production version to roll back to",
            hint=f"promote a version instead: modeltrail promote {state.model} VERSION",
        )
    return Plan(
        state.model,
        "rollback",
        (
            Move(current, "production", "archived", reason),
            Move(
                target, state.stage_of(target), "production", f"rollback from {current}: {reason}"
            ),
        ),
    )


def previous_production(state: ModelState, *, exclude: str) -> str | None:
    """The version to roll back to: production history as a stack.

    A promotion pushes its version; a rollback or retirement takes its version off for good
    (it was judged bad), so rolling back twice goes A ← B ← C to B, then to A — never back to
    the C that was just rolled back.
    """
    stack: list[str] = []
    for change in state.changes:
        if change.to_stage == "production":
            if change.version in stack:
                stack.remove(change.version)
            stack.append(change.version)
        elif change.action in ("rollback", "retire") and change.version in stack:
            stack.remove(change.version)
    for version in reversed(stack):
        if version != exclude:
            return version
    return None


def plan_retire(state: ModelState, version: str, reason: str) -> Plan:
    if not reason or not reason.strip():
        raise UsageError("retiring a version needs a reason", hint='--reason "why"')
    current = state.stage_of(version)
    if any(c.version == version and c.action == "retire" for c in state.changes):
        raise LifecycleError(f"{state.model} {version} is already retired")
    notes: tuple[str, ...] = ()
    if current == "archived":
        # Archived by supersession or retention, now judged bad: record the retirement so a
        # rollback never brings it back.
        notes = (f"{version} was already archived; its retirement is recorded",)
    if current == "production":
        notes = (f"{version} was in production; {state.model} now has no production version",)
    return Plan(state.model, "retire", (Move(version, current, "archived", reason),), notes)


def plan_retention(state: ModelState, keep: int = 3) -> Plan:
    """Archive every version more than `keep` iterations behind production.

    Iterations count registered versions in semantic order below production. Never touches
    the production, staging or golden version, nor versions newer than production.
    """
    if keep < 0:
        raise UsageError(f"--keep must be 0 or more, not {keep}")
    production = state.production
    if production is None:
        return Plan(state.model, "retention", (), (f"{state.model} has no production version",))
    floor = SemVer.parse(production)
    behind = sorted(
        (v for v in state.versions if SemVer.parse(v.version) < floor),
        key=lambda v: SemVer.parse(v.version),
        reverse=True,
    )
    reason = f"retention: {keep}+ iterations behind production {production}"
    moves = []
    for v in behind[keep:]:
        if v.stage in ("archived", "production", "staging") or v.version == state.golden:
            continue
        moves.append(Move(v.version, v.stage, "archived", reason))
    return Plan(state.model, "retention", tuple(moves))


def production_at(state: ModelState, moment: dt.datetime) -> str | None:
    """Which version was in production at `moment`, from the recorded stage changes."""
    current: str | None = None
    for change in state.changes:
        if change.at > moment:
            break
        if change.to_stage == "production":
            current = change.version
        elif change.from_stage == "production" and change.version == current:
            current = None
    return current


@dataclass(frozen=True)
class Period:
    """A version's time in a stage: `until` None means it is still there."""

    version: str
    stage: str
    since: dt.datetime
    until: dt.datetime | None
    moved_by: str
    reason: str | None
    left_by: str | None = None
    left_reason: str | None = None


def timeline(state: ModelState, stage: str = "production") -> list[Period]:
    """Who was in `stage` from when to when, who moved it there and why, newest first."""
    open_periods: dict[str, Period] = {}
    periods: list[Period] = []
    for change in state.changes:
        if change.to_stage == stage:
            open_periods[change.version] = Period(
                change.version, stage, change.at, None, change.actor, change.reason
            )
        elif change.from_stage == stage and change.version in open_periods:
            started = open_periods.pop(change.version)
            periods.append(
                Period(
                    started.version,
                    stage,
                    started.since,
                    change.at,
                    started.moved_by,
                    started.reason,
                    change.actor,
                    change.reason,
                )
            )
    periods.extend(open_periods.values())
    return sorted(periods, key=lambda p: p.since, reverse=True)


# -- promotion gates ----------------------------------------------------------------------


@dataclass(frozen=True)
class GateRules:
    """Which findings block a promotion to production.

    A finding blocks when its kind is in `block_kinds`, or its severity is in
    `block_severities` and its kind is not in `allow_kinds`.
    """

    block_severities: tuple[str, ...] = ("critical",)
    block_kinds: tuple[str, ...] = ()
    allow_kinds: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> GateRules:
        if not data:
            return cls()
        return cls(
            block_severities=tuple(data.get("block_severities", ("critical",))),
            block_kinds=tuple(data.get("block_kinds", ())),
            allow_kinds=tuple(data.get("allow_kinds", ())),
        )

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "block_severities": list(self.block_severities),
            "block_kinds": list(self.block_kinds),
            "allow_kinds": list(self.allow_kinds),
        }

    def blocks(self, finding: Finding) -> bool:
        if finding.kind in self.block_kinds:
            return True
        return finding.severity in self.block_severities and finding.kind not in self.allow_kinds


@dataclass(frozen=True)
class GateDecision:
    candidate: str
    baseline: str | None  # the production version compared against, None if there was none
    blocking: tuple[Finding, ...]
    other_findings: tuple[Finding, ...] = field(default=())

    @property
    def allowed(self) -> bool:
        return not self.blocking


def judge_promotion(candidate: str, diff: VersionDiff | None, rules: GateRules) -> GateDecision:
    """Decide from the candidate's diff against production (or against itself when there is
    no production, which leaves only findings about the candidate: lineage, dirty tree)."""
    if diff is None:
        return GateDecision(candidate, None, ())
    # Without a production version the candidate is diffed against itself, which leaves only
    # findings about the candidate (lineage, dirty tree), each possibly twice: once per side.
    findings = tuple(dict.fromkeys(diff.findings))
    blocking = tuple(f for f in findings if rules.blocks(f))
    others = tuple(f for f in findings if not rules.blocks(f))
    baseline = None if diff.old_version == diff.new_version else diff.old_version
    return GateDecision(candidate, baseline, blocking, others)


def describe_moves(moves: Sequence[Move]) -> list[str]:
    return [f"{m.version}: {m.from_stage} → {m.to_stage}" for m in moves]
