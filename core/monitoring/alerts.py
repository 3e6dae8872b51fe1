"""Writing an observation and the alert state it moves, in one transaction.

Each observation is written with its audit event ("monitor") and, when a condition is new (it
was clear before) or worse than when it last alerted, one outbox event `monitoring.alert`
naming every such condition. A condition that stays as it is alerts once; one that clears (an
observation below threshold) and comes back alerts again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select, update

from modeltrail.core.lifecycle.outbox import enqueue
from modeltrail.core.monitoring.drift import Condition, worsened
from modeltrail.core.serialize import iso
from modeltrail.core.store import schema
from modeltrail.core.versioning import SemVer

if TYPE_CHECKING:
    from modeltrail.core.registry.writer import Registry

ALERT_TOPIC = "monitoring.alert"


@dataclass(frozen=True)
class Alert:
    """A condition this observation alerted on: new, or worse than when it last alerted."""

    condition: str  # drift:COLUMN | skew:COLUMN | decay:METRIC
    level: str
    magnitude: float
    since: dt.datetime
    reason: str  # new | worse
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        kind, _, subject = self.condition.partition(":")
        return {
            "condition": self.condition,
            "kind": kind,
            "subject": subject,
            "level": self.level,
            "magnitude": self.magnitude,
            "since": iso(self.since),
            "reason": self.reason,
            "detail": dict(self.detail),
        }


def record_observation(
    registry: Registry,
    model: str,
    version: str,
    *,
    kind: str,
    moment: dt.datetime,
    status: str,
    rows: int | None,
    payload: Mapping[str, Any],
    conditions: Sequence[Condition],
    actor: str,
    tolerances: Mapping[str, float],
    factor: float,
) -> tuple[Alert, ...]:
    """Write the observation, move the alert state, audit it, and enqueue an alert event
    when a condition is new or worse; all in one transaction."""
    now = registry._clock()
    a = schema.monitor_alerts
    with registry._write() as conn:
        model_id = registry._model_id(conn, model, lock=True)
        version_id = registry._version_id(conn, model_id, SemVer.parse(version))
        assert version_id is not None  # resolved above; versions are never deleted
        conn.execute(
            insert(schema.monitor_observations),
            {
                "version_id": version_id,
                "kind": kind,
                "observed_at": moment,
                "recorded_at": now,
                "actor": actor,
                "status": status,
                "rows": rows,
                "payload": json.dumps(payload, sort_keys=True, default=str),
            },
        )
        states = {
            r.condition: r
            for r in conn.execute(select(a).where(a.c.version_id == version_id)).all()
        }
        alerts: list[Alert] = []
        for cond in conditions:
            state = states.get(cond.key)
            alert = _transition(conn, version_id, cond, state, moment, now, tolerances, factor)
            if alert is not None:
                alerts.append(alert)
        seq = registry._append_audit(
            conn,
            now=now,
            actor=actor,
            action="monitor",
            model=model,
            version=version,
            before=None,
            after={
                "kind": kind,
                "observed_at": iso(moment),
                "status": status,
                "rows": rows,
                "alerts": [a.condition for a in alerts],
                # what the weekly digest shows of each alert
                "alert_details": [
                    {"condition": a.condition, "level": a.level, "magnitude": a.magnitude}
                    for a in alerts
                ],
            },
            reason=None,
        )
        if alerts:
            enqueue(
                conn,
                topic=ALERT_TOPIC,
                model=model,
                version=version,
                payload=_alert_payload(
                    registry, conn, model, model_id, version, kind, moment, alerts
                ),
                key=f"audit:{seq}",
                now=now,
            )
    return tuple(alerts)


def _transition(
    conn: Connection,
    version_id: int,
    cond: Condition,
    state: Any,
    moment: dt.datetime,
    now: dt.datetime,
    tolerances: Mapping[str, float],
    factor: float,
) -> Alert | None:
    a = schema.monitor_alerts
    detail = json.dumps(dict(cond.detail), sort_keys=True, default=str)
    where = (a.c.version_id == version_id) & (a.c.condition == cond.key)
    if state is None or not state.active:
        if not cond.active:
            if state is not None:
                conn.execute(
                    update(a)
                    .where(where)
                    .values(level=cond.level, magnitude=cond.magnitude, updated_at=now)
                )
            return None
        values = {
            "active": True,
            "level": cond.level,
            "magnitude": cond.magnitude,
            "since": moment,
            "alerted_level": cond.level,
            "alerted_magnitude": cond.magnitude,
            "alerted_at": now,
            "updated_at": now,
            "detail": detail,
        }
        if state is None:
            conn.execute(insert(a), {"version_id": version_id, "condition": cond.key, **values})
        else:
            conn.execute(update(a).where(where).values(**values))
        return Alert(cond.key, cond.level, cond.magnitude, moment, "new", cond.detail)
    if not cond.active:  # cleared: the next time it comes back, it alerts again
        conn.execute(
            update(a)
            .where(where)
            .values(
                active=False,
                level=cond.level,
                magnitude=cond.magnitude,
                since=None,
                updated_at=now,
                detail=detail,
            )
        )
        return None
    worse = worsened(
        state.alerted_level or cond.level,
        state.alerted_magnitude or 0.0,
        cond,
        factor=factor,
        tolerance=tolerances.get(cond.key, 0.0),
    )
    values = {
        "level": cond.level,
        "magnitude": cond.magnitude,
        "updated_at": now,
        "detail": detail,
    }
    if worse:
        values.update(alerted_level=cond.level, alerted_magnitude=cond.magnitude, alerted_at=now)
    conn.execute(update(a).where(where).values(**values))
    if not worse:
        return None
    return Alert(cond.key, cond.level, cond.magnitude, state.since or moment, "worse", cond.detail)


def _alert_payload(
    registry: Registry,
    conn: Connection,
    model: str,
    model_id: int,
    version: str,
    kind: str,
    moment: dt.datetime,
    alerts: Sequence[Alert],
) -> dict[str, Any]:
    """What the Slack post and the digest need: the version, what alerted, and where to go
    back to (the previous production version, the golden one)."""
    from modeltrail.core.lifecycle.rules import previous_production

    state = registry._state(conn, model, model_id)
    production = state.production
    return {
        "model": model,
        "version": version,
        "kind": kind,
        "observed_at": iso(moment),
        "production": production,
        "rollback_target": previous_production(state, exclude=production) if production else None,
        "golden": state.golden,
        "alerts": [a.to_dict() for a in alerts],
    }


__all__ = ["ALERT_TOPIC", "Alert", "record_observation"]
