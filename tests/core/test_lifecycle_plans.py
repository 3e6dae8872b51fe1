"""The lifecycle rules as pure plans: stage moves, rollback, retire, retention, `--at`,
timelines and gate decisions. No database, no clock: states are built by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from modeltrail.core.diff.types import Finding
from modeltrail.core.errors import UsageError
from modeltrail.core.lifecycle.rules import (
    GateRules,
    LifecycleError,
    ModelState,
    Move,
    StageChange,
    VersionState,
    judge_promotion,
    plan_retention,
    plan_retire,
    plan_rollback,
    plan_stage,
    production_at,
    timeline,
)

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def state(
    stages: dict[str, str],
    *,
    golden: str | None = None,
    changes: tuple[StageChange, ...] = (),
) -> ModelState:
    return ModelState(
        "fraud", tuple(VersionState(v, s) for v, s in stages.items()), golden, changes
    )


def change(version: str, frm: str, to: str, hours: float, reason: str | None = None) -> StageChange:
    return StageChange(version, frm, to, at(hours), "ada", reason)


# A model promoted 1.0.0 → 1.1.0 → 1.2.0 (each superseding the previous).
PROMOTED = (
    change("1.0.0", "none", "production", 0),
    change("1.0.0", "production", "archived", 10, "superseded by 1.1.0"),
    change("1.1.0", "none", "production", 10, "better recall"),
    change("1.1.0", "production", "archived", 20, "superseded by 1.2.0"),
    change("1.2.0", "staging", "production", 20, "weekly"),
)
PROMOTED_STAGES = {"1.0.0": "archived", "1.1.0": "archived", "1.2.0": "production"}


# -- promote / stage ------------------------------------------------------------------------


def test_first_promotion_to_production_is_one_move() -> None:
    plan = plan_stage(state({"1.0.0": "none"}), "1.0.0", "production", "first")
    assert plan.action == "promote"
    assert plan.moves == (Move("1.0.0", "none", "production", "first"),)


def test_promotion_archives_the_previous_production_first() -> None:
    s = state({"1.0.0": "production", "1.1.0": "staging"})
    plan = plan_stage(s, "1.1.0", "production", None)
    assert plan.moves == (
        Move("1.0.0", "production", "archived", "superseded by 1.1.0"),
        Move("1.1.0", "staging", "production", None),
    )


def test_staging_does_not_touch_production() -> None:
    s = state({"1.0.0": "production", "1.1.0": "none"})
    plan = plan_stage(s, "1.1.0", "staging", "try it")
    assert plan.action == "stage"
    assert plan.moves == (Move("1.1.0", "none", "staging", "try it"),)


def test_an_archived_version_may_be_promoted_again() -> None:
    s = state({"1.0.0": "archived", "1.1.0": "production"})
    plan = plan_stage(s, "1.0.0", "production", "back")
    assert [(m.version, m.to_stage) for m in plan.moves] == [
        ("1.1.0", "archived"),
        ("1.0.0", "production"),
    ]
    assert plan_stage(s, "1.0.0", "staging", None).moves[0].from_stage == "archived"


@pytest.mark.parametrize("stage", ["archived", "none", "golden"])
def test_promotion_only_to_staging_or_production(stage: str) -> None:
    with pytest.raises(UsageError, match="cannot promote"):
        plan_stage(state({"1.0.0": "none"}), "1.0.0", stage, None)


def test_promoting_to_the_current_stage_is_refused() -> None:
    with pytest.raises(LifecycleError, match="already in production"):
        plan_stage(state({"1.0.0": "production"}), "1.0.0", "production", None)


def test_unknown_version_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"fraud has no version 9\.9\.9"):
        plan_stage(state({"1.0.0": "none"}), "9.9.9", "production", None)


# -- rollback -------------------------------------------------------------------------------


def test_rollback_brings_back_the_most_recent_earlier_production() -> None:
    plan = plan_rollback(state(PROMOTED_STAGES, changes=PROMOTED), "latency spike")
    assert plan.action == "rollback"
    assert plan.moves == (
        Move("1.2.0", "production", "archived", "latency spike"),
        Move("1.1.0", "archived", "production", "rollback from 1.2.0: latency spike"),
    )


def test_rollback_without_an_earlier_production_fails_clearly() -> None:
    s = state(
        {"1.0.0": "production", "1.1.0": "none"},
        changes=(change("1.0.0", "none", "production", 0),),
    )
    with pytest.raises(LifecycleError, match="no earlier production version") as info:
        plan_rollback(s, "bad")
    assert info.value.hint and "modeltrail promote fraud" in info.value.hint


def test_rollback_without_production_fails_clearly() -> None:
    with pytest.raises(LifecycleError, match="no production version to roll back"):
        plan_rollback(state({"1.0.0": "archived"}), "bad")


@pytest.mark.parametrize("reason", ["", "   "])
def test_rollback_needs_a_reason(reason: str) -> None:
    with pytest.raises(UsageError, match="needs a reason"):
        plan_rollback(state(PROMOTED_STAGES, changes=PROMOTED), reason)


# -- retire ---------------------------------------------------------------------------------


def test_retire_archives_with_the_reason() -> None:
    plan = plan_retire(state({"1.0.0": "staging"}), "1.0.0", "fairness issue")
    assert plan.action == "retire"
    assert plan.moves == (Move("1.0.0", "staging", "archived", "fairness issue"),)
    assert plan.notes == ()


def test_retiring_production_leaves_a_note() -> None:
    plan = plan_retire(state({"1.0.0": "production"}), "1.0.0", "leak")
    assert plan.notes and "no production version" in plan.notes[0]


def test_retire_needs_a_reason_and_a_live_version() -> None:
    with pytest.raises(UsageError, match="needs a reason"):
        plan_retire(state({"1.0.0": "none"}), "1.0.0", " ")
    # An archived (superseded) version can still be retired: the judgement is recorded.
    plan = plan_retire(state({"1.0.0": "archived"}), "1.0.0", "leaks labels")
    assert plan.moves == (Move("1.0.0", "archived", "archived", "leaks labels"),)
    assert plan.notes


# -- retention ------------------------------------------------------------------------------


def test_retention_archives_versions_more_than_keep_behind_production() -> None:
    stages = {f"1.0.{i}": "none" for i in range(8)}
    stages["1.0.6"] = "production"
    stages["1.0.7"] = "staging"  # newer than production: never touched
    plan = plan_retention(state(stages), keep=3)
    reason = "retention: 3+ iterations behind production 1.0.6"
    assert plan.action == "retention"
    assert plan.moves == tuple(
        Move(v, "none", "archived", reason) for v in ("1.0.2", "1.0.1", "1.0.0")
    )


def test_retention_never_archives_staging_golden_or_archived_versions() -> None:
    stages = {f"1.0.{i}": "none" for i in range(7)}
    stages |= {"1.0.6": "production", "1.0.0": "staging", "1.0.1": "archived"}
    plan = plan_retention(state(stages, golden="1.0.2"), keep=2)
    assert [m.version for m in plan.moves] == ["1.0.3"]
    assert plan.moves[0].reason == "retention: 2+ iterations behind production 1.0.6"


def test_retention_counts_iterations_in_semantic_order() -> None:
    stages = {"1.9.0": "none", "1.10.0": "none", "2.0.0": "production", "1.2.0": "none"}
    plan = plan_retention(state(stages), keep=1)
    assert [m.version for m in plan.moves] == ["1.9.0", "1.2.0"]  # 1.10.0 is the nearest


def test_retention_keep_zero_and_nothing_to_do() -> None:
    stages = {"1.0.0": "none", "1.0.1": "production"}
    assert [m.version for m in plan_retention(state(stages), keep=0).moves] == ["1.0.0"]
    assert plan_retention(state(stages), keep=1).is_empty
    with pytest.raises(UsageError, match="--keep"):
        plan_retention(state(stages), keep=-1)


def test_retention_without_production_is_an_empty_plan_with_a_note() -> None:
    plan = plan_retention(state({"1.0.0": "none", "1.0.1": "none"}), keep=0)
    assert plan.is_empty
    assert plan.notes == ("fraud has no production version",)


# -- history: --at and the timeline -----------------------------------------------------------


def test_production_at_answers_for_any_moment() -> None:
    s = state(PROMOTED_STAGES, changes=PROMOTED)
    assert production_at(s, at(-1)) is None
    assert production_at(s, at(0)) == "1.0.0"
    assert production_at(s, at(9.99)) == "1.0.0"
    assert production_at(s, at(10)) == "1.1.0"  # the supersede happens in one instant
    assert production_at(s, at(15)) == "1.1.0"
    assert production_at(s, at(500)) == "1.2.0"


def test_production_at_after_a_retirement_is_none() -> None:
    changes = (
        change("1.0.0", "none", "production", 0),
        change("1.0.0", "production", "archived", 5, "leak"),
    )
    s = state({"1.0.0": "archived"}, changes=changes)
    assert production_at(s, at(4)) == "1.0.0"
    assert production_at(s, at(6)) is None


def test_timeline_is_newest_first_with_who_and_why() -> None:
    periods = timeline(state(PROMOTED_STAGES, changes=PROMOTED))
    assert [(p.version, p.since, p.until) for p in periods] == [
        ("1.2.0", at(20), None),
        ("1.1.0", at(10), at(20)),
        ("1.0.0", at(0), at(10)),
    ]
    middle = periods[1]
    assert (middle.moved_by, middle.reason) == ("ada", "better recall")
    assert (middle.left_by, middle.left_reason) == ("ada", "superseded by 1.2.0")


def test_timeline_of_other_stages() -> None:
    assert [p.version for p in timeline(state(PROMOTED_STAGES, changes=PROMOTED), "archived")] == [
        "1.1.0",
        "1.0.0",
    ]
    assert timeline(state({}), "staging") == []


# -- gates --------------------------------------------------------------------------------------

REGRESSION = Finding("metric_regression", "critical", "auc fell 0.9 → 0.8")
LINEAGE = Finding("missing_lineage", "critical", "1.1.0 cannot be reproduced: no git commit")
DIRTY = Finding("dirty_code", "warning", "trained from uncommitted changes")


def test_default_rules_block_critical_findings_only() -> None:
    rules = GateRules()
    assert rules.blocks(REGRESSION) and rules.blocks(LINEAGE)
    assert not rules.blocks(DIRTY)


def test_rules_are_configurable_and_round_trip() -> None:
    rules = GateRules(block_kinds=("dirty_code",), allow_kinds=("missing_lineage",))
    assert rules.blocks(DIRTY) and rules.blocks(REGRESSION)
    assert not rules.blocks(LINEAGE)
    assert GateRules.from_dict(rules.to_dict()) == rules
    assert GateRules.from_dict(None) == GateRules() == GateRules.from_dict({})
    lenient = GateRules(block_severities=())
    assert not any(lenient.blocks(f) for f in (REGRESSION, LINEAGE, DIRTY))


class _Diff:
    """The two fields of a VersionDiff the gate reads."""

    def __init__(self, old: str, new: str, findings: tuple[Finding, ...]) -> None:
        self.old_version, self.new_version, self.findings = old, new, findings


def test_judge_splits_blocking_from_other_findings() -> None:
    decision = judge_promotion("1.1.0", _Diff("1.0.0", "1.1.0", (REGRESSION, DIRTY)), GateRules())  # type: ignore[arg-type]
    assert not decision.allowed
    assert decision.baseline == "1.0.0"
    assert decision.blocking == (REGRESSION,)
    assert decision.other_findings == (DIRTY,)


def test_judge_against_itself_has_no_baseline_and_dedupes() -> None:
    diff = _Diff("1.1.0", "1.1.0", (LINEAGE, LINEAGE, DIRTY))
    decision = judge_promotion("1.1.0", diff, GateRules())  # type: ignore[arg-type]
    assert decision.baseline is None
    assert decision.blocking == (LINEAGE,)
    assert judge_promotion("1.1.0", None, GateRules()).allowed
