"""The registry tools that tell a model's story: who is in which stage since when, who moved
each version in and out and why, one version's life, and the audit trail.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from modeltrail.core.errors import UsageError
from modeltrail.core.lifecycle.rules import previous_production, timeline
from modeltrail.core.registry.tool_base import ToolBase, find_model_id
from modeltrail.core.serialize import iso
from modeltrail.core.store.reads import mark, utc
from modeltrail.core.versioning import SemVer


class HistoryTools(ToolBase):
    """A mixin of `RegistryTools`: stages, their history and the audit trail."""

    def get_stages(self, model: str) -> dict[str, Any]:
        state = self.registry.model_state(model)
        production = None
        for period in timeline(state, "production"):
            if period.until is None:
                production = {
                    "version": period.version,
                    "since": iso(period.since),
                    "by": period.moved_by,
                    "reason": period.reason,
                }
                break
        if production is None and state.production is not None:
            production = {"version": state.production, "since": None, "by": None, "reason": None}
        golden = None
        if state.golden is not None:
            event = self._last_event(model, state.golden, ("golden",))
            golden = {
                "version": state.golden,
                "since": event["at"] if event else None,
                "by": event["by"] if event else None,
                "reason": event["reason"] if event else None,
            }
        staging = sorted(state.in_stage("staging"), key=SemVer.parse, reverse=True)
        latest = max((s.version for s in state.versions), key=SemVer.parse, default=None)
        rollback_to = None
        if state.production is not None:
            rollback_to = previous_production(state, exclude=state.production)
        return {
            "model": model,
            "production": production,
            "staging": staging,
            "golden": golden,
            "latest": latest,
            "version_count": len(state.versions),
            "rollback_target": rollback_to,
        }

    def stage_history(
        self, model: str, stage: str = "production", limit: int = 10
    ) -> dict[str, Any]:
        state = self.registry.model_state(model)
        periods = timeline(state, stage)
        return {
            "model": model,
            "stage": stage,
            "golden": state.golden,
            "total": len(periods),
            "periods": [
                {
                    "version": p.version,
                    "since": iso(p.since),
                    "until": iso(p.until),
                    "moved_in_by": p.moved_by,
                    "reason_in": p.reason,
                    "moved_out_by": p.left_by,
                    "reason_out": p.left_reason,
                }
                for p in periods[:limit]
            ],
        }

    def version_history(self, model: str, version: str) -> dict[str, Any]:
        wanted = self.resolve(model, version)
        model_id = self._model(model)
        rows = self._rows(
            "SELECT created_at, actor, description, stage FROM versions "
            "WHERE model_id = ? AND version = ?",
            (model_id, wanted),
        )
        if not rows:
            from modeltrail.core.errors import VersionNotFoundError

            raise VersionNotFoundError(model, wanted)
        created, actor, description, stage = rows[0]
        golden = self._golden(model_id)
        with self._connect() as conn:
            events = _events(conn, model, wanted, limit=200)
        return {
            "model": model,
            "version": wanted,
            "stage": stage,
            "golden": golden == wanted,
            "registered": {"at": iso(utc(created)), "by": actor, "description": description},
            "events": list(reversed(events)),  # oldest first
        }

    def audit_trail(
        self, model: str | None = None, version: str | None = None, limit: int = 20
    ) -> dict[str, Any]:
        if version is not None and model is None:
            raise UsageError("a version needs its model")
        wanted = self.resolve(model, version) if model is not None and version else None
        with self._connect() as conn:
            if model is not None:
                find_model_id(conn, model)
            events = _events(conn, model, wanted, limit=limit)
        return {"model": model, "version": wanted, "events": events}

    # -- internals -----------------------------------------------------------------------------

    def _last_event(
        self, model: str, version: str, actions: Sequence[str]
    ) -> dict[str, Any] | None:
        with self._connect() as conn:
            for event in _events(conn, model, version, limit=50):
                if event["action"] in actions:
                    return event
        return None


def _events(
    conn: Any, model: str | None, version: str | None, *, limit: int
) -> list[dict[str, Any]]:
    """Audit events, newest first, with stage moves spelled out (plain SQL: either backend)."""
    p = mark(conn)
    where, params = [], []
    if model is not None:
        where.append(f"model = {p}")
        params.append(model)
    if version is not None:
        where.append(f"version = {p}")
        params.append(version)
    rows = conn.exec_driver_sql(
        "SELECT created_at, actor, action, model, version, before, after, reason "
        "FROM audit_events"
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY seq DESC LIMIT {int(limit)}",
        tuple(params),
    )
    return [describe_event(*r) for r in rows]


def describe_event(
    created_at: str,
    actor: str,
    action: str,
    model: str | None,
    version: str | None,
    before_json: str | None,
    after_json: str | None,
    reason: str | None,
) -> dict[str, Any]:
    """One audit row as a tool result: stage moves, notes and golden changes spelled out."""
    before = json.loads(before_json) if before_json else {}
    after = json.loads(after_json) if after_json else {}
    event: dict[str, Any] = {
        "action": action,
        "model": model,
        "version": version,
        "at": iso(dt.datetime.fromisoformat(created_at)),
        "by": actor,
        "reason": reason,
    }
    if isinstance(after, dict) and "stage" in after:
        event["from_stage"] = before.get("stage") if isinstance(before, dict) else None
        event["to_stage"] = after["stage"]
        if after.get("forced"):
            event["forced"] = True
    if action == "note" and isinstance(after, dict):
        event["note"] = after.get("note")
    if action == "golden" and isinstance(before, dict):
        event["previous_golden"] = before.get("golden")
    return event
