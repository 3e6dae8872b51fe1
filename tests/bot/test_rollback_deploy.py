"""A rollback says what to deploy: the version now in production, its artifacts' digests and
the exact `modeltrail pull` command, on the CLI and in the channel report."""

from __future__ import annotations

from pathlib import Path

import pytest
from bot_fixtures import REPORTS, draft
from test_slack_dispatcher import clock, dispatcher_for, drain  # noqa: F401 - fixture

from modeltrail.bot.cli.main import main
from modeltrail.core.registry.writer import Registry
from modeltrail.core.tracking import track
from modeltrail.core.vault.local import LocalStore


def _versions(registry: Registry, tmp_path: Path) -> str:
    digests = []
    for content in (b"model one", b"model two"):
        (tmp_path / "model.joblib").write_bytes(content)
        with track("fraud", registry=registry, base_dir=tmp_path, capture_code=False) as run:
            run.log_artifact("model.joblib")
        assert run.record is not None
        digests.append(run.record.artifacts[0].digest)
        registry.promote("fraud", run.record.version, actor="t", force=True, reason="r")
    return str(digests[0])


def test_the_cli_rollback_names_the_bytes(db_url: str, tmp_path: Path, capsys) -> None:
    with Registry.open(db_url) as registry:
        _versions(registry, tmp_path)
        first = registry.resolve("fraud/1.0.0").artifacts[0].digest
    assert (tmp_path / "cli-store" / "sha256").is_dir()  # MODELTRAIL_ARTIFACT_STORE was used
    code = main(["--db", db_url, "rollback", "fraud", "--reason", "latency"])
    out = capsys.readouterr().out
    assert code == 0
    assert "1.0.0 is in production again" in out
    assert f"model.joblib  sha256 {first}" in out
    assert "deploy these bytes: modeltrail pull fraud@production DIR" in out


def test_the_channel_report_names_the_bytes(
    registry: Registry,
    slack,
    clock,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    registry.use_artifact_store(LocalStore(tmp_path / "store"))
    first = _versions(registry, tmp_path)
    registry.register(draft(0.9), actor="t")  # a version without artifacts changes nothing here
    registry.rollback("fraud", actor="bob", reason="latency doubled")
    drain(dispatcher_for(registry, slack, clock))
    report = slack.posts(REPORTS)[-1]
    assert "*bob* rolled back production 1.0.1 → *1.0.0*" in report.all_text
    assert f"`model.joblib` sha256 `{first}`" in report.all_text  # whole, to check
    assert "Deploy these bytes: `modeltrail pull fraud@production DIR`" in report.all_text


@pytest.fixture(autouse=True)
def _store_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELTRAIL_ARTIFACT_STORE", f"file://{tmp_path / 'cli-store'}")
