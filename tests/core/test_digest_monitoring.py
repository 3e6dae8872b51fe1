"""Monitoring alerts of the period appear in the weekly digest."""

from __future__ import annotations

import datetime as dt

from modeltrail.bot.digest_jobs import render_digest
from modeltrail.core.digest.period import load_digest
from modeltrail.core.digest.schedule import trailing_window, zone
from modeltrail.core.lifecycle.rules import GateRules
from modeltrail.core.monitoring.observe import report_metrics
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry


def test_a_decay_alert_is_a_digest_section(registry: Registry) -> None:
    registry.register(
        VersionDraft("fraud", metric_points={"accuracy": [(0, 0.93, 0.0)]}), actor="ana"
    )
    registry.set_gate_rules("fraud", GateRules(allow_kinds=("missing_lineage",)), actor="ana")
    registry.promote("fraud", "1.0.0", actor="ana")
    report_metrics(registry, "fraud", {"accuracy": 0.71})  # far below offline: decay
    now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    digest = load_digest(registry, trailing_window(now, 7, zone("UTC")), now=now)
    (model,) = digest.models
    assert [a.condition for a in model.alerts] == ["decay:accuracy"]
    assert not model.quiet
    rendered = render_digest(digest, charts=False)
    assert "Production monitoring" in rendered.text
    assert "decay:accuracy" in rendered.text and "decay:accuracy" in rendered.html
