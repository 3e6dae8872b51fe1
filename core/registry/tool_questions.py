"""The registry tools behind the questions teams ask beyond one version: which version was in a
stage at a moment, what happened in a period (or what one person did), versions trained from a
dirty tree, a package's version and which version changed it, a param's story, the rollback
options, and a metric's value in a version.

Plain SQL through the connection's `exec_driver_sql` (the same text on SQLite and PostgreSQL
but for the parameter mark), a fixed number of indexed queries per call.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from modeltrail.core.errors import InvalidMetricError, UsageError, VersionNotFoundError
from modeltrail.core.lifecycle.rules import previous_production, timeline
from modeltrail.core.registry.tool_base import ToolBase
from modeltrail.core.serialize import iso
from modeltrail.core.store.reads import utc
from modeltrail.core.versioning import SemVer

ACTIVITY_CAP = 50
ACTIONS = {
    "register": ("register",),
    "promote": ("promote", "stage", "rollback"),
    "rollback": ("rollback",),
    "retire": ("retire", "retention"),
}


class QuestionTools(ToolBase):
    """A mixin of `RegistryTools`: moments, periods, people, packages, params, rollback."""

    def people(self) -> list[str]:
        """Everyone who registered or changed something (the parser's vocabulary)."""
        rows = self._rows("SELECT DISTINCT actor FROM audit_events")
        return sorted({r[0] for r in rows if r[0]})

    def param_keys(self) -> list[str]:
        return sorted({r[0] for r in self._rows("SELECT DISTINCT key FROM params")})

    def package_names(self) -> list[str]:
        names: set[str] = set()
        for (packages,) in self._rows("SELECT packages FROM environments"):
            names.update(json.loads(packages))
        return sorted(names)

    # -- tools ------------------------------------------------------------------------------

    def stage_at(self, model: str, at: str, stage: str = "production") -> dict[str, Any]:
        """Which version was in `stage` at the moment `at` (ISO 8601), from the stage history,
        with who moved it there, when and why, and what came after."""
        moment = _moment(at)
        state = self.registry.model_state(model)
        periods = timeline(state, stage)
        found = None
        for p in periods:
            if p.since <= moment and (p.until is None or moment < p.until):
                found = p
                break
        following = [p for p in periods if p.since > moment]
        nxt = min(following, key=lambda p: p.since) if following else None
        return {
            "model": model,
            "stage": stage,
            "at": iso(moment),
            "version": found.version if found else None,
            "since": iso(found.since) if found else None,
            "until": iso(found.until) if found and found.until else None,
            "moved_in_by": found.moved_by if found else None,
            "reason_in": found.reason if found else None,
            "next": None if nxt is None else {"version": nxt.version, "since": iso(nxt.since)},
            "first_ever": iso(min(p.since for p in periods)) if periods else None,
        }

    def activity(
        self,
        model: str | None = None,
        since: str | None = None,
        until: str | None = None,
        person: str | None = None,
        action: str = "any",
        limit: int = ACTIVITY_CAP,
    ) -> dict[str, Any]:
        """What happened, newest first: registrations, stage moves, golden, retirements, notes,
        within [since, until) (ISO 8601), of one model and/or by one person."""
        from modeltrail.core.registry.tool_history import describe_event

        if action not in ("any", *ACTIONS):
            raise UsageError(f"unknown action {action!r}", hint="any, " + ", ".join(ACTIONS))
        where, params = ["1 = 1"], []
        if model is not None:
            self._model(model)
            where.append("model = ?")
            params.append(model)
        if person is not None:
            where.append("lower(actor) = ?")
            params.append(person.lower())
        if action != "any":
            where.append("action IN (" + ", ".join("?" for _ in ACTIONS[action]) + ")")
            params.extend(ACTIONS[action])
        else:
            where.append(
                "action IN ('register', 'promote', 'rollback', 'retire', 'retention', "
                "'golden', 'note', 'tag', 'stage', 'monitor')"
            )
        start, end = _moment(since) if since else None, _moment(until) if until else None
        rows = self._rows(
            "SELECT created_at, actor, action, model, version, before, after, reason "
            "FROM audit_events WHERE " + " AND ".join(where) + " ORDER BY seq DESC",
            tuple(params),
        )
        events = []
        for created, actor, act, mod, version, before, after, reason in rows:
            at = dt.datetime.fromisoformat(created)
            if (start and at < start) or (end and at >= end):
                continue
            event = describe_event(created, actor, act, mod, version, before, after, reason)
            if action == "promote" and event.get("to_stage") not in ("production", "staging"):
                continue
            events.append(event)
        counts: dict[str, int] = {}
        for e in events:
            counts[e["action"]] = counts.get(e["action"], 0) + 1
        return {
            "model": model,
            "person": person,
            "action": action,
            "since": iso(start),
            "until": iso(end),
            "total": len(events),
            "counts": counts,
            "events": events[:limit],
        }

    def dirty_versions(self, model: str | None = None) -> dict[str, Any]:
        """Versions trained from a working tree with uncommitted changes."""
        sql = (
            "SELECT m.name, v.version, v.stage, v.created_at, v.actor, v.code_commit, "
            "v.code_dirty_files FROM versions v JOIN models m ON m.id = v.model_id "
            "WHERE v.code_dirty = ?"
        )
        params: tuple[Any, ...] = (True,)
        if model is not None:
            self._model(model)
            sql += " AND m.name = ?"
            params = (True, model)
        rows = sorted(self._rows(sql, params), key=lambda r: (r[0], SemVer.parse(r[1])))
        checked = self._rows(
            "SELECT count(*) FROM versions v JOIN models m ON m.id = v.model_id"
            + (" WHERE m.name = ?" if model else ""),
            (model,) if model else (),
        )[0][0]
        return {
            "model": model,
            "total": len(rows),
            "versions_checked": int(checked),
            "matches": [
                {
                    "model": r[0],
                    "version": r[1],
                    "stage": r[2],
                    "created_at": iso(utc(r[3])),
                    "actor": r[4],
                    "commit": r[5],
                    "dirty_files": json.loads(r[6])[:10] if r[6] else [],
                }
                for r in rows
            ],
        }

    def package_history(
        self, model: str, package: str, version: str = "production"
    ) -> dict[str, Any]:
        """A package's version in `version`, and every version where it changed (oldest
        first), with who registered it and when. `python` means the Python version."""
        wanted = self.resolve(model, version)
        rows = self._rows(
            "SELECT v.version, v.created_at, v.actor, v.stage, e.packages, e.python_version "
            "FROM versions v LEFT JOIN environments e ON e.fingerprint = "
            "v.environment_fingerprint WHERE v.model_id = ?",
            (self._model(model),),
        )
        rows.sort(key=lambda r: SemVer.parse(r[0]))
        key = _package_key(package, rows)
        values: list[tuple[str, Any, Any, str, str | None]] = []
        for ver, created, actor, stage, packages, python in rows:
            if packages is None:
                value = None
            elif key == "python":
                value = python
            else:
                value = json.loads(packages).get(key)
            values.append((ver, created, actor, stage, value))
        if not any(v[4] for v in values):
            raise UsageError(
                f"no version of {model} recorded the package {package!r}",
                hint="it is read from the environment captured at registration",
            )
        changes, last = [], None
        for ver, created, actor, stage, value in values:
            if value is not None and last is not None and value != last[1]:
                changes.append(
                    {
                        "version": ver,
                        "old": last[1],
                        "new": value,
                        "from": last[0],
                        "created_at": iso(utc(created)),
                        "actor": actor,
                        "stage": stage,
                    }
                )
            if value is not None:
                last = (ver, value)
        current = next(v for v in values if v[0] == wanted)
        first = next(v for v in values if v[4] is not None)
        return {
            "model": model,
            "package": key,
            "version": wanted,
            "value": current[4],
            "stage": current[3],
            "first": {"version": first[0], "value": first[4]},
            "changes": changes,
            "last_change": changes[-1] if changes else None,
        }

    def param_history(self, model: str, param: str, version: str | None = None) -> dict[str, Any]:
        """A param's value in every version (oldest first) and each change: in which version,
        registered by whom and when, old → new."""
        model_id = self._model(model)
        rows = self._rows(
            "SELECT v.version, v.created_at, v.actor, v.stage, p.value FROM versions v "
            "LEFT JOIN params p ON p.version_id = v.id AND p.key = ? WHERE v.model_id = ?",
            (param, model_id),
        )
        if not any(r[4] is not None for r in rows):
            keys = [
                r[0]
                for r in self._rows(
                    "SELECT DISTINCT p.key FROM params p JOIN versions v ON v.id = p.version_id "
                    "WHERE v.model_id = ? ORDER BY p.key",
                    (model_id,),
                )
            ]
            raise UsageError(
                f"{model} has no param {param!r}",
                hint="its params: " + (", ".join(keys[:15]) or "none recorded"),
            )
        rows.sort(key=lambda r: SemVer.parse(r[0]))
        changes, last = [], None
        for ver, created, actor, stage, raw in rows:
            value = json.loads(raw) if raw is not None else None
            if last is not None and value != last[1]:
                changes.append(
                    {
                        "version": ver,
                        "from": last[0],
                        "old": last[1],
                        "new": value,
                        "created_at": iso(utc(created)),
                        "actor": actor,
                        "stage": stage,
                    }
                )
            last = (ver, value)
        out: dict[str, Any] = {
            "model": model,
            "param": param,
            "changes": changes,
            "versions": len(rows),
            "latest": {"version": rows[-1][0], "value": last[1] if last else None},
        }
        production = [r for r in rows if r[3] == "production"]
        if production:
            raw = production[0][4]
            out["production"] = {
                "version": production[0][0],
                "value": json.loads(raw) if raw is not None else None,
            }
        if version is not None:
            wanted = self.resolve(model, version)
            raw = next((r[4] for r in rows if r[0] == wanted), None)
            out["asked"] = {"version": wanted, "value": json.loads(raw) if raw else None}
        return out

    def recovery_options(self, model: str) -> dict[str, Any]:
        """What a rollback would bring back (the previous production) and the golden version,
        each with its metrics, against the production version now."""
        state = self.registry.model_state(model)
        production = state.production
        target = previous_production(state, exclude=production) if production else None
        wanted = [v for v in (production, target, state.golden) if v]
        metrics: dict[str, dict[str, float]] = {v: {} for v in wanted}
        if wanted:
            model_id = self._model(model)
            rows = self._rows(
                "SELECT v.version, m.name, m.value FROM metrics m JOIN versions v ON "
                "v.id = m.version_id WHERE v.model_id = ? AND v.version IN ("
                + ", ".join("?" for _ in wanted)
                + ")",
                (model_id, *wanted),
            )
            for ver, name, value in rows:
                metrics[ver][name] = value

        def entry(version: str | None) -> dict[str, Any] | None:
            if version is None:
                return None
            return {
                "version": version,
                "stage": state.stage_of(version),
                "metrics": dict(sorted(metrics.get(version, {}).items())),
            }

        return {
            "model": model,
            "production": entry(production),
            "rollback_target": entry(target),
            "golden": entry(state.golden),
        }

    def metric_value(self, model: str, metric: str, version: str = "production") -> dict[str, Any]:
        """A metric's value in one version, with the same metric in production and golden."""
        wanted = self.resolve(model, version)
        model_id = self._model(model)
        rows = self._rows(
            "SELECT v.version, v.stage, m.value, m.step FROM metrics m JOIN versions v ON "
            "v.id = m.version_id WHERE v.model_id = ? AND m.name = ?",
            (model_id, metric),
        )
        if not rows:
            names = [
                r[0]
                for r in self._rows(
                    "SELECT DISTINCT m.name FROM metrics m JOIN versions v ON v.id = m.version_id "
                    "WHERE v.model_id = ? ORDER BY m.name",
                    (model_id,),
                )
            ]
            raise InvalidMetricError(
                f"{model} has no metric {metric!r}",
                hint="its metrics: " + (", ".join(names) or "none recorded"),
            )
        by_version = {r[0]: r for r in rows}
        exists = self._rows(
            "SELECT 1 FROM versions WHERE model_id = ? AND version = ?", (model_id, wanted)
        )
        if not exists:
            raise VersionNotFoundError(model, wanted)
        golden = self._rows(
            "SELECT v.version FROM models m JOIN versions v ON v.id = m.golden_version_id "
            "WHERE m.id = ?",
            (model_id,),
        )
        production = next((r for r in rows if r[1] == "production"), None)
        g = by_version.get(golden[0][0]) if golden else None
        row = by_version.get(wanted)
        return {
            "model": model,
            "metric": metric,
            "version": wanted,
            "value": row[2] if row else None,
            "stage": row[1] if row else None,
            "production": None
            if production is None
            else {"version": production[0], "value": production[2]},
            "golden": None if g is None else {"version": g[0], "value": g[2]},
        }


def _moment(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{text!r} is not an ISO 8601 time", hint="e.g. 2026-12-01T07:02:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _package_key(package: str, rows: list[tuple[Any, ...]]) -> str:
    """The distribution name as recorded ("sklearn" and "Scikit_Learn" find scikit-learn)."""
    if package.lower() == "python":
        return "python"
    norm = package.lower().replace("_", "-")
    aliases = {"sklearn": "scikit-learn", "pytorch": "torch", "tf": "tensorflow"}
    norm = aliases.get(norm, norm)
    for row in rows:
        if row[4]:
            for name in json.loads(row[4]):
                if name.lower().replace("_", "-") == norm:
                    return str(name)
    return norm
