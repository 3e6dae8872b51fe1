"""Governance writes through the registry, on SQLite and PostgreSQL: every stage move, each
gate decision, golden, tags, notes, settings, history by an injected clock, and the audit
event and outbox row each change writes in its own transaction (or, refused, does not)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from modeltrail.core.capture.environment import environment_from_parts
from modeltrail.core.errors import UsageError, VersionNotFoundError
from modeltrail.core.lifecycle.outbox import Outbox, OutboxEvent
from modeltrail.core.lifecycle.rules import GateRules, LifecycleError, production_at, timeline
from modeltrail.core.records import CodeState, DataSnapshot, VersionDraft
from modeltrail.core.refs import EmptyStageError
from modeltrail.core.registry.governance import PromotionBlocked
from modeltrail.core.registry.writer import Registry
from modeltrail.core.store import schema

ACTOR = "Ada <ada@example.com>"
T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
ENV = environment_from_parts(python_version="3.11.9", packages={"numpy": "2.1.0"})


class Clock:
    """An injectable clock: `registry` writes at `clock.now`, tests move it by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reg(db_url: str, clock: Clock) -> Iterator[Registry]:
    with Registry.open(db_url, clock=clock) as registry:
        yield registry


def complete(
    model: str = "fraud",
    auc: float = 0.90,
    *,
    version: str | None = None,
    lineage: bool = True,
    dirty: bool = False,
) -> VersionDraft:
    """A draft whose lineage is whole (data digest, commit, environment) unless told not."""
    digest = hashlib.sha256(b"x,y\n1,0\n").hexdigest()
    data = (DataSnapshot("train", "data/train.csv", "file", digest, 8, 1),)
    code = CodeState(
        "/src/fraud", "c0ffee" * 6 + "abcd", "main", None, dirty, ("train.py",) if dirty else ()
    )
    return VersionDraft(
        model=model,
        version=version,
        params={"lr": 0.01},
        metric_points={"auc": [(0, auc, 1_790_000_000.0)]},
        data=data if lineage else (),
        code=code if lineage else None,
        environment=ENV if lineage else None,
    )


def add(reg: Registry, auc: float = 0.90, **kwargs: Any) -> str:
    return reg.register(complete(auc=auc, **kwargs), actor=ACTOR).version


def stages(reg: Registry, model: str = "fraud") -> dict[str, str]:
    return {v.version: v.stage for v in reg.model_state(model).versions}


def outbox_rows(reg: Registry) -> list[OutboxEvent]:
    return list(reversed(Outbox(reg.engine).events(limit=1000)))  # oldest first


def counts(reg: Registry) -> tuple[int, int, int]:
    """(audit events, outbox rows, stage changes)."""
    with reg.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (schema.audit_events, schema.outbox, schema.stage_changes)
        )


# -- promote ------------------------------------------------------------------------------------


def test_first_promotion_writes_stage_audit_and_outbox_together(reg: Registry) -> None:
    add(reg)
    before = counts(reg)
    result = reg.promote("fraud", "1.0.0", actor=ACTOR, reason="first release")
    assert result.decision is not None and result.decision.allowed
    assert result.decision.baseline is None and not result.forced
    assert stages(reg) == {"1.0.0": "production"}
    assert counts(reg) == (before[0] + 1, before[1] + 1, before[2] + 1)

    event = reg.audit_log("fraud", limit=1)[0]
    assert (event.action, event.version, event.actor, event.reason) == (
        "promote",
        "1.0.0",
        ACTOR,
        "first release",
    )
    assert (event.before, event.after) == ({"stage": "none"}, {"stage": "production"})
    assert event.created_at == T0

    row = outbox_rows(reg)[-1]
    assert (row.topic, row.model, row.version) == ("version.promoted", "fraud", "1.0.0")
    assert row.idempotency_key == f"audit:{event.seq}"
    assert row.payload["actor"] == ACTOR and row.payload["previous_production"] is None
    assert reg.verify_audit().ok


def test_promotion_supersedes_the_previous_production(reg: Registry) -> None:
    add(reg)
    add(reg, 0.92)
    reg.promote("fraud", "1.0.0", actor=ACTOR)
    reg.promote("fraud", "v1.0.1", actor="bob", reason="better")
    assert stages(reg) == {"1.0.0": "archived", "1.0.1": "production"}
    newest_two = reg.audit_log("fraud", limit=2)
    assert [(e.version, e.after, e.reason, e.actor) for e in reversed(newest_two)] == [
        ("1.0.0", {"stage": "archived"}, "superseded by 1.0.1", "bob"),
        ("1.0.1", {"stage": "production"}, "better", "bob"),
    ]
    row = outbox_rows(reg)[-1]
    assert row.topic == "version.promoted"
    assert row.payload["previous_production"] == "1.0.0"
    assert row.payload["moves"] == [
        {
            "version": "1.0.0",
            "from": "production",
            "to": "archived",
            "reason": "superseded by 1.0.1",
        },
        {"version": "1.0.1", "from": "none", "to": "production", "reason": "better"},
    ]
    assert reg.resolve_version("fraud", "production") == "1.0.1"


def test_staging_skips_the_gate_and_enqueues_nothing_nobody_consumes(reg: Registry) -> None:
    add(reg, lineage=False)  # would be blocked on the way to production
    before = [e.topic for e in outbox_rows(reg)]
    result = reg.promote("fraud", "1.0.0", to="staging", actor=ACTOR)
    assert result.decision is None
    assert stages(reg) == {"1.0.0": "staging"}
    assert [e.topic for e in outbox_rows(reg)] == before  # issue 13, item 25
    assert reg.resolve_version("fraud", "staging") == "1.0.0"


def test_promoting_twice_or_an_unknown_version_is_refused(reg: Registry) -> None:
    add(reg)
    reg.promote("fraud", "1.0.0", actor=ACTOR)
    before = counts(reg)
    with pytest.raises(LifecycleError, match="already in production"):
        reg.promote("fraud", "1.0.0", actor=ACTOR)
    with pytest.raises(UsageError, match=r"no version 3\.0\.0"):
        reg.promote("fraud", "3.0.0", actor=ACTOR)
    assert counts(reg) == before


# -- gate decisions -------------------------------------------------------------------------------


def test_metric_regression_blocks_and_writes_nothing(reg: Registry) -> None:
    add(reg, 0.90)
    add(reg, 0.85)
    reg.promote("fraud", "1.0.0", actor=ACTOR)
    before = counts(reg)
    with pytest.raises(PromotionBlocked) as info:
        reg.promote("fraud", "1.0.1", actor=ACTOR, reason="try")
    decision = info.value.decision
    assert decision.baseline == "1.0.0" and not decision.allowed
    assert [f.kind for f in decision.blocking] == ["metric_regression"]
    assert "auc" in decision.blocking[0].message
    assert "blocked against production 1.0.0" in info.value.message
    assert stages(reg) == {"1.0.0": "production", "1.0.1": "none"}
    assert counts(reg) == before  # no audit event, no outbox row, no stage change


def test_missing_lineage_blocks_even_the_first_promotion(reg: Registry) -> None:
    add(reg, lineage=False)
    with pytest.raises(PromotionBlocked) as info:
        reg.promote("fraud", "1.0.0", actor=ACTOR)
    decision = info.value.decision
    assert decision.baseline is None
    assert [f.kind for f in decision.blocking] == ["missing_lineage"]
    assert "no git commit" in decision.blocking[0].message
    assert stages(reg) == {"1.0.0": "none"}


def test_an_improvement_passes_with_its_other_findings(reg: Registry) -> None:
    add(reg, 0.90)
    add(reg, 0.95, dirty=True)
    reg.promote("fraud", "1.0.0", actor=ACTOR)
    result = reg.promote("fraud", "1.0.1", actor=ACTOR)
    assert result.decision is not None and result.decision.allowed
    assert "dirty_code" in [f.kind for f in result.decision.other_findings]


def test_force_needs_a_reason_and_is_recorded(reg: Registry) -> None:
    add(reg, 0.90)
    add(reg, 0.80)
    reg.promote("fraud", "1.0.0", actor=ACTOR)
    before = counts(reg)
    for reason in (None, "  "):
        with pytest.raises(UsageError, match="--force needs --reason"):
            reg.promote("fraud", "1.0.1", actor=ACTOR, force=True, reason=reason)
    assert counts(reg) == before

    result = reg.promote("fraud", "1.0.1", actor=ACTOR, force=True, reason="hotfix for outage")
    assert result.forced
    assert stages(reg) == {"1.0.0": "archived", "1.0.1": "production"}
    event = reg.audit_log("fraud", limit=1)[0]
    assert event.reason == "hotfix for outage"
    assert event.after is not None and event.after["forced"] is True
    assert [o["kind"] for o in event.after["overridden"]] == ["metric_regression"]
    row = outbox_rows(reg)[-1]
    assert row.payload["forced"] is True
    assert row.payload["overridden"][0]["kind"] == "metric_regression"


def test_force_on_an_open_gate_is_not_recorded_as_an_override(reg: Registry) -> None:
    add(reg)
    result = reg.promote("fraud", "1.0.0", actor=ACTOR, force=True, reason="belt and braces")
    assert not result.forced
    assert "forced" not in (reg.audit_log("fraud", limit=1)[0].after or {})


def test_gate_rules_are_per_model_and_audited(reg: Registry) -> None:
    for model in ("fraud", "churn"):
        reg.register(complete(model, 0.90), actor=ACTOR)
        reg.register(complete(model, 0.85), actor=ACTOR)
        reg.promote(model, "1.0.0", actor=ACTOR)
    assert reg.gate_rules("fraud") == GateRules()
    rules = GateRules(allow_kinds=("metric_regression",))
    reg.set_gate_rules("fraud", rules, actor=ACTOR, reason="recall matters more")
    assert reg.gate_rules("fraud") == rules
    assert reg.gate_rules("churn") == GateRules()
    event = reg.audit_log("fraud", limit=1)[0]
    assert (event.action, event.before, event.reason) == ("setting", None, "recall matters more")
    assert event.after == {"gate": rules.to_dict()}

    assert reg.promote("fraud", "1.0.1", actor=ACTOR).decision.allowed  # type: ignore[union-attr]
    with pytest.raises(PromotionBlocked):
        reg.promote("churn", "1.0.1", actor=ACTOR)

    reg.set_gate_rules("fraud", GateRules(), actor=ACTOR)
    assert reg.audit_log("fraud", limit=1)[0].before == {"gate": rules.to_dict()}


def test_a_warning_kind_can_be_made_to_block(reg: Registry) -> None:
    add(reg, 0.90)
    add(reg, 0.91, dirty=True)
    reg.promote("fraud", "1.0.0", actor=ACTOR)
    reg.set_gate_rules("fraud", GateRules(block_kinds=("dirty_code",)), actor=ACTOR)
    with pytest.raises(PromotionBlocked) as info:
        reg.promote("fraud", "1.0.1", actor=ACTOR)
    assert [f.kind for f in info.value.decision.blocking] == ["dirty_code"]


def test_a_drop_within_the_metric_tolerance_passes(reg: Registry) -> None:
    add(reg, 0.900)
    add(reg, 0.895)
    reg.promote("fraud", "1.0.0", actor=ACTOR)
    reg.set_metric_goal("fraud", "auc", "maximize", 0.01, actor=ACTOR)
    assert reg.promote("fraud", "1.0.1", actor=ACTOR).decision.allowed  # type: ignore[union-attr]


# -- rollback, retire, retention, golden -----------------------------------------------------------


def promoted_three(reg: Registry, clock: Clock) -> None:
    """1.0.0, 1.0.1, 1.0.2 promoted in turn, a day apart (T0, T0+1d, T0+2d)."""
    for i, auc in enumerate((0.90, 0.91, 0.92)):
        add(reg, auc)
        reg.promote("fraud", f"1.0.{i}", actor=ACTOR, reason=f"release {i}")
        clock.advance(days=1)


def test_rollback_restores_the_previous_production(reg: Registry, clock: Clock) -> None:
    promoted_three(reg, clock)
    before = counts(reg)
    result = reg.rollback("fraud", actor="oncall", reason="latency spike")
    assert [(m.version, m.to_stage) for m in result.plan.moves] == [
        ("1.0.2", "archived"),
        ("1.0.1", "production"),
    ]
    assert stages(reg) == {"1.0.0": "archived", "1.0.1": "production", "1.0.2": "archived"}
    assert counts(reg) == (before[0] + 2, before[1] + 1, before[2] + 2)
    archived, restored = reversed(reg.audit_log("fraud", limit=2))
    assert (archived.action, archived.version, archived.reason) == (
        "rollback",
        "1.0.2",
        "latency spike",
    )
    assert restored.reason == "rollback from 1.0.2: latency spike"
    row = outbox_rows(reg)[-1]
    assert (row.topic, row.version, row.payload["actor"]) == (
        "version.rolled_back",
        "1.0.1",
        "oncall",
    )


def test_rollback_without_an_earlier_production_fails_and_writes_nothing(reg: Registry) -> None:
    add(reg)
    add(reg)
    with pytest.raises(LifecycleError, match="no production version"):
        reg.rollback("fraud", actor=ACTOR, reason="x")
    reg.promote("fraud", "1.0.1", actor=ACTOR)
    before = counts(reg)
    with pytest.raises(LifecycleError, match="no earlier production version"):
        reg.rollback("fraud", actor=ACTOR, reason="x")
    assert counts(reg) == before
    assert stages(reg)["1.0.1"] == "production"


def test_retire_archives_with_the_reason(reg: Registry) -> None:
    add(reg)
    add(reg)
    reg.promote("fraud", "1.0.0", actor=ACTOR)
    result = reg.retire("fraud", "1.0.1", actor=ACTOR, reason="fairness issue on segment X")
    assert result.plan.notes == ()
    assert stages(reg) == {"1.0.0": "production", "1.0.1": "archived"}
    event = reg.audit_log("fraud", limit=1)[0]
    assert (event.action, event.reason, event.before, event.after) == (
        "retire",
        "fairness issue on segment X",
        {"stage": "none"},
        {"stage": "archived"},
    )
    assert outbox_rows(reg)[-1].topic == "version.retired"

    retired_production = reg.retire("fraud", "1.0.0", actor=ACTOR, reason="leak")
    assert retired_production.plan.notes
    assert reg.model_state("fraud").production is None
    before = counts(reg)
    with pytest.raises(UsageError, match="needs a reason"):
        reg.retire("fraud", "1.0.0", actor=ACTOR, reason="")
    with pytest.raises(LifecycleError, match="already retired"):
        reg.retire("fraud", "1.0.0", actor=ACTOR, reason="again")
    assert counts(reg) == before


def test_retention_plans_then_archives_far_versions(reg: Registry) -> None:
    for i in range(8):
        add(reg, 0.90 + i / 100)
    reg.promote("fraud", "1.0.6", actor=ACTOR)
    reg.promote("fraud", "1.0.1", to="staging", actor=ACTOR)
    reg.set_golden("fraud", "1.0.0", actor=ACTOR)

    before = counts(reg)
    plan = reg.plan_retention("fraud", keep=2)  # a dry run writes nothing
    assert [m.version for m in plan.moves] == ["1.0.3", "1.0.2"]
    assert counts(reg) == before

    result = reg.apply_retention("fraud", keep=2, actor="janitor")
    assert result.plan == plan
    assert stages(reg) == {
        "1.0.0": "none",  # golden
        "1.0.1": "staging",
        "1.0.2": "archived",
        "1.0.3": "archived",
        "1.0.4": "none",
        "1.0.5": "none",
        "1.0.6": "production",
        "1.0.7": "none",  # newer than production
    }
    events = reg.audit_log("fraud", limit=2)
    assert {e.reason for e in events} == {"retention: 2+ iterations behind production 1.0.6"}
    assert {e.action for e in events} == {"retention"}
    # no outbox row: nobody consumes retention archiving (issue 13, item 25)
    assert counts(reg) == (before[0] + 2, before[1], before[2] + 2)
    assert outbox_rows(reg)[-1].topic != "version.archived"

    again = reg.apply_retention("fraud", keep=2, actor="janitor")
    assert again.plan.is_empty
    assert counts(reg) == (before[0] + 2, before[1], before[2] + 2)


def test_golden_is_one_per_model_and_audited(reg: Registry) -> None:
    add(reg)
    add(reg)
    assert reg.set_golden("fraud", "1.0.0", actor=ACTOR, reason="baseline") is None
    assert reg.set_golden("fraud", "1.0.1", actor=ACTOR) == "1.0.0"
    assert reg.model_state("fraud").golden == "1.0.1"
    assert reg.resolve_version("fraud", "golden") == "1.0.1"
    event = reg.audit_log("fraud", limit=1)[0]
    assert (event.action, event.before, event.after) == (
        "golden",
        {"golden": "1.0.0"},
        {"golden": "1.0.1"},
    )
    row = outbox_rows(reg)[-1]
    assert (row.topic, row.payload["previous"]) == ("version.golden", "1.0.0")
    before = counts(reg)
    with pytest.raises(LifecycleError, match="already the golden"):
        reg.set_golden("fraud", "1.0.1", actor=ACTOR)
    with pytest.raises(VersionNotFoundError):
        reg.set_golden("fraud", "7.0.0", actor=ACTOR)
    assert counts(reg) == before


# -- history by the injected clock -----------------------------------------------------------------


def test_history_answers_what_was_in_production_then(reg: Registry, clock: Clock) -> None:
    promoted_three(reg, clock)  # 1.0.0 at T0, 1.0.1 at T0+1d, 1.0.2 at T0+2d
    reg.rollback("fraud", actor="oncall", reason="spike")  # at T0+3d
    state = reg.model_state("fraud")
    day = dt.timedelta(days=1)
    assert production_at(state, T0 - dt.timedelta(seconds=1)) is None
    assert production_at(state, T0) == "1.0.0"
    assert production_at(state, T0 + day / 2) == "1.0.0"
    assert production_at(state, T0 + day) == "1.0.1"
    assert production_at(state, T0 + 2.5 * day) == "1.0.2"
    assert production_at(state, T0 + 30 * day) == "1.0.1"

    periods = timeline(state)
    assert [(p.version, p.since, p.until) for p in periods] == [
        ("1.0.1", T0 + 3 * day, None),
        ("1.0.2", T0 + 2 * day, T0 + 3 * day),
        ("1.0.1", T0 + day, T0 + 2 * day),
        ("1.0.0", T0, T0 + day),
    ]
    assert (periods[1].left_by, periods[1].left_reason) == ("oncall", "spike")


# -- names, tags, notes ----------------------------------------------------------------------------


def test_resolve_version_by_name(reg: Registry) -> None:
    for _ in range(3):
        add(reg)
    reg.promote("fraud", "1.0.0", actor=ACTOR)
    assert reg.resolve_version("fraud", "latest") == "1.0.2"
    assert reg.resolve_version("fraud", " Production ") == "1.0.0"
    assert reg.resolve_version("fraud", "@production") == "1.0.0"
    assert reg.resolve_version("fraud", "v1.0.1") == "1.0.1"
    with pytest.raises(EmptyStageError, match="fraud has no earlier production version"):
        reg.resolve_version("fraud", "previous")
    with pytest.raises(EmptyStageError, match="fraud has no staging version"):
        reg.resolve_version("fraud", "staging")
    with pytest.raises(EmptyStageError, match="fraud has no golden version"):
        reg.resolve_version("fraud", "golden")
    # previous: the production before the current one (what a rollback brings back)
    reg.promote("fraud", "1.0.2", actor=ACTOR)
    assert reg.resolve_version("fraud", "previous") == "1.0.0"
    assert reg.resolve("fraud@previous").version == "1.0.0"
    assert reg.resolve("fraud/1.0.1").version == "1.0.1"
    assert reg.resolve("fraud").version == "1.0.2"


def test_tags_and_notes_are_audited(reg: Registry) -> None:
    add(reg)
    reg.set_tag("fraud", "1.0.0", "owner", "risk-team", actor=ACTOR)
    reg.set_tag("fraud", "1.0.0", "owner", "fraud-team", actor=ACTOR)
    reg.remove_tag("fraud", "1.0.0", "owner", actor=ACTOR)
    reg.add_note("fraud", "1.0.0", "approved by the model board", actor="carol")
    events = list(reversed(reg.audit_log("fraud", limit=4)))
    assert [(e.action, e.before, e.after) for e in events] == [
        ("tag", None, {"owner": "risk-team"}),
        ("tag", {"owner": "risk-team"}, {"owner": "fraud-team"}),
        ("untag", {"owner": "fraud-team"}, None),
        ("note", None, {"note": "approved by the model board"}),
    ]
    record = reg.load("fraud", "1.0.0")
    assert record.tags == {}
    assert [(n.text, n.actor) for n in record.notes] == [("approved by the model board", "carol")]
    with pytest.raises(UsageError):
        reg.remove_tag("fraud", "1.0.0", "owner", actor=ACTOR)
    with pytest.raises(UsageError):
        reg.add_note("fraud", "1.0.0", "  ", actor=ACTOR)
    assert reg.verify_audit().ok


# -- one transaction -------------------------------------------------------------------------------


def test_a_failing_outbox_insert_rolls_back_the_move_and_its_audit_event(reg: Registry) -> None:
    add(reg)
    head = reg.audit_log(limit=1)[0].seq
    # Squat the idempotency key the promotion's outbox row will take.
    with reg.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outbox (created_at, topic, payload, idempotency_key, status, "
                "attempts, next_attempt_at) VALUES (:t, 'x', '{}', :k, 'done', 0, :t)"
            ),
            {"t": T0.replace(tzinfo=None), "k": f"audit:{head + 1}"},
        )
    before = counts(reg)
    with pytest.raises(IntegrityError):
        reg.promote("fraud", "1.0.0", actor=ACTOR)
    assert counts(reg) == before
    assert stages(reg) == {"1.0.0": "none"}
    assert reg.verify_audit().ok


def test_each_move_announces_itself_once(reg: Registry, clock: Clock) -> None:
    promoted_three(reg, clock)
    reg.rollback("fraud", actor=ACTOR, reason="bad")
    add(reg)
    reg.retire("fraud", "1.0.3", actor=ACTOR, reason="never used")
    topics = [(r.topic, r.version) for r in outbox_rows(reg)]
    assert topics == [
        ("version.registered", "1.0.0"),
        ("version.promoted", "1.0.0"),
        ("version.registered", "1.0.1"),
        ("version.promoted", "1.0.1"),
        ("version.registered", "1.0.2"),
        ("version.promoted", "1.0.2"),
        ("version.rolled_back", "1.0.1"),
        ("version.registered", "1.0.3"),
        ("version.retired", "1.0.3"),
    ]
    keys = [r.idempotency_key for r in outbox_rows(reg)]
    assert len(set(keys)) == len(keys)
    assert {r.status for r in outbox_rows(reg)} == {"pending"}


def test_a_promotion_racing_another_is_refused_not_doubled(
    reg: Registry, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two people promote different versions of a model with no production at the same time:
    the second to commit must not leave two production versions."""
    add(reg)
    add(reg)
    judge = reg.judge

    def judge_while_someone_else_promotes(*args: Any, **kwargs: Any) -> Any:
        with Registry.open(db_url) as other:
            other.promote("fraud", "1.0.0", actor="bob")
        return judge(*args, **kwargs)

    monkeypatch.setattr(reg, "judge", judge_while_someone_else_promotes)
    with pytest.raises(LifecycleError, match="run the command again"):
        reg.promote("fraud", "1.0.1", actor=ACTOR)
    assert stages(reg) == {"1.0.0": "production", "1.0.1": "none"}
    monkeypatch.undo()
    reg.promote("fraud", "1.0.1", actor=ACTOR)  # planned afresh, it supersedes 1.0.0
    assert stages(reg) == {"1.0.0": "archived", "1.0.1": "production"}
