"""The change tracker behind the read API's cache, on SQLite and PostgreSQL: which writes make
which cached answers stale."""

from __future__ import annotations

from modeltrail.core.monitoring.observe import report_metrics
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.changes import ChangeTracker, Stamps
from modeltrail.core.registry.writer import Registry


def _draft(model: str) -> VersionDraft:
    return VersionDraft(model, metric_points={"accuracy": [(0, 0.9, 1_790_000_000.0)]})


def test_each_kind_of_write_makes_stale_only_what_it_changes(registry: Registry) -> None:
    registry.register(_draft("fraud"), actor="t")
    registry.register(_draft("churn"), actor="t")
    registry.promote("fraud", "1.0.0", actor="ops", force=True, reason="r")
    tracker = ChangeTracker(registry)
    built = tracker.head()
    stamps = tracker.stamps_at(built)
    assert stamps.fresh(built, "fraud") and stamps.fresh(built, None)

    report_metrics(registry, "fraud", {"accuracy": 0.8}, actor="serving")
    after_monitoring = tracker.head()
    assert after_monitoring == built + 1
    stamps = tracker.stamps_at(after_monitoring)
    assert stamps.fresh(built, "fraud") and stamps.fresh(built, "churn")
    assert stamps.fresh(built, None)  # listings do not show observations
    assert not stamps.fresh(built, "fraud", audit=True)  # the trail does

    registry.set_tag("churn", "1.0.0", "owner", "ml", actor="t")
    stamps = tracker.stamps_at(tracker.head())
    assert not stamps.fresh(built, "churn") and not stamps.fresh(built, None)
    assert stamps.fresh(built, "fraud")


def test_a_probe_older_than_what_was_read_is_ignored(registry: Registry) -> None:
    """Two threads: one read the head before a write, the other after; the late answer of
    the first must not make the tracker forget what it knows."""
    registry.register(_draft("fraud"), actor="t")
    tracker = ChangeTracker(registry)
    old = tracker.head()
    tracker.stamps_at(old)
    registry.set_tag("fraud", "1.0.0", "a", "b", actor="t")
    new = tracker.head()
    known = tracker.stamps_at(new)
    assert tracker.stamps_at(old) == known
    assert not known.fresh(old, "fraud") and known.fresh(new, "fraud")


def test_stamps_are_pure_and_an_event_without_a_model_concerns_every_model() -> None:
    stamps = Stamps()
    stamps.reset(10, None)
    stamps.note(11, "monitor", "fraud")
    stamps.note(12, "tag", "churn")
    assert (stamps.head, stamps.records) == (12, 12)
    assert stamps.fresh(10, "fraud") and not stamps.fresh(11, "churn")
    stamps.note(13, "token_create", None)
    assert not stamps.fresh(12, "fraud")
