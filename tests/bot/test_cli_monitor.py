"""`modeltrail monitor log | data | status` through `main([...])` on SQLite and PostgreSQL, and
the Slack post a monitoring alert becomes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from monitoring_seed import production, training, write_csv

from modeltrail.bot.cli.main import main
from modeltrail.bot.slack.blocks import validate
from modeltrail.bot.slack.reports import monitoring_alert
from modeltrail.core.lifecycle.outbox import Outbox
from modeltrail.core.monitoring.profiles import profile_columns
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry


@pytest.fixture
def cli(db_url: str, capsys: pytest.CaptureFixture[str]):
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--db", db_url, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def seeded(registry: Registry) -> Registry:
    for version in ("1.0.0", "1.1.0"):
        registry.register(
            VersionDraft(
                "fraud",
                version=version,
                metric_points={"accuracy": [(0, 0.9, 1_790_000_000.0)]},
                profiles={"train": profile_columns(training(n=3000)).to_dict()},
            ),
            actor="trainer",
        )
        registry.promote("fraud", version, actor="ops", force=True, reason="test")
    return registry


def test_help_lists_the_commands(cli) -> None:
    code, out, _ = cli("monitor", "--help")
    assert code == 0
    assert all(word in out for word in ("log", "data", "status"))


def test_log_data_and_status(cli, seeded: Registry, tmp_path: Path) -> None:
    code, out, err = cli("monitor", "log", "fraud", "--metric", "accuracy=0.8")
    assert code == 0, err
    assert "fraud 1.1.0" in out and "DECAY" in out and "alert (new): decay:accuracy" in out

    batch = tmp_path / "batch.csv"
    write_csv(batch, production(n=2000))
    code, out, err = cli("monitor", "data", "fraud", str(batch), "--version", "1.1.0")
    assert code == 0, err
    assert "drift" in out and "score" in out and "country" in out
    assert "alert (new): drift:" in out

    code, out, err = cli("monitor", "status", "fraud", "--json")
    assert code == 0, err
    status = json.loads(out)
    (current,) = status["versions"]
    assert current["version"] == "1.1.0" and current["status"] == "alert"
    flagged = [c["column"] for c in current["drift"]["columns"] if c["status"] == "drift"]
    assert set(flagged) == {"score", "country"}

    code, out, _ = cli("monitor", "status", "fraud")
    assert code == 0 and "ALERT decay:accuracy" in out

    # the alert as posted to Slack: the version, the columns, the rollback command
    event = next(e for e in Outbox(seeded.engine).events() if e.payload.get("kind") == "batch")
    (message,) = monitoring_alert(event.payload, command="/model")
    assert validate(message.payload()) == []
    text = json.dumps(message.blocks)
    assert "fraud 1.1.0: data drift in production" in message.text
    assert "*score*" in text and "*country*" in text and "PSI" in text
    assert "modeltrail rollback fraud --reason" in text and "/model rollback fraud" in text
    assert "1.0.0" in text


def test_errors_exit_non_zero(cli, seeded: Registry, tmp_path: Path) -> None:
    code, _, err = cli("monitor", "log", "fraud", "--metric", "accuracy=high")
    assert code == 2 and "not a number" in err
    code, _, err = cli("monitor", "log", "fraud", "--metric", "accuracy=0.9", "--at", "2000-01-01")
    assert code != 0 and "no version in production" in err
    notes = tmp_path / "notes.txt"
    notes.write_text("x\n")
    code, _, err = cli("monitor", "data", "fraud", str(notes))
    assert code == 2 and "not a CSV or Parquet file" in err


def test_alert_text_is_escaped() -> None:
    payload = {
        "model": "m",
        "version": "1.0.0",
        "production": "1.0.0",
        "rollback_target": None,
        "golden": None,
        "alerts": [
            {
                "kind": "drift",
                "subject": "<!channel>",
                "magnitude": 0.5,
                "since": "2026-11-01T09:00:00Z",
                "reason": "new",
                "detail": {"detail": "<@U1> & co", "ks_pvalue": None},
            }
        ],
    }
    (message,) = monitoring_alert(payload)
    text = json.dumps(message.blocks)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "&lt;@U1&gt; &amp; co" in text
    assert "modeltrail monitor status m" in text


def test_the_assistant_answers_drift_questions(cli, seeded: Registry) -> None:
    from modeltrail.core.monitoring.observe import report_batch, report_metrics

    report_metrics(seeded, "fraud", {"accuracy": 0.8})
    report_batch(seeded, "fraud", production(n=2000))
    code, out, err = cli("ask", "is production drifting?")
    assert code == 0, err
    assert out.startswith("Yes: fraud 1.1.0 (production) is drifting")
    assert "accuracy: live 0.8 vs offline 0.9" in out and "score (PSI" in out
    assert "alert drift:country since" in out
    code, out, err = cli("ask", "how is 1.0.0 doing live?", "--json")
    assert code == 0, err
    said = json.loads(out)
    assert said["intent"]["kind"] == "monitoring"
    assert "No production observations for fraud 1.0.0 (archived)" in said["text"]
