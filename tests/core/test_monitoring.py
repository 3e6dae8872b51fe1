"""Monitoring through the registry on SQLite and PostgreSQL: profiles stored at registration,
the version an observation belongs to, decay and drift alerts written once per condition
(again when it worsens, or after it cleared), the audit trail and the status read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from monitoring_seed import production, training, write_csv

from modeltrail.core.errors import UsageError
from modeltrail.core.lifecycle.outbox import Outbox
from modeltrail.core.monitoring.alerts import ALERT_TOPIC
from modeltrail.core.monitoring.observe import load_profiles, report_batch, report_metrics
from modeltrail.core.monitoring.profiles import profile_columns
from modeltrail.core.monitoring.status import monitoring_status
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry
from modeltrail.core.tracking import track

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def at(self, hours: float) -> dt.datetime:
        self.now = T0 + dt.timedelta(hours=hours)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reg(db_url: str, clock: Clock) -> Iterator[Registry]:
    registry = Registry.open(db_url, clock=clock)
    yield registry
    registry.close()


def _register(reg: Registry, version: str, accuracy: float = 0.90) -> None:
    profile = profile_columns(training(n=5000)).to_dict()
    reg.register(
        VersionDraft(
            "fraud",
            version=version,
            metric_points={"accuracy": [(0, accuracy, T0.timestamp())]},
            profiles={"train": profile},
        ),
        actor="trainer",
    )


def _promote(reg: Registry, version: str) -> None:
    reg.promote("fraud", version, actor="ops", force=True, reason="test")


def _alerts(reg: Registry) -> list:
    return [e for e in Outbox(reg.engine).events() if e.topic == ALERT_TOPIC][::-1]


def test_the_version_defaults_to_production_at_the_observation_time(
    reg: Registry, clock: Clock
) -> None:
    clock.at(0)
    _register(reg, "1.0.0")
    _register(reg, "1.1.0")
    clock.at(1)
    _promote(reg, "1.0.0")
    clock.at(5)
    _promote(reg, "1.1.0")
    clock.at(10)
    between = T0 + dt.timedelta(hours=3)
    assert report_metrics(reg, "fraud", {"accuracy": 0.9}, at=between).version == "1.0.0"
    assert report_metrics(reg, "fraud", {"accuracy": 0.9}).version == "1.1.0"
    naive = dt.datetime(2026, 11, 1, 12, 0)  # naive means UTC
    assert report_batch(reg, "fraud", production(n=500), at=naive).version == "1.0.0"
    assert report_metrics(reg, "fraud", {"accuracy": 0.9}, version="1.0.0").version == "1.0.0"
    with pytest.raises(UsageError, match="no version in production"):
        report_metrics(reg, "fraud", {"accuracy": 0.9}, at=T0)


def test_decay_beyond_tolerance_alerts_once_and_again_when_worse(
    reg: Registry, clock: Clock
) -> None:
    clock.at(0)
    _register(reg, "1.0.0")
    _promote(reg, "1.0.0")
    reg.set_metric_goal("fraud", "accuracy", "maximize", 0.02, actor="ops")

    def observe(value: float, hour: float) -> tuple:
        clock.at(hour)
        return report_metrics(reg, "fraud", {"accuracy": value}).alerts

    assert observe(0.89, 1) == ()  # within tolerance
    (alert,) = observe(0.85, 2)
    assert (alert.condition, alert.reason) == ("decay:accuracy", "new")
    assert observe(0.85, 3) == ()  # the same condition: no repeat
    assert observe(0.84, 4) == ()  # a little worse is not worse enough
    (worse,) = observe(0.80, 5)
    assert worse.reason == "worse"
    assert worse.since == T0 + dt.timedelta(hours=2)  # the episode's start
    assert observe(0.90, 6) == ()  # cleared
    (again,) = observe(0.86, 7)
    assert again.reason == "new" and again.since == T0 + dt.timedelta(hours=7)

    events = _alerts(reg)
    assert len(events) == 3
    payload = events[0].payload
    assert payload["model"] == "fraud" and payload["version"] == "1.0.0"
    assert payload["alerts"][0]["detail"]["offline"] == 0.9
    assert payload["alerts"][0]["detail"]["live"] == 0.85
    monitors = [e for e in reg.audit_log("fraud") if e.action == "monitor"]
    assert len(monitors) == 7
    assert reg.verify_audit().ok


def test_batch_drift_flags_the_shifted_columns_and_alerts_once(
    reg: Registry, clock: Clock, tmp_path: Path
) -> None:
    clock.at(0)
    _register(reg, "1.0.0")
    _register(reg, "1.1.0")
    _promote(reg, "1.0.0")
    clock.at(1)
    _promote(reg, "1.1.0")
    reg.set_model_setting("fraud", "golden", None, actor="ops")  # unrelated setting
    batch = tmp_path / "batch.csv"
    write_csv(batch, production())
    clock.at(2)
    first = report_batch(reg, "fraud", batch)
    assert first.drift is not None
    assert {c.column for c in first.drift.flagged} == {"score", "country"}
    assert {a.condition for a in first.alerts} == {"drift:score", "drift:country"}
    clock.at(3)
    assert report_batch(reg, "fraud", batch).alerts == ()
    clock.at(4)
    quiet = report_batch(reg, "fraud", production(shifted=False))
    assert quiet.status == "ok" and quiet.alerts == ()

    (event,) = _alerts(reg)
    assert event.payload["rollback_target"] == "1.0.0"
    assert event.payload["production"] == "1.1.0"
    assert {a["subject"] for a in event.payload["alerts"]} == {"score", "country"}

    status = monitoring_status(reg, "fraud")
    assert [v.version for v in status.versions] == ["1.1.0"]
    current = status.versions[0]
    assert current.observations == 3 and current.active == ()
    assert current.drift is not None and current.drift.status == "none"


def test_status_lists_live_metrics_drift_and_active_alerts(reg: Registry, clock: Clock) -> None:
    clock.at(0)
    _register(reg, "1.0.0", accuracy=0.9)
    _promote(reg, "1.0.0")
    clock.at(1)
    report_metrics(reg, "fraud", {"accuracy": 0.8})
    report_batch(reg, "fraud", production())
    status = monitoring_status(reg, "fraud").to_dict()
    (version,) = status["versions"]
    assert version["status"] == "alert"
    assert version["live"][0]["value"] == 0.8
    assert version["decay"][0]["status"] == "decay"
    assert [c["status"] for c in version["drift"]["columns"]][:2] == ["drift", "drift"]
    assert {c["condition"] for c in version["active"]} == {
        "decay:accuracy",
        "drift:score",
        "drift:country",
    }


def test_a_batch_needs_a_profile(reg: Registry) -> None:
    reg.register(VersionDraft("bare", version="1.0.0"), actor="trainer")
    with pytest.raises(UsageError, match="no data profile"):
        report_batch(reg, "bare", production(n=100), version="1.0.0")


def test_log_data_profiles_tables_at_registration(reg: Registry, tmp_path: Path) -> None:
    train = tmp_path / "train.csv"
    write_csv(train, training(n=2000))
    (tmp_path / "notes.txt").write_text("not a table\n")
    with track("fraud", registry=reg, base_dir=tmp_path, capture_code=False,
               capture_environment=False) as run:  # fmt: skip
        run.log_data("train", "train.csv")
        run.log_data("test", train, profile=False)
        run.log_data("notes", "notes.txt")
    assert run.record is not None
    profiles = load_profiles(reg, "fraud", run.record.version)
    assert set(profiles) == {"train"}
    assert profiles["train"].total_rows == 2000
    assert profiles["train"].column("country").kind == "categorical"  # type: ignore[union-attr]
    with pytest.raises(UsageError, match="only CSV and Parquet"):
        with track("fraud", registry=reg, base_dir=tmp_path, capture_code=False,
                   capture_environment=False) as run:  # fmt: skip
            run.log_data("notes", "notes.txt", profile=True)
