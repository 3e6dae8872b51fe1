"""`modeltrail import mlflow` on a project logged the way MLflow 3 users log one: the fluent
API, scikit-learn autolog, awkward params, a pandas dataset, LoggedModels (one from a run, one
with no run), a registered model with a description and tags, and aliases moved around."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow_store import (
    PROJECT_MODEL,
    fill_project_store,
    quiet_mlflow,
    require_mlflow,
    two_versions,
)

from modeltrail.bot.cli.main import main
from modeltrail.bot.integrations.mlflow_import import MlflowImporter
from modeltrail.bot.integrations.mlflow_source import MlflowSource
from modeltrail.core.digest.period import load_digest
from modeltrail.core.digest.schedule import Window
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry

require_mlflow()

# The registry's clock during the imports below: far from MLflow's own times, so a version
# dated by the import instead of by MLflow cannot pass.
IMPORT_TIME = dt.datetime(2031, 3, 4, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("mlflow-project")
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    with quiet_mlflow():
        info = fill_project_store(uri, workdir)
        yield {"uri": uri, "workdir": workdir, **info}


@pytest.fixture
def late_registry(db_url: str) -> Iterator[Registry]:
    reg = Registry.open(db_url, clock=lambda: IMPORT_TIME)
    yield reg
    reg.close()


def importer(registry: Registry, uri: str) -> MlflowImporter:
    return MlflowImporter(MlflowSource(uri), registry, actor="importer")


def window(day: dt.date) -> Window:
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return Window(start, start + dt.timedelta(days=1), day, day, "UTC", day.isoformat())


def test_awkward_params_import_as_text_or_their_value(
    project: dict[str, Any], registry: Registry
) -> None:
    report = importer(registry, project["uri"]).import_all([PROJECT_MODEL])

    assert report.skipped == [] and len(report.imported) == 2
    params = registry.load(PROJECT_MODEL, "1.1.0").params
    assert params["threshold"] == "nan"  # MLflow's str(float("nan"))
    assert params["nan_text"] == "NaN"
    assert params["cap"] == "Infinity"
    assert params["config"] == '{"depth": 3, "split": "gini"}'  # one param, MLflow's text
    assert params["layers"] == [64, 32]
    assert params["lr"] == 0.01
    assert params["C"] == 0.5  # scikit-learn autolog (or its hand-logged stand-in)


def test_one_bad_version_is_skipped_the_others_import_and_the_exit_code_counts(
    project: dict[str, Any], db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with Registry.open(db_url) as registry:  # a version registered here by hand, in the way
        registry.register(VersionDraft(model=PROJECT_MODEL, version="1.2.0"), actor="me")
    args = ["--db", db_url, "import", "mlflow", "--tracking-uri", project["uri"]]

    assert main([*args, "--model", PROJECT_MODEL]) == 1
    out = capsys.readouterr().out
    assert "imported credit 1.1.0 (MLflow version 1)" in out
    (skipped,) = [line for line in out.splitlines() if "skipped" in line and "warning" in line]
    assert skipped.startswith("warning: skipped credit 2: ")
    assert "1 skipped" in out

    assert main([*args, "--model", PROJECT_MODEL, "--json"]) == 1
    assert len(json.loads(capsys.readouterr().out)["skipped"]) == 1


def test_versions_keep_mlflows_time_and_user_the_audit_keeps_the_import(
    project: dict[str, Any],
    late_registry: Registry,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = project["client"]
    mv = client.get_model_version(PROJECT_MODEL, "1")
    created = dt.datetime.fromtimestamp(mv.creation_timestamp / 1000, dt.UTC)

    importer(late_registry, project["uri"]).import_all([PROJECT_MODEL])

    record = late_registry.load(PROJECT_MODEL, "1.1.0")
    assert record.created_at == created
    assert record.actor == "alice"  # the run's mlflow.user
    (event,) = [
        e
        for e in late_registry.audit_log(PROJECT_MODEL)
        if e.action == "import" and e.version == "1.1.0"
    ]
    assert (event.action, event.actor, event.created_at) == ("import", "importer", IMPORT_TIME)
    assert late_registry.verify_audit().ok
    history = late_registry.list_versions(PROJECT_MODEL)
    assert {v.created_at.date() for v in history} == {created.date()}

    # the digest puts the version in the period MLflow made it, not the one it was imported in
    made = load_digest(late_registry, window(created.date()), models=[PROJECT_MODEL])
    assert [v.version for v in made.models[0].new_versions] == ["1.1.0", "1.2.0"]
    later = load_digest(late_registry, window(IMPORT_TIME.date()), models=[PROJECT_MODEL])
    assert later.models[0].new_versions == ()

    assert main(["--db", db_url, "changelog", PROJECT_MODEL]) == 0
    out = capsys.readouterr().out
    assert created.date().isoformat() in out and "2031" not in out


def test_logged_models_bring_their_params_metrics_and_tags(
    project: dict[str, Any], registry: Registry
) -> None:
    importer(registry, project["uri"]).import_all([PROJECT_MODEL])

    trained = registry.load(PROJECT_MODEL, "1.1.0")
    assert trained.params["calibrated"] is False  # the LoggedModel's own param
    assert trained.metrics["val_auc"].value == 0.91
    assert "training_accuracy_score" in trained.metrics  # its source run's
    assert trained.tags["framework"] == "sklearn"
    assert trained.tags["mlflow.logged_model.id"] == project["model_id"]
    assert trained.tags["mlflow.run_id"] == project["run_id"]
    assert trained.environment is not None
    assert dict(trained.environment.packages) == {"scikit-learn": "1.5.2", "numpy": "2.0.1"}
    if project["sklearn"]:
        assert trained.tags["estimator_name"] == "LogisticRegression"
        (data,) = trained.data
        assert (data.role, data.path) == ("training.credit-train", "s3://acme/credit.parquet")

    # a LoggedModel with no source run: everything comes from the model itself
    rules = registry.load(PROJECT_MODEL, "1.2.0")
    assert rules.params == {"max_score": 700}
    assert rules.metric_values() == {"approval_rate": 0.42}
    assert rules.tags["owner"] == "risk-ops"
    assert rules.tags["mlflow.logged_model.name"] == "credit-rules"
    assert "mlflow.run_id" not in rules.tags


def test_registered_model_description_tags_locations_and_run_times_are_kept(
    project: dict[str, Any], registry: Registry
) -> None:
    importer(registry, project["uri"]).import_all([PROJECT_MODEL])

    record = registry.load(PROJECT_MODEL, "1.1.0")
    tags = record.tags
    assert tags["mlflow.registered_model.description"] == "Credit scoring"
    assert tags["mlflow.registered_model.tag.owner"] == "risk-team"
    run = project["client"].get_run(project["run_id"])
    assert tags["mlflow.run.artifact_uri"] == run.info.artifact_uri
    logged = project["client"].get_logged_model(project["model_id"])
    assert tags["mlflow.logged_model.artifact_location"] == logged.artifact_location
    assert record.artifacts[0].uri == logged.artifact_location  # where the files are
    assert tags["mlflow.model_source"] == f"models:/{project['model_id']}"
    for key, stamp in (
        ("mlflow.run.start_time", run.info.start_time),
        ("mlflow.run.end_time", run.info.end_time),
    ):
        assert dt.datetime.fromisoformat(tags[key]) == dt.datetime.fromtimestamp(
            stamp / 1000, dt.UTC
        )


def test_an_alias_moved_back_ends_where_it_is_and_since_sees_untimestamped_changes(
    project: dict[str, Any], registry: Registry, tmp_path: Path
) -> None:
    client, name = project["client"], f"scoring-{time.time_ns()}"
    two_versions(client, project["experiment_id"], tmp_path, name)
    client.set_registered_model_alias(name, "champion", "1")
    importer(registry, project["uri"]).import_all([name])
    assert registry.stage_version(name, "production") == "1.1.0"

    # MLflow bumps no timestamp for alias or tag changes: only comparing state finds them
    since = dt.datetime.now(dt.UTC)
    client.set_registered_model_alias(name, "champion", "2")
    client.set_model_version_tag(name, "1", "reviewed", "yes")
    moved = importer(registry, project["uri"]).import_all([name], since=since)
    assert [(v, s) for _, v, s, _ in moved.moved] == [("1.2.0", "production")]
    assert registry.load(name, "1.1.0").tags["reviewed"] == "yes"

    client.set_registered_model_alias(name, "champion", "1")
    back = importer(registry, project["uri"]).import_all([name], since=since)
    assert [(v, s) for _, v, s, _ in back.moved] == [("1.1.0", "production")]
    assert registry.stage_version(name, "production") == "1.1.0"
    again = importer(registry, project["uri"]).import_all([name], since=since)
    assert not again.changed
