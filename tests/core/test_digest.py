"""What happened in a period, as data: a seeded week on SQLite and PostgreSQL read back by
`load_digest`, the pure classification of stage events, and a quiet week."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import digest_seed
import pytest
from digest_seed import ADA, BOB, CY, DEE, RUN_AT, Clock, draft

from modeltrail.core.digest.period import Digest, golden_at, load_digest
from modeltrail.core.digest.schedule import current_window, parse_schedule, zone
from modeltrail.core.records import AuditEvent
from modeltrail.core.registry.writer import Registry

WEEKLY = parse_schedule("mon 09:00")
seeded_url = digest_seed.seeded_url  # the module-scoped seeded database, per backend


@pytest.fixture
def seeded(seeded_url: str) -> Iterator[Registry]:
    with Registry.open(seeded_url) as registry:
        yield registry


def week_digest(registry: Registry, now: dt.datetime = RUN_AT) -> Digest:
    window = current_window(WEEKLY, now, zone("UTC"))
    return load_digest(registry, window, now=now)


def test_the_seeded_week(seeded: Registry) -> None:
    digest = week_digest(seeded)
    assert digest.window.key == "weekly:2026-11-16..2026-11-22"
    assert [m.model for m in digest.models] == ["churn", "fraud", "scoring"]
    churn, fraud, scoring = digest.models

    # New versions: in the week only (1.0.5 came after it), with who, when and the diff.
    assert [v.version for v in fraud.new_versions] == ["1.0.2", "1.0.3", "1.0.4"]
    assert [v.actor for v in fraud.new_versions] == [BOB, CY, ADA]
    first = fraud.new_versions[0]
    assert first.parent == "1.0.1" and first.diff is not None
    assert first.diff.old_version == "1.0.1"
    assert {m.name: m.verdict for m in first.diff.metrics}["auc"] == "improved"
    assert first.description == "more data"

    # Promotions (who, why, what they replaced) and the rollback.
    assert [(p.version, p.actor, p.reason, p.previous) for p in fraud.promotions] == [
        ("1.0.2", BOB, "better auc", "1.0.1"),
        ("1.0.3", CY, "try the new features", "1.0.2"),
    ]
    assert not any(p.forced for p in fraud.promotions)
    [rollback] = fraud.rollbacks
    assert (rollback.from_version, rollback.to_version, rollback.actor, rollback.reason) == (
        "1.0.3",
        "1.0.2",
        BOB,
        "auc dropped on live traffic",
    )
    # Production and golden at the end of the week.
    assert (fraud.production, fraud.golden) == ("1.0.2", "1.0.0")

    # The regression 1.0.3 brought is a critical finding; findings are most severe first.
    assert [(f.version, f.against) for f in fraud.regressions] == [("1.0.3", "1.0.2")] * 2
    assert fraud.findings[0].finding.severity == "critical"
    assert {f.finding.kind for f in fraud.findings} >= {"metric_regression"}

    # Trends: the last versions registered before the week ended, production and golden marked.
    auc = next(t for t in fraud.trends if t.metric == "auc")
    assert [p.version for p in auc.points] == ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4"]
    assert [p.version for p in auc.points if p.production] == ["1.0.2"]
    assert [p.version for p in auc.points if p.golden] == ["1.0.0"]
    assert [p.version for p in auc.points if p.new] == ["1.0.2", "1.0.3", "1.0.4"]
    assert auc.goal == "maximize" and auc.best.version == "1.0.4"
    assert {t.metric for t in fraud.trends} == {"auc", "loss"}

    # Retired by hand and archived by retention, with reasons.
    assert [(r.version, r.kind, r.actor) for r in churn.retirements] == [
        ("1.0.3", "retired", DEE),
        ("1.0.2", "retention", DEE),
        ("1.0.1", "retention", DEE),
        ("1.0.0", "retention", DEE),
    ]
    assert churn.retirements[0].reason == "fairness issue on segment X"
    assert all("retention" in (r.reason or "") for r in churn.retirements[1:])
    assert churn.production == "1.0.4" and not churn.new_versions

    assert scoring.quiet and scoring.production is None
    assert [m.model for m in digest.active] == ["churn", "fraud"]
    assert [m.model for m in digest.quiet_models] == ["scoring"]
    assert digest.counts == {
        "new_versions": 3,
        "promotions": 2,
        "rollbacks": 1,
        "retirements": 4,
        "golden_changes": 0,
        "findings": len(fraud.findings),
        "regressions": 2,
    }
    assert [m.model for m in digest.only(["fraud"]).models] == ["fraud"]


def test_a_past_week_reads_the_same_later(seeded: Registry) -> None:
    """Everything is rebuilt from history: a retry next week says what the first try said."""
    first = week_digest(seeded)
    later = week_digest(seeded, RUN_AT + dt.timedelta(days=3))
    assert later.window == first.window
    assert later.models == first.models


def test_the_week_before_shows_the_setup_and_a_quiet_week_after(seeded: Registry) -> None:
    before = week_digest(seeded, RUN_AT - dt.timedelta(days=7))
    fraud = next(m for m in before.models if m.model == "fraud")
    assert [v.version for v in fraud.new_versions] == ["1.0.0", "1.0.1"]
    assert fraud.new_versions[0].diff is None  # a first version
    assert [g.version for g in fraud.golden_changes] == ["1.0.0"]
    assert (fraud.production, fraud.golden) == ("1.0.1", "1.0.0")

    quiet = week_digest(seeded, RUN_AT + dt.timedelta(days=14))
    assert quiet.quiet and quiet.count("new_versions") == 0
    assert next(m for m in quiet.models if m.model == "fraud").production == "1.0.2"


def _event(seq: int, version: str, before: str | None, at: dt.datetime) -> AuditEvent:
    after = {"golden": version}
    return AuditEvent(
        seq, at, "ops", "golden", "m", version, {"golden": before}, after, None, "", ""
    )


def test_golden_is_replayed_from_the_audit_trail() -> None:
    t = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    events = [
        _event(1, "1.0.0", None, t),
        _event(2, "1.0.2", "1.0.0", t + dt.timedelta(days=2)),
    ]
    assert golden_at(events, t) is None
    assert golden_at(events, t + dt.timedelta(days=1)) == "1.0.0"
    assert golden_at(events, t + dt.timedelta(days=3)) == "1.0.2"


def test_a_forced_promotion_carries_the_findings_it_overrode(db_url: str) -> None:
    clock = Clock(RUN_AT)
    with Registry.open(db_url, clock=clock) as registry:
        registry.register(draft("fraud", 0.80, 0.50), actor=ADA)
        registry.promote("fraud", "1.0.0", actor=ADA)
        clock.advance(days=2)
        registry.register(draft("fraud", 0.50, 0.90), actor=CY)
        registry.promote("fraud", "1.0.1", actor=CY, reason="hotfix", force=True)
        digest = week_digest(registry, RUN_AT + dt.timedelta(days=7))
    fraud = digest.models[0]
    [first, promotion] = fraud.promotions
    assert not first.forced and first.previous is None
    assert promotion.forced and promotion.reason == "hotfix" and promotion.previous == "1.0.0"
    assert {f.kind for f in promotion.overridden} == {"metric_regression"}
