"""The registry's governance writes: stages, promotion gates, golden, tags, notes, settings.

A mixin of `Registry` (kept apart so each module stays readable). Every method here plans
with the pure rules of `lifecycle.py`, then applies the plan in one write transaction that
also appends the audit events and the outbox rows announcing it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from modeltrail.core.errors import ModeltrailError, UsageError, VersionNotFoundError
from modeltrail.core.lifecycle.approvals import POLICY_SETTING, ApprovalRequired, Policy
from modeltrail.core.lifecycle.outbox import enqueue
from modeltrail.core.lifecycle.rules import (
    GateDecision,
    GateRules,
    LifecycleError,
    ModelState,
    Plan,
    judge_promotion,
    plan_retention,
    plan_retire,
    plan_rollback,
    plan_stage,
)
from modeltrail.core.records import VersionRecord
from modeltrail.core.refs import EmptyStageError, parse_ref, parse_selector
from modeltrail.core.registry.artifacts import ArtifactsMixin
from modeltrail.core.store import reads, schema
from modeltrail.core.versioning import SemVer

# The outbox topic each plan announces; staging and retention archiving announce nothing
# (no consumer would ever drain them: see lifecycle.outbox.TOPICS).
TOPICS = {
    "promote": "version.promoted",
    "rollback": "version.rolled_back",
    "retire": "version.retired",
}
GATE_SETTING = "gate"
UNVERIFIED = "artifact_unverified"  # a stored artifact's bytes do not match its digest


class PromotionBlocked(ModeltrailError):
    """A promotion gate refused the move; `decision.blocking` says why."""

    def __init__(self, model: str, decision: GateDecision) -> None:
        against = f" against production {decision.baseline}" if decision.baseline else ""
        reasons = "; ".join(f"{f.kind}: {f.message}" for f in decision.blocking)
        super().__init__(
            f"promotion of {model} {decision.candidate} blocked{against}: {reasons}",
            hint="fix the cause, or override with --force --reason TEXT (the override is audited)",
        )
        self.model = model
        self.decision = decision


@dataclass(frozen=True)
class MoveResult:
    plan: Plan
    decision: GateDecision | None = None
    forced: bool = False


class GovernanceMixin(ArtifactsMixin):
    # -- reading the lifecycle state ---------------------------------------------------

    def model_state(self, model: str) -> ModelState:
        with self._read() as conn:
            model_id = self._model_id(conn, model)
            return self._state(conn, model, model_id)

    def _state(self, conn: Connection, model: str, model_id: int) -> ModelState:
        return reads.model_state(conn, model_id, model)  # type: ignore[no-any-return]

    def stage_version(self, model: str, stage: str) -> str | None:
        """The version in `stage` ("production", "staging" → newest) or the golden one."""
        try:
            return self.resolve_version(model, stage)
        except EmptyStageError:
            return None

    def resolve_version(self, model: str, ref: str) -> str:
        """A version number from `2.1.5`, `v2.1.5`, or a name (`@` optional): latest,
        production, staging, golden, previous (the production before the current one)."""
        selector = parse_selector(ref)
        with self._read() as conn:
            return reads.resolve(conn, model, selector)

    def resolve(self, ref: str) -> VersionRecord:
        """The record `fraud-detector@production`, `fraud-detector/2.1.5` (or a bare model
        name, its latest version) stands for."""
        parsed = parse_ref(ref)
        return self.load(parsed.model, self.resolve_version(parsed.model, parsed.selector))

    # -- gate rules and settings ---------------------------------------------------------

    def approval_policy(self, model: str) -> Policy:
        """How many approvals promotion to production needs (see registry/approvals.py)."""
        return Policy.from_dict(self.model_setting(model, POLICY_SETTING))

    def gate_rules(self, model: str) -> GateRules:
        return GateRules.from_dict(self.model_setting(model, GATE_SETTING))

    def set_gate_rules(
        self, model: str, rules: GateRules, *, actor: str, reason: str | None = None
    ) -> GateRules:
        self.set_model_setting(model, GATE_SETTING, rules.to_dict(), actor=actor, reason=reason)
        return rules

    def model_setting(self, model: str, key: str) -> Any:
        ms = schema.model_settings
        with self._read() as conn:
            model_id = self._model_id(conn, model)
            value = conn.execute(
                select(ms.c.value).where(ms.c.model_id == model_id, ms.c.key == key)
            ).scalar()
        return None if value is None else json.loads(value)

    def set_model_setting(
        self, model: str, key: str, value: Any, *, actor: str, reason: str | None = None
    ) -> None:
        ms = schema.model_settings
        now = self._clock()
        encoded = json.dumps(value, sort_keys=True)
        with self._write() as conn:
            model_id = self._model_id(conn, model, lock=True)
            before = _put(conn, ms, {"model_id": model_id, "key": key}, encoded)
            self._append_audit(
                conn,
                now=now,
                actor=actor,
                action="setting",
                model=model,
                version=None,
                before=None if before is None else {key: json.loads(before)},
                after={key: value},
                reason=reason,
            )

    # -- stage moves -----------------------------------------------------------------------

    def promote(
        self,
        model: str,
        version: str,
        *,
        to: str = "production",
        actor: str,
        reason: str | None = None,
        force: bool = False,
    ) -> MoveResult:
        """Move a version to production (default) or staging.

        Promotion to production diffs the candidate against the current production and
        refuses on blocking findings (`PromotionBlocked`) unless `force` — which needs a
        reason and is recorded with the findings it overrode.
        """
        version = str(SemVer.parse(version))
        if force and not (reason and reason.strip()):
            raise UsageError("--force needs --reason: say why the gate is overridden")
        if to == "production":
            policy = self.approval_policy(model)
            if policy.approvals:
                raise ApprovalRequired(model, version, policy)

        def gate(state: ModelState) -> GateDecision | None:
            if to != "production":
                return None
            decision = self.judge(model, version, baseline=state.production)
            unverified = any(f.kind == UNVERIFIED for f in decision.blocking)
            # --force overrides judgement, never bytes that are not what was registered.
            if not decision.allowed and (unverified or not force):
                raise PromotionBlocked(model, decision)
            return decision

        return self._move(
            model, lambda state: plan_stage(state, version, to, reason), actor=actor, gate=gate
        )

    def judge(self, model: str, candidate: str, *, baseline: str | None) -> GateDecision:
        """The gate's verdict on `candidate` against `baseline` (itself when None)."""
        from modeltrail.core.diff.engine import diff_versions
        from modeltrail.core.diff.types import Finding

        wanted = [candidate] if baseline is None else [candidate, baseline]
        records = {r.version: r for r in self.load_many(model, wanted)}
        if candidate not in records:
            raise VersionNotFoundError(model, candidate)
        new = records[candidate]
        old = records.get(baseline, new) if baseline else new
        decision = judge_promotion(candidate, diff_versions(old, new), self.gate_rules(model))
        failed = [
            Finding(
                UNVERIFIED,
                "critical",
                f"stored artifact {c.name} fails verification ({c.status}"
                + (f": {c.detail}" if c.detail else "")
                + ")",
            )
            for c in self.verify_artifacts(new)
            if c.status in ("changed", "missing")
        ]
        if failed:
            decision = replace(decision, blocking=(*failed, *decision.blocking))
        return decision

    def rollback(self, model: str, *, actor: str, reason: str) -> MoveResult:
        from modeltrail.core.vault.deploy import deploy_facts

        # The target is chosen under the model's lock, so a retirement committed a moment
        # earlier is seen and the retired version is never brought back. The channel report
        # names the bytes to deploy, not only the label that moved.
        return self._move(
            model,
            lambda state: plan_rollback(state, reason),
            actor=actor,
            notify=lambda plan: {"deploy": deploy_facts(self.load(model, plan.moves[-1].version))},
        )

    def retire(self, model: str, version: str, *, actor: str, reason: str) -> MoveResult:
        version = str(SemVer.parse(version))
        return self._move(model, lambda state: plan_retire(state, version, reason), actor=actor)

    def plan_retention(self, model: str, keep: int = 3) -> Plan:
        return plan_retention(self.model_state(model), keep)

    def apply_retention(self, model: str, *, keep: int = 3, actor: str) -> MoveResult:
        return self._move(model, lambda state: plan_retention(state, keep), actor=actor)

    def set_golden(
        self, model: str, version: str, *, actor: str, reason: str | None = None
    ) -> str | None:
        """Mark the stable baseline; returns the previous golden version, if any."""
        version = str(SemVer.parse(version))
        now = self._clock()
        with self._write() as conn:
            model_id = self._model_id(conn, model, lock=True)
            version_id = self._version_id(conn, model_id, SemVer.parse(version))
            if version_id is None:
                raise VersionNotFoundError(model, version)
            previous = self._state(conn, model, model_id).golden
            if previous == version:
                raise LifecycleError(f"{model} {version} is already the golden version")
            conn.execute(
                update(schema.models)
                .where(schema.models.c.id == model_id)
                .values(golden_version_id=version_id, updated_at=now)
            )
            seq = self._append_audit(
                conn,
                now=now,
                actor=actor,
                action="golden",
                model=model,
                version=version,
                before={"golden": previous},
                after={"golden": version},
                reason=reason,
            )
            enqueue(
                conn,
                topic="version.golden",
                model=model,
                version=version,
                payload={
                    "model": model,
                    "version": version,
                    "previous": previous,
                    "actor": actor,
                    "reason": reason,
                },
                key=f"audit:{seq}",
                now=now,
            )
        return previous

    def _move(
        self,
        model: str,
        planner: Callable[[ModelState], Plan],
        *,
        actor: str,
        gate: Callable[[ModelState], GateDecision | None] | None = None,
        notify: Callable[[Plan], Mapping[str, Any]] | None = None,
    ) -> MoveResult:
        """Plan with `planner` and apply the plan, both under the model's lock.

        The gate diffs the candidate against the production it would replace, which loads
        whole versions, so it runs before the lock; when production changed meanwhile the
        move is refused (the person decided against a state that is gone). Whatever this
        code does, the database refuses a second production (a partial unique index).
        """
        judged = decision = None
        if gate is not None:
            judged = self.model_state(model)
            planner(judged)  # a move that is refused anyway is refused before the diff
            decision = gate(judged)
        with self._write() as conn:
            model_id = self._model_id(conn, model, lock=True)
            state = self._state(conn, model, model_id)
            if judged is not None and state.production != judged.production:
                raise LifecycleError(
                    f"{model}: production changed to {state.production or 'none'} while this "
                    "was being decided; run the command again",
                )
            plan = planner(state)
            forced = decision is not None and not decision.allowed
            if not plan.is_empty:
                told = notify(plan) if notify is not None else None
                self._apply(conn, model_id, plan, state, actor, decision, forced, notify=told)
            return MoveResult(plan, decision, forced)

    def _apply(
        self,
        conn: Connection,
        model_id: int,
        plan: Plan,
        expected: ModelState,
        actor: str,
        decision: GateDecision | None,
        forced: bool,
        extra: Mapping[str, Any] | None = None,
        notify: Mapping[str, Any] | None = None,
    ) -> None:
        """Apply `plan` (made from `expected`, read under the same lock) in `conn`; `extra`
        joins the main move's audit record and report."""
        now = self._clock()
        v, sc = schema.versions, schema.stage_changes
        last_seq = 0
        for move in plan.moves:
            version_id = self._version_id(conn, model_id, SemVer.parse(move.version))
            conn.execute(update(v).where(v.c.id == version_id).values(stage=move.to_stage))
            conn.execute(
                insert(sc),
                {
                    "model_id": model_id,
                    "version_id": version_id,
                    "from_stage": move.from_stage,
                    "to_stage": move.to_stage,
                    "created_at": now,
                    "actor": actor,
                    "reason": move.reason,
                    "action": plan.action,
                },
            )
            after: dict[str, Any] = {"stage": move.to_stage}
            if extra and move is plan.moves[-1]:
                after.update(extra)
            if forced and move is plan.moves[-1] and decision is not None:
                after["forced"] = True
                after["overridden"] = [
                    {"kind": f.kind, "severity": f.severity, "message": f.message}
                    for f in decision.blocking
                ]
            last_seq = self._append_audit(
                conn,
                now=now,
                actor=actor,
                action=plan.action,
                model=plan.model,
                version=move.version,
                before={"stage": move.from_stage},
                after=after,
                reason=move.reason,
            )
        conn.execute(
            update(schema.models).where(schema.models.c.id == model_id).values(updated_at=now)
        )
        main = plan.moves[-1]
        topic = TOPICS.get(plan.action)
        if topic is not None:
            enqueue(
                conn,
                topic=topic,
                model=plan.model,
                version=main.version,
                payload={
                    **_payload(plan, actor, expected, decision, forced),
                    **(extra or {}),
                    **(notify or {}),
                },
                key=f"audit:{last_seq}",
                now=now,
            )

    def _apply_in(
        self,
        conn: Connection,
        plan: Plan,
        *,
        actor: str,
        expected: ModelState,
        decision: GateDecision | None = None,
        forced: bool = False,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Apply a plan made before the caller took its transaction (an approval commits
        its own rows with the promotion): refused if the stages moved since planning."""
        model_id = self._model_id(conn, plan.model, lock=True)
        fresh = self._state(conn, plan.model, model_id)
        current = {s.version: s.stage for s in fresh.versions}
        # Versions registered meanwhile count too: one promoted meanwhile would otherwise
        # leave two productions (the unique index would refuse it; this says why).
        moved = [s.version for s in expected.versions if current.get(s.version) != s.stage]
        moved += [
            s.version
            for s in fresh.versions
            if s.version not in {e.version for e in expected.versions} and s.stage != "none"
        ]
        if moved or fresh.golden != expected.golden:
            what = f"{moved[0]} changed stage" if moved else "the golden version changed"
            raise LifecycleError(
                f"{plan.model}: {what} while this was being decided; run the command again",
            )
        if not plan.is_empty:
            self._apply(conn, model_id, plan, fresh, actor, decision, forced, extra)

    # -- tags and notes (the mutable part of a version) -----------------------------------

    def set_tag(self, model: str, version: str, key: str, value: str, *, actor: str) -> None:
        if not key:
            raise UsageError("a tag needs a name")
        t = schema.tags
        now = self._clock()
        with self._write() as conn:
            version_id = self._require_version(conn, model, version)
            old = _put(conn, t, {"version_id": version_id, "key": key}, value)
            self._append_audit(
                conn,
                now=now,
                actor=actor,
                action="tag",
                model=model,
                version=str(SemVer.parse(version)),
                before=None if old is None else {key: old},
                after={key: value},
                reason=None,
            )

    def remove_tag(self, model: str, version: str, key: str, *, actor: str) -> None:
        t = schema.tags
        now = self._clock()
        with self._write() as conn:
            version_id = self._require_version(conn, model, version)
            old = conn.execute(
                select(t.c.value).where(t.c.version_id == version_id, t.c.key == key)
            ).scalar()
            if old is None:
                raise UsageError(f"{model} {version} has no tag {key!r}")
            conn.execute(delete(t).where(t.c.version_id == version_id, t.c.key == key))
            self._append_audit(
                conn,
                now=now,
                actor=actor,
                action="untag",
                model=model,
                version=str(SemVer.parse(version)),
                before={key: old},
                after=None,
                reason=None,
            )

    def add_note(self, model: str, version: str, text: str, *, actor: str) -> None:
        if not text or not text.strip():
            raise UsageError("a note needs text")
        now = self._clock()
        with self._write() as conn:
            version_id = self._require_version(conn, model, version)
            conn.execute(
                insert(schema.notes),
                {"version_id": version_id, "text": text, "actor": actor, "created_at": now},
            )
            self._append_audit(
                conn,
                now=now,
                actor=actor,
                action="note",
                model=model,
                version=str(SemVer.parse(version)),
                before=None,
                after={"note": text},
                reason=None,
            )

    def _require_version(self, conn: Connection, model: str, version: str) -> int:
        model_id = self._model_id(conn, model, lock=True)
        version_id = self._version_id(conn, model_id, SemVer.parse(version))
        if version_id is None:
            raise VersionNotFoundError(model, str(SemVer.parse(version)))
        return version_id


def _put(conn: Connection, table: Any, keys: Mapping[str, Any], value: str) -> str | None:
    """Set `value` on the row of `table` with `keys` (insert or update); return the old value."""
    where = [table.c[name] == wanted for name, wanted in keys.items()]
    old = conn.execute(select(table.c.value).where(*where)).scalar()
    if old is None:
        conn.execute(insert(table), {**keys, "value": value})
    else:
        conn.execute(update(table).where(*where).values(value=value))
    return old


def _payload(
    plan: Plan,
    actor: str,
    state: ModelState,
    decision: GateDecision | None,
    forced: bool,
) -> Mapping[str, Any]:
    main = plan.moves[-1]
    return {
        "model": plan.model,
        "action": plan.action,
        "version": main.version,
        "to_stage": main.to_stage,
        "from_stage": main.from_stage,
        "reason": main.reason,
        "actor": actor,
        "previous_production": state.production,
        "golden": state.golden,
        "moves": [
            {"version": m.version, "from": m.from_stage, "to": m.to_stage, "reason": m.reason}
            for m in plan.moves
        ],
        "forced": forced,
        "overridden": [
            {"kind": f.kind, "severity": f.severity, "message": f.message}
            for f in (decision.blocking if decision and forced else ())
        ],
    }
