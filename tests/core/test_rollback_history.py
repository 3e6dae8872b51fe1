"""Rolling back twice walks back through production history; it never bounces."""

from __future__ import annotations

import pytest

from modeltrail.core.lifecycle.rules import GateRules, LifecycleError
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry


def seed(registry: Registry, count: int) -> None:
    for i in range(count):
        registry.register(
            VersionDraft("m", metric_points={"auc": [(0, 0.8 + i / 100, 0.0)]}), actor="ana"
        )
    registry.set_gate_rules(
        "m", GateRules(allow_kinds=("missing_lineage", "metric_regression")), actor="ana"
    )


def test_two_rollbacks_go_back_twice(registry: Registry) -> None:
    seed(registry, 3)
    for version in ("1.0.0", "1.0.1", "1.0.2"):
        registry.promote("m", version, actor="ana")
    registry.rollback("m", actor="ben", reason="1.0.2 misbehaves")
    assert registry.stage_version("m", "production") == "1.0.1"
    registry.rollback("m", actor="ben", reason="1.0.1 too")
    assert registry.stage_version("m", "production") == "1.0.0"
    with pytest.raises(LifecycleError, match="no earlier production version"):
        registry.rollback("m", actor="ben", reason="nothing left")
    actions = [c.action for c in registry.model_state("m").changes]
    assert actions[-4:] == ["rollback"] * 4


def test_rollback_skips_a_retired_version(registry: Registry) -> None:
    seed(registry, 3)
    for version in ("1.0.0", "1.0.1", "1.0.2"):
        registry.promote("m", version, actor="ana")
    registry.retire("m", "1.0.1", actor="ana", reason="fairness issue on segment X")
    registry.rollback("m", actor="ben", reason="1.0.2 misbehaves")
    assert registry.stage_version("m", "production") == "1.0.0"
